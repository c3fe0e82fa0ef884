/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ocibpf install crio: the hooks.d file in /etc/containers/oci/hooks.d, and a crio.conf.d
 * drop-in, because CRI-O reads hooks.d files only from /usr/share/containers/oci/hooks.d
 * unless told otherwise.
 */
#include "install.h"
#include "toml.h"

#define HOOKS_D "/etc/containers/oci/hooks.d"
#define CRIO_DROPIN "/etc/crio/crio.conf.d/50-ocibpf.conf"

int plan_crio(struct install *in, struct error *err)
{
	int r = plan_hooks_d_file(in, HOOKS_D, err);
	if (r < 0)
		return r;
	struct toml t;
	toml_open(&t);
	toml_comment(&t, "Written by `ocibpf install crio`. CRI-O reads hooks.d files only from\n"
			 "/usr/share/containers/oci/hooks.d unless told otherwise: add the directory\n"
			 "ocibpf's hooks are in. This replaces a hooks_dir set in an earlier file.");
	toml_table(&t, (const char *const[]) { "crio", "runtime", NULL });
	toml_kv_strv(&t, "hooks_dir", (const char *const[]) {
		"/usr/share/containers/oci/hooks.d", HOOKS_D, NULL });
	char *text;
	size_t len;
	if ((r = toml_done(&t, &text, &len, err)) < 0)
		return r;
	install_add_file(in, CRIO_DROPIN, text, len, 0644, false);
	install_add_note(in, "restart CRI-O to load " CRIO_DROPIN);
	return 0;
}

