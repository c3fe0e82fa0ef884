#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Audit fairness (issue 12): one container floods its audit (FLOODERS processes opening a
# file in a tight loop, audited for openat, N_FLOOD opens each), while a quiet container,
# audited for openat too, opens /etc/passwd N_QUIET times (one every ~5 ms). The collector
# is stopped (SIGSTOP) for PAUSE seconds meanwhile, as a collector starved of CPU on a
# busy host would be: the flood fills the ring buffer. Prints, for each container, the
# records written and lost. Goal: the quiet container loses nothing, whatever the flood
# loses. ROUNDS rounds (default 3).
#
#   OCIBPF_BUILD=/path/to/build tests/bench/audit-fairness.sh

. "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-3}
N_FLOOD=${N_FLOOD:-100000}
FLOODERS=${FLOODERS:-2}
N_QUIET=${N_QUIET:-1500}
PAUSE=${PAUSE:-6}

LOOP=$BENCH_TMP/syscall-loop
gcc -O2 -static -o "$LOOP" tests/bench/syscall-loop.c || die "cannot build syscall-loop (static)"

write_policy opens '{"audit": {"syscalls": ["openat"]}}'
flood_cmd="i=0; while [ \$i -lt $FLOODERS ]; do /syscall-loop openat $N_FLOOD /target & i=\$((i + 1)); done; wait"
make_bundle "$BENCH_TMP/flood" opens sh -c "$flood_cmd"
cp "$LOOP" "$BENCH_TMP/flood/rootfs/syscall-loop"
echo target >"$BENCH_TMP/flood/rootfs/target"
make_bundle "$BENCH_TMP/quiet" opens sh -c "i=0; while [ \$i -lt $N_QUIET ]; do : </etc/passwd; usleep 5000; i=\$((i + 1)); done"
mkdir -p "$BENCH_TMP/quiet/rootfs/etc"; echo "root:x:0:0::/:/bin/sh" >"$BENCH_TMP/quiet/rootfs/etc/passwd"

state() { runc --root "$RUNC_ROOT" state "$1" 2>/dev/null | jq -r .status; }
count() { # LOG PATH: records of opens of PATH, lost count
	local rec lost
	rec=$(grep -c "\"path\":\"$2\"" "$1" || true)
	lost=$(jq -s '[.[] | select(.type == "lost") | .count // 0] | add // 0' "$1")
	echo "$rec $lost"
}

printf '%-6s %-28s %-28s\n' round "flood: written lost" "quiet: written/$N_QUIET lost"
for ((r = 1; r <= ROUNDS; r++)); do
	runc --root "$RUNC_ROOT" run -d -b "$BENCH_TMP/quiet" "quiet-$r" </dev/null >/dev/null 2>&1
	runc --root "$RUNC_ROOT" run -d -b "$BENCH_TMP/flood" "flood-$r" </dev/null >/dev/null 2>&1
	collector=$(cat "$BENCH_TMP/run/ocibpfd.pid")
	kill -STOP "$collector"
	sleep "$PAUSE"
	kill -CONT "$collector"
	for ((i = 0; i < 1200; i++)); do
		[ "$(state "quiet-$r")" = stopped ] && [ "$(state "flood-$r")" = stopped ] && break
		sleep 0.1
	done
	runc --root "$RUNC_ROOT" delete -f "quiet-$r" >/dev/null
	runc --root "$RUNC_ROOT" delete -f "flood-$r" >/dev/null
	read -r fw fl < <(count "$BENCH_TMP/log/flood-$r.jsonl" /target)
	read -r qw ql < <(count "$BENCH_TMP/log/quiet-$r.jsonl" /etc/passwd)
	printf '%-6s %-28s %-28s\n' "$r" "$fw $fl" "$qw $ql"
done
