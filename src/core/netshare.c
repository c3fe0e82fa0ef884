/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "bpfset.h"
#include "netpolicy.h"
#include "netshare.h"
#include "paths.h"
#include "sha256.h"

/* How many ids to try after the digest's own (distinct policies with equal first bytes). */
#define ID_PROBES 64

/*
 * Policies kept in the trie after their last container, so that the next container of
 * the same policy (one container at a time: a CI runner, a cron job, a restart) writes
 * nothing and its poststop removes nothing: a policy of N rules is N map writes and N
 * deletes otherwise. At most KEEP_POLICIES policies and KEEP_ENTRIES entries are kept;
 * past that the one unused longest goes. Their account is the registry's entry under
 * id 0, which no policy has.
 */
#define KEEP_POLICIES 16
#define KEEP_ENTRIES 65536
static const uint32_t KEPT_ACCOUNT = 0;

/* A key of the trie, as kept in a policy's key list (array elements are 8-byte aligned). */
struct key_slot {
	struct net_addr_key k;
	uint32_t pad;
};
_Static_assert(sizeof(struct key_slot) == 32, "key list elements are 32 bytes");

void netshare_digest(const struct netpolicy_compiled *c, uint8_t out[32])
{
	struct sha256 s;
	uint64_t n[2] = { c->n_addr, c->n_port };
	struct net_meta m = c->meta;
	m.policy = 0;
	sha256_init(&s);
	sha256_update(&s, n, sizeof(n));
	sha256_update(&s, &m, sizeof(m));
	sha256_update(&s, c->akeys, c->n_addr * sizeof(*c->akeys));
	sha256_update(&s, c->avals, c->n_addr * sizeof(*c->avals));
	sha256_update(&s, c->pkeys, c->n_port * sizeof(*c->pkeys));
	sha256_update(&s, c->pvals, c->n_port * sizeof(*c->pvals));
	sha256_final(&s, out);
}

static char *policies_dir(struct bpfset *set)
{
	return path_join(set->dir, "netpolicy");
}

static char *keys_pin(struct bpfset *set, uint32_t id)
{
	char name[16];
	snprintf(name, sizeof(name), "%08x", id);
	return path_set_entry(set->dir, "netpolicy", name);
}

int netshare_lock(struct bpfset *set, struct error *err)
{
	_cleanup_free_ char *dir = policies_dir(set);
	int r = mkdir_p(dir, 0700);
	if (r < 0)
		return err_errno(err, r, "cannot create %s", dir);
	return lock_dir(dir, err);
}

/* Entries of c under policy id, in trie order (addresses, then ports with the verdict in v[0]). */
static void entries(const struct netpolicy_compiled *c, uint32_t id, struct key_slot *keys,
		    struct net_addr_val *vals)
{
	for (size_t i = 0; i < c->n_addr; i++) {
		keys[i].k = c->akeys[i];
		keys[i].k.policy = id;
		vals[i] = c->avals[i];
	}
	for (size_t i = 0; i < c->n_port; i++) {
		struct key_slot *k = &keys[c->n_addr + i];
		memcpy(&k->k, &c->pkeys[i], sizeof(k->k));
		((struct net_port_key *)&k->k)->policy = id;
		vals[c->n_addr + i].v[0] = (uint8_t)c->pvals[i];
	}
}

static void delete_keys(int trie, const struct key_slot *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(trie, &keys[i].k);
}

/*
 * An mmap-able array map for a key list. The bpf() call itself: libbpf's bpf_map_create
 * first probes the kernel (memcg accounting, object names) by loading two programs, which
 * a hook would pay at every new policy (a JIT pass and text patching on every CPU). libbpf
 * is the fallback for a kernel that charges maps to RLIMIT_MEMLOCK (before 5.11), where
 * it raises the limit.
 */
static int keys_map_create(uint32_t n)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = sizeof(uint32_t);
	attr.value_size = sizeof(struct key_slot);
	attr.max_entries = n;
	attr.map_flags = BPF_F_MMAPABLE;
	memcpy(attr.map_name, "ocibpf_np_keys", sizeof("ocibpf_np_keys"));
	int fd = (int)syscall(__NR_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	if (fd >= 0 || errno != EPERM)
		return fd;
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_MMAPABLE);
	return bpf_map_create(BPF_MAP_TYPE_ARRAY, "ocibpf_np_keys", sizeof(uint32_t),
			      sizeof(struct key_slot), n, &opts);
}

