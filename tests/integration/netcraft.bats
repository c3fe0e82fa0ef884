#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Network policy fails closed on packets it can't read (issue 11): packets crafted with
# raw sockets (tests/integration/pkttool.c) — IPv4 and IPv6, 0 to 16 extension headers of
# each kind, fragments, IPsec, unknown next headers, TCP, UDP and ICMP — sent from a test
# host into a container, and from a CAP_NET_RAW container out. What arrived is reported
# by the receivers themselves (the container's sockets; an AF_PACKET sniffer on the test
# host), and compared with what the policy says, the counters and the `net` records.
#
# Expectations: bpf/net.bpf.c walks hop-by-hop, routing, destination options and
# fragment headers, at most 8 (IPV6_EXT_MAX), and IPv4 options. A packet whose
# transport header lies beyond that (longer chains, AH, ESP, later fragments, header
# 253, truncated) is opaque: dropped whenever the direction's policy can deny anything.

load helpers
load net-helpers

PKTTOOL_C=$INTEGRATION_ROOT/pkttool.c
FAKE4=198.51.100.9	# ingress sender's source: on the link, owned by nobody (no RST)
FAKE6=fd0c:bf::9
PORT_D=7001		# denied
PORT_A=7002		# allowed
PORT_B=7003		# baseline: a receiver no policy applies to

# Tags (without the prefix) whose transport header the programs can't reach:
# chains of 9 or more, AH, ESP, later fragments, header 253, truncated.
OPAQUE='-(hop|rt|dst|frag)-(9|1[0-9])$|-ah-[0-9]+$|-ah$|raw-esp$|/2$|unk253$|trunc$'

setup_file() {
	ocibpf_setup_file
	net_setup_file
	export PKTTOOL=$BATS_FILE_TMPDIR/pkttool
	if ! gcc -O2 -static -o "$PKTTOOL" "$PKTTOOL_C" 2>"$BATS_FILE_TMPDIR/pkttool.log"; then
		echo "# netcraft: cannot build pkttool: $(head -n 3 "$BATS_FILE_TMPDIR/pkttool.log")" >&3
		PKTTOOL=
	fi
}

teardown_file() {
	ocibpf_teardown_file
}

setup() {
	requires root cgroup2 bpf runc busybox jq bpftool netns
	ocibpf_setup
	net_setup
	[ -n "${PKTTOOL:-}" ] && [ -x "$PKTTOOL" ] || skip "test requires pkttool (gcc -static)"
	setup_busybox_bundle
	cp "$PKTTOOL" "$BUNDLE/rootfs/bin/pkttool"
	add_hooks
	netns_pair
	add_cap CAP_NET_RAW
	pin_neighbours
	# fast open without cookies: a crafted SYN's data reaches accept() at once
	ip netns exec "$NET_CTR" sh -c 'echo 3 >/proc/sys/net/ipv4/tcp_fastopen'
}

teardown() {
	net_teardown
	ocibpf_teardown
}

# pin_neighbours: permanent neighbour entries both ways (a burst of raw packets would
# otherwise be dropped while the address is resolved); PEER_IF: the test host's veth.
pin_neighbours() {
	local vc mc mp a
	vc=$(ip -n "$NET_CTR" -j link show type veth | jq -r '.[0].ifname')
	PEER_IF=$(ip -n "$NET_PEER" -j link show type veth | jq -r '.[0].ifname')
	mc=$(ip -n "$NET_CTR" -j link show dev "$vc" | jq -r '.[0].address')
	mp=$(ip -n "$NET_PEER" -j link show dev "$PEER_IF" | jq -r '.[0].address')
	for a in "$PEER4" "$PEER6"; do
		ip -n "$NET_CTR" neigh replace "$a" lladdr "$mp" dev "$vc" nud permanent
	done
	for a in "$CTR4" "$CTR6"; do
		ip -n "$NET_PEER" neigh replace "$a" lladdr "$mc" dev "$PEER_IF" nud permanent
	done
}

