#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Network policy benchmarks (issue 4):
#
#  1. policy load: parse, compile and put in force a 10,000-rule policy (goal < 100 ms);
#  2. iperf3 TCP throughput over loopback from a container with a 10,000-rule policy vs
#     the same container unmonitored (goal >= 0.97), vs telemetry-only monitoring, and vs
#     the same rules as an nftables interval set matched with `socket cgroupv2` (report
#     the ratio; goal ocibpf >= nftables); both directions (the container sends, -R: it
#     receives);
#  3. connect() rate: a tight connect/close loop to a loopback listener, with the policy
#     vs without (goal >= 0.95), and with the nftables rules.
#
# Every comparison also runs "floor": programs that return at once, attached at the six
# hooks ocibpf uses (tests/bench/floor.bpf.c). floor/none is what running a program at
# these hooks costs at all; policy/floor is what ocibpf's programs add to it.
#
# Runs are interleaved (every mode once per round, the order rotating), ROUNDS rounds
# (default 7); medians and their ratios are printed.
#
# "Containers" are stand-ins with exactly what the BPF programs see of a container: a
# cgroup2 directory of their own, attached by calling the hook with an OCI state (what
# runc passes), on the host network; the measured process (iperf3 client, nettool) is
# moved into the cgroup before it execs. Everything lives in a configuration of its own
# (temp dirs, bpffs_dir /sys/fs/bpf/ocibpf-bench-net-PID) and is removed at the end.
# Needs root, iperf3, nft (nftables), gcc (static nettool), clang and bpftool (the floor), jq.
#
# Environment: ROUNDS, DURATION (iperf3 seconds per run, default 3), CONNECTS (connects
# per connect-rate run, default 20000), PARTS (the sections to run after the policy load,
# default 234).

set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${OCIBPF_BUILD:-$PWD/build}
HOOK=$BUILD/ocibpf-hook
CLI=$BUILD/ocibpf
ROUNDS=${ROUNDS:-7}
DURATION=${DURATION:-3}
CONNECTS=${CONNECTS:-20000}
PARTS=${PARTS:-234}
N_RULES=10000

die() { echo "net.sh: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root"
for b in "$HOOK" "$CLI" "$BUILD/libocibpf.a"; do [ -e "$b" ] || die "$b is not built (make)"; done
for t in iperf3 nft jq gcc clang bpftool unshare pkg-config; do
	command -v "$t" >/dev/null || die "needs $t (tests/install-deps.sh)"
done

CGROUP2=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break;
	if ($(i + 1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo)
[ -n "$CGROUP2" ] || die "no cgroup2 mount"

TMP=$(mktemp -d /tmp/ocibpf-bench-net.XXXXXX)
BPFFS=/sys/fs/bpf/ocibpf-bench-net-$$
NFT_TABLE=ocibpf_bench_$$
export OCIBPF_CONFIG=$TMP/config.json
mkdir -p "$TMP/policies" "$TMP/bundle"
chmod 0755 "$TMP/policies"
jq -n --arg t "$TMP" --arg b "$BPFFS" \
	'{log_dir: ($t + "/log"), state_dir: ($t + "/run"), bpffs_dir: $b, policy_dir: ($t + "/policies")}' \
	>"$OCIBPF_CONFIG"
chmod 0644 "$OCIBPF_CONFIG"

MODES=(none floor telemetry policy nft)
FLOOR_HOOKS=(egress ingress connect4 connect6 sendmsg4 sendmsg6)
declare -A SLEEPER ID CG
PIDS=()

cleanup() {
	set +e
	nft delete table inet "$NFT_TABLE" 2>/dev/null
	local m
	[ -n "${CG[floor]:-}" ] && for t in "${FLOOR_HOOKS[@]}"; do
		bpftool cgroup detach "${CG[floor]}" "$t" pinned "$BPFFS-floor/floor_$t" 2>/dev/null
	done
	rm -rf "$BPFFS-floor"
	for m in "${!ID[@]}"; do
		jq -cn --arg id "${ID[$m]}" --arg b "$TMP/bundle" \
			'{ociVersion: "1.0.2", id: $id, status: "stopped", bundle: $b}' |
			"$HOOK" poststop >/dev/null 2>&1
	done
	for m in "${PIDS[@]}" "${SLEEPER[@]}"; do kill "$m" 2>/dev/null; done
	wait 2>/dev/null
	for m in "${CG[@]}"; do rmdir "$m" 2>/dev/null; done
	local pid
	pid=$(cat "$TMP/run/ocibpfd.pid" 2>/dev/null) && kill "$pid" 2>/dev/null
	sleep 0.5
	"$CLI" gc --unload >/dev/null 2>&1
	rm -rf "$BPFFS" "$TMP"
}
trap cleanup EXIT

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

# --- tools and policies -------------------------------------------------------------------
gcc -O2 -static -o "$TMP/nettool" tests/integration/nettool.c || die "cannot build nettool"
# shellcheck disable=SC2046
gcc -D_GNU_SOURCE -I"$BUILD" -Isrc/core -Ioci -Ibpf -O2 -o "$TMP/netpolicy-load" \
	tests/bench/netpolicy-load.c "$BUILD/libocibpf.a" \
	$(pkg-config --libs libbpf yajl libseccomp) -lelf -lz || die "cannot build netpolicy-load"

PORT_IPERF=$((20000 + RANDOM % 20000))
PORT_CONNECT=$((PORT_IPERF + 1))

# 9,999 denies on 10.x.y.0/24 with ports, and one on loopback with ports, so that the
# connections measured are looked up through both tries (address, then port) and allowed.
jq -n --argjson n $((N_RULES - 1)) '{network: {egress: {default: "allow", rules: (
	[range(0; $n) | {action: "deny", cidr: "10.\(. / 256 | floor).\(. % 256).0/24",
			protocol: "tcp", ports: "22,6000-6100"}]
	+ [{action: "deny", cidr: "127.0.0.0/8", protocol: "tcp", ports: "22,6000-6100"}])}}}' \
	>"$TMP/policies/big.json"