/* The key list of a policy: an mmap-able array map, pinned (replacing a stale pin). */
static int pin_keys(struct bpfset *set, uint32_t id, const struct key_slot *keys, size_t n)
{
	_cleanup_close_ int fd = keys_map_create((uint32_t)n);
	if (fd < 0)
		return -errno;
	size_t len = n * sizeof(*keys);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	memcpy(p, keys, len);
	munmap(p, len);
	_cleanup_free_ char *pin = keys_pin(set, id);
	unlink(pin);
	return bpf_obj_pin(fd, pin) < 0 ? -errno : 0;
}

static void remove_policy(struct bpfset *set, int trie, uint32_t id);

/* Write c's entries under id; on failure none is left. */
static int write_policy(struct bpfset *set, int trie, uint32_t id,
			const struct netpolicy_compiled *c, struct error *err)
{
	size_t n = c->n_addr + c->n_port;
	_cleanup_free_ struct key_slot *keys = xcalloc(n ? n : 1, sizeof(*keys));
	_cleanup_free_ struct net_addr_val *vals = xcalloc(n ? n : 1, sizeof(*vals));
	entries(c, id, keys, vals);
	/* Entries a killed hook left under id (its key list is still pinned) go first. */
	remove_policy(set, trie, id);
	int r = pin_keys(set, id, keys, n);
	if (r < 0)
		return err_errno(err, r, "cannot pin the key list of network policy %08x", id);
	for (size_t i = 0; i < n; i++) {
		if (bpf_map_update_elem(trie, &keys[i].k, &vals[i], BPF_ANY) < 0) {
			r = err_errno(err, -errno, "cannot fill the network policy map (%zu entries)", n);
			delete_keys(trie, keys, i);
			_cleanup_free_ char *pin = keys_pin(set, id);
			unlink(pin);
			return r;
		}
	}
	return 0;
}

/* The account of the kept policies: refs is how many, n_entries their entries. */
static struct net_registry kept_account(int reg)
{
	struct net_registry a;
	if (bpf_map_lookup_elem(reg, &KEPT_ACCOUNT, &a) < 0)
		memset(&a, 0, sizeof(a));
	return a;
}

/* The account goes when nothing is kept: it would take a registry slot of a policy. */
static void kept_add(int reg, int policies, int64_t entries)
{
	struct net_registry a = kept_account(reg);
	a.refs = policies < 0 && a.refs < (uint32_t)-policies ? 0 : a.refs + policies;
	a.n_entries = entries < 0 && a.n_entries < (uint64_t)-entries ? 0 : a.n_entries + entries;
	if (a.refs == 0)
		bpf_map_delete_elem(reg, &KEPT_ACCOUNT);
	else
		bpf_map_update_elem(reg, &KEPT_ACCOUNT, &a, BPF_ANY);
}

/*
 * Remove a registered policy: its registration first, so that a hook killed half way
 * leaves a key list without one (which the next writer of id, or gc, removes), never a
 * registration whose entries are partly gone (which the next container would take).
 */
static void unregister_policy(struct bpfset *set, int trie, int reg, uint32_t id)
{
	bpf_map_delete_elem(reg, &id);
	remove_policy(set, trie, id);
}

/*
 * Remove kept policies, the one unused longest first, until `policies` more policies of
 * `entries` more entries fit (all of them: policies UINT32_MAX). A walk of the registry:
 * only when the keep is full, or the trie.
 */
static void drop_kept(struct bpfset *set, int trie, int reg, uint32_t policies, uint64_t entries)
{
	struct net_registry a = kept_account(reg);
	while (a.refs > 0 && (policies == UINT32_MAX || a.refs + policies > KEEP_POLICIES ||
			      a.n_entries + entries > KEEP_ENTRIES)) {
		uint32_t id, next, oldest = 0;
		uint64_t since = UINT64_MAX;
		uint32_t n = 0;
		void *prev = NULL;
		while (bpf_map_get_next_key(reg, prev, &next) == 0) {
			struct net_registry r;
			id = next;
			prev = &id;
			if (next != KEPT_ACCOUNT && bpf_map_lookup_elem(reg, &next, &r) == 0 &&
			    r.refs == 0 && r.unused_since < since) {
				oldest = next;
				since = r.unused_since;
				n = r.n_entries;
			}
		}
		if (!oldest) {	/* the account was wrong: nothing is kept */
			bpf_map_delete_elem(reg, &KEPT_ACCOUNT);
			return;
		}
		unregister_policy(set, trie, reg, oldest);
		kept_add(reg, -1, -(int64_t)n);
		a = kept_account(reg);
	}
}

