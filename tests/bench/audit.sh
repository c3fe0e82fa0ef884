#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Syscall auditing (issue 3):
#  1. getppid() cost of a process outside any container: with no container audited, vs
#     while a container audited for execve+openat runs (per-syscall tracepoints; goal
#     <= 1.25), and for reference while a container audits "all" (raw sys_enter/exit).
#     ROUNDS rounds (default 5), interleaved; medians of ns per call.
#  2. Audited syscalls recorded per second: a container opening a file N times (default
#     300,000) in a tight loop, audited for openat, by 1 and by 2 processes at once
#     (PRODUCERS="1 2"); records written, lost, the rate, the collector's CPU time per
#     record (from /proc/PID/schedstat) and its peak RSS meanwhile, and its RSS and PSS
#     sampled while it audits (goals, issue 13: no loss at 500k records/s; <= 16 MB).
#  3. The collector's drain rate, which the container above can't reach on a small VM:
#     the collector is stopped (SIGSTOP) while the container makes N_DRAIN (default
#     18,000: they fit in its share of the ring) audited opens, then continued; the
#     time and CPU it takes to write them all, DRAINS times (default 5), medians.
#  4. The encoding alone (tests/bench/record-encode.c, no kernel): CPU ns per record.
#     With ENCODE_AGAINST=OTHER-BUILD-DIR, the records of both builds are compared
#     byte for byte (record-encode golden: every kind, hostile bytes included).

. "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-5}
CALLS=${CALLS:-2000000}
N_OPEN=${N_OPEN:-300000}
PRODUCERS=${PRODUCERS-1 2}
N_DRAIN=${N_DRAIN:-18000}
DRAINS=${DRAINS:-5}

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
# The collector runs before the container starts (the first hook starts it): make sure
# one is there to measure, by a first short container.
make_bundle "$BENCH_TMP/warmup" opens sleep 600
runc --root "$RUNC_ROOT" run -d -b "$BENCH_TMP/warmup" bench-warmup </dev/null >/dev/null 2>&1
pid=$(cat "$BENCH_TMP/run/ocibpfd.pid")
hz=$(getconf CLK_TCK)
# cpu_ns: the collector's CPU time so far (ns, from the scheduler's own account).
cpu_ns() { awk '{ print $1 }' "/proc/$pid/schedstat"; }

