/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's cgroup files: cgroup v2 files when the container's cgroup2 directory has
 * them (pure v2 hosts), else the v1 controllers of hybrid hosts, found where mountinfo
 * says each v1 hierarchy is mounted (cgroup.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup.h"
#include "container.h"
#include "stats.h"

/* --- parsers -------------------------------------------------------------------------- */

int cg_parse_u64(const char *text, uint64_t *ret)
{
	while (*text == ' ' || *text == '\t')
		text++;
	if (strncmp(text, "max", 3) == 0)
		return -ERANGE;
	if (*text < '0' || *text > '9')
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno)
		return -errno;
	if (*end && *end != '\n' && *end != ' ')
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Next line of text (NULL at the end). */
static const char *next_line(const char *l)
{
	const char *nl = strchr(l, '\n');
	return nl && nl[1] ? nl + 1 : NULL;
}

int cg_parse_keyed(const char *text, const char *key, uint64_t *ret)
{
	size_t klen = strlen(key);
	for (const char *l = text; l && *l; l = next_line(l))
		if (strncmp(l, key, klen) == 0 && l[klen] == ' ')
			return cg_parse_u64(l + klen + 1, ret);
	return -ENOENT;
}

/* "MAJ:MIN" at the start of a line. */
static bool is_device(const char *l, const char **ret_rest)
{
	unsigned maj, min;
	int n = 0;
	if (sscanf(l, "%u:%u%n", &maj, &min, &n) != 2 || (l[n] != ' ' && l[n] != '\t'))
		return false;
	*ret_rest = l + n;
	return true;
}

int cg_parse_io_stat(const char *text, uint64_t *ret_read, uint64_t *ret_write)
{
	uint64_t rd = 0, wr = 0;
	for (const char *l = text; l && *l; l = next_line(l)) {
		const char *p;
		if (!is_device(l, &p))
			continue;
		const char *eol = strchrnul(p, '\n');
		while (p < eol) {
			while (*p == ' ')
				p++;
			uint64_t v;
			if (strncmp(p, "rbytes=", 7) == 0 && cg_parse_u64(p + 7, &v) == 0)
				rd += v;
			else if (strncmp(p, "wbytes=", 7) == 0 && cg_parse_u64(p + 7, &v) == 0)
				wr += v;
			p = strchrnul(p, ' ');
			if (p > eol)
				p = eol;
		}
	}
	*ret_read = rd;
	*ret_write = wr;
	return 0;
}

int cg_parse_blkio(const char *text, uint64_t *ret_read, uint64_t *ret_write)
{
	/* Per device "MAJ:MIN Read|Write|Sync|Async|Discard|Total N", then "Total N". */
	uint64_t rd = 0, wr = 0;
	bool any = false;
	for (const char *l = text; l && *l; l = next_line(l)) {
		const char *p;
		if (strncmp(l, "Total ", 6) == 0) {
			any = true;
			continue;
		}
		if (!is_device(l, &p))
			continue;
		while (*p == ' ' || *p == '\t')
			p++;
		uint64_t v;
		if (strncmp(p, "Read ", 5) == 0 && cg_parse_u64(p + 5, &v) == 0)
			rd += v, any = true;
		else if (strncmp(p, "Write ", 6) == 0 && cg_parse_u64(p + 6, &v) == 0)
			wr += v, any = true;
	}
	if (!any)
		return -EINVAL;
	*ret_read = rd;
	*ret_write = wr;
	return 0;
}

/* --- cgroup v2 ------------------------------------------------------------------------ */

static int v2_read(const char *dir, const char *file, char **ret)
{
	_cleanup_free_ char *path = path_join(dir, file);
	return read_file(path, 1 << 20, ret, NULL);
}

static int v2_u64(const char *dir, const char *file, uint64_t *ret)
{
	_cleanup_free_ char *text = NULL;
	int r = v2_read(dir, file, &text);
	return r < 0 ? r : cg_parse_u64(text, ret);
}

/* Tasks listed in the cgroup's own cgroup.threads: pids without the pids controller. */
static int v2_count_threads(const char *dir, uint64_t *ret)
{
	_cleanup_free_ char *text = NULL;
	int r = v2_read(dir, "cgroup.threads", &text);
	if (r < 0)
		return r;
	uint64_t n = 0;
	for (const char *p = text; *p; p++)
		n += *p == '\n';
	*ret = n;
	return 0;
}

/* --- cgroup v1 ------------------------------------------------------------------------ */

/* The whole file `file` of controller's cgroup `path` (relative to its hierarchy). */
static int v1_read(const char *controller, const char *path, const char *file, char **ret)
{
	const char *mnt = cgroup1_mount(controller);
	if (!mnt || !path)
		return -ENOENT;
	_cleanup_free_ char *p = xasprintf("%s%s/%s", mnt, path, file);
	return read_file(p, 1 << 20, ret, NULL);
}

static int v1_u64(const char *controller, const char *path, const char *file, uint64_t *ret)
{
	_cleanup_free_ char *text = NULL;
	int r = v1_read(controller, path, file, &text);
	return r < 0 ? r : cg_parse_u64(text, ret);
}

/*
 * The container's blkio path: the record keeps memory, cpuacct and pids; blkio comes from
 * its init's /proc/PID/cgroup while it is in the container's cgroup2 cgroup (not a
 * process that reused the pid), else from the common path when the runtime put every
 * controller at the same place (runc and crun do). A zombie init (exited, not reaped yet
 * by its shim or subreaper) keeps its cgroup2 path but shows "/" for every v1 hierarchy:
 * that is the host's blkio, never the container's.
 */
static char *v1_blkio_path(const struct container *c)
{
	_cleanup_free_ char *proc = xasprintf("/proc/%d/cgroup", (int)c->pid);
	_cleanup_free_ char *text = NULL, *cg2 = NULL;
	char *p = NULL;
	if (c->pid > 0 && c->cgroup && read_file(proc, 1 << 20, &text, NULL) == 0 &&
	    cgroup2_path_from_proc(text, &cg2) == 0 && strcmp(cg2, c->cgroup) == 0 &&
	    cgroup1_path_from_proc(text, "blkio", &p) == 0) {
		if (strcmp(p, "/") != 0)
			return p;
		free(p);
	}
	if (c->cgroup_v1_memory && c->cgroup_v1_cpuacct &&
	    strcmp(c->cgroup_v1_memory, c->cgroup_v1_cpuacct) == 0)
		return xstrdup(c->cgroup_v1_memory);
	return NULL;
}

/*
 * v1 block I/O. Since Linux 6.x blk-throttle counts bytes only on queues where throttling
 * was ever configured, and BFQ counts only where it is the scheduler: the largest of what
 * the files say is the answer (they count the same bios).
 */
static int v1_blkio(const char *path, uint64_t *ret_read, uint64_t *ret_write)
{
	if (!path)
		return -ENOENT;
	static const char *const files[][2] = {
		/* the recursive file counts sub-cgroups too; older kernels only have the other */
		{ "blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_service_bytes" },
		{ "blkio.bfq.io_service_bytes_recursive", "blkio.bfq.io_service_bytes" },
	};
	uint64_t rd = 0, wr = 0;
	int r = -ENOENT;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		for (size_t j = 0; j < 2; j++) {
			_cleanup_free_ char *text = NULL;
			uint64_t fr, fw;
			if (v1_read("blkio", path, files[i][j], &text) < 0 ||
			    cg_parse_blkio(text, &fr, &fw) < 0)
				continue;
			rd = fr > rd ? fr : rd;
			wr = fw > wr ? fw : wr;
			r = 0;
			break;
		}
	}
	if (r == 0) {
		*ret_read = rd;
		*ret_write = wr;
	}
	return r;
}

