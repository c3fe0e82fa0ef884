/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's network policy in the kernel: its compiled entries in the shared trie
 * (netshare.c: one entry set per distinct policy), its summary in ocibpf_net_meta (which
 * turns lookups on), and their removal.
 */
#include <errno.h>
#include <bpf/bpf.h>

#include "bpfset.h"
#include "netapply.h"
#include "netpolicy.h"
#include "netshare.h"

static int open_map(struct bpfset *set, const char *name, struct error *err)
{
	int fd = bpfset_map_fd(set, name);
	if (fd < 0)
		return err_errno(err, fd, "cannot open map %s of the BPF set", name);
	return fd;
}

_Static_assert(sizeof(struct net_addr_key) == sizeof(struct net_port_key),
	       "address and port entries share one trie");

/* The maps a policy goes into, and the lock of the set's policies (held while open). */
struct net_maps {
	int trie, reg, meta, lock;
};

static void net_maps_close(struct net_maps *m)
{
	closep(&m->trie);
	closep(&m->reg);
	closep(&m->meta);
	closep(&m->lock);
}

static int net_maps_open(struct bpfset *set, struct net_maps *m, struct error *err)
{
	*m = (struct net_maps){ -1, -1, -1, -1 };
	if ((m->trie = open_map(set, "ocibpf_net_policy", err)) < 0)
		return m->trie;
	if ((m->reg = open_map(set, "ocibpf_net_registry", err)) < 0)
		return m->reg;
	if ((m->meta = open_map(set, "ocibpf_net_meta", err)) < 0)
		return m->meta;
	if ((m->lock = netshare_lock(set, err)) < 0)
		return m->lock;
	return 0;
}

/*
 * The summary of cgid, naming policy id whose entries are complete in the trie (one user
 * of it acquired): written last, it turns lookups on. On failure the user is released.
 */
static int enter_summary(struct bpfset *set, const struct net_maps *m, uint64_t cgid,
			 const struct net_meta *meta, uint32_t id, struct error *err)
{
	struct net_meta old, new = *meta;
	bool had = bpf_map_lookup_elem(m->meta, &cgid, &old) == 0;
	new.policy = id;
	if (bpf_map_update_elem(m->meta, &cgid, &new, BPF_ANY) < 0) {
		int r = err_errno(err, -errno, "cannot enter the network policy (summary)");
		netshare_release(set, m->trie, m->reg, id);
		return r;
	}
	/* A summary left by an earlier container of this cgroup: its user goes. */
	if (had && old.policy)
		netshare_release(set, m->trie, m->reg, old.policy);
	return 0;
}

int netpolicy_apply(struct bpfset *set, uint64_t cgid, const struct policy *p,
		    struct netpolicy_summary *ret, struct error *err)
{
	_cleanup_netpolicy_ struct netpolicy_compiled *c = NULL;
	_cleanup_(net_maps_close) struct net_maps m = { -1, -1, -1, -1 };
	struct netpolicy_summary s;
	uint32_t id;
	int r;

	r = netpolicy_compile(p, &c, err);
	if (r < 0 || (r = net_maps_open(set, &m, err)) < 0)
		return r;
	s.meta = c->meta;
	s.meta.policy = 0;
	netshare_digest(c, s.digest);
	/* The policy's entries are complete in the trie; the summary last (it turns lookups on). */
	if ((r = netshare_acquire(set, m.trie, m.reg, c, s.digest, &id, err)) < 0 ||
	    (r = enter_summary(set, &m, cgid, &s.meta, id, err)) < 0)
		return r;
	if (ret)
		*ret = s;
	return 0;
}

int netpolicy_apply_kept(struct bpfset *set, uint64_t cgid, const struct netpolicy_summary *s,
			 struct error *err)
{
	_cleanup_(net_maps_close) struct net_maps m = { -1, -1, -1, -1 };
	uint32_t id;
	int r = net_maps_open(set, &m, err);
	if (r < 0 || (r = netshare_acquire_kept(m.reg, s->digest, &id, err)) < 0)
		return r;
	return enter_summary(set, &m, cgid, &s->meta, id, err);
}

static bool agg_of(int fd, const void *key, void *ud)
{
	return ((const struct net_agg_key *)key)->cgid == *(uint64_t *)ud;
}

void netpolicy_quiesce(struct bpfset *set, uint64_t cgid)
{
	/* The programs that keep ocibpf_syscall_seen are those that honour CF_QUIESCED. */
	_cleanup_close_ int marker = bpfset_map_fd(set, "ocibpf_syscall_seen");
	struct container_info info;
	if (marker >= 0) {
		/*
		 * User space can't change one field of a hash value: the update writes the
		 * tracker's sub-cgroup counter too, and would lose a concurrent add (a mkdir
		 * in the stopping container's cgroup), leaving the count below the entries it
		 * holds, which their rmdirs then take below 0 (bpf/cgtrack.bpf.c). Written
		 * as full instead: no entry is added after the stop, and every rmdir of one
		 * that exists finds the count at most MAX_SUBCGROUPS and at least the number
		 * of its entries, so it stays at or above 0.
		 */
		if (bpf_map_lookup_elem(set->cgroups_fd, &cgid, &info) == 0 &&
		    info.container_cgid == cgid && !(info.flags & CF_QUIESCED)) {
			info.flags |= CF_QUIESCED;
			info.subcgroups = MAX_SUBCGROUPS;
			bpf_map_update_elem(set->cgroups_fd, &cgid, &info, BPF_EXIST);
		}
		return;
	}
	/* An older set: the container's pending denials deleted (which cancels their
	 * timers), found by a walk of every container's. */
	_cleanup_close_ int fd = bpfset_map_fd(set, "ocibpf_net_agg");
	if (fd >= 0)
		map_delete_if(fd, sizeof(struct net_agg_key), agg_of, &cgid);
}

void netpolicy_forget(struct bpfset *set, uint64_t cgid)
{
	_cleanup_close_ int trie = bpfset_map_fd(set, "ocibpf_net_policy");
	_cleanup_close_ int reg = bpfset_map_fd(set, "ocibpf_net_registry");
	_cleanup_close_ int meta_fd = bpfset_map_fd(set, "ocibpf_net_meta");
	struct net_meta m;
	/* Nothing to remove: a set from before network policy, or no policy for cgid. */
	if (meta_fd >= 0 && bpf_map_lookup_elem(meta_fd, &cgid, &m) == 0) {
		_cleanup_close_ int lock = netshare_lock(set, NULL);
		/*
		 * The summary first: without it the container's lookups deny, never half-allow.
		 * Its policy's count only under the lock (it fails only short of memory or file
		 * descriptors): a release racing another container's acquire could leave the
		 * policy counted unused while that one uses it, and evictable. Left one too
		 * high instead, which `ocibpf gc` recounts.
		 */
		if (bpf_map_lookup_elem(meta_fd, &cgid, &m) == 0 && bpf_map_delete_elem(meta_fd, &cgid) == 0 &&
		    m.policy && trie >= 0 && reg >= 0 && lock >= 0)
			netshare_release(set, trie, reg, m.policy);
	}
	/* The container's entries in ocibpf_net_agg stay (they go with their window; in older
	 * sets with time, LRU): their timers report nothing for a container that left the
	 * cgroups map (an older set's report names a container the collector no longer
	 * knows, and is dropped). */
}
