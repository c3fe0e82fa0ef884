/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy cache (policycache.h). One binary file per network policy, used by the
 * build that wrote it only, so no portability is asked of it (`ocibpf gc`, another
 * binary, reads its key: a change of the layout is a new CACHE_FORMAT):
 *
 *   struct cache_head         magic, format, length, build tag, key, scalars, summary
 *   int32_t syscalls[n]       the audited syscalls (native numbers, sorted)
 *   uint8_t checksum[32]      SHA-256 of everything before it
 *
 * Binary rather than JSON: the summary is a struct net_meta and a digest, which JSON would
 * spell in hex for a parser to take back; the checksum catches a short or damaged file.
 * The build tag is a SHA-256 of the ocibpf version, the BPF set's version (the layout
 * of the maps) and the executable's GNU build id (the compiler of the rules): a cache
 * another build wrote is not used.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bpfset.h"
#include "paths.h"
#include "policy.h"
#include "policycache.h"
#include "sha256.h"

#define CACHE_MAGIC "ocibpfPC"
#define CACHE_FORMAT 1
#define CACHE_SYSCALLS_MAX 4096
#define CACHE_SUFFIX ".cache"

/*
 * Racy clean (git's "racy git"): a file's timestamps move by clock ticks, so two edits of
 * the same size within one tick leave its key as it was. A file whose mtime or ctime is
 * less than RACY_NS old is not cached: the next start after that caches it, and any edit
 * after the cache was written then gives the file a later ctime than its key.
 */
#define RACY_NS (2ULL * 1000000000ULL)

struct cache_head {
	char magic[8];
	uint32_t format;
	uint32_t len;                   /* of the file: head, syscalls, checksum */
	uint8_t build[32];              /* build_tag() */
	/* the key: the policy file's fstat */
	uint64_t dev, ino, size;
	int64_t mtime_s, mtime_ns, ctime_s, ctime_ns;
	/* struct policy, but its rules */
	uint8_t audit, audit_all, network, telemetry, telemetry_syscalls;
	uint8_t present[2], def[2];
	uint32_t n_syscalls;
	struct netpolicy_summary net;
};

#define CACHE_SIZE(n) (sizeof(struct cache_head) + (size_t)(n) * sizeof(int32_t) + 32)

void policy_source_done(struct policy_source *src)
{
	closep(&src->fd);
	src->fd = -1;
}

/* The executable's GNU build id into s (the first object dl_iterate_phdr names). */
static int add_build_id(struct dl_phdr_info *info, size_t size, void *ud)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
		const char *end = p + ph->p_memsz;
		while ((size_t)(end - p) >= sizeof(ElfW(Nhdr))) {
			const ElfW(Nhdr) *n = (const void *)p;
			const char *name = p + sizeof(*n);
			const char *desc = name + ((n->n_namesz + 3) & ~3u);
			if (desc > end || n->n_descsz > (size_t)(end - desc))
				break;
			if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
				sha256_update(ud, desc, n->n_descsz);
				return 1;
			}
			p = desc + ((n->n_descsz + 3) & ~3u);
		}
	}
	return 1;
}

static void build_tag(uint8_t out[32])
{
	static uint8_t tag[32];
	static bool done;
	if (!done) {
		struct sha256 s;
		sha256_init(&s);
		sha256_update(&s, OCIBPF_VERSION, sizeof(OCIBPF_VERSION));
		sha256_update(&s, bpfset_current_version(), strlen(bpfset_current_version()) + 1);
		dl_iterate_phdr(add_build_id, &s);
		sha256_final(&s, tag);
		done = true;
	}
	memcpy(out, tag, 32);
}

static void key_of(const struct stat *st, struct cache_head *h)
{
	h->dev = st->st_dev;
	h->ino = st->st_ino;
	h->size = (uint64_t)st->st_size;
	h->mtime_s = st->st_mtim.tv_sec;
	h->mtime_ns = st->st_mtim.tv_nsec;
	h->ctime_s = st->st_ctim.tv_sec;
	h->ctime_ns = st->st_ctim.tv_nsec;
}

static bool key_matches(const struct cache_head *h, const struct stat *st)
{
	struct cache_head k = { 0 };
	key_of(st, &k);
	return h->dev == k.dev && h->ino == k.ino && h->size == k.size &&
	       h->mtime_s == k.mtime_s && h->mtime_ns == k.mtime_ns &&
	       h->ctime_s == k.ctime_s && h->ctime_ns == k.ctime_ns;
}

