/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-container resource numbers: cgroup v2 files when the container's cgroup2 directory
 * has them (pure v2 hosts), else the v1 controllers of hybrid hosts, read through
 * libcgroup (which knows where each v1 hierarchy is mounted); the kernel counters of the
 * pinned set; and the values the collector persisted while the cgroup was alive, because
 * by poststop the runtime has usually removed the cgroup already.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <libcgroup.h>

#include "bpfset.h"
#include "cgroup.h"
#include "container.h"
#include "json.h"
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

/* --- cgroup v1, through libcgroup ----------------------------------------------------- */

static pthread_once_t libcgroup_once = PTHREAD_ONCE_INIT;
static bool libcgroup_ok;

static void libcgroup_quiet(void *userdata, int level, const char *fmt, va_list ap)
{
	/* Library code does not log; libcgroup's default logger would write to stdout. */
}

static void libcgroup_init_once(void)
{
	cgroup_set_logger(libcgroup_quiet, -1, NULL);
	libcgroup_ok = cgroup_init() == 0;
}

/*
 * The whole file `file` of controller's cgroup `path` (relative to its hierarchy). libcgroup
 * finds the hierarchy's mount point from /proc/mounts (so v1 controllers mounted elsewhere
 * than /sys/fs/cgroup/<name>, or co-mounted as "cpu,cpuacct", are found); when it can't
 * serve (not initialised, controller not in its table) the conventional place is read.
 */
static int v1_read(const char *controller, const char *path, const char *file, char **ret)
{
	pthread_once(&libcgroup_once, libcgroup_init_once);
	if (libcgroup_ok) {
		char line[256];
		void *h = NULL;
		int r = cgroup_read_value_begin(controller, path, (char *)file, &h, line,
						 sizeof(line));
		if (r == 0 || r == ECGEOF) {
			size_t len = 0, cap = 512;
			char *buf = xcalloc(1, cap);
			for (; r == 0; r = cgroup_read_value_next(&h, line, sizeof(line))) {
				size_t n = strlen(line);
				if (len + n + 1 > cap) {
					cap = (len + n + 1) * 2;
					buf = xrealloc(buf, cap);
				}
				memcpy(buf + len, line, n + 1);
				len += n;
			}
			if (h)
				cgroup_read_value_end(&h);
			*ret = buf;
			return 0;
		}
		if (h)
			cgroup_read_value_end(&h);
		if (r != ECGROUPNOTMOUNTED && r != ECGROUPSUBSYSNOTMOUNTED)
			return -ENOENT;
	}
	_cleanup_free_ char *p = xasprintf("/sys/fs/cgroup/%s%s/%s", controller, path, file);
	return read_file(p, 1 << 20, ret, NULL);
}

static int v1_u64(const char *controller, const char *path, const char *file, uint64_t *ret)
{
	if (!path)
		return -ENOENT;
	_cleanup_free_ char *text = NULL;
	int r = v1_read(controller, path, file, &text);
	return r < 0 ? r : cg_parse_u64(text, ret);
}

/*
 * The container's blkio path: the record keeps memory, cpuacct and pids; blkio comes from
 * its init's /proc/PID/cgroup while it lives, else from the common path when the runtime
 * put every controller at the same place (runc and crun do).
 */
