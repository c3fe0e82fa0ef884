/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ocibpf seccomp ID: an OCI seccomp profile allowing exactly the syscalls the container
 * was seen to make (from the live counters, or the stop record's stats.syscall_counts),
 * and those the kernel has a process make (kernel_made).
 */
#include <errno.h>
#include <seccomp.h>
#include <string.h>

#include "audit.h"
#include "bpfset.h"
#include "cli.h"
#include "container.h"
#include "resolve.h"
#include "logreader.h"

struct names {
	char **v;
	size_t n;
};

static void add_name(struct names *ns, const char *name)
{
	for (size_t i = 0; i < ns->n; i++)
		if (strcmp(ns->v[i], name) == 0)
			return;
	ns->v = xrealloc(ns->v, (ns->n + 1) * sizeof(char *));
	ns->v[ns->n++] = xstrdup(name);
}

/*
 * Syscalls a process makes without its code calling them: the return from a signal
 * handler, the resumption of a syscall a stop interrupted, the exit. A run that caught no
 * signal shows none of the first two (whether runc's own Go runtime signalled itself
 * while it was counted decides it), yet a profile without them kills the workload at its
 * first handled signal: the failed return leaves it on the handler's frame (SIGSEGV).
 */
static const char *const kernel_made[] = { "exit", "exit_group", "restart_syscall", "rt_sigreturn" };

static void add_nr(int nr, uint64_t count, void *ud)
{
	const char *name = audit_syscall_name(nr);
	if (name && count)
		add_name(ud, name);
}

/* The last stop record's stats.syscall_counts; -ENOENT when there is none. */
static int names_from_log(const struct config *cfg, const char *id, struct names *ns, bool *counted)
{
	_cleanup_record_reader_ struct record_reader *rr = NULL;
	int r = record_reader_open(cfg->log_dir, id, &rr, NULL);
	if (r < 0)
		return r;
	struct record stop = { 0 };
	struct record_line line;
	while ((r = record_read(rr, true, &line)) != 0) {
		if (r > 0 && line.rec.type == REC_STOP) {
			record_done(&stop);
			stop = line.rec;
			line.rec.v = NULL;
		}
		record_line_done(&line);
	}
	if (!stop.v)
		return -ENOENT;
	yajl_val counts = json_get(json_get(stop.v, "stats"), "syscall_counts");
	*counted = YAJL_IS_OBJECT(counts);
	for (size_t i = 0; *counted && i < counts->u.object.len; i++)
		add_name(ns, counts->u.object.keys[i]);
	record_done(&stop);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void print_profile(struct names *ns)
{
	/* The native ABI only. The counts are of native syscalls (the kernel's per-syscall
	 * tracepoints never see a 32-bit one, and the raw tracepoint names them by native
	 * numbers), and the other ABIs' syscalls would slip past both the profile's intent
	 * and the audit: a 32-bit syscall of a process under this profile is refused. */
	static const char *const arches[] = {
#if defined(__x86_64__)
		"SCMP_ARCH_X86_64",
#elif defined(__aarch64__)
		"SCMP_ARCH_AARCH64",
#endif
	};
	qsort(ns->v, ns->n, sizeof(char *), cmp_str);
	_cleanup_json_gen_ yajl_gen g = json_gen_new(true);
	yajl_gen_map_open(g);
	jg_key_str(g, "defaultAction", "SCMP_ACT_ERRNO");
	jg_key_int(g, "defaultErrnoRet", EPERM);
	jg_key(g, "architectures");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < ARRAY_SIZE(arches); i++)
		jg_str(g, arches[i]);
	yajl_gen_array_close(g);
	jg_key(g, "syscalls");
	yajl_gen_array_open(g);
	yajl_gen_map_open(g);
	jg_key(g, "names");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < ns->n; i++)
		jg_str(g, ns->v[i]);
	yajl_gen_array_close(g);
	jg_key_str(g, "action", "SCMP_ACT_ALLOW");
	yajl_gen_map_close(g);
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	cli_print_json(g);
}

int cmd_seccomp(struct cli *cli, int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: ocibpf seccomp ID\n");
		return 2;
	}
	_cleanup_config_ struct config *cfg = cli_config(cli);
	if (!cfg)
		return 1;
	_cleanup_free_ char *id = NULL;
	if (resolve_id_or_report(cfg, argv[1], RESOLVE_LOGS, &id) < 0)
		return 1;
	struct names ns = { 0 };
	bool counted = false;
	int r = 0;
	_cleanup_container_ struct container *c = NULL;
	if (container_read(cfg->state_dir, id, &c, NULL) == 0) {
		_cleanup_bpfset_ struct bpfset *set = NULL;
		counted = c->flags & CF_SYSCOUNT;
		if (counted && bpfset_open(cfg->bpffs_dir, c->set, false, &set, NULL) == 0)
			r = audit_syscall_counts(set, c->cgroup_id, add_nr, &ns);
	} else {
		r = names_from_log(cfg, id, &ns, &counted);
	}
	if (r == -ENOENT) {
		log_error(id, "no such container, and no stop record in its audit log");
	} else if (r < 0) {
		log_error(id, "cannot read its syscall counts: %s", strerror(-r));
	} else if (!counted) {
		log_error(id, "its syscalls were not counted (policy: \"telemetry\": {\"syscalls\": true} or audit.syscalls [\"all\"])");
		r = -ENODATA;
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(kernel_made); i++)
			add_name(&ns, kernel_made[i]);
		print_profile(&ns);
	}
	for (size_t i = 0; i < ns.n; i++)
		free(ns.v[i]);
	free(ns.v);
	return r < 0 ? 1 : 0;
}
