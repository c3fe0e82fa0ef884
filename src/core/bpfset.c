/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_version.h"
#include "bpfset-load.h"
#include "uring.h"
#include "anchor.h"
#include "bpfset.h"
#include "paths.h"
#include "cgroup.h"
#include "ocibpf.skel.h"

static const char *const map_names[] = { "ocibpf_cgroups", "ocibpf_stats" };

const char *bpfset_current_version(void)
{
	return OCIBPF_BPF_VERSION;
}

/*
 * libbpf's last warning, and the first program it failed to load, to explain a failed
 * load in one line.
 */
static char libbpf_last[256];
static char libbpf_failed_prog[128];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (getenv("OCIBPF_DEBUG"))
		return vfprintf(stderr, fmt, ap);
	if (level == LIBBPF_WARN) {
		vsnprintf(libbpf_last, sizeof(libbpf_last), fmt, ap);
		libbpf_last[strcspn(libbpf_last, "\n")] = '\0';
		char name[128];
		if (!libbpf_failed_prog[0] &&
		    sscanf(libbpf_last, "libbpf: prog '%127[^']': BPF program load failed", name) == 1)
			memcpy(libbpf_failed_prog, name, sizeof(name));
	}
	return 0;
}

/* Why an object did not load: the program the kernel refused, its section and type. */
static int load_error(struct error *err, struct bpf_object *obj, const char *what, int r)
{
	struct bpf_program *prog = libbpf_failed_prog[0] ?
		bpf_object__find_program_by_name(obj, libbpf_failed_prog) : NULL;
	if (!prog)
		return err_msg(err, r, "cannot load BPF programs (%s): %s: %s", what, strerror(-r),
			       libbpf_last);
	const char *type = libbpf_bpf_prog_type_str(bpf_program__type(prog));
	return err_msg(err, r,
		       "cannot load BPF program %s (%s, program type %s): %s: the kernel refused it (does it support this program type?)",
		       bpf_program__name(prog), bpf_program__section_name(prog), type ? type : "unknown",
		       strerror(-r));
}

bool on_bpffs(const char *path)
{
	_cleanup_free_ char *p = xstrdup(path);
	for (;;) {
		struct statfs sfs;
		if (statfs(p, &sfs) == 0)
			return sfs.f_type == BPF_FS_MAGIC;
		char *slash = strrchr(p, '/');
		if (errno != ENOENT || !slash || slash == p)
			return false;
		*slash = '\0';
	}
}

void bpfset_close(struct bpfset *s)
{
	if (!s)
		return;
	for (int i = 0; i < P__COUNT; i++)
		if (s->prog_fd[i] >= 0)
			close(s->prog_fd[i]);
	if (s->cgroups_fd >= 0)
		close(s->cgroups_fd);
	if (s->stats_fd >= 0)
		close(s->stats_fd);
	if (s->audit_sel_fd >= 0)
		close(s->audit_sel_fd);
	free(s->bpffs_dir);
	free(s->version);
	free(s->dir);
	free(s);
}

static int open_pin(const char *dir, const char *sub, const char *name)
{
	_cleanup_free_ char *path = path_set_entry(dir, sub, name);
	int fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

int bpfset_map_fd(const struct bpfset *s, const char *name)
{
	return open_pin(s->dir, "maps", name);
}

int bpfset_prog_fd(const struct bpfset *s, const char *name)
{
	return open_pin(s->dir, "progs", name);
}

/* Open the programs in want (bits of enum bpfset_prog) not open yet, with their ids. */
static int open_progs(struct bpfset *s, uint32_t want)
{
	for (int i = 0; i < P__COUNT; i++) {
		if (!(want & (1U << i)) || s->prog_fd[i] >= 0)
			continue;
		int fd = open_pin(s->dir, "progs", bpfset_prog_name(i));
		if (fd < 0)
			return fd;
		s->prog_fd[i] = fd;
		struct bpf_prog_info info = { 0 };
		uint32_t len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
			return -errno;
		s->prog_id[i] = info.id;
	}
	return 0;
}

int bpfset_open_progs(struct bpfset *s, uint32_t want, struct error *err)
{
	int r = open_progs(s, want);
	if (r < 0)
		return err_errno(err, r, "cannot open the pinned programs of %s", s->dir);
	return 0;
}

/*
 * Open the pins a set is used by; -ENOENT when the set is missing or incomplete. The
 * first program too: its id tells this set from one pinned later under the same version
 * (bpfset_still_pinned). The others are opened when a container needs them (a poststop
 * never does).
 */
static int open_pins(struct bpfset *s)
{
	/* Pinned last by the loader: without it the set is incomplete. */
	_cleanup_free_ char *marker = path_join(s->dir, "complete");
	if (access(marker, F_OK) < 0)
		return -errno;
	int fd = open_pin(s->dir, "maps", map_names[0]);
	if (fd < 0)
		return fd;
	s->cgroups_fd = fd;
	fd = open_pin(s->dir, "maps", map_names[1]);
	if (fd < 0)
		return fd;
	s->stats_fd = fd;
	return open_progs(s, 1U << 0);
}

bool bpfset_still_pinned(const struct bpfset *s)
{
	_cleanup_close_ int fd = open_pin(s->dir, "progs", bpfset_prog_name(0));
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);
	return fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.id == s->prog_id[0];
}