for p in $PRODUCERS; do
	id=bench-opens-$p
	make_bundle "$BENCH_TMP/$id" opens sh -c \
		"i=0; while [ \$i -lt $p ]; do /syscall-loop openat $((N_OPEN / p)) /target >/dev/null & i=\$((i + 1)); done; wait"
	cp "$LOOP" "$BENCH_TMP/$id/rootfs/syscall-loop"
	echo target >"$BENCH_TMP/$id/rootfs/target"
	cpu0=$(cpu_ns)
	t0=$(date +%s%N)
	runc --root "$RUNC_ROOT" run -d -b "$BENCH_TMP/$id" "$id" </dev/null >/dev/null 2>&1
	pss_max=0
	rss_max=0
	for ((i = 0; i < 600; i++)); do
		# the collector's memory while it audits: resident (every page of its mappings of
		# the ring counts) and proportional (shared pages split among their mappers)
		read -r rss_now pss_now < <(awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } END { print r + 0, p + 0 }' \
			"/proc/$pid/smaps_rollup" 2>/dev/null || echo "0 0")
		[ "$rss_now" -gt "$rss_max" ] && rss_max=$rss_now
		[ "$pss_now" -gt "$pss_max" ] && pss_max=$pss_now
		[ "$(runc --root "$RUNC_ROOT" state "$id" 2>/dev/null | jq -r .status)" = stopped ] && break
		sleep 0.1
	done
	t1=$(date +%s%N)
	runc --root "$RUNC_ROOT" delete "$id" >/dev/null
	cpu1=$(cpu_ns)
	rss=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")
	log=$BENCH_TMP/log/$id.jsonl
	recorded=$(grep -c '"path":"/target"' "$log" || true)
	lost=$(jq -s '[.[] | select(.type == "lost") | .count // 0] | add // 0' "$log")
	rate=$(awk -v n="$recorded" -v l="$lost" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.0f", (n + l) / ((t1 - t0) / 1e9) }')
	echo "audited openat in a tight loop ($N_OPEN calls, by $p process(es) in one container):"
	echo "  records written: $recorded, lost: $lost"
	echo "  rate: about $rate records/s made (container run time, from start to stop)"
	echo "  collector: $(awk -v c=$((cpu1 - cpu0)) 'BEGIN { printf "%.2f", c / 1e9 }') s CPU," \
		"$(awk -v c=$((cpu1 - cpu0)) -v n="$recorded" 'BEGIN { printf "%.2f", c / 1e3 / n }') us per record (goal ~1.5)," \
		"peak RSS $((rss / 1024)) MiB"
	echo "  collector while auditing (sampled every 0.1 s): RSS up to $((rss_max / 1024)) MiB, PSS up to $((pss_max / 1024)) MiB (goal: <= 16 MB)"
done

# 3. drain rate
id=bench-drain
make_bundle "$BENCH_TMP/$id" opens sh -c \
	"i=0; while :; do while [ ! -e /go\$i ]; do usleep 10000; done
	 /syscall-loop openat $N_DRAIN /target >/dev/null; touch /done\$i; i=\$((i + 1)); done"
cp "$LOOP" "$BENCH_TMP/$id/rootfs/syscall-loop"
echo target >"$BENCH_TMP/$id/rootfs/target"
runc --root "$RUNC_ROOT" run -d -b "$BENCH_TMP/$id" "$id" </dev/null >/dev/null 2>&1
log=$BENCH_TMP/log/$id.jsonl
: >"$BENCH_TMP/drain.us"
: >"$BENCH_TMP/drain.cpu"
lost_drain=0
for ((r = 0; r < DRAINS; r++)); do
	size0=$(stat -c %s "$log" 2>/dev/null || echo 0)
	kill -STOP "$pid"
	touch "$BENCH_TMP/$id/rootfs/go$r"
	for ((i = 0; i < 600; i++)); do
		[ -e "$BENCH_TMP/$id/rootfs/done$r" ] && break
		sleep 0.1
	done
	cpu0=$(cpu_ns)
	t0=$(date +%s%N)
	kill -CONT "$pid"
	for ((i = 0; i < 30000; i++)); do
		[ "$(tail -c +$((size0 + 1)) "$log" | grep -c '"path":"/target"')" -ge "$N_DRAIN" ] && break
		sleep 0.01
	done
	t1=$(date +%s%N)
	cpu1=$(cpu_ns)
	echo $(((t1 - t0) / 1000)) >>"$BENCH_TMP/drain.us"
	awk -v c=$((cpu1 - cpu0)) -v n="$N_DRAIN" 'BEGIN { printf "%.3f\n", c / 1e3 / n }' >>"$BENCH_TMP/drain.cpu"
done
runc --root "$RUNC_ROOT" delete -f "$id" >/dev/null
runc --root "$RUNC_ROOT" delete -f bench-warmup >/dev/null
lost_drain=$(jq -s '[.[] | select(.type == "lost") | .count // 0] | add // 0' "$log")
us=$(median <"$BENCH_TMP/drain.us")
echo "the collector draining $N_DRAIN records made while it was stopped (medians of $DRAINS):"
echo "  $(awk -v n="$N_DRAIN" -v us="$us" 'BEGIN { printf "%.0f", n / (us / 1e6) }') records/s" \
	"(wall, polled every 10 ms: a bound from below), $(median <"$BENCH_TMP/drain.cpu") us CPU per record" \
	"(1 / that: $(awk -v c="$(median <"$BENCH_TMP/drain.cpu")" 'BEGIN { printf "%.0f", 1e6 / c }') records/s on a core of its own)," \
	"lost: $lost_drain"

# 4. encoding alone
ENC=$BUILD/bench/record-encode
[ -x "$ENC" ] || make -s "${BUILD#"$PWD"/}/bench/record-encode" >/dev/null || die "cannot build record-encode"
mkdir -p "$BENCH_TMP/enc"
: >"$BENCH_TMP/enc.ns"
for ((r = 0; r < 5; r++)); do
	rm -f "$BENCH_TMP/enc/bench.jsonl"
	"$ENC" bench 200000 "$BENCH_TMP/enc" >>"$BENCH_TMP/enc.ns"
done
echo "encoding a syscall record into the batch and writing it (record-encode, no kernel):" \
	"$(median <"$BENCH_TMP/enc.ns") ns CPU per record (median of 5)"
if [ -n "${ENCODE_AGAINST:-}" ]; then
	make -s -C "$ENCODE_AGAINST" build/bench/record-encode >/dev/null || die "cannot build record-encode in $ENCODE_AGAINST"
	mkdir -p "$BENCH_TMP/enc-a" "$BENCH_TMP/enc-b"
	"$ENC" golden "$BENCH_TMP/enc-a"
	"$ENCODE_AGAINST/build/bench/record-encode" golden "$BENCH_TMP/enc-b"
	if cmp -s "$BENCH_TMP/enc-a/golden.jsonl" "$BENCH_TMP/enc-b/golden.jsonl"; then
		echo "  records byte-identical to $ENCODE_AGAINST's ($(wc -l <"$BENCH_TMP/enc-a/golden.jsonl") records)"
	else
		echo "  records DIFFER from $ENCODE_AGAINST's:"
		diff "$BENCH_TMP/enc-a/golden.jsonl" "$BENCH_TMP/enc-b/golden.jsonl" | head -n 10
		exit 1
	fi
fi
