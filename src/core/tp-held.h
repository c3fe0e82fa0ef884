/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_TP_HELD_H
#define OCIBPF_TP_HELD_H

#include <stdbool.h>
#include <stdint.h>

#include "ocibpf.h"

/*
 * The per-syscall tracepoints a collector holds (their links can't be pinned: see
 * audit.h), published in <state_dir>/ocibpfd.tracepoints: the collector's pid, the BPF set
 * they feed (its version and set_id, the id of its first program: which load of that
 * version) and one bit per syscall. A hook whose container audits only syscalls in it
 * need not ask the collector for them (and wait for its answer).
 *
 * The order that makes it safe: a hook enters its container in the maps first and reads
 * the file after; a collector withdraws a syscall from the file first and looks at what
 * the containers in the maps need after, and detaches it only if none does. Either the
 * hook sees the syscall gone (and asks), or the collector sees the container (and keeps
 * it). A syscall is published only once attached.
 */
#define TP_HELD_WORDS (MAX_SYSCALLS / 64)

/* Replace the published set (atomically); `bits` NULL withdraws all (the file goes). */
void tp_held_publish(const char *path, const char *version, uint32_t set_id, const __u64 *bits);
/*
 * Does a live collector of state_dir hold every syscall of want[] for the set (`version`,
 * `set_id`)? False whenever in doubt (no file, another set or another load of it, its
 * collector gone).
 */
bool tp_held_covers(const char *state_dir, const char *version, uint32_t set_id,
		    const __u64 *want);

#endif
