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
/* Where the collector persists the container's numbers (stats-store.c writes it). */
char *container_stats_path(const char *state_dir, const char *id);
/* Ids of the recorded containers, sorted (NULL-terminated; strv_free). */
char **container_list(const char *state_dir);
/* Is its init process still the one we saw? */
bool container_alive(const struct container *c);
void container_free(struct container *c);
static inline void container_freep(struct container **c) { container_free(*c); }
#define _cleanup_container_ _cleanup_(container_freep)

/*
 * Take a label (name, image, pod, namespace) from one of the container's annotations when
 * key is one the engines use for it: CRI-O (io.kubernetes.container.name, .pod.name,
 * .pod.namespace, io.kubernetes.cri-o.ImageName), containerd's CRI plugin
 * (io.kubernetes.cri.container-name, .sandbox-name, .sandbox-namespace, .image-name).
 * The value is borrowed (the caller keeps it alive while c is used); the first key that
 * names a label wins. Podman 4 puts none of these in config.json.
 */
void container_label_from_annotation(struct container *c, const char *key, const char *value);

/* Start time of a process (field 22 of /proc/PID/stat); -ESRCH when it is gone. */
int process_start_time(pid_t pid, uint64_t *ret);

#endif
