# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Helpers for tests/integration/network.bats (on top of helpers.bash): the nettool
# client/server (tests/integration/nettool.c, built static so that it runs in the
# busybox rootfs, on the host and in network namespaces), listeners the test owns,
# and network namespaces joined by a veth pair:
#
#   $NET_CTR  the container's namespace: 198.51.100.1/24, fd0c:bf::1/64
#   $NET_PEER a test host:               198.51.100.2, 198.51.100.3, fd0c:bf::2, fd0c:bf::3
#
# These addresses exist only inside the two namespaces (nothing is routed to or from
# the host's). Everything a test starts is recorded and removed by net_teardown.

NETTOOL_C=$INTEGRATION_ROOT/nettool.c

CTR4=198.51.100.1
CTR6=fd0c:bf::1
PEER4=198.51.100.2
PEER4B=198.51.100.3
PEER6=fd0c:bf::2
PEER6B=fd0c:bf::3

# net_setup_file: build nettool for this file (NETTOOL, empty when it can't be built).
net_setup_file() {
	export NETTOOL=$BATS_FILE_TMPDIR/nettool
	if ! gcc -O2 -static -o "$NETTOOL" "$NETTOOL_C" 2>"$BATS_FILE_TMPDIR/nettool.log"; then
		echo "# net-helpers: cannot build nettool: $(head -n 3 "$BATS_FILE_TMPDIR/nettool.log")" >&3
		NETTOOL=
	fi
}

net_requires_nettool() {
	[ -n "${NETTOOL:-}" ] && [ -x "$NETTOOL" ] || skip "test requires nettool (gcc -static)"
}

net_setup() {
	NET_PIDS=$BATS_TEST_TMPDIR/net-pids
	NET_NETNS=$BATS_TEST_TMPDIR/net-netns
	: >"$NET_PIDS"
	: >"$NET_NETNS"
	NET_CTR=
	NET_PEER=
}

