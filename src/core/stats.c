/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "bpfset.h"
#include "container.h"
#include "json.h"
#include "stats.h"

static int read_u64_file(const char *dir, const char *file, uint64_t *ret)
{
	if (!dir)
		return -ENOENT;
	_cleanup_free_ char *path = path_join(dir, file);
	_cleanup_free_ char *text = NULL;
	int r = read_file(path, 4096, &text, NULL);
	if (r < 0)
		return r;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno || end == text)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* "KEY VALUE" lines (cpu.stat, memory.stat). */
static int read_keyed(const char *dir, const char *file, const char *key, uint64_t *ret)
{
	_cleanup_free_ char *path = path_join(dir, file);
	_cleanup_free_ char *text = NULL;
	int r = read_file(path, 1 << 16, &text, NULL);
	if (r < 0)
		return r;
	size_t klen = strlen(key);
	for (char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, key, klen) == 0 && l[klen] == ' ') {
			*ret = strtoull(l + klen + 1, NULL, 10);
			return 0;
		}
	}
	return -ENOENT;
}

static char *v1_dir(const char *controller, const char *path)
{
	return path ? xasprintf("/sys/fs/cgroup/%s%s", controller, path) : NULL;
}

void stats_collect(const struct container *c, struct bpfset *set, struct stats *ret)
{
	struct stats s = { 0 };
	const char *dir = c->cgroup_dir;
	uint64_t usec;

	if (read_keyed(dir, "cpu.stat", "usage_usec", &usec) == 0 && usec) {
		s.cpu_ns = usec * 1000;
	} else {
		_cleanup_free_ char *d = v1_dir("cpuacct", c->cgroup_v1_cpuacct);
		read_u64_file(d, "cpuacct.usage", &s.cpu_ns);
	}
	if (read_u64_file(dir, "memory.current", &s.memory_bytes) == 0) {
		read_u64_file(dir, "memory.peak", &s.memory_peak_bytes);
	} else {
		_cleanup_free_ char *d = v1_dir("memory", c->cgroup_v1_memory);
		read_u64_file(d, "memory.usage_in_bytes", &s.memory_bytes);
		read_u64_file(d, "memory.max_usage_in_bytes", &s.memory_peak_bytes);
	}
	if (read_u64_file(dir, "pids.current", &s.pids) < 0) {
		_cleanup_free_ char *d = v1_dir("pids", c->cgroup_v1_pids);
		read_u64_file(d, "pids.current", &s.pids);
	}
	if (set)
		bpfset_read_stats(set, c->cgroup_id, &s.k);
	s.syscalls_counted = c->flags & CF_SYSCOUNT;
	*ret = s;
}

void stats_gen(yajl_gen g, const char *id, const struct stats *s)
{
	yajl_gen_map_open(g);
	jg_key_str(g, "id", id);
	jg_key_uint(g, "cpu_ns", s->cpu_ns);
	jg_key_uint(g, "memory_bytes", s->memory_bytes);
	jg_key_uint(g, "memory_peak_bytes", s->memory_peak_bytes);
	jg_key_uint(g, "pids", s->pids);
	jg_key_uint(g, "rx_bytes", s->k.rx_bytes);
	jg_key_uint(g, "rx_packets", s->k.rx_packets);
	jg_key_uint(g, "tx_bytes", s->k.tx_bytes);
	jg_key_uint(g, "tx_packets", s->k.tx_packets);
	jg_key_uint(g, "egress_denied", s->k.egress_denied);
	jg_key_uint(g, "ingress_denied", s->k.ingress_denied);
	jg_key_uint(g, "execs", s->k.execs);
	jg_key(g, "syscalls");
	if (s->syscalls_counted)
		jg_uint(g, s->k.syscalls);
	else
		yajl_gen_null(g);
	yajl_gen_map_close(g);
}
