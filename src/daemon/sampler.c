/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Telemetry sampling in the collector. The totals must outlive the container, and by
 * poststop the runtime has usually removed the cgroup already, so the collector keeps the
 * last values of every monitored container in <state_dir>/stats/<id>.json (atomically
 * replaced; stats_collect merges them with whatever is still live):
 *
 *  - once a second it reads every container's cgroup and kernel counters and writes the
 *    file when something changed; a container that used no CPU and whose counters did not
 *    move since is idle: two reads (cpu.stat, its counters), and a full reading every 10 s;
 *  - it watches each container's cgroup.events with inotify and samples the container the
 *    moment it says "populated 0": its last process is gone and the counters are final,
 *    and the runtime is about to remove the cgroup;
 *  - it watches <state_dir>/containers, so a new container is sampled (and watched) as
 *    soon as the hook records it, however short-lived (and looks at the directory itself
 *    only every 10 s).
 *
 * That runs in a thread of its own: the cgroup emptying must be seen within microseconds,
 * not at the next tick of the collector's loop (runc removes the cgroup right after its
 * last process exits). sampler_tick drives the same work when the thread can't start.
 *
 * Race with container_remove (record first, then the stats file): after writing a stats
 * file the sampler checks that the record still exists and removes the file otherwise, so
 * a file written after the container went is never left behind.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "bpfset.h"
#include "container.h"
#include "paths.h"
#include "sampler.h"
#include "stats.h"

#define SAMPLE_NS (1000000000ULL)        /* periodic sample of every container */
#define FULL_NS (10 * 1000000000ULL)      /* an idle container is read in full this often */
#define SWEEP_NS (60 * 1000000000ULL)     /* stray stats files */
#define THREAD_STACK (256 * 1024)

struct entry {
	struct container *c;
	ino_t record_ino;        /* of containers/<id>.json, to see it replaced */
	int wd;                  /* inotify watch of its cgroup.events, -1 when none */
	bool saved;              /* `last` is what its stats file holds */
	bool seen;               /* mark of the current sync */
	unsigned long long full_ns;   /* when it was last read in full */
	int cpu_fd;              /* its cpu.stat, kept open: pread is one syscall */
	struct stats_where where;
	struct stats last;
};

struct sampler {
	const struct config *cfg;
	char *containers_dir;
	char *stats_dir;
	pthread_mutex_t lock;    /* everything below, and stats file writes */
	struct entry *v;
	size_t n;
	struct setcache *sets;
	int ino_fd;
	int dir_wd;
	int stop_fd;
	pthread_t thread;
	bool threaded;
	unsigned long long next_sample_ns;
	unsigned long long next_sweep_ns;
	unsigned long long next_sync_ns;
};

static struct entry *find_id(struct sampler *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].c->id, id) == 0)
			return &s->v[i];
	return NULL;
}

static struct entry *find_wd(struct sampler *s, int wd)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].wd == wd)
			return &s->v[i];
	return NULL;
}

static void entry_done(struct sampler *s, struct entry *e)
{
	if (e->wd >= 0 && s->ino_fd >= 0)
		inotify_rm_watch(s->ino_fd, e->wd);
	if (e->cpu_fd >= 0)
		close(e->cpu_fd);
	stats_where_done(&e->where);
	container_free(e->c);
}

static void drop_entry(struct sampler *s, struct entry *e)
{
	entry_done(s, e);
	*e = s->v[--s->n];
}

#define SAMPLE_FORCE 1     /* write even when nothing changed */
/*
 * The cgroup just emptied: the counters are final, and no task is alive, whatever
 * pids.current says until the runtime reaps the zombies.
 */
#define SAMPLE_EMPTIED 2

/* CPU time from the open cpu.stat (v2, hybrid hosts' too), else the usual way. */
static int read_cpu(struct entry *e, uint64_t *ret_ns)
{
	if (e->cpu_fd >= 0) {
		char buf[1024];
		ssize_t n = pread(e->cpu_fd, buf, sizeof(buf) - 1, 0);
		uint64_t usec;
		if (n > 0) {
			buf[n] = '\0';
			if (cg_parse_keyed(buf, "usage_usec", &usec) == 0 && usec) {
				*ret_ns = usec * 1000;
				return 0;
			}
		} else {
			close(e->cpu_fd);   /* the cgroup is gone (ENODEV) */
			e->cpu_fd = -1;
		}
	}
	return stats_read_cpu(e->c, ret_ns);
}

/* No CPU time and no kernel counter moved since the last reading: nothing else did. */
static bool idle(struct sampler *s, struct entry *e, struct bpfset *set)
{
	uint64_t cpu;
	struct container_stats k;
	if (read_cpu(e, &cpu) < 0 || cpu > e->last.cpu_ns)
		return false;
	return !set || bpfset_read_stats(set, e->c->cgroup_id, &k) < 0 ||
	       memcmp(&k, &e->last.k, sizeof(k)) == 0;
}

