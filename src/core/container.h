/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_CONTAINER_H
#define OCIBPF_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

/*
 * What ocibpf records about a monitored container in <state_dir>/containers/<id>.json:
 * enough for poststop, `ocibpf ps`, the collector and `ocibpf gc` to work without the
 * runtime.
 */
struct container {
	char *id;
	char *run;              /* this run of the id: a random token (hex), names its pins */
	bool started;           /* its `start` record is written: a `stop` record is due */
	char *policy;           /* policy name */
	pid_t pid;              /* the container's init as the hook saw it */
	uint64_t pid_start;     /* its start time (clock ticks), against pid reuse */
	char *cgroup;           /* cgroup2 path, relative to the mount */
	char *cgroup_dir;       /* absolute cgroup2 directory */
	uint64_t cgroup_id;
	char *cgroup_v1_memory; /* v1 paths on hybrid hosts, else NULL */
	char *cgroup_v1_cpuacct;
	char *cgroup_v1_pids;
	uint32_t flags;         /* CF_* */
	char *set;              /* version of the pinned BPF set it is attached from */
	char *bundle;
	char *log_dir;          /* log_dir of its audit log as configured at its start (NULL:
				 * a record of an older ocibpf: the configuration's) */
	char *bpffs_dir;        /* bpffs_dir of its set and pins as configured at its start
				 * (NULL: likewise) */
	uint64_t started_ns;    /* realtime */
	/* What the engine calls it, from its annotations (NULL: not given); metrics labels. */
	char *name;             /* container name */
	char *image;
	char *pod;              /* Kubernetes pod (sandbox) name */
	char *namespace;        /* Kubernetes namespace */
};

int container_write(const char *state_dir, const struct container *c, struct error *err);
int container_read(const char *state_dir, const char *id, struct container **ret, struct error *err);
int container_parse(const char *text, const char *what, struct container **ret, struct error *err);
/* Removes the record, then the collector's files of the container (stats, loss baseline). */
int container_remove(const char *state_dir, const char *id);
/* Ids of the recorded containers, sorted (NULL-terminated; strv_free). */
char **container_list(const char *state_dir);
/* The first recorded container (by id) that match() takes, or NULL; container_free it. */
struct container *container_find(const char *state_dir,
				 bool (*match)(const struct container *c, const void *ud),
				 const void *ud);
/* The recorded container whose cgroup is cgid, or NULL (container_find). */
struct container *container_find_cgroup(const char *state_dir, uint64_t cgid);
/* Is its init process still the one we saw? */
bool container_alive(const struct container *c);
/*
 * Does it still run: its init (container_alive), or processes left in its cgroup (a
 * container without a pid namespace of its own whose init exited: the runtime's delete
 * kills them, and its poststop comes after that)? Not for a hook asking about the cgroup
 * its own container is in (its own processes are there).
 */
bool container_running(const struct container *c);
/*
 * The log_dir the run's records all go to: the one its start record went to, whatever
 * the configuration says now (edited while it runs), else fallback (the configuration's).
 */
static inline const char *container_log_dir(const struct container *c, const char *fallback)
{
	return c->log_dir ? c->log_dir : fallback;
}
/* The bpffs_dir its set and pins are in, likewise: what its start made is ended there. */
static inline const char *container_bpffs_dir(const struct container *c, const char *fallback)
{
	return c->bpffs_dir ? c->bpffs_dir : fallback;
}
void container_free(struct container *c);
static inline void container_freep(struct container **c) { container_free(*c); }
#define _cleanup_container_ _cleanup_(container_freep)

/* A new run token; is s one? */
char *run_token_new(void);
bool valid_run(const char *s);

/*
 * Everything kept for a run is created and released under the id's lock, so a hook, a
 * poststop and `ocibpf gc` never act on a run at the same time: returns the locked fd.
 * container_unlock() removes the lock file when no record of the id is left.
 */
int container_lock(const char *state_dir, const char *id, struct error *err);
void container_unlock(const char *state_dir, const char *id, int fd);
/* Is a run of the id recorded? False only when its record is certainly absent. */
bool container_recorded(const char *state_dir, const char *id);

/*
 * A start refused while a run of the id is recorded: the runtime calls poststop for it
 * too, and that poststop must leave the recorded run alone. Noted by the refused hook,
 * taken (true, once per refusal) by the next poststop of the id; both under the id's
 * lock. Released with the record.
 */
void container_note_refused(const char *state_dir, const char *id);
bool container_take_refused(const char *state_dir, const char *id);
/*
 * Take a label (name, image, pod, namespace) from one of the container's annotations when
 * key is one the engines use for it: CRI-O (io.kubernetes.container.name, .pod.name,
 * .pod.namespace, io.kubernetes.cri-o.ImageName), containerd's CRI plugin
 * (io.kubernetes.cri.container-name, .sandbox-name, .sandbox-namespace, .image-name).
 * The value is borrowed (the caller keeps it alive while c is used); the first key that
 * names a label wins. Podman 4 puts none of these in config.json.
 */
void container_label_from_annotation(struct container *c, const char *key, const char *value);
/* Printable ASCII, no spaces, 1-253 characters: safe to keep and show. */
bool container_label_ok(const char *s);

/* Start time of a process (field 22 of /proc/PID/stat); -ESRCH when it is gone. */
int process_start_time(pid_t pid, uint64_t *ret);

#endif