echo '{"telemetry": true}' >"$TMP/policies/telemetry.json"
chmod 0644 "$TMP/policies/"*.json

# The same rules for nftables: one interval set, one rule in the output hook for the
# cgroup (nft resolves the cgroup path under /sys/fs/cgroup: on a hybrid host it runs in
# a mount namespace where that is the cgroup2 mount).
nft_load() {
	local rel=${CG[nft]#"$CGROUP2"/}
	{
		echo "table inet $NFT_TABLE {"
		echo "  set deny4 { type ipv4_addr; flags interval; elements = {"
		jq -r '.network.egress.rules[] | "    " + .cidr + ","' "$TMP/policies/big.json"
		echo "  } }"
		echo "  chain out { type filter hook output priority 0; policy accept;"
		echo "    socket cgroupv2 level 1 \"$rel\" ip daddr @deny4 tcp dport { 22, 6000-6100 } drop"
		echo "  }"
		echo "}"
	} >"$TMP/rules.nft"
	if [ "$CGROUP2" != /sys/fs/cgroup ]; then
		unshare -m --propagation private sh -c \
			'mount --bind "$1" /sys/fs/cgroup && nft -f "$2"' sh "$CGROUP2" "$TMP/rules.nft"
	else
		nft -f "$TMP/rules.nft"
	fi
}
nft_unload() { nft delete table inet "$NFT_TABLE" 2>/dev/null || true; }

clang -g -O2 -Wall -Werror -target bpf -I"$BUILD" -c tests/bench/floor.bpf.c -o "$TMP/floor.bpf.o" ||
	die "cannot build the floor programs"

# --- stand-in containers --------------------------------------------------------------------
for m in "${MODES[@]}"; do
	CG[$m]=$CGROUP2/ocibpf-bench-net-$$-$m
	mkdir "${CG[$m]}"
	# shellcheck disable=SC2016
	sh -c 'echo $$ >"$1/cgroup.procs" && exec sleep 86400' sh "${CG[$m]}" </dev/null >/dev/null 2>&1 &
	SLEEPER[$m]=$!
	for _ in $(seq 100); do grep -qx "${SLEEPER[$m]}" "${CG[$m]}/cgroup.procs" 2>/dev/null && break; sleep 0.01; done
done
attach() {
	local m=$1 policy=$2
	ID[$m]=bench-net-$$-$m
	jq -cn --arg id "${ID[$m]}" --argjson pid "${SLEEPER[$m]}" --arg b "$TMP/bundle" --arg p "$policy" \
		'{ociVersion: "1.0.2", id: $id, status: "creating", pid: $pid, bundle: $b,
		  annotations: {"io.ocibpf.policy": $p}}' |
		"$HOOK" createRuntime || die "hook createRuntime failed for $m"
}