static void sample(struct sampler *s, struct entry *e, unsigned flags)
{
	struct bpfset *set = setcache_get(&s->sets, s->cfg->bpffs_dir, e->c->set);
	unsigned long long now = now_ns();
	/* An idle container costs two reads (cpu.stat, its counters) until the next full one. */
	if (!(flags & SAMPLE_FORCE) && e->saved && now - e->full_ns < FULL_NS && idle(s, e, set))
		return;
	struct stats st;
	stats_read_cgroup(e->c, &e->where, &st);
	if (flags & SAMPLE_EMPTIED)
		st.pids = 0;
	if (set && bpfset_read_stats(set, e->c->cgroup_id, &st.k) == 0)
		st.live |= ST_KERNEL;
	if (!st.live)
		return;   /* nothing live: what the file holds stays the best knowledge */
	e->full_ns = now;
	if (!st.sampled_ns)
		st.sampled_ns = now_ns();
	if (e->saved) {
		stats_merge(&st, &e->last);
		if (!(flags & SAMPLE_FORCE) && !stats_differ(&st, &e->last))
			return;
	}
	if (stats_save(s->cfg->state_dir, e->c, &st) < 0)
		return;
	if (!container_recorded(s->cfg->state_dir, e->c->id)) {
		/* The container went while we wrote (see the top of this file). */
		stats_remove(s->cfg->state_dir, e->c->id);
		return;
	}
	e->last = st;
	e->saved = true;
}


/* "populated 0" in the cgroup's cgroup.events: its last process has exited. */
static bool cgroup_emptied(const struct entry *e)
{
	_cleanup_free_ char *path = path_join(e->c->cgroup_dir, "cgroup.events");
	_cleanup_free_ char *text = NULL;
	uint64_t v;
	return read_file(path, 4096, &text, NULL) == 0 &&
	       cg_parse_keyed(text, "populated", &v) == 0 && v == 0;
}

static void add_entry(struct sampler *s, const char *id, ino_t ino)
{
	struct container *c = NULL;
	if (container_read(s->cfg->state_dir, id, &c, NULL) < 0)
		return;
	s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	struct entry *e = &s->v[s->n++];
	*e = (struct entry){ .c = c, .record_ino = ino, .wd = -1, .seen = true, .cpu_fd = -1 };
	_cleanup_free_ char *cpu = path_join(c->cgroup_dir, "cpu.stat");
	e->cpu_fd = open(cpu, O_RDONLY | O_CLOEXEC);
	if (s->ino_fd >= 0) {
		_cleanup_free_ char *ev = path_join(c->cgroup_dir, "cgroup.events");
		e->wd = inotify_add_watch(s->ino_fd, ev, IN_MODIFY);
		/* A watch already held for another entry (same cgroup): leave it to that one. */
		for (size_t i = 0; e->wd >= 0 && i + 1 < s->n; i++)
			if (s->v[i].wd == e->wd)
				e->wd = -1;
	}
	/* Values persisted by an earlier collector still count (peaks, the counters). */
	if (stats_load(s->cfg->state_dir, c, &e->last) == 0)
		e->saved = true;
	sample(s, e, SAMPLE_FORCE);
}

/*
 * The record was replaced: by a later write of the same run (the hook records that the
 * start was logged), or by a new run of the id. The entry follows the run.
 */
static bool same_run(struct sampler *s, struct entry *e, ino_t ino)
{
	_cleanup_container_ struct container *c = NULL;
	if (container_read(s->cfg->state_dir, e->c->id, &c, NULL) < 0 ||
	    strcmp(c->run, e->c->run) != 0)
		return false;
	e->record_ino = ino;
	return true;
}

/* Follow <state_dir>/containers: new, replaced and removed records. */
static void sync_entries(struct sampler *s)
{
	if (s->ino_fd >= 0 && s->dir_wd < 0)
		s->dir_wd = inotify_add_watch(s->ino_fd, s->containers_dir,
					      IN_MOVED_TO | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF |
					      IN_ONLYDIR);
	for (size_t i = 0; i < s->n; i++)
		s->v[i].seen = false;
	char **ids = container_list(s->cfg->state_dir);
	for (char **id = ids; *id; id++) {
		_cleanup_free_ char *rec = path_record(s->cfg->state_dir, *id);
		struct stat sb;
		if (stat(rec, &sb) < 0)
			continue;
		struct entry *e = find_id(s, *id);
		if (e && e->record_ino != sb.st_ino && !same_run(s, e, sb.st_ino)) {
			/* A new run of the id. */
			drop_entry(s, e);
			e = NULL;
		}
		if (e)
			e->seen = true;
		else
			add_entry(s, *id, sb.st_ino);
	}
	strv_free(ids);
	for (size_t i = 0; i < s->n;) {
		if (!s->v[i].seen)
			drop_entry(s, &s->v[i]);
		else
			i++;
	}
	if (s->n == 0) {
		/* Don't keep programs of sets nobody uses alive. */
		setcache_free(s->sets);
		s->sets = NULL;
	}
}