/* A cache file read whole and checked (but for its build and key); NULL when not one. */
static const struct cache_head *check(const char *buf, size_t len)
{
	const struct cache_head *h = (const void *)buf;
	if (len < CACHE_SIZE(0) || memcmp(h->magic, CACHE_MAGIC, sizeof(h->magic)) != 0 ||
	    h->format != CACHE_FORMAT || h->len != len || h->n_syscalls > CACHE_SYSCALLS_MAX ||
	    len != CACHE_SIZE(h->n_syscalls) || !h->network)
		return NULL;
	uint8_t sum[32];
	struct sha256 s;
	sha256_init(&s);
	sha256_update(&s, buf, len - 32);
	sha256_final(&s, sum);
	return memcmp(sum, buf + len - 32, 32) == 0 ? h : NULL;
}

static int read_cache(const char *state_dir, const char *name, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *path = path_policy_cache(state_dir, name);
	return read_file_nofollow(path, CACHE_SIZE(CACHE_SYSCALLS_MAX), ret, ret_len);
}

/* The policy from its cache, when the cache holds the file st was taken of. */
static struct policy *from_cache(const char *state_dir, const char *name, const struct stat *st,
				 struct netpolicy_summary *ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	uint8_t build[32];
	if (read_cache(state_dir, name, &buf, &len) < 0)
		return NULL;
	const struct cache_head *h = check(buf, len);
	build_tag(build);
	if (!h || memcmp(h->build, build, sizeof(build)) != 0 || !key_matches(h, st))
		return NULL;
	struct policy *p = xcalloc(1, sizeof(*p));
	p->audit = h->audit;
	p->audit_all = h->audit_all;
	p->network = h->network;
	p->telemetry = h->telemetry;
	p->telemetry_syscalls = h->telemetry_syscalls;
	p->egress.present = h->present[0];
	p->egress.def = h->def[0] ? ACTION_ALLOW : ACTION_DENY;
	p->ingress.present = h->present[1];
	p->ingress.def = h->def[1] ? ACTION_ALLOW : ACTION_DENY;
	if (h->n_syscalls) {
		p->audit_syscalls = xcalloc(h->n_syscalls, sizeof(int));
		const int32_t *nrs = (const void *)(buf + sizeof(*h));
		for (size_t i = 0; i < h->n_syscalls; i++)
			p->audit_syscalls[i] = nrs[i];
		p->n_audit_syscalls = h->n_syscalls;
	}
	p->name = xstrdup(name);
	*ret = h->net;
	return p;
}

int policycache_load(const char *state_dir, const char *policy_dir, const char *name,
		     struct policy **ret, struct policy_source *src, struct error *err)
{
	*src = (struct policy_source){ .fd = -1 };
	int fd = policy_open(policy_dir, name, &src->st, err);
	if (fd < 0)
		return fd;
	src->fd = fd;
	struct policy *p = from_cache(state_dir, name, &src->st, &src->net);
	if (p) {
		src->hit = true;
		*ret = p;
		return 0;
	}
	return policy_read(fd, policy_dir, name, ret, err);
}

/* Everything but the rules. */
static bool same_but_rules(const struct policy *a, const struct policy *b)
{
	return a->audit == b->audit && a->audit_all == b->audit_all &&
	       a->n_audit_syscalls == b->n_audit_syscalls &&
	       (a->n_audit_syscalls == 0 ||
		memcmp(a->audit_syscalls, b->audit_syscalls, a->n_audit_syscalls * sizeof(int)) == 0) &&
	       a->network == b->network && a->telemetry == b->telemetry &&
	       a->telemetry_syscalls == b->telemetry_syscalls &&
	       a->egress.present == b->egress.present && a->egress.def == b->egress.def &&
	       a->ingress.present == b->ingress.present && a->ingress.def == b->ingress.def;
}