# bg_pkttool OUT [NETNS] ARGS: pkttool in the background until teardown (on the host
# or in NETNS, outside any container), waiting until it listens.
bg_pkttool() {
	local out=$1 ns=$2
	shift 2
	ip netns exec "$ns" "$PKTTOOL" "$@" >"$out" 2>&1 3>&- &
	echo "$!" >>"$NET_PIDS"
	wait_for 50 0.05 grep -q '^listening' "$out" || fail "pkttool $* did not start: $(cat "$out")"
}

# peer_send PORT PREFIX: every variant, IPv4 and IPv6, from the test host (fake source)
# to the container.
peer_send() {
	ip netns exec "$NET_PEER" "$PKTTOOL" send "$FAKE4" "$CTR4" "$1" "$2" >"$BATS_TEST_TMPDIR/send-$2" &&
		ip netns exec "$NET_PEER" "$PKTTOOL" send "$FAKE6" "$CTR6" "$1" "$2" >>"$BATS_TEST_TMPDIR/send-$2" ||
		fail "pkttool send: $(cat "$BATS_TEST_TMPDIR/send-$2")"
	! grep -q '^error' "$BATS_TEST_TMPDIR/send-$2" || fail "send errors: $(grep '^error' "$BATS_TEST_TMPDIR/send-$2")"
}

# tags FILE WHAT PREFIX: sorted tags, prefix removed, of FILE's "WHAT TAG" lines
# (WHAT: a regex such as "got (udp|tcp) [0-9]+", "got icmp", "got", "sent").
tags() {
	sed -nE "s/^$2 $3-//p" "$1" | sort -u
}

walkable() { grep -Ev -- "$OPAQUE" || true; }
opaque() { grep -E -- "$OPAQUE" || true; }

# assert_same NAME GOT WANT: two tag lists are equal, or fail showing the difference.
assert_same() {
	[ "$2" = "$3" ] && return 0
	fail "$1: unexpected: $(comm -23 <(echo "$2") <(echo "$3") | tr '\n' ' ')
missing: $(comm -13 <(echo "$2") <(echo "$3") | tr '\n' ' ')"
}

# must_contain NAME LIST TAG...: the list holds each TAG (so that a check is not vacuous).
must_contain() {
	local name=$1 list=$2 t
	shift 2
	for t in "$@"; do
		grep -qx -- "$t" <<<"$list" || fail "$name lacks $t: the kernel did not deliver it"
	done
}

# sum_ingress_counts / sum_egress_counts ID: denials the net records account for.
sum_counts() {
	records "$1" net | jq -s --arg d "$2" 'map(select(.direction == $d) | .count // 1) | add // 0'
}

