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
#     (as runc runs them: a process each) on a sleeping process in a cgroup of its own;
#     also with a BIG_RULES-rule (10,000) network policy, one container of it at a time.
#  3. `ocibpf load` (after `ocibpf gc --unload`), then the first container after it: COLD
#     rounds (default 7), the hooked and the plain run in shuffled order; then, once, how
#     many requests that first container's hook made to the collector (strace).
#  4. A container after QUIET s (default 4) of quiet (no container ran: an on-demand
#     collector that exits when idle is gone by then): COLD rounds, the full policy and
#     no hooks in shuffled order, each after the quiet spell.
#  5. The hook pair with no other container and with N_MONITORED (default 1000) monitored
#     ones (in a second configuration: stand-ins entered by the hook JOBS at a time, with
#     syscall counts and folded denials in the maps), shuffled together, CPU side by side.
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
# Part 2 only: a 10,000-rule network policy (BIG_RULES), one container of it at a time
# (its entries are written by the first container of it and kept after the last).
BIG_RULES=${BIG_RULES:-10000}
jq -n --argjson n "$BIG_RULES" '{network: {egress: {default: "allow", rules: [range(0; $n) |
	{action: "deny", cidr: "10.\(. / 256 | floor).\(. % 256).0/24", protocol: "tcp",
	 ports: "22,6000-6100"}]}}}' >"$BENCH_TMP/policies/big.json"
chmod 0644 "$BENCH_TMP/policies/big.json"

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
	for k in floor telemetry audit network full big; do : >"$BENCH_TMP/pair-$k.ms"; done
	for ((i = 0; i < PAIRS; i++)); do
		for k in $(printf '%s\n' floor telemetry audit network full ${PAIR_KINDS_EXTRA:-} | shuf); do
			if [ "$k" = floor ]; then
				floor_times >>"$BENCH_TMP/pair-floor.ms"
			else
				pair_times "bench-pair-$$" "$pid" "$k" >>"$BENCH_TMP/pair-$k.ms"
			fi
		done
	done
	echo "createRuntime + poststop, $label, medians of $PAIRS (goal <= 2.5 ms; <= 3 with 1,000):"
	floor=$(cut -d' ' -f2 <"$BENCH_TMP/pair-floor.ms" | median)
	for k in floor telemetry audit network full ${PAIR_KINDS_EXTRA:-}; do
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
noop=$(median <"$BENCH_TMP/noop.ms")
printf '  full over noop: %sx (what ocibpf adds beyond runc running any two hooks)\n' \
	"$(ratio "$(median <"$BENCH_TMP/full.ms")" "$noop")"
echo "  (goal: full <= 1.10x; noop is runc's own cost of two hooks)"
fi

# --- 2. the hook pair ---------------------------------------------------------------------
if part 2; then
echo
PAIR_KINDS_EXTRA=big hook_pairs "warm"
fi

# --- 3. ocibpf load, and the first container after it ----------------------------------
if part 3; then
: >"$BENCH_TMP/load.ms"
: >"$BENCH_TMP/first.ms"
: >"$BENCH_TMP/first-plain.ms"
for ((i = 0; i < COLD; i++)); do
	"$CLI" gc --unload >/dev/null
	# A node loads at boot, not a moment after an unload: the kernel's teardown of the
	# unloaded set and its cgroups (RCU, workqueues) made the next start 140 or 300 ms.
	sleep 1
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
# Whether that first container's createRuntime asked the collector (and waited for its
# answer: its wake-up, its reading of the record, the attach): counted with strace, which
# a busy machine does not blur as it blurs the times above. 0 when `ocibpf load` had the
# collector hold what the policies audit.
if [ "$HAVE_LOAD" = 1 ] && command -v strace >/dev/null; then
	cp -a "$BENCH_TMP/full" "$BENCH_TMP/traced"
	jq --arg s "$(command -v strace)" --arg o "$BENCH_TMP/first.strace" \
		'.hooks.createRuntime[0] |= (.args = ["strace", "-f", "-qq", "-e", "trace=connect", "-o", $o, .path, "createRuntime"] | .path = $s)' \
		"$BENCH_TMP/full/config.json" >"$BENCH_TMP/traced/config.json"
	"$CLI" gc --unload >/dev/null
	sleep 1
	"$CLI" load >/dev/null
	run_once traced >/dev/null 2>&1 || die "runc run traced failed"
	printf "requests to the collector by that container's createRuntime: %d (0: what it audits was held at the load)\n" \
		"$(grep -c 'ocibpfd\.sock' "$BENCH_TMP/first.strace" || true)"