# in_cg MODE CMD...: run CMD in the stand-in's cgroup
in_cg() {
	local m=$1
	shift
	# shellcheck disable=SC2016
	sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "${CG[$m]}" "$@"
}

# the floor: the empty programs, attached to its stand-in's cgroup
bpftool prog loadall "$TMP/floor.bpf.o" "$BPFFS-floor" || die "cannot load the floor programs"
for t in "${FLOOR_HOOKS[@]}"; do
	bpftool cgroup attach "${CG[floor]}" "$t" pinned "$BPFFS-floor/floor_$t" multi ||
		die "cannot attach the floor program at $t"
done

# --- 1. policy load -------------------------------------------------------------------------
echo "# 1. policy load: $N_RULES rules (median of 9)"
"$TMP/netpolicy-load" "$BPFFS" "$TMP/policies/big.json" 9
# the telemetry stand-in first: it starts the collector, which the next hook finds running
t0=$(date +%s%N)
attach telemetry telemetry
t1=$(date +%s%N)
t2=$(date +%s%N)
attach policy big
t3=$(date +%s%N)
echo "hook createRuntime (direct), telemetry-only policy, starting the collector: $(((t1 - t0) / 1000000)) ms"
echo "hook createRuntime (direct), the $N_RULES-rule policy, collector running: $(((t3 - t2) / 1000000)) ms"

# --- servers ------------------------------------------------------------------------------------
iperf3 -s -B 127.0.0.1 -p "$PORT_IPERF" >"$TMP/iperf3-server.log" 2>&1 &
PIDS+=($!)
"$TMP/nettool" listen-tcp 127.0.0.1 "$PORT_CONNECT" 0 >"$TMP/listen.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do grep -q listening "$TMP/listen.log" && break; sleep 0.1; done
sleep 0.5

# sanity: the policy is in force for the policy stand-in, not for the others
out=$(in_cg policy "$TMP/nettool" tcp 127.0.0.1 22 500) || true
grep -q '^EPERM' <<<"$out" || die "the policy stand-in is not policed: $out"
in_cg none "$TMP/nettool" tcp 127.0.0.1 "$PORT_CONNECT" | grep -q '^ok' || die "no listener"

iperf_once() {
	local m=$1 dir=$2 flag=() out
	[ "$dir" = recv ] && flag=(-R)
	[ "$m" = nft ] && nft_load
	out=$(in_cg "$m" iperf3 -c 127.0.0.1 -p "$PORT_IPERF" -t "$DURATION" -J "${flag[@]}") ||
		{ [ "$m" = nft ] && nft_unload; die "iperf3 ($m $dir) failed: $out"; }
	[ "$m" = nft ] && nft_unload
	jq -r '.end.sum_received.bits_per_second / 1e9' <<<"$out"
}

connect_once() {
	local m=$1 out
	[ "$m" = nft ] && nft_load
	out=$(in_cg "$m" "$TMP/nettool" loop 127.0.0.1 "$PORT_CONNECT" "$CONNECTS") ||
		{ [ "$m" = nft ] && nft_unload; die "connect loop ($m) failed: $out"; }
	[ "$m" = nft ] && nft_unload
	echo "$out"
}