@test "ingress: crafted packets to a denied port never arrive; opaque ones are dropped under a policy that can deny" {
	net_policy net "{\"network\": {\"ingress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"deny\", \"cidr\": \"0.0.0.0/0\", \"ports\": \"$PORT_D\"},
		{\"action\": \"deny\", \"cidr\": \"::/0\", \"ports\": \"$PORT_D\"},
		{\"action\": \"deny\", \"cidr\": \"$FAKE4/32\", \"protocol\": \"icmp\"},
		{\"action\": \"deny\", \"cidr\": \"$FAKE6/128\", \"protocol\": \"icmp\"}]}}}"
	set_cmd pkttool recv "$PORT_D" "$PORT_A"
	runc_run -d "$CID"
	assert_success
	local ctr=$BATS_TEST_TMPDIR/$CID.stdio base=$BATS_TEST_TMPDIR/base.out
	wait_for 50 0.1 grep -q '^listening icmp' "$ctr" || fail "container receiver: $(cat "$ctr")"
	bg_pkttool "$base" "$NET_CTR" recv "$PORT_B"

	peer_send "$PORT_D" d
	peer_send "$PORT_A" a
	peer_send "$PORT_B" b
	wait_for 50 0.1 grep -q 'got udp [0-9]* b-6-udp-end' "$base"
	wait_for 50 0.1 grep -q 'got tcp [0-9]* b-6-tcp-end' "$base"
	wait_for 50 0.1 grep -q 'got icmp b-6-icmp-end' "$base"
	wait_for 50 0.1 grep -q 'got udp [0-9]* a-6-udp-end' "$ctr"
	sleep 0.5	# the rest of the burst, already delivered or dropped

	local baseline base_icmp
	baseline=$(tags "$base" 'got (udp|tcp) [0-9]+' b)
	base_icmp=$(sed -nE 's/^got icmp [dab]-//p' "$base" | sort)
	# what the kernel delivers at all: the checks below are not vacuous
	must_contain baseline "$baseline" 6-udp-plain 6-udp-dst-16 6-tcp-dst-16 6-udp-rt-16 \
		6-tcp-rt-9 6-udp-frag-1 6-udp-hop-1 4-udp-ipopt-10 4-tcp-plain 4-udp-fragboth/1 \
		6-udp-fragboth/1
	must_contain "baseline icmp" "$base_icmp" 6-icmp-dst-16 4-icmp-plain

	# nothing reached the denied port, whatever its headers
	assert_same "denied port $PORT_D" "$(tags "$ctr" 'got (udp|tcp) [0-9]+' d)" ""
	# the allowed port got what the programs can read, not the opaque rest
	assert_same "allowed port $PORT_A" "$(tags "$ctr" 'got (udp|tcp) [0-9]+' a)" "$(walkable <<<"$baseline")"
	assert_same "icmp" "$(grep -c '^got icmp' "$ctr")" 0

	# every drop counted, and accounted for in the records
	local n_base n_opaque n_icmp want
	n_base=$(grep -c . <<<"$baseline")
	n_opaque=$(opaque <<<"$baseline" | grep -c . || true)
	n_icmp=$(grep -c . <<<"$base_icmp")
	want=$((n_base + n_opaque + n_icmp))
	echo "# $n_base deliverable (udp, tcp), $n_opaque of them opaque, $n_icmp icmp" >&3
	wait_for 50 0.1 eval '[ "$(stat_of "$CID" ingress_denied)" = "$want" ]' ||
		fail "ingress_denied $(stat_of "$CID" ingress_denied), want $want"
	[ "$(stat_of "$CID" egress_denied)" = 0 ]
	wait_for 50 0.1 eval '[ "$(sum_counts "$CID" ingress)" = "$want" ]' ||
		fail "net records account for $(sum_counts "$CID" ingress) ingress denials, want $want"
	wait_net_record "$CID" ".direction == \"ingress\" and .protocol == \"udp\" and .port == $PORT_D
		and .addr == \"$FAKE4\" and .action == \"deny\""
	wait_net_record "$CID" ".direction == \"ingress\" and .protocol == \"tcp\" and .port == $PORT_D
		and .addr == \"$FAKE6\""
	# opaque: the header the walk stopped at, port 0
	wait_net_record "$CID" ".direction == \"ingress\" and .protocol == 60 and .port == 0 and .addr == \"$FAKE6\""
	wait_net_record "$CID" ".direction == \"ingress\" and .protocol == 43 and .port == 0"
	wait_net_record "$CID" ".direction == \"ingress\" and .protocol == \"icmpv6\" and .addr == \"$FAKE6\""
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
}

@test "egress: a CAP_NET_RAW container's crafted packets to a denied port never leave; opaque ones are dropped" {
	net_policy net "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"deny\", \"cidr\": \"0.0.0.0/0\", \"ports\": \"$PORT_D\"},
		{\"action\": \"deny\", \"cidr\": \"::/0\", \"ports\": \"$PORT_D\"}]}}}"
	local sniff=$BATS_TEST_TMPDIR/sniff.out
	bg_pkttool "$sniff" "$NET_PEER" sniff "$PEER_IF"
	set_cmd sh -c "for p in $PORT_D:d $PORT_A:a; do
		pkttool send $CTR4 $PEER4 \${p%:*} \${p#*:}; pkttool send $CTR6 $PEER6 \${p%:*} \${p#*:}; done"
	runc_run "$CID"
	assert_success
	refute_line --partial error
	local out=$output
	wait_for 50 0.1 grep -q '^got a-6-icmp-end' "$sniff"
	sleep 0.5

	# what was sent: "sent", or "denied" when the drop made sendto() fail with EPERM
	local sent_d sent_a got_d got_a denied
	sent_d=$(tags <(echo "$out") '(sent|denied)' d)
	sent_a=$(tags <(echo "$out") '(sent|denied)' a)
	got_d=$(tags "$sniff" got d)
	got_a=$(tags "$sniff" got a)
	must_contain sent "$sent_a" 6-udp-dst-16 6-tcp-hop-16 6-icmp-ah-1 4-udp-fragnext/2 6-raw-esp
	# to the denied port: only ICMP and the protocol without ports, and what is readable
	assert_same "denied port $PORT_D" "$got_d" \
		"$(walkable <<<"$sent_d" | grep -Ev '^[46]-(udp|tcp)-')"
	# the allowed port: what the programs can read (first fragments: by their ports)
	assert_same "allowed port $PORT_A" "$got_a" "$(walkable <<<"$sent_a")"
	# every packet that did not arrive was refused to the sender
	denied=$( (tags <(echo "$out") denied d | sed 's/^/d-/'; tags <(echo "$out") denied a | sed 's/^/a-/') | sort)
	assert_same "refused with EPERM" "$denied" \
		"$( (comm -23 <(echo "$sent_d") <(echo "$got_d") | sed 's/^/d-/'
		    comm -23 <(echo "$sent_a") <(echo "$got_a") | sed 's/^/a-/') | sort)"

	assert_stopped "$CID"
	local want
	want=$(grep -c . <<<"$denied")
	echo "# $(grep -c . <<<"$sent_d$sent_a") packets sent, $want dropped" >&3
	run jq -e -s --argjson n "$want" '.[-1].stats | .egress_denied == $n and .ingress_denied == 0' \
		"$(audit_log "$CID")"
	assert_success
	run jq -e -s --arg p "$PEER4" --arg p6 "$PEER6" --argjson d "$PORT_D" '
		map(select(.type == "net" and .direction == "egress" and .action == "deny")) as $n
		| ($n | any(.protocol == "udp" and .port == $d and .addr == $p))
		and ($n | any(.protocol == "tcp" and .port == $d and .addr == $p6))
		and ($n | any(.protocol == 44 and .port == 0 and .addr == $p))
		and ($n | any(.protocol == 44 and .port == 0 and .addr == $p6))
		and ($n | any(.protocol == 50 and .addr == $p6))
		and ($n | any(.protocol == 51 and .addr == $p))
		and ($n | any(.protocol == 60 and .port == 0 and .addr == $p6))
		and ($n | any(.protocol == "udp" and .port == 0))' "$(audit_log "$CID")"
	assert_success
}

@test "ingress: a policy that allows every incoming packet lets opaque ones in" {
	net_policy net "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"deny\", \"cidr\": \"0.0.0.0/0\", \"ports\": \"$PORT_D\"}]}}}"
	set_cmd pkttool recv "$PORT_D"
	runc_run -d "$CID"
	assert_success
	local ctr=$BATS_TEST_TMPDIR/$CID.stdio base=$BATS_TEST_TMPDIR/base.out
	wait_for 50 0.1 grep -q '^listening' "$ctr" || fail "container receiver: $(cat "$ctr")"
	bg_pkttool "$base" "$NET_CTR" recv "$PORT_B"
	peer_send "$PORT_D" d
	peer_send "$PORT_B" b
	wait_for 50 0.1 grep -q 'got tcp [0-9]* b-6-tcp-end' "$base"
	wait_for 50 0.1 grep -q 'got tcp [0-9]* d-6-tcp-end' "$ctr"
	sleep 0.5
	local baseline
	baseline=$(tags "$base" 'got (udp|tcp) [0-9]+' b)
	must_contain baseline "$baseline" 6-udp-dst-16 6-tcp-rt-16
	assert_same "port $PORT_D" "$(tags "$ctr" 'got (udp|tcp) [0-9]+' d)" "$baseline"
	assert_same "icmp" "$(sed -nE 's/^got icmp //p' "$ctr" | sort)" "$(sed -nE 's/^got icmp //p' "$base" | sort)"
	[ "$(stat_of "$CID" ingress_denied)" = 0 ]
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
	[ -z "$(net_records "$CID")" ] || fail "net records: $(net_records "$CID")"
}

@test "egress: a policy that allows everything outgoing lets opaque packets out" {
	net_policy net '{"network": {"ingress": {"default": "deny"}}}'
	local sniff=$BATS_TEST_TMPDIR/sniff.out
	bg_pkttool "$sniff" "$NET_PEER" sniff "$PEER_IF"
	set_cmd sh -c "pkttool send $CTR4 $PEER4 $PORT_D d; pkttool send $CTR6 $PEER6 $PORT_D d"
	runc_run "$CID"
	assert_success
	refute_line --partial error
	local out=$output
	wait_for 50 0.1 grep -q '^got d-6-icmp-end' "$sniff"
	sleep 0.5
	refute_line --partial denied
	# everything sent arrived (but the truncated packets, which carry no tag)
	assert_same "port $PORT_D" "$(tags "$sniff" got d)" "$(tags <(echo "$out") sent d | grep -v trunc)"
	assert_stopped "$CID"
	run jq -e -s '.[-1].stats.egress_denied == 0' "$(audit_log "$CID")"
	assert_success
}

@test "egress: a source route can't take a packet to a denied address (IPV6_RTHDR, IP_OPTIONS)" {
	# connect/sendmsg see the final address; a routing header (IPv6: no capability
	# needed) or a loose source route (IPv4: CAP_NET_RAW) sends the packet to its first hop
	net_policy net "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"deny\", \"cidr\": \"$PEER4B/32\"},
		{\"action\": \"deny\", \"cidr\": \"$PEER6B/128\"}]}}}"
	add_nettool
	# IPv6 from a user without any capability (su needs these to get there)
	add_cap CAP_SETUID
	add_cap CAP_SETGID
	echo 'nobody:x:65534:65534::/:/bin/sh' >>"$BUNDLE/rootfs/etc/passwd"
	echo 'nobody:x:65534:' >>"$BUNDLE/rootfs/etc/group"
	local sniff=$BATS_TEST_TMPDIR/sniff.out
	bg_pkttool "$sniff" "$NET_PEER" sniff "$PEER_IF"
	set_cmd sh -c "
		for hop in $PEER4B $PEER4; do nettool via \$hop $PEER4 7000 | sed \"s/^/\$hop /\"; done
		su nobody -s /bin/sh -c 'grep CapEff /proc/self/status; nettool via $PEER4 $PEER4 7000 | sed s/^/unprivileged-v4\\ /
			for hop in $PEER6B $PEER6; do nettool via \$hop $PEER6 7000 | sed \"s/^/\$hop /\"; done'
		echo \"direct: \$(nettool udp $PEER6B 7000 100)\""
	runc_run "$CID"
	assert_success
	# the IPv6 sends had no capability (IPv4 source routes need CAP_NET_RAW)
	assert_line --regexp '^CapEff:[[:space:]]+0+$'
	assert_line --regexp '^unprivileged-v4 udp: EPERM '
	local m
	for m in udp udpc; do
		assert_line --regexp "^$PEER4 $m: ok "
		assert_line --regexp "^$PEER6 $m: ok "
		# dropped on the way out, which the sender sees
		assert_line --regexp "^$PEER4B $m: EPERM "
		assert_line --regexp "^$PEER6B $m: EPERM "
	done
	assert_line --regexp '^direct: EPERM '
	wait_for 50 0.1 grep -q "^got via-$PEER6-tcp" "$sniff"
	sleep 0.5
	for m in udp udpc tcp; do
		grep -qx "got via-$PEER4-$m" "$sniff" || fail "via $PEER4 ($m) did not arrive: $(cat "$sniff")"
		grep -qx "got via-$PEER6-$m" "$sniff" || fail "via $PEER6 ($m) did not arrive: $(cat "$sniff")"
	done
	! grep -q "via-$PEER4B\|via-$PEER6B" "$sniff" || fail "source-routed to a denied address: $(cat "$sniff")"
	assert_stopped "$CID"
	# the 6 source-routed sends and the direct one (a dropped fast-open SYN is followed
	# by the kernel's plain SYN, also dropped)
	run jq -e -s --arg a "$PEER4B" --arg b "$PEER6B" '.[-1].stats.egress_denied >= 7
		and any(.[]; .type == "net" and .addr == $a and .protocol == "tcp" and .port == 7000)
		and any(.[]; .type == "net" and .addr == $b and .protocol == "udp" and .port == 7000)' \
		"$(audit_log "$CID")"
	assert_success
}

@test "egress: a TCP connection that has sent many segments still can't be source-routed to a denied address" {
	# An allowed connection's packets take a fast path (connect() marked the socket);
	# one that then sets a routing header (no capability needed) sends to its first
	# hop, which is decided on its own. (IPv4 has no such case: an
	# IP_OPTIONS source route set after connect() is not routed, the kernel keeps the
	# connection's route to its peer and writes the peer as the option's last hop.)
	net_policy net "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"deny\", \"cidr\": \"$PEER6B/128\"}]}}}"
	add_nettool
	local sniff=$BATS_TEST_TMPDIR/sniff.out sink=$BATS_TEST_TMPDIR/sink.out
	bg_pkttool "$sniff" "$NET_PEER" sniff "$PEER_IF"
	ip netns exec "$NET_PEER" "$NETTOOL" sink :: 7004 >"$sink" 2>&1 3>&- &
	echo "$!" >>"$NET_PIDS"
	wait_for 50 0.05 grep -q listening "$sink" || fail "sink did not start: $(cat "$sink")"
	set_cmd sh -c "for hop in $PEER6B $PEER6; do nettool late-via \$hop $PEER6 7004 | sed \"s/^/\$hop /\"; done"
	runc_run "$CID"
	assert_success
	local hop n
	for hop in "$PEER6B" "$PEER6"; do
		assert_line --regexp "^$hop late: ok "
		# an established connection, well past its handshake
		n=$(sed -n "s/^$hop segs_out //p" <<<"$output")
		[ "${n:-0}" -ge 32 ] || fail "$hop: only ${n:-no} segments before the routing header"
	done
	wait_for 50 0.1 grep -qx "got late-via-$PEER6" "$sniff" ||
		fail "the routing header through an allowed hop did not arrive: $(cat "$sniff")"
	! grep -q "late-via-$PEER6B" "$sniff" ||
		fail "a marked connection was source-routed to a denied address: $(cat "$sniff")"
	assert_stopped "$CID"
	run jq -e -s --arg b "$PEER6B" 'any(.[]; .type == "net" and .addr == $b and .protocol == "tcp")' \
		"$(audit_log "$CID")"
	assert_success
}

@test "datagrams larger than the MTU still pass: the kernel fragments after the check and reassembles before it" {
	net_policy net "{\"network\": {
		\"egress\": {\"default\": \"allow\", \"rules\": [
			{\"action\": \"deny\", \"cidr\": \"$PEER4B/32\"}, {\"action\": \"deny\", \"cidr\": \"$PEER6B/128\"}]},
		\"ingress\": {\"default\": \"deny\"}}}"
	set_cmd sh -c "
		ping -c 1 -W 2 -s 4000 $PEER4 >/dev/null 2>&1; echo \"ping: \$?\"
		ping6 -c 1 -W 2 -s 4000 $PEER6 >/dev/null 2>&1; echo \"ping6: \$?\"
		ping -c 1 -W 1 -s 4000 $PEER4B >/dev/null 2>&1; echo \"ping denied: \$?\""
	runc_run "$CID"
	assert_success
	assert_line "ping: 0"
	assert_line "ping6: 0"
	assert_line "ping denied: 1"
	assert_stopped "$CID"
	# one denial (the ping to the denied address), nothing dropped as a fragment
	run jq -e -s '.[-1].stats | .egress_denied == 1 and .ingress_denied == 0' "$(audit_log "$CID")"
	assert_success
	run jq -e -s 'any(.[]; .type == "net" and .protocol == 44)' "$(audit_log "$CID")"
	assert_failure
}

# xfrm_pair: IPsec in the two namespaces (null cipher): IPv4 to $PEER4B in tunnel mode
# through $PEER4; IPv6 UDP to $PEER6 in transport mode. Replies come back in clear.
xfrm_pair() {
	local ns
	# kernels without ESP (CONFIG_INET_ESP, as on the project's VMs) can't run these
	ip -n "$NET_CTR" xfrm state add src "$CTR4" dst "$PEER4" proto esp spi 0x1000 \
		mode tunnel enc cipher_null "" 2>/dev/null || skip "kernel without IPsec ESP"
	ip -n "$NET_CTR" xfrm state flush
	for ns in "$NET_CTR" "$NET_PEER"; do
		ip -n "$ns" xfrm state add src "$CTR4" dst "$PEER4" proto esp spi 0x1001 \
			mode tunnel enc cipher_null ""
		ip -n "$ns" xfrm state add src "$CTR6" dst "$PEER6" proto esp spi 0x1002 \
			mode transport enc cipher_null ""
	done
	ip -n "$NET_CTR" xfrm policy add src "$CTR4/32" dst "$PEER4B/32" dir out \
		tmpl src "$CTR4" dst "$PEER4" proto esp mode tunnel
	ip -n "$NET_PEER" xfrm policy add src "$CTR4/32" dst "$PEER4B/32" dir in \
		tmpl src "$CTR4" dst "$PEER4" proto esp mode tunnel
	ip -n "$NET_CTR" xfrm policy add src "$CTR6/128" dst "$PEER6/128" proto udp dir out \
		tmpl src "$CTR6" dst "$PEER6" proto esp mode transport
	ip -n "$NET_PEER" xfrm policy add src "$CTR6/128" dst "$PEER6/128" proto udp dir in \
		tmpl src "$CTR6" dst "$PEER6" proto esp mode transport
}

# Not run on the project's VMs (no ESP in their kernel): written for kernels with it.
@test "IPsec on the container's own stack: socket traffic still passes, decided on the outer destination" {
	add_nettool
	xfrm_pair
	peer_listen tcp :: 7000
	peer_listen udp :: 7001
	# active egress policy that allows the gateway; then one that denies it
	net_policy net "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"deny\", \"cidr\": \"0.0.0.0/0\", \"ports\": \"9\"},
		{\"action\": \"deny\", \"cidr\": \"::/0\", \"ports\": \"9\"}]}}}"
	set_cmd sh -c "echo \"tunnel tcp: \$(nettool tcp $PEER4B 7000 1500)\"
		echo \"transport udp: \$(nettool udp $PEER6 7001 1500)\""
	runc_run "$CID"
	assert_success
	assert_result "tunnel tcp" ok
	assert_result "transport udp" ok
	assert_stopped "$CID"
	run jq -e -s '.[-1].stats.egress_denied == 0' "$(audit_log "$CID")"
	assert_success
	# the ESP packets go to the gateway: a policy that denies it stops them
	net_policy net2 "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"deny\", \"cidr\": \"$PEER4/32\"}]}}}"
	set_cmd sh -c "echo \"tunnel tcp: \$(nettool tcp $PEER4B 7000 1500)\""
	runc_run "$CID-2"
	assert_success
	assert_result "tunnel tcp" timeout
	assert_stopped "$CID-2"
	run jq -e -s --arg g "$PEER4" '.[-1].stats.egress_denied >= 1
		and any(.[]; .type == "net" and .protocol == 50 and .addr == $g)' "$(audit_log "$CID-2")"
	assert_success
}