fi
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
# A second configuration beside the bench's own (state_dir, bpffs_dir of its own) monitors
# N_MONITORED stand-ins: a sleeping process each, in a cgroup of its own, entered by the
# hook (JOBS at a time) with a policy that counts syscalls and polices the network; then
# a short process in each cgroup makes syscalls and a denied connect, so the maps hold
# what 1,000 real containers leave there (count entries, folded denials). The hook pairs
# then run in both configurations, shuffled together: none and N side by side.
# STRACE=1 also counts the syscalls of one pair of each kind in each (a walk shows there).
if part 5; then
MANY=$BENCH_TMP/many
MANY_CONFIG=$MANY/config.json
MANY_BPFFS=/sys/fs/bpf/ocibpf-bench-$$-many
JOBS=${JOBS:-4}
mkdir -p "$MANY"
jq -n --arg t "$MANY" --arg b "$MANY_BPFFS" --arg p "$BENCH_TMP/policies" \
	'{log_dir: ($t + "/log"), state_dir: ($t + "/run"), bpffs_dir: $b, policy_dir: $p}' >"$MANY_CONFIG"
chmod 0644 "$MANY_CONFIG"
MANY_PIDS=()
MANY_CGS=()
many_cleanup() {
	set +e
	local cg p
	[ ${#MANY_PIDS[@]} -gt 0 ] && kill -9 "${MANY_PIDS[@]}" 2>/dev/null
	wait "${MANY_PIDS[@]}" 2>/dev/null
	OCIBPF_CONFIG=$MANY_CONFIG "$CLI" gc --unload >/dev/null 2>&1
	# (a collector may be exiting: its pid file gone between a test and the read)
	p=$(cat "$MANY/run/ocibpfd.pid" 2>/dev/null) && kill "$p" 2>/dev/null
	for cg in "${MANY_CGS[@]}"; do rmdir "$cg" 2>/dev/null; done
	rm -rf "$MANY_BPFFS"
}
trap 'many_cleanup; stand_in_cleanup' EXIT

write_policy monitored "{ $NET, \"telemetry\": { \"syscalls\": true } }"
write_policy counted '{ "telemetry": { "syscalls": true } }'
KINDS5=(telemetry counted audit network full)
"$CLI" load >/dev/null 2>&1 || true
OCIBPF_CONFIG=$MANY_CONFIG "$CLI" load >/dev/null 2>&1 || true

t0=$(date +%s%N)
for ((i = 0; i < N_MONITORED; i++)); do
	cg=$CGROUP2/ocibpf-bench-$$-m$i
	mkdir "$cg"
	MANY_CGS+=("$cg")
	sleep 3600 </dev/null >/dev/null 2>&1 &
	MANY_PIDS+=("$!")
	echo "$!" >"$cg/cgroup.procs"
	printf '{"ociVersion":"1.0.2","id":"bench-m-%d","status":"creating","pid":%d,"bundle":"%s","annotations":{"io.ocibpf.policy":"monitored"}}\n' \
		"$i" "$!" "$BENCH_TMP/plain" >"$MANY/state-$i.json"
done
t1=$(date +%s%N)
# shellcheck disable=SC2016
seq 0 $((N_MONITORED - 1)) | OCIBPF_CONFIG=$MANY_CONFIG xargs -P "$JOBS" -I{} \
	sh -c '"$1" createRuntime <"$2/state-$3.json"' sh "$HOOK" "$MANY" {} ||
	die "createRuntime failed for a stand-in"
t2=$(date +%s%N)
# shellcheck disable=SC2016
printf '%s\n' "${MANY_CGS[@]}" | xargs -P "$JOBS" -I{} \
	sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" nc -w 1 10.1.2.3 22 </dev/null' sh {} "$BUSYBOX" \
	>/dev/null 2>&1 || true
t3=$(date +%s%N)
many_maps=$(echo "$MANY_BPFFS"/sets/*/maps)
n_counts=$(bpftool -j map dump pinned "$many_maps/ocibpf_syscall_counts" | jq length)
n_agg=$(bpftool -j map dump pinned "$many_maps/ocibpf_net_agg" | jq length)
n_ps=$(OCIBPF_CONFIG=$MANY_CONFIG "$CLI" ps --json | jq length)
echo
printf '%d stand-ins: processes and cgroups %d ms, hooks (%d at a time) %d ms, their syscalls and denied connects %d ms\n' \
	"$N_MONITORED" $(((t1 - t0) / 1000000)) "$JOBS" $(((t2 - t1) / 1000000)) $(((t3 - t2) / 1000000))
printf '  monitored: %d; in the maps: %d syscall count entries, %d folded-denial entries\n' \
	"$n_ps" "$n_counts" "$n_agg"
[ "$n_ps" -eq "$N_MONITORED" ] || die "ocibpf ps shows $n_ps stand-ins, not $N_MONITORED"

conf_of() { if [ "$1" = many ]; then echo "$MANY_CONFIG"; else echo "$OCIBPF_CONFIG"; fi; }
stand_in "pair5"
pid5=$PID
for c in none many; do for k in "${KINDS5[@]}"; do : >"$BENCH_TMP/p5-$c-$k.ms"; done; done
for ((i = 0; i < PAIRS; i++)); do
	for ck in $(for c in none many; do printf "$c:%s\n" "${KINDS5[@]}"; done | shuf); do
		c=${ck%%:*}
		k=${ck#*:}
		OCIBPF_CONFIG=$(conf_of "$c") pair_times "bench-pair5-$$" "$pid5" "$k" >>"$BENCH_TMP/p5-$c-$k.ms"
	done
done
col() { cut -d' ' -f"$1" <"$BENCH_TMP/p5-$2-$3.ms" | median; }
echo "createRuntime + poststop with no other container and with $N_MONITORED, shuffled together, medians of $PAIRS:"
printf '  %-10s %9s %9s %7s   %9s %9s %7s\n' "" "cpu none" "cpu $N_MONITORED" ratio "wall none" "wall $N_MONITORED" ratio
for k in "${KINDS5[@]}"; do
	cn=$(col 2 none "$k") cm=$(col 2 many "$k") wn=$(col 1 none "$k") wm=$(col 1 many "$k")
	printf '  %-10s %9.2f %9.2f %7s   %9.2f %9.2f %7s\n' "$k" "$cn" "$cm" "$(ratio "$cm" "$cn")" \
		"$wn" "$wm" "$(ratio "$wm" "$wn")"
done
echo "  (goal: no more with $N_MONITORED than with none; the issue's <= 3 ms vs <= 2.5 ms)"

if [ "${STRACE:-0}" = 1 ] && command -v strace >/dev/null; then
	echo "syscalls of one pair (strace -c; bpf() among them):"
	for k in "${KINDS5[@]}"; do
		for c in none many; do
			state_files "bench-pair5-$$" "$pid5" "$k"
			for st in "createRuntime state" "poststop stop"; do
				OCIBPF_CONFIG=$(conf_of "$c") strace -c -o "$BENCH_TMP/strace-$c-${st%% *}" \
					"$HOOK" "${st%% *}" <"$BENCH_TMP/${st#* }-bench-pair5-$$.json" >/dev/null 2>&1 || true
			done
			cat "$BENCH_TMP/strace-$c-createRuntime" "$BENCH_TMP/strace-$c-poststop" |
				awk -v c="$c" '$NF == "total" { t += $4 } $NF == "bpf" { b += $4 }
					END { printf " %s %d (%d)", c, t, b }' >>"$BENCH_TMP/strace-$k"
		done
		printf '  %-10s%s\n' "$k" "$(cat "$BENCH_TMP/strace-$k")"
	done
fi
fi
