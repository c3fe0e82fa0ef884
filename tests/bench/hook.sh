#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Container start cost of the hooks (issues 2 and 13). Everything timed side by side, in
# shuffled order (a run right after another's heavy teardown is slower: never "A then B").
#  1. `runc run /bin/true`, warm (programs pinned): RUNS rounds (default 21), each running
#     every bundle once in a shuffled order: no hooks, two /bin/true hooks (runc's own cost
#     of running hooks, which no hook can go below), ocibpf with a telemetry, an audit, a
#     network and a full (audit + network + telemetry) policy. Medians and ratios to none.
#  2. The hook pair's own time: `ocibpf-hook createRuntime` then `poststop`, run directly
#     (as runc runs them: a process each) on a sleeping process in a cgroup of its own.
#  3. `ocibpf load` (after `ocibpf gc --unload`), then the first container after it: COLD
#     rounds (default 7), the hooked and the plain run in shuffled order.
#  4. A container after QUIET s (default 4) of quiet (no container ran: an on-demand
#     collector that exits when idle is gone by then): COLD rounds, the full policy and
#     no hooks in shuffled order, each after the quiet spell.
#  5. The hook pair again with N_MONITORED (default 1000) monitored containers: sleeping
#     processes in cgroups of their own, entered with the hook (telemetry policy).
# Targets (issue 13): full policy warm <= 1.10x; hook pair <= 2.5 ms (<= 3 ms with 1,000
# containers); ocibpf load <= 60 ms; first container after load <= 1.10x.

. "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-21}
COLD=${COLD:-7}
QUIET=${QUIET:-4}
PARTS=${PARTS:-12345}   # which parts to run, e.g. PARTS=24
part() { [[ $PARTS == *$1* ]]; }
PAIRS=${PAIRS:-31}
N_MONITORED=${N_MONITORED:-1000}

CGROUP2=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break;
	if ($(i + 1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo)
[ -n "$CGROUP2" ] || die "no cgroup2 mount"

NET='"network": {
    "egress":  { "default": "allow",
                 "rules": [ { "action": "deny", "cidr": "10.0.0.0/8", "protocol": "tcp", "ports": "22,6000-6100" } ] },
    "ingress": { "default": "deny",
                 "rules": [ { "action": "allow", "cidr": "0.0.0.0/0", "protocol": "tcp", "ports": "8080" } ] } }'
AUDIT='"audit": { "syscalls": ["execve", "openat", "connect"] }'
write_policy telemetry '{ "telemetry": true }'
write_policy audit "{ $AUDIT }"
write_policy network "{ $NET }"
write_policy full "{ $AUDIT, $NET, \"telemetry\": true }"

KINDS=(plain noop telemetry audit network full)
make_bundle "$BENCH_TMP/plain" "" /bin/true
for p in telemetry audit network full; do make_bundle "$BENCH_TMP/$p" "$p" /bin/true; done
make_bundle "$BENCH_TMP/noop" full /bin/true
jq '.hooks.createRuntime[0].path = "/bin/true" | .hooks.poststop[0].path = "/bin/true"' \
	"$BENCH_TMP/noop/config.json" >"$BENCH_TMP/c" && mv "$BENCH_TMP/c" "$BENCH_TMP/noop/config.json"

run_once() { runc --root "$RUNC_ROOT" run -b "$BENCH_TMP/$1" "bench-$1"; }

# --- stand-in containers: a sleeping process in a cgroup of its own ------------------
SLEEPERS=()
CGS=()
IDS=()
stand_in() {	# stand_in NAME: sets PID
	local cg=$CGROUP2/ocibpf-bench-$$-$1
	mkdir "$cg"
	CGS+=("$cg")
	# shellcheck disable=SC2016
	sh -c 'echo $$ >"$1/cgroup.procs" && exec sleep 3600' sh "$cg" </dev/null >/dev/null 2>&1 &
	local pid=$!
	SLEEPERS+=("$pid")
	for _ in $(seq 200); do grep -qx "$pid" "$cg/cgroup.procs" 2>/dev/null && break; sleep 0.005; done
	PID=$pid
}
state_files() {	# state_files ID PID POLICY: the states the hooks read, made beforehand
	jq -cn --arg id "$1" --argjson pid "$2" --arg b "$BENCH_TMP/plain" --arg p "$3" \
		'{ociVersion: "1.0.2", id: $id, status: "creating", pid: $pid, bundle: $b,
		  annotations: {"io.ocibpf.policy": $p}}' >"$BENCH_TMP/state-$1.json"
	jq -cn --arg id "$1" --arg b "$BENCH_TMP/plain" \
		'{ociVersion: "1.0.2", id: $id, status: "stopped", bundle: $b}' >"$BENCH_TMP/stop-$1.json"
}
hook_create() {	# hook_create ID PID POLICY
	state_files "$@"
	"$HOOK" createRuntime <"$BENCH_TMP/state-$1.json"
}
hook_stop() {	# hook_stop ID
	"$HOOK" poststop <"$BENCH_TMP/stop-$1.json"
}
stand_in_cleanup() {
	set +e
	local id cg p
	for id in "${IDS[@]}"; do hook_stop "$id" >/dev/null 2>&1; done
	for p in "${SLEEPERS[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in "${SLEEPERS[@]}"; do wait "$p" 2>/dev/null; done
	for cg in "${CGS[@]}"; do rmdir "$cg" 2>/dev/null; done
	bench_cleanup
}
trap stand_in_cleanup EXIT