static void close_pins(struct bpfset *s)
{
	for (int i = 0; i < P__COUNT; i++) {
		if (s->prog_fd[i] >= 0)
			close(s->prog_fd[i]);
		s->prog_fd[i] = -1;
	}
	if (s->cgroups_fd >= 0)
		close(s->cgroups_fd);
	if (s->stats_fd >= 0)
		close(s->stats_fd);
	s->cgroups_fd = s->stats_fd = -1;
}

/* Programs attached once with the set, for every container: they only run on rare events. */
static bool is_global(const struct bpf_program *prog)
{
	for (size_t i = 0; i < bpfset_n_global_progs; i++)
		if (strcmp(bpf_program__name(prog), bpfset_global_progs[i]) == 0)
			return true;
	return false;
}

static int pin_maps(struct bpf_object *obj, const char *dir, struct error *err)
{
	for (size_t i = 0; i < bpfset_n_pinned_maps; i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj, bpfset_pinned_maps[i]);
		_cleanup_free_ char *path = path_set_entry(dir, "maps", bpfset_pinned_maps[i]);
		int r = map ? bpf_map__pin(map, path) : -ENOENT;
		if (r < 0)
			return err_errno(err, r, "cannot pin map %s", path);
	}
	return 0;
}

static int pin_programs(struct bpf_object *obj, const char *dir, struct error *err)
{
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj) {
		if (is_global(prog))
			continue;
		_cleanup_free_ char *path = path_set_entry(dir, "progs", bpf_program__name(prog));
		int r = bpf_program__pin(prog, path);
		if (r < 0)
			return err_errno(err, r, "cannot pin program %s", path);
	}
	return 0;
}

/* Global programs (sub-cgroup tracking) are attached once, with the set. */
static int attach_global(struct bpf_object *obj, const char *dir, struct error *err)
{
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj) {
		if (!is_global(prog))
			continue;
		struct bpf_link *link = bpf_program__attach(prog);
		if (!link)
			return err_errno(err, -errno, "cannot attach %s", bpf_program__name(prog));
		_cleanup_free_ char *path = path_set_entry(dir, "links", bpf_program__name(prog));
		int r = bpf_link__pin(link, path);
		bpf_link__destroy(link);   /* the pin keeps it */
		if (r < 0)
			return err_errno(err, r, "cannot pin link %s", path);
	}
	return 0;
}

/* What features fill in a set once, when it is loaded (see bpfset_register_setup). */
static struct {
	const char *what;
	bpfset_setup_fn fn;
} setups[8];
static size_t n_setups;

void bpfset_register_setup(const char *what, bpfset_setup_fn fn)
{
	if (n_setups == ARRAY_SIZE(setups))
		abort();
	setups[n_setups].what = what;
	setups[n_setups++].fn = fn;
}

static int run_setups(const char *maps_dir, struct error *err)
{
	for (size_t i = 0; i < n_setups; i++) {
		int r = setups[i].fn(maps_dir);
		if (r < 0)
			return err_errno(err, r, "cannot set up the BPF set for %s", setups[i].what);
	}
	return 0;
}