/*
 * The registered policy of digest: 0 and its id and registration; -ENOENT with the first
 * free id of its probes in *ret_id; another negative errno.
 */
static int find(int reg, const uint8_t digest[32], uint32_t *ret_id, struct net_registry *ret,
		struct error *err)
{
	uint32_t id;
	memcpy(&id, digest, sizeof(id));
	for (int probe = 0; probe <= ID_PROBES; probe++, id++) {
		if (id == 0)
			id = 1;	/* 0: no policy */
		*ret_id = id;
		if (bpf_map_lookup_elem(reg, &id, ret) == 0) {
			if (memcmp(ret->digest, digest, sizeof(ret->digest)) == 0)
				return 0;
			continue;
		}
		if (errno != ENOENT)
			return err_errno(err, -errno, "cannot look network policy %08x up", id);
		return -ENOENT;
	}
	return err_msg(err, -ENOSPC, "no free network policy id near %08x", id);
}

/* In the trie already: one user more (a kept one is in use again). */
static int use(int reg, uint32_t id, struct net_registry *have, struct error *err)
{
	bool kept = have->refs == 0;
	have->refs++;
	have->unused_since = 0;
	if (bpf_map_update_elem(reg, &id, have, BPF_EXIST) < 0)
		return err_errno(err, -errno, "cannot count a user of network policy %08x", id);
	if (kept)
		kept_add(reg, -1, -(int64_t)have->n_entries);
	return 0;
}

int netshare_acquire_kept(int reg, const uint8_t digest[32], uint32_t *ret_id, struct error *err)
{
	struct net_registry have;
	uint32_t id;
	int r = find(reg, digest, &id, &have, err);
	if (r < 0)
		return r;
	if ((r = use(reg, id, &have, err)) < 0)
		return r;
	*ret_id = id;
	return 0;
}

int netshare_acquire(struct bpfset *set, int trie, int reg, const struct netpolicy_compiled *c,
		     const uint8_t digest[32], uint32_t *ret_id, struct error *err)
{
	struct net_registry want = { .refs = 1, .n_entries = (uint32_t)(c->n_addr + c->n_port) };
	memcpy(want.digest, digest, sizeof(want.digest));
	struct net_registry have;
	uint32_t id;
	int r = find(reg, digest, &id, &have, err);
	if (r == 0) {
		if ((r = use(reg, id, &have, err)) < 0)
			return r;
		*ret_id = id;
		return 0;
	}
	if (r != -ENOENT)
		return r;
	r = write_policy(set, trie, id, c, err);
	if ((r == -ENOSPC || r == -E2BIG) && kept_account(reg).refs > 0) {
		/* The trie is full: the kept policies make room first. */
		err_clear(err);
		drop_kept(set, trie, reg, UINT32_MAX, 0);
		r = write_policy(set, trie, id, c, err);
	}
	if (r < 0)
		return r;
	r = bpf_map_update_elem(reg, &id, &want, BPF_NOEXIST) < 0 ? -errno : 0;
	if (r == -E2BIG && kept_account(reg).refs > 0) {
		drop_kept(set, trie, reg, UINT32_MAX, 0);
		r = bpf_map_update_elem(reg, &id, &want, BPF_NOEXIST) < 0 ? -errno : 0;
	}
	if (r < 0) {
		r = err_errno(err, r, "cannot register network policy %08x", id);
		netshare_release(set, trie, reg, id);
		return r;
	}
	*ret_id = id;
	return 0;
}

/* Remove the entries of policy id, from its key list. */
static void remove_policy(struct bpfset *set, int trie, uint32_t id)
{
	_cleanup_free_ char *pin = keys_pin(set, id);
	_cleanup_close_ int fd = bpf_obj_get(pin);
	if (fd < 0)
		return;
	struct bpf_map_info info = { 0 };
	uint32_t ilen = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen) == 0 && info.max_entries &&
	    info.value_size == sizeof(struct key_slot)) {
		size_t len = (size_t)info.max_entries * sizeof(struct key_slot);
		void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
		if (p != MAP_FAILED) {
			delete_keys(trie, p, info.max_entries);
			munmap(p, len);
		}
	}
	unlink(pin);
}

