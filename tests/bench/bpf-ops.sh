#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# What the operations of ocibpf's network programs cost on this machine (issue 13): one
# program per operation (tests/bench/bpf-ops.bpf.c), attached in turn to a cgroup of its
# own whose process runs a connect()/close() loop to a loopback listener; the kernel's
# own accounting (kernel.bpf_stats_enabled) gives ns per run. Printed per program: the
# median over ROUNDS rounds, and that minus the empty program's (what the operation
# adds). connect4 programs run once per connect, egress ones per packet (~3 a connect).
#
#   c_cgroup_id / e_cgroup_id  bpf_get_current_cgroup_id / bpf_skb_cgroup_id
#   c_hash / e_hash            that id, then a hit in a hash of 2,000 (ocibpf_cgroups)
#   e_hash_pcpu                then a hit in a per-CPU hash (ocibpf_stats: count_skb)
#   c_trie                     a lookup in an LPM trie of 10,002 entries (ocibpf_net_policy)
#   c_sk_create                making a socket's storage (and, not timed here, its free)
#   e_sk_get                   looking up a socket's storage that isn't there
#   e_load_bytes               bpf_skb_load_bytes of 4 bytes (to_peer)
#
# Needs root, clang, bpftool, gcc (static nettool). Environment: ROUNDS (default 5),
# CONNECTS (per program and round, default 10000).

set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${OCIBPF_BUILD:-$PWD/build}
ROUNDS=${ROUNDS:-5}
CONNECTS=${CONNECTS:-10000}
die() { echo "bpf-ops.sh: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root"
[ -e "$BUILD/vmlinux.h" ] || die "$BUILD/vmlinux.h is not built (make)"
for t in clang bpftool gcc awk; do command -v "$t" >/dev/null || die "needs $t"; done
CGROUP2=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break;
	if ($(i + 1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo)
[ -n "$CGROUP2" ] || die "no cgroup2 mount"

TMP=$(mktemp -d /tmp/ocibpf-bench-ops.XXXXXX)
PINS=/sys/fs/bpf/ocibpf-bench-ops-$$
CG=$CGROUP2/ocibpf-bench-ops-$$
LISTENER=
ATTACHED=()
old_stats=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	set +e
	[ ${#ATTACHED[@]} -gt 0 ] && bpftool cgroup detach "$CG" "${ATTACHED[@]}"
	[ -n "$LISTENER" ] && kill "$LISTENER" && wait "$LISTENER" 2>/dev/null
	sysctl -qw kernel.bpf_stats_enabled="$old_stats"
	rm -rf "$PINS" "$PINS-maps" "$TMP"
	rmdir "$CG" 2>/dev/null
}
trap cleanup EXIT

clang -g -O2 -Wall -Werror -target bpf -I"$BUILD" -c tests/bench/bpf-ops.bpf.c -o "$TMP/ops.o" ||
	die "cannot build the programs"
gcc -O2 -static -o "$TMP/nettool" tests/integration/nettool.c || die "cannot build nettool"
bpftool prog loadall "$TMP/ops.o" "$PINS" pinmaps "$PINS-maps" || die "cannot load the programs"
mkdir "$CG"

# bytes KEY-WIDTH VALUE: little-endian bytes, as bpftool takes them
bytes() { local n=$1 v=$2 i; for ((i = 0; i < n; i++)); do printf '%d ' $(((v >> (8 * i)) & 255)); done; }
cgid=$(stat -c %i "$CG")
{
	# the cgroup's entry among 2,000 (keys spread like cgroup ids), and its counters
	for i in $(seq 1 1999); do
		echo "map update pinned $PINS-maps/ops_hash key $(bytes 8 $((cgid + i * 7919))) value $(bytes 16 0)"
	done
	echo "map update pinned $PINS-maps/ops_hash key $(bytes 8 "$cgid") value $(bytes 8 "$cgid") $(bytes 8 0)"
	echo "map update pinned $PINS-maps/ops_pcpu key $(bytes 8 "$cgid") value $(bytes 72 0)"
	# the trie of net.sh's 10,000-rule policy: 10.x.y.0/24, 127.0.0.0/8, /0
	awk 'BEGIN { for (i = 0; i < 10000; i++)
		printf "88 0 0 0 1 0 0 0 0 4 0 0 10 %d %d 0 0 0 0 0 0 0 0 0 0 0 0 0\n", int(i / 256), i % 256 }'
	echo "72 0 0 0 1 0 0 0 0 4 0 0 127 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0"
	echo "64 0 0 0 1 0 0 0 0 4 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0"
} | awk -v t="$PINS-maps/ops_trie" '/^map/ { print; next }
	{ print "map update pinned " t " key " $0 " value 0 0 0 0 0 0 0 0" }' >"$TMP/fill"
bpftool batch file "$TMP/fill" >/dev/null || die "cannot fill the maps"

PORT=$((20000 + RANDOM % 20000))
"$TMP/nettool" listen-tcp 127.0.0.1 "$PORT" 0 >"$TMP/listen.log" 2>&1 &
LISTENER=$!
for _ in $(seq 50); do grep -q listening "$TMP/listen.log" && break; sleep 0.1; done

# run PROG HOOK: ns per run of PROG over one connect loop
run() {
	local p=$1 hook=$2 before after
	bpftool cgroup attach "$CG" "$hook" pinned "$PINS/$p" multi
	ATTACHED=("$hook" pinned "$PINS/$p")
	before=$(bpftool -j prog show pinned "$PINS/$p")
	# shellcheck disable=SC2016
	sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$CG" \
		"$TMP/nettool" loop 127.0.0.1 "$PORT" "$CONNECTS" >/dev/null
	after=$(bpftool -j prog show pinned "$PINS/$p")
	bpftool cgroup detach "$CG" "$hook" pinned "$PINS/$p"
	ATTACHED=()
	jq -rn --argjson a "$before" --argjson b "$after" \
		'(($b.run_time_ns // 0) - ($a.run_time_ns // 0)) / (($b.run_cnt // 0) - ($a.run_cnt // 0))'
}

C_PROGS=(c_empty c_cgroup_id c_hash c_trie c_sk_create)
E_PROGS=(e_empty e_cgroup_id e_hash e_hash_pcpu e_sk_get e_load_bytes)
sysctl -qw kernel.bpf_stats_enabled=1
for _ in $(seq "$ROUNDS"); do
	for p in "${C_PROGS[@]}"; do run "$p" connect4 >>"$TMP/$p"; done
	for p in "${E_PROGS[@]}"; do run "$p" egress >>"$TMP/$p"; done
done

median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "# ns per run, median of $ROUNDS rounds of $CONNECTS connects; +: over the empty program"
for set in C E; do
	declare -n progs=${set}_PROGS
	base=$(median "$TMP/${progs[0]}")
	for p in "${progs[@]}"; do
		m=$(median "$TMP/$p")
		awk -v p="$p" -v m="$m" -v b="$base" 'BEGIN { printf "  %-14s %7.1f   +%6.1f\n", p, m, m - b }'
	done
done