# pair_times ID PID POLICY: both hooks, as runc runs them (a process each), states
# written beforehand: "WALL_MS CPU_MS" (CPU: user + system of the two processes).
CPUTIME=$BENCH_TMP/cputime
gcc -O2 -o "$CPUTIME" tests/bench/cputime.c || die "cannot build cputime"
pair_times() {
	state_files "$1" "$2" "$3"
	{
		"$CPUTIME" "$HOOK" createRuntime <"$BENCH_TMP/state-$1.json" 3>&1 >/dev/null 2>&1 || true
		"$CPUTIME" "$HOOK" poststop <"$BENCH_TMP/stop-$1.json" 3>&1 >/dev/null 2>&1 || true
	} | awk '{ w += $1; c += $2 } END { printf "%.2f %.2f\n", w / 1000, c / 1000 }'
}
# floor_times: two /bin/true processes, as runc runs any pair of hooks: the cost of a
# process start on this machine, which no hook can go below.
floor_times() {
	{
		"$CPUTIME" /bin/true </dev/null 3>&1 >/dev/null 2>&1 || true
		"$CPUTIME" /bin/true </dev/null 3>&1 >/dev/null 2>&1 || true
	} | awk '{ w += $1; c += $2 } END { printf "%.2f %.2f\n", w / 1000, c / 1000 }'
}
# hook_pairs LABEL: medians of PAIRS pairs per policy, policies and the floor shuffled, on
# one stand-in.
hook_pairs() {
	local label=$1 pid k i floor
	stand_in "pair-${label// /-}"
	pid=$PID
	for k in floor telemetry audit network full; do : >"$BENCH_TMP/pair-$k.ms"; done
	for ((i = 0; i < PAIRS; i++)); do
		for k in $(printf '%s\n' floor telemetry audit network full | shuf); do
			if [ "$k" = floor ]; then
				floor_times >>"$BENCH_TMP/pair-floor.ms"
			else
				pair_times "bench-pair-$$" "$pid" "$k" >>"$BENCH_TMP/pair-$k.ms"
			fi
		done
	done
	echo "createRuntime + poststop, $label, medians of $PAIRS (goal <= 2.5 ms; <= 3 with 1,000):"
	floor=$(cut -d' ' -f2 <"$BENCH_TMP/pair-floor.ms" | median)
	for k in floor telemetry audit network full; do
		local c
		c=$(cut -d' ' -f2 <"$BENCH_TMP/pair-$k.ms" | median)
		printf '  %-10s wall %7.2f ms   cpu %6.2f ms   cpu over the floor %6.2f ms\n' "$k" \
			"$(cut -d' ' -f1 <"$BENCH_TMP/pair-$k.ms" | median)" "$c" \
			"$(awk -v a="$c" -v b="$floor" 'BEGIN { printf "%.2f", a - b }')"
	done
	echo "  (floor: two /bin/true processes, what runc pays for any two hooks)"
}

# --- 1. runc run, warm ------------------------------------------------------------------
# (a build from before `ocibpf load`, for comparison: its first container loads the set)
HAVE_LOAD=1
"$CLI" load >/dev/null 2>&1 || HAVE_LOAD=0
if part 1; then
for k in "${KINDS[@]}"; do
	run_once "$k" >/dev/null 2>&1 || die "runc run $k failed: $(run_once "$k" 2>&1)"
	: >"$BENCH_TMP/$k.ms"
done
for ((i = 0; i < RUNS; i++)); do
	for k in $(printf '%s\n' "${KINDS[@]}" | shuf); do
		ms_of run_once "$k" >>"$BENCH_TMP/$k.ms"
	done