/* The set's empty maps/, links/ and progs/ (emptied: a failed light load leaves pins). */
static int make_subdirs(const char *dir, struct error *err)
{
	static const char *const subdirs[] = { "maps", "links", "progs" };
	for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {
		_cleanup_free_ char *d = path_join(dir, subdirs[i]);
		rm_rf(d);
		int r = mkdir_p(d, 0700);
		if (r < 0)
			return err_errno(err, r, "cannot create %s", d);
	}
	return 0;
}

static int load_set(const char *dir, struct error *err)
{
	int r = make_subdirs(dir, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *maps = path_join(dir, "maps");

	/*
	 * The light skeleton: no parse of the kernel's BTF in user space (bpfset-load.c).
	 * OCIBPF_LOADER=libbpf skips it (libbpf says which program the verifier refused).
	 */
	const char *loader = getenv("OCIBPF_LOADER");
	if (!loader || strcmp(loader, "libbpf") != 0) {
		r = bpfset_load_light(dir);
		if (r == 0)
			return run_setups(maps, err);
		if (getenv("OCIBPF_DEBUG"))
			fprintf(stderr, "ocibpf: light skeleton load failed (%s), loading with libbpf\n",
				strerror(-r));
		if ((r = make_subdirs(dir, err)) < 0)
			return r;
	}

	/* libbpf (older kernels), which also says what failed. */
	libbpf_set_print(libbpf_print);
	libbpf_last[0] = '\0';
	libbpf_failed_prog[0] = '\0';
	/* One object (the bpf/ objects linked): one parse of the kernel BTF. */
	struct ocibpf_bpf *o = ocibpf_bpf__open();
	if (!o)
		return err_errno(err, -errno, "cannot open the BPF object");
	r = ocibpf_bpf__load(o);
	if (r < 0)
		r = load_error(err, o->obj, "ocibpf", r);
	else if ((r = pin_maps(o->obj, dir, err)) == 0 &&
		 (r = attach_global(o->obj, dir, err)) == 0)
		r = pin_programs(o->obj, dir, err);
	ocibpf_bpf__destroy(o);
	if (r < 0)
		return r;
	return run_setups(maps, err);
}

int bpfset_open(const char *bpffs_dir, const char *version, bool load, struct bpfset **ret,
		struct error *err)
{
	if (!on_bpffs(bpffs_dir))
		return err_msg(err, -ENOTSUP,
			       "bpffs_dir %s is not on a bpf filesystem (is bpffs mounted? mount -t bpf bpf /sys/fs/bpf)",
			       bpffs_dir);
	if (!version)
		version = bpfset_current_version();
	if (!valid_name(version))
		return err_msg(err, -EINVAL, "invalid BPF set version \"%s\"", version);

	_cleanup_close_ int lock = -1;
	struct bpfset *s = xcalloc(1, sizeof(*s));
	s->bpffs_dir = xstrdup(bpffs_dir);
	s->version = xstrdup(version);
	s->dir = path_set(bpffs_dir, version);
	s->cgroups_fd = s->stats_fd = s->audit_sel_fd = -1;
	for (int i = 0; i < P__COUNT; i++)
		s->prog_fd[i] = -1;

	/* Warm path: everything is pinned already. */
	int r = open_pins(s);
	if (r == 0)
		goto done;
	close_pins(s);
	if (r != -ENOENT) {
		r = err_errno(err, r, "cannot open pinned BPF objects in %s", s->dir);
		goto fail;
	}
	if (!load || strcmp(version, bpfset_current_version()) != 0) {
		r = err_msg(err, -ENOENT, "BPF set %s is not pinned", s->dir);
		goto fail;
	}

	r = mkdir_p(bpffs_dir, 0700);
	if (r < 0) {
		r = err_errno(err, r, "cannot create %s", bpffs_dir);
		goto fail;
	}
	lock = lock_dir(bpffs_dir, err);
	if (lock < 0) {
		r = lock;
		goto fail;
	}
	/* Someone else may have loaded it while we waited. */
	r = open_pins(s);
	if (r == 0)
		goto done;
	close_pins(s);
	/* A partial set (a loader killed half-way) is never used: start it over. */
	rm_rf(s->dir);
	r = load_set(s->dir, err);
	if (r == 0) {
		_cleanup_close_ int m = open_pin(s->dir, "maps", map_names[0]);
		_cleanup_free_ char *marker = path_join(s->dir, "complete");
		r = m < 0 ? m : bpf_obj_pin(m, marker) < 0 ? -errno : 0;
	}
	if (r == 0)
		r = open_pins(s);
	if (r == 0)
		r = open_progs(s, (1U << P__COUNT) - 1);
	if (r < 0) {
		err_errno(err, r, "cannot open the BPF set just pinned in %s", s->dir);
		rm_rf(s->dir);
		goto fail;
	}
	anchor_attach(s->bpffs_dir, s->dir, s->prog_fd);	/* only saves time (anchor.h) */
done:
	*ret = s;
	return 0;
fail:
	bpfset_close(s);
	return r;
}

/* A new entry: -EEXIST when the cgroup has one (another container's: never replaced). */
static int enter_cgroup(struct bpfset *s, uint64_t cgid, const struct container_info *info)
{
	return bpf_map_update_elem(s->cgroups_fd, &cgid, info, BPF_NOEXIST) < 0 ? -errno : 0;
}

/*
 * Sub-cgroups that exist already (the tracker sees only new ones), at most MAX_SUBCGROUPS
 * of them (*n counts those entered); -E2BIG when the map is full. One with an entry
 * already is another container's (nesting_check refuses that; one started meanwhile): it
 * and what is below it are left to that one.
 */
static int enter_subcgroups(struct bpfset *s, const char *dir, const struct container_info *info,
			    int depth, uint32_t *n)
{
	if (depth > 32)
		return 0;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	int r = 0;
	struct dirent *de;
	while (r == 0 && *n < MAX_SUBCGROUPS && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *sub = path_join(dir, de->d_name);
		struct stat st;
		if (stat(sub, &st) < 0)
			continue;
		r = enter_cgroup(s, st.st_ino, info);
		if (r == -EEXIST) {
			r = 0;
			continue;
		}
		if (r == 0 && ++*n < MAX_SUBCGROUPS)
			r = enter_subcgroups(s, sub, info, depth + 1, n);
	}
	closedir(d);
	return r;
}

static int zero_stats(struct bpfset *s, uint64_t cgid, __u64 flags)
{
	int ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -EINVAL;
	_cleanup_free_ struct container_stats *v = xcalloc(ncpu, sizeof(*v));
	return bpf_map_update_elem(s->stats_fd, &cgid, v, flags) < 0 ? -errno : 0;
}

int bpfset_claim(struct bpfset *s, uint64_t cgid, struct error *err)
{
	int r = zero_stats(s, cgid, BPF_NOEXIST);
	if (r == -E2BIG)
		return err_msg(err, r, "too many monitored containers: the stats map is full (at most %d containers at once)",
			       MAX_CONTAINERS);
	if (r < 0 && r != -EEXIST)
		return err_errno(err, r, "cannot add the container to the stats map");
	return r;
}

static bool prog_in_force(int cgfd, enum bpf_attach_type type, uint32_t prog_id)
{
	uint32_t ids[64], cnt = ARRAY_SIZE(ids);
	if (bpf_prog_query(cgfd, type, BPF_F_QUERY_EFFECTIVE, NULL, ids, &cnt) < 0)
		return false;
	for (uint32_t i = 0; i < cnt; i++)
		if (ids[i] == prog_id)
			return true;
	return false;
}

int bpfset_attach(struct bpfset *s, const char *run, const struct cgroup_ref *cg, uint32_t flags,
		  struct error *err)
{
	struct container_info info = { .container_cgid = cg->id, .flags = flags };
	uint32_t want = bpfset_progs_for(flags);
	_cleanup_free_ char *parent = path_links_dir(s->bpffs_dir);
	_cleanup_free_ char *ldir = path_links(s->bpffs_dir, run);
	int r;

	r = bpfset_open_progs(s, want, err);
	if (r < 0)
		return r;
	_cleanup_close_ int cgfd = open(cg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0)
		return err_errno(err, -errno, "cannot open cgroup %s", cg->dir);
	r = mkdir_p(parent, 0700);
	if (r < 0)
		return err_errno(err, r, "cannot create %s", parent);
	if (mkdir(ldir, 0700) < 0)
		return err_errno(err, -errno, "cannot create %s", ldir);

	/*
	 * The sub-cgroups first, the container's own entry last, with their number: the
	 * tracker counts on the own entry, so until it is written it adds none (a sub-cgroup
	 * made meanwhile is found by the walk) and the count starts exact. One removed
	 * meanwhile is counted still: it only keeps a slot until the container stops.
	 */
	uint32_t nsub = 0;
	r = enter_subcgroups(s, cg->dir, &info, 0, &nsub);
	/* A full map is no reason to refuse the container here: an entry of a sub-cgroup is
	 * only the fast path, the walk finds one without (bpf/container.bpf.h). */
	if (r == -E2BIG)
		r = 0;
	if (r == 0) {
		/* Written once: the tracker's counter is its alone from here on (a rewrite
		 * would lose its concurrent adds; netpolicy_quiesce is the one exception). */
		struct container_info own = info;
		own.subcgroups = nsub;
		r = enter_cgroup(s, cg->id, &own);
	}
	if (r == -EEXIST) {
		/* A monitored container around it started meanwhile (nesting_check). */
		err_msg(err, r, "cgroup %s was entered as another monitored container's meanwhile: a container nested in a monitored one is refused",
			cg->path);
		goto fail;
	} else if (r == -E2BIG) {
		err_msg(err, r, "cannot add cgroup %s: the cgroup map is full (at most %d cgroups of monitored containers)",
			cg->path, MAX_CGROUPS);
		goto fail;
	} else if (r < 0) {
		err_errno(err, r, "cannot add cgroup %s to the cgroup map", cg->path);
		goto fail;
	}
	for (int i = 0; i < P__COUNT; i++) {
		if (!(want & (1U << i)))
			continue;
		int lfd = bpf_link_create(s->prog_fd[i], cgfd, bpfset_prog_attach_type(i), NULL);
		if (lfd < 0) {
			r = err_errno(err, -errno, "cannot attach %s to cgroup %s", bpfset_prog_name(i), cg->path);
			goto fail;
		}
		_cleanup_free_ char *pin = path_join(ldir, bpfset_prog_name(i));
		r = bpf_obj_pin(lfd, pin) < 0 ? -errno : 0;
		close(lfd);
		if (r < 0) {
			err_errno(err, r, "cannot pin link %s", pin);
			goto fail;
		}
	}
	for (int i = 0; i < P__COUNT; i++) {
		if ((want & (1U << i)) && !prog_in_force(cgfd, bpfset_prog_attach_type(i), s->prog_id[i])) {
			r = err_msg(err, -EIO, "%s is attached to cgroup %s but not in force (BPF_PROG_QUERY)",
				    bpfset_prog_name(i), cg->path);
			goto fail;
		}
	}
	return 0;
fail:
	bpfset_unpin(s->bpffs_dir, run);
	bpfset_forget(s, cg->id);
	return r;
}

int bpfset_unpin(const char *bpffs_dir, const char *run)
{
	if (!run)
		return 0;
	_cleanup_free_ char *ldir = path_links(bpffs_dir, run);
	return rm_rf(ldir);
}

int map_update_many(int fd, const void *keys, size_t key_size, const void *vals,
		    size_t val_size, uint32_t n)
{
	uint32_t count = n;
	if (n == 0 || (bpf_map_update_batch(fd, keys, vals, &count, NULL) == 0 && count == n))
		return 0;
	for (uint32_t i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, (const char *)keys + i * key_size,
					(const char *)vals + i * val_size, BPF_ANY) < 0)
			return -errno;
	return 0;
}

