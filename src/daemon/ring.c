/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kernel side of the collector's event path: every pinned BPF set of this
 * configuration, the ring buffers it maps over them, and each container's share of the
 * ring (bpf/ocibpf.h: the kernel holds back a container that has more than its share
 * waiting).
 */
#include <string.h>
#include <bpf/bpf.h>

#include "events-internal.h"
#include "ringbuf.h"

/* Unmapped only after this long without a container that can write to the rings. */
#define RING_LINGER_NS (10 * 1000000000ULL)

struct bpfset *ring_set_of(struct events *ev, const char *version)
{
	for (size_t i = 0; i < ev->n_sets; i++)
		if (strcmp(ev->sets[i]->version, version) == 0)
			return ev->sets[i];
	return NULL;
}

/*
 * The tracepoint links held from a set: ev->tp for the current version's (published to
 * the hooks, tp-held.h), one of their own (not published: their hooks ask by "sync ID")
 * for a set an earlier or later version pinned, whose containers still run.
 */
struct tp_links *ring_tp_at(struct events *ev, size_t i, bool current)
{
	if (current)
		return &ev->tp;
	if (!ev->set_tp[i]) {
		ev->set_tp[i] = xcalloc(1, sizeof(*ev->set_tp[i]));
		tp_links_init(ev->set_tp[i]);
	}
	return ev->set_tp[i];
}

struct tp_links *ring_tp_of(struct events *ev, const struct bpfset *set)
{
	bool current = strcmp(set->version, bpfset_current_version()) == 0;
	for (size_t i = 0; i < ev->n_sets; i++)
		if (ev->sets[i] == set)
			return ring_tp_at(ev, i, current);
	return current ? &ev->tp : NULL;
}

static void free_set_tp(struct tp_links *t)
{
	if (!t)
		return;
	tp_links_release(t);
	free(t);
}

/* Every tracepoint held from the sets other than the current one, let go. */
void ring_release_tp(struct events *ev)
{
	for (size_t i = 0; i < ev->n_sets; i++) {
		free_set_tp(ev->set_tp[i]);
		ev->set_tp[i] = NULL;
	}
}

void ring_consume(struct events *ev)
{
	if (ev->rb)
		ringbufs_consume(ev->rb);
}

/* Readable when records wait (-1 while unmapped). */
int ring_fd(struct events *ev)
{
	return ev->rb ? ringbufs_epoll_fd(ev->rb) : -1;
}

/*
 * Let go of sets no longer pinned as we opened them (`ocibpf gc --unload`; a later load
 * pins a new set under the same version): what they queued is written first, and the
 * tracepoints held from the current one go with it (they feed its maps, not the new
 * set's).
 */
static void drop_unpinned_sets(struct events *ev)
{
	size_t w = 0;
	for (size_t i = 0; i < ev->n_sets; i++) {
		struct bpfset *s = ev->sets[i];
		struct tp_links *t = ev->set_tp[i];
		if (bpfset_still_pinned(s)) {
			ev->set_tp[w] = t;
			ev->sets[w++] = s;
			continue;
		}
		ring_consume(ev);
		if (strcmp(s->version, bpfset_current_version()) == 0) {
			tp_links_release(&ev->tp);
			tp_links_init(&ev->tp);
		}
		free_set_tp(t);
		bpfset_close(s);
		ev->sets_changed = true;
	}
	ev->n_sets = w;
}

/* Open every pinned set (its ring buffer is mapped by ring_update). */
void ring_refresh_sets(struct events *ev)
{
	drop_unpinned_sets(ev);
	char **names = bpfset_list(ev->cfg->bpffs_dir);
	for (char **n = names; *n; n++) {
		if (ring_set_of(ev, *n))
			continue;
		struct bpfset *s = NULL;
		if (bpfset_open(ev->cfg->bpffs_dir, *n, false, &s, NULL) < 0)
			continue;
		ev->sets = xrealloc(ev->sets, (ev->n_sets + 1) * sizeof(*ev->sets));
		ev->set_tp = xrealloc(ev->set_tp, (ev->n_sets + 1) * sizeof(*ev->set_tp));
		ev->set_tp[ev->n_sets] = NULL;
		ev->sets[ev->n_sets++] = s;
		ev->sets_changed = true;
	}
	strv_free(names);
}

/*
 * Map the ring buffers only while a monitored container can write to them (audit or
 * network policy): the kernel maps a mapping's every page at mmap (ringbuf.c maps a
 * window of 2 MiB of each ring), which a collector serving telemetry only would carry
 * for nothing. Records made
 * before the mapping wait in the ring: the hook registers a container (and asks us to
 * sync) before it runs anything. Unmapped only after RING_LINGER_NS without such a
 * container: mapping costs about a millisecond, which back-to-back containers would
 * otherwise each pay in their hook.
 */
void ring_update(struct events *ev)
{
	bool need = false;
	for (size_t i = 0; i < ev->n_ctrs && !need; i++)
		need = ev->ctrs[i].flags & (CF_AUDIT | CF_NETWORK);
	if (need) {
		ev->unneeded_since = 0;
	} else if (ev->mapped) {
		uint64_t now = now_ns();
		if (!ev->unneeded_since)
			ev->unneeded_since = now;
		if (now - ev->unneeded_since < RING_LINGER_NS)
			return;
	}
	if (need == ev->mapped && !(need && ev->sets_changed))
		return;
	ring_close(ev);
	ev->mapped = need;
	ev->sets_changed = false;
	ev->generation++;
	if (!need)
		return;
	if (ringbufs_new(&ev->rb) < 0)
		return;
	for (size_t i = 0; i < ev->n_sets; i++) {
		_cleanup_close_ int fd = bpfset_map_fd(ev->sets[i], "ocibpf_events");
		if (fd >= 0)
			ringbufs_add(ev->rb, fd, ring_handle_event, ev);
	}
}

/* Unmap the ring buffers after consuming what waits in them. */
void ring_close(struct events *ev)
{
	ring_consume(ev);
	ringbufs_free(ev->rb);
	ev->rb = NULL;
}

/* --- the container's share of the ring ----------------------------------------------- */

static int consumed_fd(struct events *ev, struct ctr *c)
{
	if (c->consumed_fd < 0) {
		struct bpfset *s = ring_set_of(ev, c->set);
		if (s)
			c->consumed_fd = bpfset_map_fd(s, "ocibpf_ring_consumed");
	}
	return c->consumed_fd;
}

/* Go on from what an earlier collector told the kernel. */
void ring_share_load(struct events *ev, struct ctr *c)
{
	int fd = consumed_fd(ev, c);
	uint64_t v;
	if (fd >= 0 && bpf_map_lookup_elem(fd, &c->cgid, &v) == 0)
		c->consumed = c->consumed_told = v;
}

/* Tell the kernel how much of each container's share was consumed (after a batch). */
void ring_share_tell(struct events *ev)
{
	for (size_t i = 0; i < ev->n_ctrs; i++) {
		struct ctr *c = &ev->ctrs[i];
		if (c->consumed == c->consumed_told)
			continue;
		int fd = consumed_fd(ev, c);
		if (fd >= 0 && bpf_map_update_elem(fd, &c->cgid, &c->consumed, BPF_ANY) == 0)
			c->consumed_told = c->consumed;
	}
}
