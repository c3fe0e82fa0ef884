/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_CLI_INSTALL_H
#define OCIBPF_CLI_INSTALL_H

/*
 * `ocibpf install ENGINE`: cmd-install.c parses the command line, writes the planned
 * files and prints the result; one install-ENGINE.c per engine plans what to write.
 */
#include <stdbool.h>
#include <sys/types.h>

#include "cli.h"

#define INSTALL_FILE_MAX (16u << 20)
#define POLICY_ANNOTATION "io.ocibpf.policy"

struct out_file {
	char *path;          /* where it goes, --root included */
	char *text;          /* the new content */
	size_t len;
	mode_t mode;
	bool backup;         /* keep the file it replaces as PATH.bak */
	bool unchanged;      /* the file has this content already */
};

struct install {
	struct cli *cli;
	const char *engine;
	const char *root;    /* NULL: none */
	bool dry_run;
	struct config *cfg;
	char *config_env;    /* absolute OCIBPF_CONFIG for the hook, NULL: the default file */
	char *bindir;        /* where this ocibpf is, and its siblings */
	bool bindir_rooted;  /* bindir is a path under --root (ocibpf runs from inside it) */
	struct out_file files[4];
	size_t n_files;
	char *notes[4];
	size_t n_notes;
	/* Run after the files are written (not with --dry-run): checks that the engine
	 * reads them; prints what it found on stdout. */
	int (*verify)(struct install *in, struct error *err);
	char *verify_arg;    /* for verify: what the engine must show (podman: the hooks directory, containerd: BinaryName) */
};

/* PATH under --root. */
char *install_rooted(const struct install *in, const char *path);
/* Plan a file (text is taken over). */
void install_add_file(struct install *in, const char *path, char *text, size_t len, mode_t mode,
		      bool backup);
/* A note for stderr (printf format; copied). */
void install_add_note(struct install *in, const char *fmt, ...) _printf_(2, 3);
/* A file's content, NULL (and 0) when there is none. */
int install_read_existing(const char *path, char **ret, size_t *ret_len, struct error *err);
/* <bindir>/name, which must be an executable file. */
int install_sibling(const struct install *in, const char *name, char **ret, struct error *err);
/* Generated text ends with a newline, as a text file does. */
char *install_with_newline(char *text, size_t *len);

/*
 * Run argv (execvp, stdin and stderr /dev/null) and take its stdout; -ENOENT when the
 * program is not there, -EIO when it fails.
 */
int install_capture(char *const argv[], char **ret, struct error *err);

int plan_podman(struct install *in, struct error *err);
int plan_crio(struct install *in, struct error *err);
int plan_containerd(struct install *in, struct error *err);
int plan_docker(struct install *in, struct error *err);

/* The hooks.d 1.0.0 file for podman and crio (install-podman.c). */
int plan_hooks_d_file(struct install *in, const char *dir, struct error *err);

#endif
