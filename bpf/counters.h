/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one list of per-container numbers. Everything that names them comes from here:
 * the kernel's struct container_stats (ocibpf.h), its per-CPU sum (bpfset.c), struct stats,
 * the merge of live and persisted values, `ocibpf stats --json`, the persisted file and
 * the Prometheus families (src/core/stats*.c, metrics.c). Add a number here, with where it
 * is read (kernel: a BPF program increments it; cgroup: src/core/cgstat.c reads it), and
 * every output has it.
 *
 * X(name, kind, src, flags, metric, help):
 *   name    member of struct stats (cgroup) or struct container_stats (kernel); also the key
 *           in `ocibpf stats --json`, the stop record and <state_dir>/stats/<id>.json
 *   kind    CK_COUNTER (only grows: merged as the larger), CK_GAUGE (a level: the live
 *           value when there is one, else the persisted one), CK_PEAK (the largest level
 *           ever seen, of itself and of the gauge before it)
 *   src     where user space reads it: CPU, MEMORY, PEAK, PIDS, IO (files of the cgroup's
 *           controller of that name, cgstat.c) or KERNEL (the ocibpf_stats map); a gauge
 *           read just now (struct stats.live has ST_<src>) beats the persisted one
 *   flags   CV_JSON (in `ocibpf stats --json`), CV_SECONDS (nanoseconds, exposed as
 *           seconds), CV_SYSCOUNT (only for containers whose syscalls are counted: JSON
 *           null and no series otherwise)
 *   metric  the Prometheus family, after "ocibpf_container_" (cAdvisor's names)
 *   help    its HELP text
 *
 * Only names are used by BPF code; the strings exist for user space.
 */
#ifndef OCIBPF_COUNTERS_H
#define OCIBPF_COUNTERS_H

#define CK_COUNTER 0
#define CK_GAUGE 1
#define CK_PEAK 2

#define CV_JSON (1U << 0)
#define CV_SECONDS (1U << 1)
#define CV_SYSCOUNT (1U << 2)

/* Read from the container's cgroup by user space (v2 files, else the v1 controllers). */
#define OCIBPF_CGROUP_VALUES(X)								\
	X(cpu_ns, CK_COUNTER, CPU, CV_JSON | CV_SECONDS, "cpu_usage_seconds_total",		\
	  "Cumulative CPU time consumed by the container in seconds.")			\
	X(memory_bytes, CK_GAUGE, MEMORY, CV_JSON, "memory_usage_bytes",				\
	  "Current memory usage of the container in bytes, including all memory regardless of when it was accessed.") \
	X(memory_peak_bytes, CK_PEAK, PEAK, CV_JSON, "memory_max_usage_bytes",			\
	  "Maximum memory usage of the container recorded in bytes.")			\
	X(pids, CK_GAUGE, PIDS, CV_JSON, "pids",							\
	  "Number of tasks (processes and threads) in the container's cgroup.")		\
	X(io_read_bytes, CK_COUNTER, IO, CV_JSON, "fs_reads_bytes_total",			\
	  "Cumulative count of bytes read from block devices by the container.")		\
	X(io_write_bytes, CK_COUNTER, IO, CV_JSON, "fs_writes_bytes_total",			\
	  "Cumulative count of bytes written to block devices by the container.")		\
	X(memory_working_set_bytes, CK_GAUGE, MEMORY, CV_JSON, "memory_working_set_bytes",		\
	  "Current working set of the container in bytes (memory usage minus inactive file cache).") \
	X(oom_kills, CK_COUNTER, MEMORY, CV_JSON, "oom_events_total",				\
	  "Cumulative count of processes of the container killed by the OOM killer.")	\
	X(cpu_periods, CK_COUNTER, CPU, CV_JSON, "cpu_cfs_periods_total",			\
	  "Number of elapsed CFS enforcement period intervals (0 without a CPU quota).")	\
	X(cpu_throttled_periods, CK_COUNTER, CPU, CV_JSON, "cpu_cfs_throttled_periods_total",	\
	  "Number of CFS period intervals in which the container was throttled.")		\
	X(cpu_throttled_ns, CK_COUNTER, CPU, CV_JSON | CV_SECONDS, "cpu_cfs_throttled_seconds_total", \
	  "Total time duration the container has been throttled, in seconds.")

/* Counted in the kernel by the BPF programs, per CPU (struct container_stats). */
#define OCIBPF_KERNEL_COUNTERS(X)							\
	X(rx_bytes, CK_COUNTER, KERNEL, CV_JSON, "network_receive_bytes_total",			\
	  "Cumulative count of bytes received by the container.")				\
	X(rx_packets, CK_COUNTER, KERNEL, CV_JSON, "network_receive_packets_total",			\
	  "Cumulative count of packets received by the container.")			\
	X(tx_bytes, CK_COUNTER, KERNEL, CV_JSON, "network_transmit_bytes_total",			\
	  "Cumulative count of bytes transmitted by the container.")			\
	X(tx_packets, CK_COUNTER, KERNEL, CV_JSON, "network_transmit_packets_total",		\
	  "Cumulative count of packets transmitted by the container.")			\
	X(egress_denied, CK_COUNTER, KERNEL, CV_JSON, "network_egress_denied_total",		\
	  "Cumulative count of outgoing connections and packets the container's network policy denied.") \
	X(ingress_denied, CK_COUNTER, KERNEL, CV_JSON, "network_ingress_denied_total",		\
	  "Cumulative count of incoming connections and packets the container's network policy denied.") \
	X(execs, CK_COUNTER, KERNEL, CV_JSON, "execs_total",						\
	  "Cumulative count of programs executed (execve) in the container.")		\
	X(syscalls, CK_COUNTER, KERNEL, CV_JSON | CV_SYSCOUNT, "syscalls_total",			\
	  "Cumulative count of system calls made by the container (only when its policy counts them).") \
	X(audit_lost, CK_COUNTER, KERNEL, CV_JSON, "ringbuf_drops_total",						\
	  "Cumulative count of audit events of the container the kernel ring buffer had no room for.")

#endif