/* --- reading -------------------------------------------------------------------------- */

/* CPU time from cpu.stat text of cgroup v2, unless it is 0 and v1 cpuacct can say better. */
static int cpu_from_v2(const struct container *c, const char *text, uint64_t *ret_ns)
{
	uint64_t v;
	if (!text || cg_parse_keyed(text, "usage_usec", &v) < 0 || (!v && c->cgroup_v1_cpuacct))
		return -ENOENT;
	*ret_ns = v * 1000;
	return 0;
}

int stats_read_cpu(const struct container *c, uint64_t *ret_ns)
{
	/* cpu.stat is a core file of every cgroup2 cgroup, hybrid hosts' included. */
	_cleanup_free_ char *cpu = NULL;
	if (c->cgroup_dir && v2_read(c->cgroup_dir, "cpu.stat", &cpu) == 0 &&
	    cpu_from_v2(c, cpu, ret_ns) == 0)
		return 0;
	return v1_u64("cpuacct", c->cgroup_v1_cpuacct, "cpuacct.usage", ret_ns);
}

/*
 * CFS bandwidth control from cpu.stat: v2 (nr_periods, nr_throttled, throttled_usec, with
 * the cpu controller enabled) or v1 (the cpu controller's throttled_time, in ns).
 */
static int cfs_parse(const char *text, bool v1, struct stats *s)
{
	uint64_t p, t, d;
	if (!text || cg_parse_keyed(text, "nr_periods", &p) < 0 ||
	    cg_parse_keyed(text, "nr_throttled", &t) < 0 ||
	    cg_parse_keyed(text, v1 ? "throttled_time" : "throttled_usec", &d) < 0)
		return -ENOENT;
	s->cpu_periods = p;
	s->cpu_throttled_periods = t;
	s->cpu_throttled_ns = v1 ? d : d * 1000;
	return 0;
}

/* Usage minus the inactive file cache, as cAdvisor and the kubelet count a working set. */
static uint64_t working_set(uint64_t usage, const char *memstat, const char *key)
{
	uint64_t inactive;
	if (!memstat || cg_parse_keyed(memstat, key, &inactive) < 0)
		return usage;
	return inactive < usage ? usage - inactive : 0;
}