int policycache_load_rules(struct policy_source *src, const char *policy_dir,
			   const struct policy *p, struct policy **ret, struct error *err)
{
	_cleanup_policy_ struct policy *full = NULL;
	int r = policy_read(src->fd, policy_dir, p->name, &full, err);
	if (r < 0)
		return r;
	if (!same_but_rules(p, full))
		return err_msg(err, -ESTALE, "policy %s: the file changed while the container was starting",
			       p->name);
	src->hit = false;
	*ret = TAKE_PTR(full);
	return 0;
}

static unsigned long long ns_of(const struct timespec *ts)
{
	return (unsigned long long)ts->tv_sec * 1000000000ULL + (unsigned long long)ts->tv_nsec;
}

void policycache_store(const char *state_dir, const struct policy_source *src,
		       const struct policy *p, const struct netpolicy_summary *s)
{
	if (!p->network || !p->name || src->fd < 0 || src->hit ||
	    p->n_audit_syscalls > CACHE_SYSCALLS_MAX)
		return;
	size_t len = CACHE_SIZE(p->n_audit_syscalls);
	_cleanup_free_ char *buf = xcalloc(1, len);
	struct cache_head *h = (void *)buf;
	key_of(&src->st, h);
	/* Racy clean (RACY_NS), and unchanged since it was read. */
	struct stat st;
	unsigned long long now = realtime_ns();
	if (ns_of(&src->st.st_mtim) + RACY_NS > now || ns_of(&src->st.st_ctim) + RACY_NS > now ||
	    fstat(src->fd, &st) < 0 || !key_matches(h, &st))
		return;
	memcpy(h->magic, CACHE_MAGIC, sizeof(h->magic));
	h->format = CACHE_FORMAT;
	h->len = (uint32_t)len;
	build_tag(h->build);
	h->audit = p->audit;
	h->audit_all = p->audit_all;
	h->network = p->network;
	h->telemetry = p->telemetry;
	h->telemetry_syscalls = p->telemetry_syscalls;
	h->present[0] = p->egress.present;
	h->def[0] = p->egress.def == ACTION_ALLOW;
	h->present[1] = p->ingress.present;
	h->def[1] = p->ingress.def == ACTION_ALLOW;
	h->n_syscalls = (uint32_t)p->n_audit_syscalls;
	h->net = *s;
	int32_t *nrs = (void *)(buf + sizeof(*h));
	for (size_t i = 0; i < p->n_audit_syscalls; i++)
		nrs[i] = p->audit_syscalls[i];
	struct sha256 sum;
	sha256_init(&sum);
	sha256_update(&sum, buf, len - 32);
	sha256_final(&sum, (uint8_t *)buf + len - 32);

	_cleanup_free_ char *dir = path_policy_caches(state_dir);
	_cleanup_free_ char *path = path_policy_cache(state_dir, p->name);
	if (mkdir_p(dir, 0700) == 0)
		write_file_atomic(path, buf, len, 0600);
}

/* Why the cache file name (in dir) is to go; NULL when it stays. */
static const char *stale(const char *state_dir, const char *policy_dir, const char *name)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_free_ char *file = xasprintf("%s.json", name);
	_cleanup_free_ char *path = path_join(policy_dir, file);
	size_t len;
	struct stat st;
	if (lstat(path, &st) < 0)
		return "no policy file";
	if (read_cache(state_dir, name, &buf, &len) < 0)
		return "unreadable";
	const struct cache_head *h = check(buf, len);
	if (!h)
		return "damaged";
	return key_matches(h, &st) ? NULL : "policy file changed";
}

void policycache_gc(const char *state_dir, const char *policy_dir, bool all,
		    void (*removed)(const char *name, const char *why, void *ud), void *ud)
{
	_cleanup_free_ char *dir = path_policy_caches(state_dir);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		_cleanup_free_ char *name = id_of_file_name(de->d_name, CACHE_SUFFIX);
		const char *why = all ? "unload" : NULL;
		if (!why && (!name || !valid_name(name))) {
			/* Not a cache: a hook's temporary file, left when it was killed. */
			struct stat st;
			if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    ns_of(&st.st_mtim) + 60 * 1000000000ULL < realtime_ns())
				why = "left over";
		} else if (!why) {
			why = stale(state_dir, policy_dir, name);
		}
		if (why && unlinkat(dirfd(d), de->d_name, 0) == 0 && removed)
			removed(name && valid_name(name) ? name : de->d_name, why, ud);
	}
	closedir(d);
	if (all)
		rmdir(dir);
}