void netshare_release(struct bpfset *set, int trie, int reg, uint32_t id)
{
	struct net_registry have;
	bool known = id != KEPT_ACCOUNT && bpf_map_lookup_elem(reg, &id, &have) == 0;
	if (known && have.refs == 0)
		return;	/* kept already (a release repeated) */
	if (known && have.refs > 1) {
		have.refs--;
		bpf_map_update_elem(reg, &id, &have, BPF_EXIST);
		return;
	}
	/* The last user: kept while there is room (the one unused longest makes room). */
	if (known && have.n_entries <= KEEP_ENTRIES) {
		drop_kept(set, trie, reg, 1, have.n_entries);
		have.refs = 0;
		have.unused_since = now_ns();
		if (bpf_map_update_elem(reg, &id, &have, BPF_EXIST) == 0) {
			kept_add(reg, 1, have.n_entries);
			return;
		}
	}
	/* Not kept (or a policy half-written): its registration, then its entries. */
	if (known)
		unregister_policy(set, trie, reg, id);
	else
		remove_policy(set, trie, id);
}

struct id_count {
	uint32_t id, n;
};

static struct id_count *count_of(struct id_count *v, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].id == id)
			return &v[i];
	return NULL;
}

void netshare_gc(struct bpfset *set, void (*removed)(uint32_t id, void *ud), void *ud)
{
	_cleanup_close_ int trie = bpfset_map_fd(set, "ocibpf_net_policy");
	_cleanup_close_ int reg = bpfset_map_fd(set, "ocibpf_net_registry");
	_cleanup_close_ int meta_fd = bpfset_map_fd(set, "ocibpf_net_meta");
	if (trie < 0 || reg < 0 || meta_fd < 0)
		return;
	_cleanup_close_ int lock = netshare_lock(set, NULL);
	if (lock < 0)
		return;

	/* Users by policy id, from the summaries. */
	_cleanup_free_ struct id_count *users = NULL;
	size_t n_users = 0;
	uint64_t key, next;
	void *prev = NULL;
	while (bpf_map_get_next_key(meta_fd, prev, &next) == 0) {
		struct net_meta m;
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(meta_fd, &next, &m) < 0 || !m.policy)
			continue;
		struct id_count *c = count_of(users, n_users, m.policy);
		if (!c) {
			users = xrealloc(users, (n_users + 1) * sizeof(*users));
			c = &users[n_users++];
			*c = (struct id_count){ m.policy, 0 };
		}
		c->n++;
	}

	/* Registered policies: counts put right, those without users removed (a kept one
	 * stays: no summary named it when its last user left); the account of the kept
	 * ones made again. */
	_cleanup_free_ uint32_t *gone = NULL;
	size_t n_gone = 0;
	struct net_registry kept = { 0 };
	uint32_t id, nid;
	void *iprev = NULL;
	while (bpf_map_get_next_key(reg, iprev, &nid) == 0) {
		struct net_registry r;
		id = nid;
		iprev = &id;
		if (nid == KEPT_ACCOUNT || bpf_map_lookup_elem(reg, &nid, &r) < 0)
			continue;
		struct id_count *c = count_of(users, n_users, nid);
		if (!c && r.refs == 0) {
			kept.refs++;
			kept.n_entries += r.n_entries;
		} else if (!c) {
			gone = xrealloc(gone, (n_gone + 1) * sizeof(*gone));
			gone[n_gone++] = nid;
		} else if (r.refs != c->n) {
			r.refs = c->n;
			bpf_map_update_elem(reg, &nid, &r, BPF_EXIST);
		}
	}
	for (size_t i = 0; i < n_gone; i++) {
		unregister_policy(set, trie, reg, gone[i]);
		if (removed)
			removed(gone[i], ud);
	}
	if (kept.refs)
		bpf_map_update_elem(reg, &KEPT_ACCOUNT, &kept, BPF_ANY);
	else
		bpf_map_delete_elem(reg, &KEPT_ACCOUNT);

	/* Key lists without a registration: entries a killed hook wrote. */
	_cleanup_free_ char *dir = policies_dir(set);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		unsigned long v = strtoul(de->d_name, &end, 16);
		if (de->d_name[0] == '.' || *end || v == 0 || v > UINT32_MAX)
			continue;
		uint32_t pid = (uint32_t)v;
		struct net_registry r;
		if (bpf_map_lookup_elem(reg, &pid, &r) == 0 || count_of(users, n_users, pid))
			continue;
		remove_policy(set, trie, pid);
		if (removed)
			removed(pid, ud);
	}
	closedir(d);
}
