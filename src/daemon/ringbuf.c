/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A consumer of BPF ring buffers that maps only a window of the data (ringbuf.h says
 * why). What the kernel gives (kernel/bpf/ringbuf.c):
 *
 *  - the map's mmap offsets: page 0 the consumer position (the only page that may be
 *    mapped writable, and only alone), page 1 the producer position, then the data,
 *    laid out twice in a row: any read-only range of those pages can be mapped, so a
 *    window that starts in the first copy and runs into the second sees a record that
 *    wraps the end of the ring as one piece (no copying it out in two);
 *  - positions that only grow: producer_pos (read with acquire) is where the next
 *    record will be reserved, consumer_pos (ours, written with release) where we are;
 *    a record at position p sits at data offset p & (size - 1);
 *  - each record: an 8-byte header, its length in the low 30 bits of the first u32
 *    (read with acquire) with BUSY (reserved, not committed yet: stop there) and
 *    DISCARD (skip it), then the data; the next record starts at the length plus the
 *    header rounded up to 8;
 *  - a wakeup of the map's poll when a record is committed at the position the
 *    consumer_pos stands at (the consumer caught up): so consumer_pos is stored, at the
 *    latest, before looking at producer_pos for the last time, and when we stop at a
 *    busy record it is that record's position (its commit wakes us).
 *
 * Moving the window costs one mmap and one munmap: measured on this project's VMs,
 * ~0.1-0.2 us per KiB mapped (~0.05 us per syscall record) and ~0.1-1 ms per move; a
 * 2 MiB window moves every ~5,000 records.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "ringbuf.h"
#include "util.h"

#define RINGBUF_WINDOW (2u << 20)
/* consumer_pos is stored at least this often while a pass goes on (room for producers) */
#define RINGBUF_RELEASE_EVERY (64u << 10)

struct ringbuf {
	int fd;
	size_t size;                    /* data bytes: a power of 2, a multiple of a page */
	unsigned long *consumer;        /* consumer page (read-write) */
	const unsigned long *producer;  /* producer page */
	const char *win;                /* the window (NULL: none yet) */
	size_t win_off, win_len;        /* its data offset, in [0, 2 * size), and length */
	ringbuf_fn fn;
	void *ctx;
};

struct ringbufs {
	int epfd;
	size_t page;
	struct ringbuf **rings;
	size_t n;
};

int ringbufs_new(struct ringbufs **ret)
{
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return -errno;
	struct ringbufs *rs = xcalloc(1, sizeof(*rs));
	rs->epfd = epfd;
	rs->page = sysconf(_SC_PAGESIZE);
	*ret = rs;
	return 0;
}

static void ring_free(struct ringbufs *rs, struct ringbuf *r)
{
	if (r->win)
		munmap((void *)r->win, r->win_len);
	if (r->producer)
		munmap((void *)r->producer, rs->page);
	if (r->consumer)
		munmap(r->consumer, rs->page);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

void ringbufs_free(struct ringbufs *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n; i++)
		ring_free(rs, rs->rings[i]);
	free(rs->rings);
	close(rs->epfd);
	free(rs);
}

int ringbufs_epoll_fd(const struct ringbufs *rs)
{
	return rs->epfd;
}

int ringbufs_add(struct ringbufs *rs, int map_fd, ringbuf_fn fn, void *ctx)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	int r = bpf_obj_get_info_by_fd(map_fd, &info, &len);
	if (r < 0)
		return r;
	if (info.type != BPF_MAP_TYPE_RINGBUF || info.max_entries == 0 ||
	    info.max_entries % rs->page || (info.max_entries & (info.max_entries - 1)))
		return -EINVAL;
	struct ringbuf *rb = xcalloc(1, sizeof(*rb));
	*rb = (struct ringbuf){ .size = info.max_entries, .fn = fn, .ctx = ctx };
	/* Our own fd: the mappings and the epoll entry live as long as the ring. */
	rb->fd = fcntl(map_fd, F_DUPFD_CLOEXEC, 3);
	void *c = rb->fd < 0 ? MAP_FAILED :
		  mmap(NULL, rs->page, PROT_READ | PROT_WRITE, MAP_SHARED, rb->fd, 0);
	void *p = c == MAP_FAILED ? MAP_FAILED :
		  mmap(NULL, rs->page, PROT_READ, MAP_SHARED, rb->fd, rs->page);
	rb->consumer = c == MAP_FAILED ? NULL : c;
	rb->producer = p == MAP_FAILED ? NULL : p;
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = rs->n };
	if (!rb->producer || epoll_ctl(rs->epfd, EPOLL_CTL_ADD, rb->fd, &e) < 0) {
		r = -errno;
		ring_free(rs, rb);
		return r;
	}
	rs->rings = xrealloc(rs->rings, (rs->n + 1) * sizeof(*rs->rings));
	rs->rings[rs->n++] = rb;
	return 0;
}

