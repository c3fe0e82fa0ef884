/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPFD_PRIME_H
#define OCIBPFD_PRIME_H

#include "config.h"
#include "ocibpf.h"

/*
 * Priming: the per-syscall tracepoints that the configuration's policies audit, attached
 * by the collector before any container needs them (`ocibpf load` asks for it, "prime";
 * a supervised collector does it as it starts), so that the first audited container
 * after a load finds its syscalls held and starts without asking the collector. Asking
 * costs the hook the collector's wake-up, its reading of the container's record and the
 * attach (the first per-syscall tracepoint flips a static key on every CPU): 2-10 ms on
 * a busy node, measured (tests/bench/hook.sh, part 3). Held as if a container using them
 * had just stopped: detached after the usual linger (TP_LINGER_NS, events.c) when no
 * container needs them, as every held syscall taxes every syscall of the host.
 */

/* At most this many syscalls are primed: each adds two tracepoint attaches to the load. */
#define PRIME_MAX_SYSCALLS 32

/*
 * At most this many policy files are read (the default policy counted, and always read),
 * and those after the default policy only while their sizes add up to at most
 * PRIME_MAX_BYTES: the collector answers no hook while it reads them (measured: 2,000
 * policies of 40 KB each, a network rule list, kept it busy beyond the load's 2 s).
 */
#define PRIME_MAX_POLICIES 256
#define PRIME_MAX_BYTES (4 << 20)

/*
 * The syscalls to prime (MAX_SYSCALLS bits): those of the default policy, then those of
 * the other policies in policy_dir (by name, within PRIME_MAX_POLICIES and
 * PRIME_MAX_BYTES), a policy taken whole or not at all while the total stays within
 * PRIME_MAX_SYSCALLS. Policies the raw programs audit ("all", a
 * syscall without a tracepoint of its own) and policies that can't be read are skipped:
 * their containers' hooks attach what they need, as before. Returns how many syscalls.
 */
int prime_selection(const struct config *cfg, __u64 *bits);

#endif