void stats_where_done(struct stats_where *w)
{
	if (!w)
		return;
	free(w->v1_blkio);
	*w = (struct stats_where){ 0 };
}

void stats_read_cgroup(const struct container *c, struct stats_where *w, struct stats *ret)
{
	struct stats s = { .sampled_ns = now_ns() };
	const char *dir = c->cgroup_dir;
	struct stat st;

	/*
	 * The runtime makes and removes the v2 and v1 cgroups together: without the cgroup2
	 * directory (the usual case at poststop) there is nothing live to read, and hybrid
	 * hosts are spared the v1 look-ups.
	 */
	if (!dir || stat(dir, &st) < 0 || st.st_ino != c->cgroup_id) {
		s.sampled_ns = 0;
		*ret = s;
		return;
	}

	/* Without what an earlier reading learned: try every place, and learn. */
	struct stats_where learn = { 0 };
	bool probe = !w || !w->known;
	const struct stats_where *k = probe ? &learn : w;

	_cleanup_free_ char *cpu = NULL;
	if (v2_read(dir, "cpu.stat", &cpu) < 0)
		cpu = NULL;
	if (cpu_from_v2(c, cpu, &s.cpu_ns) == 0 ||
	    v1_u64("cpuacct", c->cgroup_v1_cpuacct, "cpuacct.usage", &s.cpu_ns) == 0)
		s.live |= ST_CPU;
	if ((probe || k->v2_cfs) && cfs_parse(cpu, false, &s) == 0) {
		learn.v2_cfs = true;
	} else if (c->cgroup_v1_cpuacct) {
		/* cpu and cpuacct are co-mounted, and the runtime puts them at one path. */
		_cleanup_free_ char *v1 = NULL;
		if (v1_read("cpu", c->cgroup_v1_cpuacct, "cpu.stat", &v1) == 0)
			cfs_parse(v1, true, &s);
	}

	if ((probe || k->v2_memory) && v2_u64(dir, "memory.current", &s.memory_bytes) == 0) {
		learn.v2_memory = true;
		s.live |= ST_MEMORY;
		if ((probe || k->v2_peak) && v2_u64(dir, "memory.peak", &s.memory_peak_bytes) == 0) {
			learn.v2_peak = true;
			s.live |= ST_PEAK;
		}
		_cleanup_free_ char *ms = NULL, *ev = NULL;
		if ((probe || k->v2_memstat) && v2_read(dir, "memory.stat", &ms) == 0)
			learn.v2_memstat = true;
		s.memory_working_set_bytes = working_set(s.memory_bytes, ms, "inactive_file");
		if ((probe || k->v2_events) && v2_read(dir, "memory.events", &ev) == 0 &&
		    cg_parse_keyed(ev, "oom_kill", &s.oom_kills) == 0)
			learn.v2_events = true;
	} else if (v1_u64("memory", c->cgroup_v1_memory, "memory.usage_in_bytes", &s.memory_bytes) == 0) {
		s.live |= ST_MEMORY;
		if (v1_u64("memory", c->cgroup_v1_memory, "memory.max_usage_in_bytes",
			   &s.memory_peak_bytes) == 0)
			s.live |= ST_PEAK;
		_cleanup_free_ char *ms = NULL, *oom = NULL;
		if (v1_read("memory", c->cgroup_v1_memory, "memory.stat", &ms) < 0)
			ms = NULL;
		s.memory_working_set_bytes = working_set(s.memory_bytes, ms, "total_inactive_file");
		if (v1_read("memory", c->cgroup_v1_memory, "memory.oom_control", &oom) == 0)
			cg_parse_keyed(oom, "oom_kill", &s.oom_kills);
	}
	if (s.memory_peak_bytes < s.memory_bytes)
		s.memory_peak_bytes = s.memory_bytes;

	if ((probe || k->v2_pids) && v2_u64(dir, "pids.current", &s.pids) == 0) {
		learn.v2_pids = true;
		s.live |= ST_PIDS;
	} else if (v1_u64("pids", c->cgroup_v1_pids, "pids.current", &s.pids) == 0 ||
		   v2_count_threads(dir, &s.pids) == 0) {
		s.live |= ST_PIDS;
	}

	_cleanup_free_ char *io = NULL;
	if ((probe || k->v2_io) && v2_read(dir, "io.stat", &io) == 0 &&
	    cg_parse_io_stat(io, &s.io_read_bytes, &s.io_write_bytes) == 0) {
		learn.v2_io = true;
		s.live |= ST_IO;
	} else if (c->cgroup_v1_memory || c->cgroup_v1_cpuacct) {
		if (probe)
			learn.v1_blkio = v1_blkio_path(c);
		if (v1_blkio(probe ? learn.v1_blkio : k->v1_blkio, &s.io_read_bytes,
			     &s.io_write_bytes) == 0)
			s.live |= ST_IO;
	}

	if (probe && w) {
		learn.known = true;
		*w = learn;
	} else {
		stats_where_done(&learn);
	}
	*ret = s;
}