static void sample_all(struct sampler *s)
{
	for (size_t i = 0; i < s->n; i++)
		sample(s, &s->v[i], 0);
}

/* Stats files whose record is gone (a collector or hook killed at the wrong moment). */
static void sweep(struct sampler *s)
{
	DIR *d = opendir(s->stats_dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		_cleanup_free_ char *id = id_of_file_name(de->d_name, ".json");
		if (!id || find_id(s, id))
			continue;
		if (!container_recorded(s->cfg->state_dir, id))
			stats_remove(s->cfg->state_dir, id);
	}
	closedir(d);
}

static void handle_inotify(struct sampler *s)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool resync = false;
	for (;;) {
		ssize_t len = read(s->ino_fd, buf, sizeof(buf));
		if (len <= 0)
			break;
		for (char *p = buf; p < buf + len;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				resync = true;
				continue;
			}
			if (ev->wd == s->dir_wd) {
				if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
					if (!(ev->mask & IN_IGNORED))
						inotify_rm_watch(s->ino_fd, s->dir_wd);
					s->dir_wd = -1;
				}
				resync = true;
				continue;
			}
			struct entry *e = find_wd(s, ev->wd);
			if (!e)
				continue;
			if (ev->mask & IN_IGNORED) {
				e->wd = -1;   /* the cgroup is gone */
				continue;
			}
			if ((ev->mask & IN_MODIFY) && cgroup_emptied(e))
				sample(s, e, SAMPLE_FORCE | SAMPLE_EMPTIED);
		}
	}
	if (resync)
		sync_entries(s);
}

/* One round of work; with the thread it runs whenever poll says so. */
static void step(struct sampler *s, bool inotify_ready)
{
	pthread_mutex_lock(&s->lock);
	if (inotify_ready)
		handle_inotify(s);
	unsigned long long now = now_ns();
	if (now >= s->next_sample_ns) {
		/* inotify reports the records coming and going; a full look now and then. */
		if (s->dir_wd < 0 || now >= s->next_sync_ns) {
			sync_entries(s);
			s->next_sync_ns = now + FULL_NS;
		}
		sample_all(s);
		s->next_sample_ns += SAMPLE_NS;
		if (s->next_sample_ns <= now)
			s->next_sample_ns = now + SAMPLE_NS;
	}
	if (now >= s->next_sweep_ns) {
		sweep(s);
		s->next_sweep_ns = now + SWEEP_NS;
	}
	pthread_mutex_unlock(&s->lock);
}

static void *thread_main(void *arg)
{
	struct sampler *s = arg;
	for (;;) {
		unsigned long long now = now_ns();
		int timeout = s->next_sample_ns > now ?
			(int)((s->next_sample_ns - now + 999999) / 1000000) : 0;
		struct pollfd p[2] = {
			{ .fd = s->stop_fd, .events = POLLIN },
			{ .fd = s->ino_fd, .events = POLLIN },
		};
		int n = poll(p, s->ino_fd >= 0 ? 2 : 1, timeout);
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && p[0].revents)
			break;
		step(s, n > 0 && (p[1].revents & POLLIN));
	}
	return NULL;
}

struct sampler *sampler_new(const struct config *cfg)
{
	struct sampler *s = xcalloc(1, sizeof(*s));
	s->cfg = cfg;
	s->containers_dir = path_records_dir(cfg->state_dir);
	s->stats_dir = path_stats_dir(cfg->state_dir);
	pthread_mutex_init(&s->lock, NULL);
	s->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	s->dir_wd = -1;
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->next_sample_ns = now_ns();
	s->next_sweep_ns = s->next_sample_ns + SAMPLE_NS;
	pthread_attr_t attr;
	if (s->stop_fd >= 0 && pthread_attr_init(&attr) == 0) {
		pthread_attr_setstacksize(&attr, THREAD_STACK);
		s->threaded = pthread_create(&s->thread, &attr, thread_main, s) == 0;
		pthread_attr_destroy(&attr);
		if (s->threaded)
			pthread_setname_np(s->thread, "ocibpf-sampler");   /* for top -H, benchmarks */
	}
	return s;
}

void sampler_tick(struct sampler *s)
{
	/* Without the thread: step keeps its own schedule; inotify is read without waiting. */
	if (!s || s->threaded)
		return;
	step(s, s->ino_fd >= 0);
}

void sampler_free(struct sampler *s)
{
	if (!s)
		return;
	if (s->threaded) {
		uint64_t one = 1;
		if (write(s->stop_fd, &one, sizeof(one)) != sizeof(one))
			pthread_cancel(s->thread);
		pthread_join(s->thread, NULL);
	}
	for (size_t i = 0; i < s->n; i++)
		entry_done(s, &s->v[i]);
	free(s->v);
	setcache_free(s->sets);
	if (s->ino_fd >= 0)
		close(s->ino_fd);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	pthread_mutex_destroy(&s->lock);
	free(s->containers_dir);
	free(s->stats_dir);
	free(s);
}
