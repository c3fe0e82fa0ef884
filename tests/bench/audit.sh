#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Syscall auditing (issue 3):
#  1. getppid() cost of a process outside any container: with no container audited, vs
#     while a container audited for execve+openat runs (per-syscall tracepoints; goal
#     <= 1.25), and for reference while a container audits "all" (raw sys_enter/exit).
#     ROUNDS rounds (default 5), interleaved; medians of ns per call.
#  2. Audited syscalls recorded per second: a container opening a file N times (default
#     300,000) in a tight loop, audited for openat; records written, lost, the rate, and
#     the collector's CPU time and peak RSS meanwhile, and its RSS and PSS sampled while
#     it audits (goals, issue 13: no loss at 500k records/s; <= 16 MB).

. "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-5}
CALLS=${CALLS:-2000000}
N_OPEN=${N_OPEN:-300000}

LOOP=$BENCH_TMP/syscall-loop
gcc -O2 -static -o "$LOOP" tests/bench/syscall-loop.c || die "cannot build syscall-loop (static)"

write_policy some '{"audit": {"syscalls": ["execve", "openat"]}}'
write_policy all '{"audit": {"syscalls": ["all"]}}'
make_bundle "$BENCH_TMP/some" some sleep 600
make_bundle "$BENCH_TMP/all" all sleep 600

if [ "$ROUNDS" -gt 0 ]; then   # ROUNDS=0: throughput only
ns() { "$LOOP" getppid "$CALLS"; }
: >"$BENCH_TMP/base"
: >"$BENCH_TMP/some.ns"
: >"$BENCH_TMP/all.ns"
ns >/dev/null
for ((i = 0; i < ROUNDS; i++)); do
	ns >>"$BENCH_TMP/base"
	runc --root "$RUNC_ROOT" run -d -b "$BENCH_TMP/some" bench-some </dev/null >/dev/null 2>&1
	ns >>"$BENCH_TMP/some.ns"
	runc --root "$RUNC_ROOT" delete -f bench-some >/dev/null
	ns >>"$BENCH_TMP/base"
	runc --root "$RUNC_ROOT" run -d -b "$BENCH_TMP/all" bench-all </dev/null >/dev/null 2>&1
	ns >>"$BENCH_TMP/all.ns"
	runc --root "$RUNC_ROOT" delete -f bench-all >/dev/null
done
base=$(median <"$BENCH_TMP/base")
some=$(median <"$BENCH_TMP/some.ns")
all=$(median <"$BENCH_TMP/all.ns")
echo "getppid() outside any container, ns per call (medians of $ROUNDS rounds of $CALLS calls):"
printf '  %-52s %7s\n' "no container audited" "$base" \
	"a container audited for execve+openat (tracepoints)" "$some" \
	"a container auditing all syscalls (raw tracepoints)" "$all"
echo "  ratio, execve+openat: $(ratio "$some" "$base") (goal <= 1.25)"
echo "  ratio, all:           $(ratio "$all" "$base")"
fi

# 2. throughput
write_policy opens '{"audit": {"syscalls": ["openat"]}}'
make_bundle "$BENCH_TMP/opens" opens /syscall-loop openat "$N_OPEN" /target
cp "$LOOP" "$BENCH_TMP/opens/rootfs/syscall-loop"
echo target >"$BENCH_TMP/opens/rootfs/target"
# The collector runs before the container starts (the first hook starts it): make sure
# one is there to measure, by a first short container.
make_bundle "$BENCH_TMP/warmup" opens /bin/true
runc --root "$RUNC_ROOT" run -d -b "$BENCH_TMP/warmup" bench-warmup </dev/null >/dev/null 2>&1
runc --root "$RUNC_ROOT" run -d -b "$BENCH_TMP/opens" bench-opens </dev/null >/dev/null 2>&1
pid=$(cat "$BENCH_TMP/run/ocibpfd.pid")
cpu0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
t0=$(date +%s%N)
pss_max=0
rss_max=0
for ((i = 0; i < 600; i++)); do
	# the collector's memory while it audits: resident (the ring's pages count once per
	# mapping: libbpf maps its data twice) and proportional (each page once)
	read -r rss_now pss_now < <(awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } END { print r + 0, p + 0 }' \
		"/proc/$pid/smaps_rollup" 2>/dev/null || echo "0 0")
	[ "$rss_now" -gt "$rss_max" ] && rss_max=$rss_now
	[ "$pss_now" -gt "$pss_max" ] && pss_max=$pss_now
	[ "$(runc --root "$RUNC_ROOT" state bench-opens 2>/dev/null | jq -r .status)" = stopped ] && break
	sleep 0.1
done
t1=$(date +%s%N)
cpu1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
rss=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")
runc --root "$RUNC_ROOT" delete bench-opens >/dev/null
runc --root "$RUNC_ROOT" delete -f bench-warmup >/dev/null
log=$BENCH_TMP/log/bench-opens.jsonl
recorded=$(grep -c '"path":"/target"' "$log" || true)
lost=$(jq -s '[.[] | select(.type == "lost") | .count // 0] | add // 0' "$log")
rate=$(awk -v n="$recorded" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.0f", n / ((t1 - t0) / 1e9) }')
hz=$(getconf CLK_TCK)
echo "audited openat in a tight loop ($N_OPEN calls):"
echo "  records written: $recorded, lost: $lost"
echo "  rate: about $rate records/s (container run time, from start to stop)"
echo "  collector: $(awk -v c=$((cpu1 - cpu0)) -v hz="$hz" 'BEGIN { printf "%.2f", c / hz }') s CPU, peak RSS $((rss / 1024)) MiB"
echo "  collector while auditing (sampled every 0.1 s): RSS up to $((rss_max / 1024)) MiB, PSS up to $((pss_max / 1024)) MiB (goal: <= 16 MB)"