# net_teardown: stop the listeners, remove the namespaces (and their veth).
net_teardown() {
	local pid ns
	if [ -f "${NET_PIDS:-}" ]; then
		while read -r pid; do
			[ -n "$pid" ] && kill "$pid" 2>/dev/null
		done <"$NET_PIDS"
		while read -r pid; do
			[ -n "$pid" ] && wait "$pid" 2>/dev/null
		done <"$NET_PIDS"
	fi
	if [ -f "${NET_NETNS:-}" ]; then
		while read -r ns; do
			[ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
		done <"$NET_NETNS"
	fi
	return 0
}

# add_nettool: nettool in the bundle's rootfs (/bin/nettool).
add_nettool() {
	cp "$NETTOOL" "$BUNDLE/rootfs/bin/nettool"
}

# add_host_binary PATH DEST: a dynamic binary of the host at DEST in the bundle's rootfs,
# with the libraries it loads at their paths (e.g. iproute2's ip, which can make a vxlan).
add_host_binary() {
	local lib
	cp "$1" "$BUNDLE/rootfs$2"
	for lib in $(ldd "$1" | grep -o '/[^ ]*'); do
		mkdir -p "$BUNDLE/rootfs$(dirname "$lib")"
		cp -L "$lib" "$BUNDLE/rootfs$lib"
	done
}

# add_cap CAP: give the container's process a capability (e.g. CAP_NET_RAW for ping).
add_cap() {
	update_config '.process.capabilities |= with_entries(.value += [$c])' --arg c "$1"
}

# __listen [NETNS] tcp|udp ADDR PORT: a nettool listener, in NETNS or on the host,
# running until teardown. Waits until it is bound.
__listen() {
	local ns=$1 proto=$2 addr=$3 port=$4 out pid
	out=$BATS_TEST_TMPDIR/listen-$proto-$port-$RANDOM.out
	if [ -n "$ns" ]; then
		ip netns exec "$ns" "$NETTOOL" "listen-$proto" "$addr" "$port" 0 >"$out" 2>&1 3>&- &
	else
		"$NETTOOL" "listen-$proto" "$addr" "$port" 0 >"$out" 2>&1 3>&- &
	fi
	pid=$!
	echo "$pid" >>"$NET_PIDS"
	wait_for 50 0.05 grep -q listening "$out" 2>/dev/null ||
		fail "listener $proto $addr:$port did not start: $(cat "$out")"
}

# host_sink ADDR PORT: a TCP listener on the host that prints "received N" for every
# read of every connection into $SINK_OUT.
host_sink() {
	SINK_OUT=$BATS_TEST_TMPDIR/sink-$2.out
	"$NETTOOL" sink "$1" "$2" >"$SINK_OUT" 2>&1 3>&- &
	echo "$!" >>"$NET_PIDS"
	wait_for 50 0.05 grep -q listening "$SINK_OUT" 2>/dev/null ||
		fail "sink $1:$2 did not start: $(cat "$SINK_OUT")"
}

# host_listen tcp|udp ADDR PORT: a listener on the host (use loopback addresses only).
host_listen() {
	__listen "" "$@"
}

# peer_listen tcp|udp ADDR PORT: a listener on the test host $NET_PEER.
peer_listen() {
	__listen "$NET_PEER" "$@"
}

# peer_nettool ARGS: nettool run on the test host, through bats' run.
peer_nettool() {
	run timeout 20 ip netns exec "$NET_PEER" "$NETTOOL" "$@"
	echo "\$ (peer) nettool $* (status=$status): $output" >&2
}

# free_ports N: N consecutive TCP and UDP ports free on loopback; prints the first.
free_ports() {
	local n=$1 base i used
	for _ in $(seq 50); do
		base=$((20000 + RANDOM % 30000))
		used=
		for ((i = 0; i < n; i++)); do
			if ss -Htuan "( sport = :$((base + i)) )" | grep -q .; then
				used=1
				break
			fi
		done
		[ -z "$used" ] && echo "$base" && return 0
	done
	fail "no free ports"
}

# netns_pair: the container's namespace and a test host joined by a veth pair; the
# bundle's network namespace becomes $NET_CTR.
netns_pair() {
	local tag=on$$-$BATS_TEST_NUMBER
	NET_CTR=ocibpf-test-$tag-c
	NET_PEER=ocibpf-test-$tag-p
	local va=${tag}a vb=${tag}b
	echo "$NET_CTR" >>"$NET_NETNS"
	echo "$NET_PEER" >>"$NET_NETNS"
	ip netns add "$NET_CTR"
	ip netns add "$NET_PEER"
	ip link add "$va" netns "$NET_CTR" type veth peer name "$vb" netns "$NET_PEER"
	ip -n "$NET_CTR" link set lo up
	ip -n "$NET_PEER" link set lo up
	ip -n "$NET_CTR" addr add "$CTR4/24" dev "$va"
	ip -n "$NET_CTR" addr add "$CTR6/64" dev "$va" nodad
	ip -n "$NET_PEER" addr add "$PEER4/24" dev "$vb"
	ip -n "$NET_PEER" addr add "$PEER4B/24" dev "$vb"
	ip -n "$NET_PEER" addr add "$PEER6/64" dev "$vb" nodad
	# deprecated, so that the peer's own traffic comes from $PEER6 (as $PEER4B is secondary)
	ip -n "$NET_PEER" addr add "$PEER6B/64" dev "$vb" nodad preferred_lft 0
	ip -n "$NET_CTR" link set "$va" up
	ip -n "$NET_PEER" link set "$vb" up
	update_config '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
		--arg p "/var/run/netns/$NET_CTR"
}

# net_policy NAME JSON: write the policy and select it.
net_policy() {
	write_policy "$1" "$2"
	set_policy "$1"
}

# stat_of ID FIELD: a counter of `ocibpf stats --json ID`.
stat_of() {
	timeout "$HOOK_TIMEOUT" "$OCIBPF_CLI" stats --json "$1" | jq -r --arg f "$2" '.[0][$f]'
}

# net_records ID: the `net` records of the audit log (compact, one a line).
net_records() {
	records "$1" net
}

# wait_net_record ID JQ-FILTER: wait until a net record matches (the collector writes
# them asynchronously).
wait_net_record() {
	local id=$1 filter=$2
	wait_for 50 0.1 __has_net_record "$id" "$filter"
}

__has_net_record() {
	[ -f "$(audit_log "$1")" ] &&
		jq -e -s --argjson dummy 0 "map(select(.type == \"net\") | select($2)) | length > 0" \
			"$(audit_log "$1")" >/dev/null
}

# set_maps_dir: SET_MAPS, the maps directory of the pinned BPF set in use.
set_maps_dir() {
	SET_MAPS=$(ls -d "$BPFFS_DIR"/sets/*/maps | head -n 1)
}

# net_rules_loaded CGROUP-ID: the container's policy summary is in the maps.
net_rules_loaded() {
	set_maps_dir
	bpftool -j map lookup pinned "$SET_MAPS/ocibpf_net_meta" key $(u64_bytes "$1") >/dev/null 2>&1
}

# u64_bytes N: N as 8 little-endian bytes for bpftool.
u64_bytes() {
	local n=$1 i out=()
	for ((i = 0; i < 8; i++)); do
		out+=("$(((n >> (8 * i)) & 255))")
	done
	echo "${out[@]}"
}