size_t map_delete_if(int fd, size_t key_size, bool (*match)(int fd, const void *key, void *ud),
		     void *ud)
{
	/* Collect first: deleting while walking with get_next_key restarts the walk. */
	size_t n = 0, cap = 16;
	_cleanup_free_ uint8_t *keys = xcalloc(cap, key_size);
	_cleanup_free_ uint8_t *cur = xcalloc(2, key_size);
	uint8_t *prev = cur, *next = cur + key_size;
	bool first = true;
	while (bpf_map_get_next_key(fd, first ? NULL : prev, next) == 0) {
		if (match(fd, next, ud)) {
			if (n == cap)
				keys = xrealloc(keys, (cap *= 2) * key_size);
			memcpy(keys + n++ * key_size, next, key_size);
		}
		memcpy(prev, next, key_size);
		first = false;
	}
	size_t deleted = 0;
	for (size_t i = 0; i < n; i++)
		deleted += bpf_map_delete_elem(fd, keys + i * key_size) == 0;
	return deleted;
}

/* Delete the entries of the sub-cgroups under dirfd that belong to the container and
 * that the hook made (see of_container). */
static void forget_subcgroups(struct bpfset *s, int dirfd, uint64_t container_cgid, int depth)
{
	if (depth > 32)
		return;
	DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct stat st;
		if (sub < 0)
			continue;
		if (fstat(sub, &st) < 0) {
			close(sub);
			continue;
		}
		uint64_t id = st.st_ino;
		struct container_info info;
		if (bpf_map_lookup_elem(s->cgroups_fd, &id, &info) == 0 &&
		    info.container_cgid == container_cgid && !(info.flags & CF_TRACKED))
			bpf_map_delete_elem(s->cgroups_fd, &id);
		forget_subcgroups(s, sub, container_cgid, depth + 1);
	}
	closedir(d);
}