done
plain=$(median <"$BENCH_TMP/plain.ms")
echo "runc run /bin/true, warm, medians of $RUNS shuffled rounds:"
for k in "${KINDS[@]}"; do
	m=$(median <"$BENCH_TMP/$k.ms")
	printf '  %-10s %7.2f ms  %sx\n' "$k" "$m" "$(ratio "$m" "$plain")"
done
echo "  (goal: full <= 1.10x; noop is runc's own cost of two hooks)"
fi

# --- 2. the hook pair ---------------------------------------------------------------------
if part 2; then
echo
hook_pairs "warm"
fi

# --- 3. ocibpf load, and the first container after it ----------------------------------
if part 3; then
: >"$BENCH_TMP/load.ms"
: >"$BENCH_TMP/first.ms"
: >"$BENCH_TMP/first-plain.ms"
for ((i = 0; i < COLD; i++)); do
	"$CLI" gc --unload >/dev/null
	[ "$HAVE_LOAD" = 1 ] || continue
	"$CPUTIME" "$CLI" load 3>&1 >/dev/null | awk '{ printf "%.2f %.2f\n", $1 / 1000, $2 / 1000 }' >>"$BENCH_TMP/load.ms"
	for k in $(printf '%s\n' full plain | shuf); do
		if [ "$k" = full ]; then
			ms_of run_once full >>"$BENCH_TMP/first.ms"
		else
			ms_of run_once plain >>"$BENCH_TMP/first-plain.ms"
		fi
	done
done
echo
if [ "$HAVE_LOAD" = 0 ]; then
	# no `ocibpf load`: the first container after gc --unload loads the set
	: >"$BENCH_TMP/first.ms"
	: >"$BENCH_TMP/first-plain.ms"
	for ((i = 0; i < COLD; i++)); do
		"$CLI" gc --unload >/dev/null
		for k in $(printf '%s\n' full plain | shuf); do
			ms_of run_once "$k" >>"$BENCH_TMP/$([ "$k" = full ] && echo first || echo first-plain).ms"
		done
	done
	echo "0 0" >"$BENCH_TMP/load.ms"
	echo "(this build has no ocibpf load: the first container after gc --unload loads the set)"
fi
first=$(median <"$BENCH_TMP/first.ms")
first_plain=$(median <"$BENCH_TMP/first-plain.ms")
printf 'ocibpf load (after gc --unload), median of %d: wall %.2f ms, cpu %.2f ms (goal <= 60)\n' "$COLD" \
	"$(cut -d' ' -f1 <"$BENCH_TMP/load.ms" | median)" "$(cut -d' ' -f2 <"$BENCH_TMP/load.ms" | median)"
printf 'first container after it (full policy): %.2f ms, no hooks %.2f ms: %sx (goal <= 1.10)\n' \
	"$first" "$first_plain" "$(ratio "$first" "$first_plain")"
fi

# --- 4. after a quiet spell ---------------------------------------------------------------
if part 4; then
"$CLI" load >/dev/null 2>&1 || true
run_once full >/dev/null 2>&1 || true
: >"$BENCH_TMP/quiet-full.ms"
: >"$BENCH_TMP/quiet-plain.ms"
for ((i = 0; i < COLD; i++)); do
	for k in $(printf '%s\n' full plain | shuf); do
		sleep "$QUIET"
		ms_of run_once "$k" >>"$BENCH_TMP/quiet-$k.ms"
	done
done
quiet_full=$(median <"$BENCH_TMP/quiet-full.ms")
quiet_plain=$(median <"$BENCH_TMP/quiet-plain.ms")
echo
printf 'after %s s of quiet, median of %d: full policy %.2f ms, no hooks %.2f ms: %sx\n' "$QUIET" "$COLD" \
	"$quiet_full" "$quiet_plain" "$(ratio "$quiet_full" "$quiet_plain")"
fi

# --- 5. with N_MONITORED monitored containers --------------------------------------------
if part 5; then
"$CLI" load >/dev/null 2>&1 || run_once full >/dev/null 2>&1
t0=$(date +%s%N)
for ((i = 0; i < N_MONITORED; i++)); do
	stand_in "m$i"
	hook_create "bench-m-$$-$i" "$PID" telemetry >/dev/null || die "createRuntime failed for stand-in $i"
	IDS+=("bench-m-$$-$i")
done
t1=$(date +%s%N)
echo
echo "$N_MONITORED stand-in containers monitored in $(((t1 - t0) / 1000000)) ms"
hook_pairs "with $N_MONITORED monitored containers"
fi