static char *v1_blkio_path(const struct container *c)
{
	if (container_alive(c)) {
		_cleanup_free_ char *proc = xasprintf("/proc/%d/cgroup", (int)c->pid);
		_cleanup_free_ char *text = NULL;
		char *p = NULL;
		if (read_file(proc, 1 << 20, &text, NULL) == 0 &&
		    cgroup1_path_from_proc(text, "blkio", &p) == 0)
			return p;
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

int stats_read_cpu(const struct container *c, uint64_t *ret_ns)
{
	/* cpu.stat is a core file of every cgroup2 cgroup, hybrid hosts' included. */
	_cleanup_free_ char *cpu = NULL;
	uint64_t v;
	if (c->cgroup_dir && v2_read(c->cgroup_dir, "cpu.stat", &cpu) == 0 &&
	    cg_parse_keyed(cpu, "usage_usec", &v) == 0 && (v || !c->cgroup_v1_cpuacct)) {
		*ret_ns = v * 1000;
		return 0;
	}
	return v1_u64("cpuacct", c->cgroup_v1_cpuacct, "cpuacct.usage", ret_ns);
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

	if (stats_read_cpu(c, &s.cpu_ns) == 0)
		s.live |= ST_CPU;

	if ((probe || k->v2_memory) && v2_u64(dir, "memory.current", &s.memory_bytes) == 0) {
		learn.v2_memory = true;
		s.live |= ST_MEMORY;
		if ((probe || k->v2_peak) && v2_u64(dir, "memory.peak", &s.memory_peak_bytes) == 0) {
			learn.v2_peak = true;
			s.live |= ST_PEAK;
		}
	} else if (v1_u64("memory", c->cgroup_v1_memory, "memory.usage_in_bytes", &s.memory_bytes) == 0) {
		s.live |= ST_MEMORY;
		if (v1_u64("memory", c->cgroup_v1_memory, "memory.max_usage_in_bytes",
			   &s.memory_peak_bytes) == 0)
			s.live |= ST_PEAK;
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

/* a = max(a, b), for the uint64_t and __u64 fields alike. */
#define MAX_INTO(a, b) do { if ((b) > (a)) (a) = (b); } while (0)

void stats_merge(struct stats *s, const struct stats *saved)
{
	MAX_INTO(s->cpu_ns, saved->cpu_ns);
	MAX_INTO(s->io_read_bytes, saved->io_read_bytes);
	MAX_INTO(s->io_write_bytes, saved->io_write_bytes);
	if (!(s->live & ST_MEMORY))
		s->memory_bytes = saved->memory_bytes;
	if (!(s->live & ST_PIDS))
		s->pids = saved->pids;
	MAX_INTO(s->memory_peak_bytes, saved->memory_peak_bytes);
	MAX_INTO(s->memory_peak_bytes, saved->memory_bytes);
	MAX_INTO(s->memory_peak_bytes, s->memory_bytes);
	MAX_INTO(s->k.rx_bytes, saved->k.rx_bytes);
	MAX_INTO(s->k.rx_packets, saved->k.rx_packets);
	MAX_INTO(s->k.tx_bytes, saved->k.tx_bytes);
	MAX_INTO(s->k.tx_packets, saved->k.tx_packets);
	MAX_INTO(s->k.egress_denied, saved->k.egress_denied);
	MAX_INTO(s->k.ingress_denied, saved->k.ingress_denied);
	MAX_INTO(s->k.execs, saved->k.execs);
	MAX_INTO(s->k.syscalls, saved->k.syscalls);
	MAX_INTO(s->k.lost, saved->k.lost);
	if (!s->sampled_ns)
		s->sampled_ns = saved->sampled_ns;
}

void stats_collect(const char *state_dir, const struct container *c, struct bpfset *set,
		   struct stats *ret)
{
	struct stats s, saved;
	stats_read_cgroup(c, NULL, &s);
	if (set && bpfset_read_stats(set, c->cgroup_id, &s.k) == 0)
		s.live |= ST_KERNEL;
	if (state_dir && stats_load(state_dir, c, &saved) == 0)
		stats_merge(&s, &saved);
	s.syscalls_counted = c->flags & CF_SYSCOUNT;
	*ret = s;
}

struct setcache {
	size_t n;
	struct {
		char *version;
		struct bpfset *set;
	} v[];
};

struct bpfset *setcache_get(struct setcache **cache, const char *bpffs_dir, const char *version)
{
	struct setcache *sc = *cache;
	if (!version)
		return NULL;
	for (size_t i = 0; sc && i < sc->n; i++)
		if (strcmp(sc->v[i].version, version) == 0)
			return sc->v[i].set;
	size_t n = sc ? sc->n : 0;
	sc = xrealloc(sc, sizeof(*sc) + (n + 1) * sizeof(sc->v[0]));
	sc->n = n + 1;
	sc->v[n].version = xstrdup(version);
	sc->v[n].set = NULL;
	bpfset_open(bpffs_dir, version, false, &sc->v[n].set, NULL);
	*cache = sc;
	return sc->v[n].set;
}

void setcache_free(struct setcache *sc)
{
	for (size_t i = 0; sc && i < sc->n; i++) {
		free(sc->v[i].version);
		bpfset_close(sc->v[i].set);
	}
	free(sc);
}

/* --- JSON ----------------------------------------------------------------------------- */

void stats_gen(yajl_gen g, const char *id, const struct stats *s)
{
	yajl_gen_map_open(g);
	stats_gen_fields(g, id, s);
	yajl_gen_map_close(g);
}

void stats_gen_fields(yajl_gen g, const char *id, const struct stats *s)
{
	jg_key_str(g, "id", id);
	jg_key_uint(g, "cpu_ns", s->cpu_ns);
	jg_key_uint(g, "memory_bytes", s->memory_bytes);
	jg_key_uint(g, "memory_peak_bytes", s->memory_peak_bytes);
	jg_key_uint(g, "pids", s->pids);
	jg_key_uint(g, "io_read_bytes", s->io_read_bytes);
	jg_key_uint(g, "io_write_bytes", s->io_write_bytes);
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
	/* Audit records the kernel could not hand over (ring buffer full, or the container's
	 * share of it taken): each also counted by a `lost` record in its log. */
	jg_key_uint(g, "audit_lost", s->k.lost);
}

/* --- persisted values ----------------------------------------------------------------- */

/* The numbers of a persisted file, by key. */
static const struct {
	const char *key;
	size_t off;
} saved_fields[] = {
#define F(k, m) { k, offsetof(struct stats, m) }
	F("sampled_ns", sampled_ns),
	F("cpu_ns", cpu_ns),
	F("memory_bytes", memory_bytes),
	F("memory_peak_bytes", memory_peak_bytes),
	F("pids", pids),
	F("io_read_bytes", io_read_bytes),
	F("io_write_bytes", io_write_bytes),
	F("rx_bytes", k.rx_bytes),
	F("rx_packets", k.rx_packets),
	F("tx_bytes", k.tx_bytes),
	F("tx_packets", k.tx_packets),
	F("egress_denied", k.egress_denied),
	F("ingress_denied", k.ingress_denied),
	F("execs", k.execs),
	F("syscalls", k.syscalls),
	F("lost", k.lost),
#undef F
};

/* Through memcpy: the fields are uint64_t and __u64 (unsigned long long), not one type. */
static uint64_t field_get(const struct stats *s, size_t i)
{
	uint64_t v;
	memcpy(&v, (const char *)s + saved_fields[i].off, sizeof(v));
	return v;
}

static void field_set(struct stats *s, size_t i, uint64_t v)
{
	memcpy((char *)s + saved_fields[i].off, &v, sizeof(v));
}

char *stats_path(const char *state_dir, const char *id)
{
	return xasprintf("%s/stats/%s.json", state_dir, id);
}

int stats_save(const char *state_dir, const struct container *c, const struct stats *s)
{
	_cleanup_json_gen_ yajl_gen g = json_gen_new(false);
	yajl_gen_map_open(g);
	jg_key_str(g, "id", c->id);
	jg_key_uint(g, "cgroup_id", c->cgroup_id);
	for (size_t i = 0; i < ARRAY_SIZE(saved_fields); i++)
		jg_key_uint(g, saved_fields[i].key, field_get(s, i));
	yajl_gen_map_close(g);
	size_t len;
	_cleanup_free_ char *text = json_gen_take(g, &len);
	_cleanup_free_ char *path = stats_path(state_dir, c->id);
	int r = write_file_atomic(path, text, len, 0600);
	if (r == -ENOENT) {
		/* The first one: make the directory (not on every write: the collector's are
		 * many). */
		_cleanup_free_ char *dir = path_join(state_dir, "stats");
		r = mkdir_p(dir, 0700);
		if (r == 0)
			r = write_file_atomic(path, text, len, 0600);
	}
	return r;
}

static bool get_u64(yajl_val root, const char *key, uint64_t *ret)
{
	yajl_val v = json_get(root, key);
	if (!YAJL_IS_NUMBER(v) || !v->u.number.r || v->u.number.r[0] == '-')
		return false;
	errno = 0;
	*ret = strtoull(v->u.number.r, NULL, 10);
	return errno == 0;
}

int stats_load(const char *state_dir, const struct container *c, struct stats *ret)
{
	if (!valid_id(c->id))
		return -EINVAL;
	_cleanup_free_ char *path = stats_path(state_dir, c->id);
	_cleanup_free_ char *text = NULL;
	int r = read_file_nofollow(path, 1 << 16, &text, NULL);
	if (r < 0)
		return r;
	_cleanup_json_ yajl_val root = NULL;
	if (json_parse(text, path, &root, NULL) < 0)
		return -EINVAL;
	uint64_t cgid;
	if (!get_u64(root, "cgroup_id", &cgid))
		return -EINVAL;
	if (cgid != c->cgroup_id)
		return -ESTALE;
	struct stats s = { 0 };
	for (size_t i = 0; i < ARRAY_SIZE(saved_fields); i++) {
		uint64_t v;
		if (get_u64(root, saved_fields[i].key, &v))
			field_set(&s, i, v);
	}
	*ret = s;
	return 0;
}

int stats_remove(const char *state_dir, const char *id)
{
	_cleanup_free_ char *path = stats_path(state_dir, id);
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}