# rotate MODES by the round number, so that no mode always runs first
order() {
	local r=$1 i n=${#MODES[@]}
	for ((i = 0; i < n; i++)); do echo "${MODES[$(((i + r) % n))]}"; done
}

report() {
	local what=$1 unit=$2 goal_policy=$3
	local m med
	declare -A M
	for m in "${MODES[@]}"; do
		med=$(median <"$TMP/$what.$m")
		M[$m]=$med
		printf '  %-10s median %10.2f %s   (%s)\n' "$m" "$med" "$unit" "$(sort -n "$TMP/$what.$m" | tr '\n' ' ')"
	done
	echo "  policy/none      = $(ratio "${M[policy]}" "${M[none]}") (goal >= $goal_policy)"
	echo "  policy/telemetry = $(ratio "${M[policy]}" "${M[telemetry]}")"
	echo "  floor/none       = $(ratio "${M[floor]}" "${M[none]}") (running a program at all)"
	echo "  policy/floor     = $(ratio "${M[policy]}" "${M[floor]}")"
	echo "  policy/nft       = $(ratio "${M[policy]}" "${M[nft]}") (goal >= 1)"
	echo "  nft/none         = $(ratio "${M[nft]}" "${M[none]}")"
}

# --- 2. throughput ------------------------------------------------------------------------------
for dir in send recv; do
	[[ $PARTS == *2* ]] || break
	echo
	if [ "$dir" = send ]; then
		echo "# 2a. iperf3 TCP over loopback, the container sends, ${DURATION}s runs, $ROUNDS rounds"
	else
		echo "# 2b. iperf3 TCP over loopback, the container receives (-R), ${DURATION}s runs, $ROUNDS rounds"
	fi
	for m in "${MODES[@]}"; do : >"$TMP/iperf-$dir.$m"; done
	iperf_once none "$dir" >/dev/null	# warm-up
	for r in $(seq "$ROUNDS"); do
		for m in $(order "$r"); do
			iperf_once "$m" "$dir" >>"$TMP/iperf-$dir.$m"
		done
	done
	report "iperf-$dir" Gbit/s 0.97
done

# --- 3. connect rate ------------------------------------------------------------------------------
if [[ $PARTS == *3* ]]; then
	echo
	echo "# 3. connect()/close() loop to a loopback listener, $CONNECTS connects a run, $ROUNDS rounds"
	for m in "${MODES[@]}"; do : >"$TMP/connect.$m"; : >"$TMP/connect-cpu.$m"; done
	connect_once none >/dev/null	# warm-up
	for r in $(seq "$ROUNDS"); do
		for m in $(order "$r"); do
			read -r rate cpu <<<"$(connect_once "$m")"
			echo "$rate" >>"$TMP/connect.$m"
			echo "$cpu" >>"$TMP/connect-cpu.$m"
		done
	done
	report connect connects/s 0.95
	# The loop's own CPU time (user + system: its connects, the egress programs, and
	# what of the loopback's receive runs in its context) is steadier than the rate
	# when other work shares the CPUs.
	echo "  the same, per CPU second of the connecting process:"
	report connect-cpu "connects/CPU s" 0.95
fi

# --- 4. cost per program run ------------------------------------------------------------------
if [[ $PARTS == *4* ]]; then
	# Throughput on a busy VM is noisy; the programs' own run time is not. With
	# kernel.bpf_stats_enabled, the kernel times every run of every program: the deltas over
	# one iperf3 run each way and one connect loop, per mode.
	echo
	echo "# 4. run time of the programs (kernel.bpf_stats_enabled), one iperf3 run each way + one connect loop"
	PROGS=(skb_egress skb_ingress sock_connect4 sock_connect6 sock_sendmsg4 sock_sendmsg6)
	prog_stats() {
		local name
		for name in "${PROGS[@]}"; do
			bpftool -j prog show pinned "$(ls -d "$BPFFS"/sets/*/progs | head -n 1)/$name" |
				jq -r --arg n "$name" '"\($n) \(.run_cnt // 0) \(.run_time_ns // 0)"'
		done
	}
	old_stats=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -qw kernel.bpf_stats_enabled=1
	for m in telemetry policy; do
		prog_stats >"$TMP/stats0"
		t0=$(date +%s%N)
		iperf_once "$m" send >/dev/null
		iperf_once "$m" recv >/dev/null
		connect_once "$m" >/dev/null
		t1=$(date +%s%N)
		prog_stats >"$TMP/stats1"
		echo "  $m ($(((t1 - t0) / 1000000)) ms of runs):"
		join "$TMP/stats0" "$TMP/stats1" | awk -v wall=$((t1 - t0)) '{
			runs = $4 - $2; ns = $5 - $3; total += ns
			if (runs > 0) printf "    %-14s %10d runs  %7.1f ns/run\n", $1, runs, ns / runs }
			END { printf "    all programs: %.1f ms, %.2f%% of the wall time of one core\n", total / 1e6, 100 * total / wall }'
	done
	sysctl -qw kernel.bpf_stats_enabled="$old_stats"
fi

# the policy saw no denial during the runs
denied=$("$CLI" stats --json "${ID[policy]}" | jq '.[0].egress_denied')
echo
echo "egress_denied of the policy stand-in: $denied (1 expected: the sanity check)"