/*
 * The bytes [off, off + len) of the data (off < size, len <= size) as one piece: in the
 * window, seen at off or at off + size (the second copy); else in a new window that
 * starts at off's page. NULL (errno) when it can't be mapped.
 */
static const char *ring_at(struct ringbufs *rs, struct ringbuf *r, size_t off, size_t len)
{
	for (size_t o = off; o < off + 2 * r->size; o += r->size)
		if (r->win && o >= r->win_off && o + len <= r->win_off + r->win_len)
			return r->win + (o - r->win_off);
	size_t start = off & ~(rs->page - 1);
	size_t need = (off - start + len + rs->page - 1) & ~(rs->page - 1);
	size_t wlen = need > RINGBUF_WINDOW ? need : RINGBUF_WINDOW;
	if (wlen > 2 * r->size - start)
		wlen = 2 * r->size - start;   /* (need fits: start < size, len <= size) */
	void *w = mmap(NULL, wlen, PROT_READ, MAP_SHARED, r->fd, 2 * rs->page + start);
	if (w == MAP_FAILED)
		return NULL;
	if (r->win)
		munmap((void *)r->win, r->win_len);
	r->win = w;
	r->win_off = start;
	r->win_len = wlen;
	return r->win + (off - start);
}

/*
 * The data is written by other CPUs long before we read it: each record's first read
 * waited for memory (~all of the consumer's own time). Ask for the next record's bytes
 * (up to 1 KiB of them, in the window) while this one is written out.
 */
static void prefetch_next(const struct ringbuf *r, const char *rec, size_t total)
{
	const char *next = rec + total, *end = r->win + r->win_len;
	const char *stop = next + 1024 < end ? next + 1024 : end;
	for (const char *p = next; p < stop; p += 64)
		__builtin_prefetch(p);
}

static int consume_ring(struct ringbufs *rs, struct ringbuf *r)
{
	const size_t mask = r->size - 1;
	unsigned long cons = __atomic_load_n(r->consumer, __ATOMIC_ACQUIRE);
	unsigned long told = cons;
	int n = 0, err = 0;
	for (;;) {
		unsigned long prod = __atomic_load_n(r->producer, __ATOMIC_ACQUIRE);
		if (cons == prod)
			break;
		while (cons < prod) {
			size_t off = cons & mask;
			const uint32_t *hdr = (const void *)ring_at(rs, r, off, BPF_RINGBUF_HDR_SZ);
			if (!hdr) {
				err = -errno;
				goto out;
			}
			uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
			if (len & BPF_RINGBUF_BUSY_BIT) {
				/* Not committed yet: its commit wakes us once consumer_pos is
				 * its position. Stored before looking once more (the commit
				 * writes the header, then reads consumer_pos): either we see
				 * it committed or it sees where we are. */
				__atomic_store_n(r->consumer, cons, __ATOMIC_RELEASE);
				told = cons;
				__atomic_thread_fence(__ATOMIC_SEQ_CST);
				len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
				if (len & BPF_RINGBUF_BUSY_BIT)
					goto out;
			}
			size_t size = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
			size_t total = (size + BPF_RINGBUF_HDR_SZ + 7) & ~(size_t)7;
			if (total > r->size) {
				err = -EBADMSG;   /* the kernel never writes one */
				goto out;
			}
			if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
				const char *rec = ring_at(rs, r, off, total);
				if (!rec) {
					err = -errno;
					goto out;
				}
				prefetch_next(r, rec, total);
				r->fn(r->ctx, rec + BPF_RINGBUF_HDR_SZ, size);
				n++;
			}
			cons += total;
			if (cons - told >= RINGBUF_RELEASE_EVERY) {
				__atomic_store_n(r->consumer, cons, __ATOMIC_RELEASE);
				told = cons;
			}
		}
		/* Caught up with what we saw: say so before looking again, so that a record
		 * committed from now on at cons wakes us. */
		__atomic_store_n(r->consumer, cons, __ATOMIC_RELEASE);
		told = cons;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
out:
	if (cons != told)
		__atomic_store_n(r->consumer, cons, __ATOMIC_RELEASE);
	return err < 0 ? err : n;
}

int ringbufs_consume(struct ringbufs *rs)
{
	int total = 0, err = 0;
	for (size_t i = 0; i < rs->n; i++) {
		int r = consume_ring(rs, rs->rings[i]);
		if (r < 0)
			err = r;
		else
			total += r;
	}
	return err < 0 ? err : total;
}
