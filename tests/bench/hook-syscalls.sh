#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The syscalls of one hook pair (`ocibpf-hook createRuntime` then `poststop`, run
# directly as runc runs them) on a stand-in container (a sleeping process in a cgroup of
# its own, as hook.sh part 2), full policy, the set loaded and the collector running:
# strace -f -c of each hook, and the pins each opens (BPF_OBJ_GET) and its mkdirs.
# A count, not a time: compare two builds with OCIBPF_BUILD=... on the same machine.
# With perf, also where a pair's time in the kernel goes: each syscall from its entry to
# its exit (raw_syscalls tracepoints, ~1 us of tracing each), summed by syscall and
# averaged over TIMES pairs (default 10; TIMES=0 skips it). What a syscall waits for
# counts too (poststop's poll is the collector's drain).

. "$(dirname "$0")/lib.sh"
command -v strace >/dev/null || die "needs strace"
CGROUP2=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break;
	if ($(i + 1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo)
[ -n "$CGROUP2" ] || die "no cgroup2 mount"
write_policy full '{ "audit": { "syscalls": ["execve", "openat", "connect"] },
  "network": { "egress": { "default": "allow",
    "rules": [ { "action": "deny", "cidr": "10.0.0.0/8", "protocol": "tcp", "ports": "22" } ] } },
  "telemetry": true }'

CG=$CGROUP2/ocibpf-bench-$$-syscalls
mkdir "$CG"
# shellcheck disable=SC2016
sh -c 'echo $$ >"$1/cgroup.procs" && exec sleep 3600' sh "$CG" </dev/null >/dev/null 2>&1 &
PID=$!
for _ in $(seq 200); do grep -qx "$PID" "$CG/cgroup.procs" 2>/dev/null && break; sleep 0.005; done
syscalls_cleanup() {
	set +e
	kill -9 "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	rmdir "$CG" 2>/dev/null
	bench_cleanup
}
trap syscalls_cleanup EXIT

"$CLI" load >/dev/null || die "ocibpf load failed"
states() {	# states ID
	jq -cn --arg id "$1" --argjson pid "$PID" --arg b "$BENCH_TMP" \
		'{ociVersion: "1.0.2", id: $id, status: "creating", pid: $pid, bundle: $b,
		  annotations: {"io.ocibpf.policy": "full"}}' >"$BENCH_TMP/create.json"
	jq -cn --arg id "$1" --arg b "$BENCH_TMP" \
		'{ociVersion: "1.0.2", id: $id, status: "stopped", bundle: $b}' >"$BENCH_TMP/stop.json"
}
# Wrappers: OUT CMD...
plain() { shift; "$@"; }
count() { strace -f -c -o "$1" "${@:2}"; }
trace() { strace -f -e trace=bpf,mkdir,mkdirat -o "$1" "${@:2}"; }
# pair ID WRAPPER: both hooks under WRAPPER, its output in $BENCH_TMP/ID-{create,stop}
pair() {
	local id=$1 stage s
	states "$id"
	for stage in create stop; do
		s=createRuntime
		[ "$stage" = stop ] && s=poststop
		"$2" "$BENCH_TMP/$1-$stage" "$HOOK" "$s" <"$BENCH_TMP/$stage.json" >/dev/null 2>&1 ||
			die "$s failed"
	done
}
pair warm plain	# warm-up: the collector started, the log dirs made
pair count count
pair trace trace
echo "syscalls of one hook pair (strace -f -c; full policy, warm):"
for stage in create stop; do
	total=$(awk '$NF == "total" { print $4 }' "$BENCH_TMP/count-$stage")
	objget=$(grep -c 'BPF_OBJ_GET,' "$BENCH_TMP/trace-$stage" || true)
	dup=$(grep 'BPF_OBJ_GET,' "$BENCH_TMP/trace-$stage" | grep -o 'pathname="[^"]*"' | sort | uniq -d | wc -l)
	mkdirs=$(grep -c 'mkdir' "$BENCH_TMP/trace-$stage" || true)
	eexist=$(grep -c 'EEXIST' "$BENCH_TMP/trace-$stage" || true)
	printf '  %-7s %4s syscalls   %3s pins opened (%s twice or more)   %3s mkdirs (%s EEXIST)\n' \
		"$stage" "$total" "$objget" "$dup" "$mkdirs" "$eexist"
done

TIMES=${TIMES:-10}
[ "$TIMES" -gt 0 ] && command -v perf >/dev/null || exit 0
rec() { perf record -q -e raw_syscalls:sys_enter,raw_syscalls:sys_exit -o "$1.data" "${@:2}"; }
for i in $(seq "$TIMES"); do pair "time$i" rec; done
UNISTD=/usr/include/x86_64-linux-gnu/asm/unistd_64.h
[ -r "$UNISTD" ] || UNISTD=/dev/null
echo "time in syscalls, mean of $TIMES pairs (us, enter to exit; the 12 largest):"
# per_syscall STAGE: "TOTAL NAME CALLS" a line, and a "span" line
per_syscall() {
	local i
	for i in $(seq "$TIMES"); do
		perf script -i "$BENCH_TMP/time$i-$1.data" -F time,event,trace 2>/dev/null
		echo "-- end"
	done | awk -v n="$TIMES" -v unistd="$UNISTD" '
		BEGIN { while ((getline l <unistd) > 0) if (l ~ /^#define __NR_/) {
				split(l, f, " "); name[f[3]] = substr(f[2], 6) } }
		$1 == "--" { if (first != "") span += last - first; first = ""; next }
		{ t = $1; sub(":", "", t); t *= 1e6; if (first == "") first = t; last = t }
		$2 ~ /sys_enter/ { nr = $4; t0 = t; next }
		$2 ~ /sys_exit/ && $4 == nr { sum[nr] += t - t0; cnt[nr]++; all += t - t0; nr = "" }
		END {
			printf "span %.0f %.0f\n", all / n, span / n
			for (k in sum) printf "%.1f %s %.1f\n", sum[k] / n, (k in name ? name[k] : k), cnt[k] / n
		}'
}
for stage in create stop; do
	per_syscall "$stage" >"$BENCH_TMP/times-$stage"
	awk -v s="$stage" '$1 == "span" { printf "  %-7s %5s in syscalls, %5s from the first to the last\n", s, $2, $3 }' \
		"$BENCH_TMP/times-$stage"
	grep -v '^span' "$BENCH_TMP/times-$stage" | sort -rn | head -12 |
		awk '{ printf "    %-16s %5.1f calls %8.1f us  (%.1f each)\n", $2, $3, $1, $1 / $3 }'
done
