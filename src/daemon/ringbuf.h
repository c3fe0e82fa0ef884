/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPFD_RINGBUF_H
#define OCIBPFD_RINGBUF_H

#include <stddef.h>

/*
 * The collector's consumer of BPF ring buffers (BPF_MAP_TYPE_RINGBUF), in place of
 * libbpf's ring_buffer: that one maps a ring's whole data area, twice over (the kernel
 * lays the data pages out twice in a row so that a record wrapping the end reads as one
 * piece), and every page of a mapping counts in the collector's RSS: 32 MiB for a
 * 16 MiB ring. This one maps a window of RINGBUF_WINDOW bytes of the data and moves it
 * as it consumes (ringbuf.c says how and what it costs).
 *
 * Several rings share one epoll fd that is readable when any of them holds records.
 */
struct ringbufs;

/* Called with each record (the bytes stay valid until it returns). */
typedef void (*ringbuf_fn)(void *ctx, const void *data, size_t size);

int ringbufs_new(struct ringbufs **ret);
void ringbufs_free(struct ringbufs *rs);
/* Add the ring of map_fd (not taken: the caller may close it). 0 or -errno. */
int ringbufs_add(struct ringbufs *rs, int map_fd, ringbuf_fn fn, void *ctx);
/* Hand every committed record of every ring to its fn: how many, or -errno when a ring
 * could not be read on (it is tried again next time). */
int ringbufs_consume(struct ringbufs *rs);
int ringbufs_epoll_fd(const struct ringbufs *rs);

#endif