/*
 * A cgroups map entry of the container (one of its sub-cgroups) that the hook made. Those
 * the tracker made (CF_TRACKED) are the tracker's to delete, when their cgroup goes: it
 * counts them (bpf/cgtrack.bpf.c).
 */
static bool of_container(int fd, const void *key, void *ud)
{
	struct container_info info;
	return bpf_map_lookup_elem(fd, key, &info) == 0 && info.container_cgid == *(uint64_t *)ud &&
	       !(info.flags & CF_TRACKED);
}

void bpfset_forget(struct bpfset *s, uint64_t container_cgid)
{
	int dirfd = cgroup_open_by_id(container_cgid);
	if (dirfd >= 0)
		forget_subcgroups(s, dirfd, container_cgid, 0);
	else if (dirfd != -ESTALE && dirfd != -ENOENT)
		/* No file handles here (no CAP_DAC_READ_SEARCH): the whole map, as before. */
		map_delete_if(s->cgroups_fd, sizeof(uint64_t), of_container, &container_cgid);
	/* Its own entry only: a start refused in another container's sub-cgroup leaves
	 * that one's entry (and the tracker's count of it) as it is. */
	struct container_info own;
	if (bpf_map_lookup_elem(s->cgroups_fd, &container_cgid, &own) == 0 &&
	    own.container_cgid == container_cgid)
		bpf_map_delete_elem(s->cgroups_fd, &container_cgid);
	bpf_map_delete_elem(s->stats_fd, &container_cgid);
}

int bpfset_read_stats(struct bpfset *s, uint64_t container_cgid, struct container_stats *ret)
{
	int ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -EINVAL;
	_cleanup_free_ struct container_stats *v = xcalloc(ncpu, sizeof(*v));
	if (bpf_map_lookup_elem(s->stats_fd, &container_cgid, v) < 0)
		return -errno;
	struct container_stats sum = { 0 };
#define SUM_(name, kind, src, flags, metric, help) sum.name += v[c].name;
	for (int c = 0; c < ncpu; c++) {
		OCIBPF_KERNEL_COUNTERS(SUM_)
	}
#undef SUM_
	*ret = sum;
	return 0;
}

static char *set_name(const char *name)
{
	return name[0] != '.' && valid_name(name) ? xstrdup(name) : NULL;
}

char **bpfset_list(const char *bpffs_dir)
{
	_cleanup_free_ char *dir = path_sets_dir(bpffs_dir);
	return dir_list(dir, set_name);
}

int bpfset_remove(const char *bpffs_dir, const char *version)
{
	if (!valid_name(version))
		return -EINVAL;
	_cleanup_free_ char *dir = path_set(bpffs_dir, version);
	return rm_rf(dir);
}
