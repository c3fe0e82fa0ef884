/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_OCI_SHIM_H
#define OCIBPF_OCI_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "util.h"

/*
 * ocibpf-runtime: a runc stand-in for engines without a hooks directory (containerd,
 * Docker). On create/run it adds the ocibpf hook entries to the bundle's config.json, then
 * execs the real runtime with its arguments unchanged.
 */

/* What the shim needs to know about a runc command line. Pointers point into argv. */
struct shim_args {
	const char *command;    /* first argument after the global flags; NULL when none */
	int command_index;      /* its index in argv; argc when none */
	bool creates;           /* create or run, and not asking for --help */
	const char *bundle;     /* --bundle/-b; NULL when absent or empty (the working dir) */
	const char *config;     /* crun's --config/-f (relative to the bundle); NULL when absent */
	const char *id;         /* the container id: the command's last positional argument */
	const char *root;       /* global --root, or NULL */
	const char *log;        /* global --log, or NULL */
	const char *log_format; /* global --log-format, or NULL */
};

/*
 * Parse runc's command line (argv[0] is the program): global flags, the command, its
 * flags and arguments, in Go's flag syntax (-x, --x, --x=v, --x v; "--" ends flags;
 * flags may follow the arguments, as urfave/cli reorders them). Unknown flags are taken
 * to have no value. Pure: no allocation, nothing read but argv.
 *
 * Fails (-EINVAL, err set) only when the command creates a container and the line does
 * not say which: a value flag without its value, or no container id. Anything else the
 * real runtime judges itself.
 */
int shim_parse_args(int argc, char *const *argv, struct shim_args *ret, struct error *err);

/* The hook entries the shim adds. */
struct shim_hook {
	const char *path;   /* absolute path of ocibpf-hook */
	const char *config; /* OCIBPF_CONFIG to hand over in "env"; NULL: no "env" */
};

/*
 * Docker before 24 can't set annotations: `docker run -e OCIBPF_POLICY=NAME` asks for a
 * policy instead, and the shim turns it into the policy annotation (unless the config
 * has that annotation already: then the annotation counts). Whoever can set a
 * container's environment picks its policy, as whoever can set its annotations can; the
 * hook reads only the annotation.
 */
#define SHIM_POLICY_ENV "OCIBPF_POLICY"
#define SHIM_POLICY_ANNOTATION "io.ocibpf.policy"

/*
 * Add {"path": PATH, "args": ["ocibpf-hook", STAGE], "env": [...]} to hooks.createRuntime
 * and hooks.poststop of the config.json text, after the hooks already there, unless that
 * list already has an entry with the same path, and the policy annotation from
 * OCIBPF_POLICY (above). Everything else is carried over as it was (key order, numbers as
 * written). Returns 1 with the new text in ret (malloc'ed, NUL-terminated), or 0 with ret
 * untouched when there is nothing to add.
 * Errors (-EINVAL): invalid JSON, not an object, "hooks" or "annotations" not an object,
 * a hook list not an array, and what could not be carried over faithfully (nesting deeper than 100,
 * "\u0000" in a string); err->msg says why without naming the file.
 */
int shim_rewrite_config(const char *text, const struct shim_hook *hook, char **ret,
			size_t *ret_len, struct error *err);

/*
 * Rewrite the file at path with shim_rewrite_config(), atomically (temporary file in the
 * same directory, then rename) and keeping its mode. Unchanged files are not written.
 * Returns 1 when written, 0 when left as it was. err->msg says why without the path.
 */
int shim_add_hooks(const char *path, const struct shim_hook *hook, struct error *err);

/* <directory of /proc/self/exe>/ocibpf-hook, malloc'ed. */
int shim_hook_path(char **ret, struct error *err);

/*
 * The runtime to exec: name itself when it contains a '/', else the first executable
 * regular file called name in the colon-separated search path (NULL: a default), skipping
 * any that is the file self (st_dev/st_ino; NULL: don't skip), so that a runc in PATH that
 * is this shim is never picked. -ENOENT when there is none, -ELOOP when name is self.
 */
int shim_find_runtime(const char *name, const char *search_path, const struct stat *self,
		      char **ret, struct error *err);

/*
 * Append an error line to the runtime log the engine reads (runc's --log, in its
 * --log-format: logrus "json" or "text"), so that containerd reports our error like one of
 * runc's. Nothing happens without --log or when it is stderr. Best effort.
 */
void shim_log_runtime_error(const struct shim_args *a, const char *msg);

#endif
