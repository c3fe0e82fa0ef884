#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Network policy (issue 4), with real traffic: containers on the host network talking
# to listeners on 127.0.0.1/::1 that the test starts, and containers in a network
# namespace of their own talking to a test host in another namespace (veth pair, see
# net-helpers.bash). Egress: EPERM from connect/sendmsg, drops at the packet hook (ICMP).
# Ingress: drops at the packet hook. Counters, `net` records, cleanup. Crafted packets
# (extension headers, fragments, IPsec): netcraft.bats.

load helpers
load net-helpers

setup_file() {
	ocibpf_setup_file
	net_setup_file
}

teardown_file() {
	ocibpf_teardown_file
}

setup() {
	requires root cgroup2 bpf runc busybox jq bpftool
	ocibpf_setup
	net_setup
	net_requires_nettool
	setup_busybox_bundle
	add_nettool
	add_hooks
}

teardown() {
	net_teardown
	ocibpf_teardown
}

# nettool words: "ok Nms", "EPERM Nms", "timeout Nms", "refused Nms".
# assert_result LINE-PREFIX WORD: the container printed "LINE-PREFIX: WORD ...".
assert_result() {
	assert_line --regexp "^$1: $2 [0-9]+ms\$"
}

# --- host network, loopback --------------------------------------------------------

@test "egress tcp: a denied connect fails at once with EPERM, is counted and logged" {
	local p
	p=$(free_ports 3)
	host_listen tcp 127.0.0.1 "$p"
	host_listen tcp 127.0.0.1 $((p + 1))
	host_listen tcp 127.0.0.1 $((p + 2))
	net_policy net "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"deny\", \"cidr\": \"127.0.0.1/32\", \"protocol\": \"tcp\", \"ports\": \"$((p + 1))\"}]}}}"
	use_host_network
	set_cmd sh -c "for port in $p $((p + 1)) $((p + 2)); do echo \"\$port: \$(nettool tcp 127.0.0.1 \$port 5000)\"; done"
	runc_run "$CID"
	assert_success
	assert_result "$p" ok
	assert_result "$((p + 1))" EPERM
	assert_result "$((p + 2))" ok
	# EPERM at once, not after a timeout
	local ms
	ms=$(sed -n "s/^$((p + 1)): EPERM \([0-9]*\)ms$/\1/p" <<<"$output")
	[ "$ms" -lt 500 ] || fail "denied connect took ${ms}ms"

	assert_stopped "$CID"
	run jq -e -s --argjson port $((p + 1)) '[.[] | select(.type == "net")] | length == 1 and
		(.[0] | .action == "deny" and .direction == "egress" and .protocol == "tcp"
		 and .addr == "127.0.0.1" and .port == $port and (.pid | type) == "number"
		 and .comm == "nettool")' "$(audit_log "$CID")"
	assert_success
	run jq -e -s '.[-1].stats | .egress_denied == 1 and .ingress_denied == 0' "$(audit_log "$CID")"
	assert_success
}

@test "egress tcp: counters in ocibpf stats while the container runs" {
	local p
	p=$(free_ports 1)
	host_listen tcp 127.0.0.1 "$p"
	net_policy net "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"deny\", \"cidr\": \"127.0.0.0/8\", \"protocol\": \"tcp\", \"ports\": \"$p\"}]}}}"
	use_host_network
	set_cmd sh -c "for i in 1 2 3; do nettool tcp 127.0.0.1 $p; done; sleep 300"
	runc_run -d "$CID"
	assert_success
	wait_for 50 0.1 eval '[ "$(stat_of "$CID" egress_denied)" = 3 ]'
	[ "$(stat_of "$CID" ingress_denied)" = 0 ]
	wait_net_record "$CID" ".port == $p and .direction == \"egress\""
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
}

@test "egress: default deny with allowed ports and ranges" {
	local p
	p=$(free_ports 6)
	local i
	for i in 0 1 2 3 4 5; do
		host_listen tcp 127.0.0.1 $((p + i))
	done
	# allowed: p, p+2..p+3; everything else denied
	net_policy net "{\"network\": {\"egress\": {\"default\": \"deny\", \"rules\": [
		{\"action\": \"allow\", \"cidr\": \"127.0.0.1\", \"protocol\": \"tcp\", \"ports\": \"$p,$((p + 2))-$((p + 3))\"}]}}}"
	use_host_network
	set_cmd sh -c "for i in 0 1 2 3 4 5; do port=\$(($p + i)); echo \"\$port: \$(nettool tcp 127.0.0.1 \$port)\"; done;
		echo \"udp: \$(nettool udp 127.0.0.1 $p 300)\"; echo \"v6: \$(nettool tcp ::1 $p 300)\""
	runc_run "$CID"
	assert_success
	assert_result "$p" ok
	assert_result "$((p + 1))" EPERM
	assert_result "$((p + 2))" ok
	assert_result "$((p + 3))" ok
	assert_result "$((p + 4))" EPERM
	assert_result "$((p + 5))" EPERM
	assert_result udp EPERM
	assert_result v6 EPERM
	assert_stopped "$CID"
}

@test "egress: deny beats allow across overlapping prefixes and ports, whatever the order" {
	local p
	p=$(free_ports 3)
	host_listen tcp 127.0.0.1 "$p"
	host_listen tcp 127.0.0.1 $((p + 1))
	host_listen tcp 127.0.0.1 $((p + 2))
	# a broad deny on port p+1, a narrow allow-all; a narrow deny on p+2 inside a broad allow
	net_policy net "{\"network\": {\"egress\": {\"default\": \"deny\", \"rules\": [
		{\"action\": \"allow\", \"cidr\": \"127.0.0.1/32\"},
		{\"action\": \"deny\", \"cidr\": \"127.0.0.0/8\", \"protocol\": \"tcp\", \"ports\": \"$((p + 1))\"},
		{\"action\": \"allow\", \"cidr\": \"127.0.0.0/8\", \"protocol\": \"any\", \"ports\": \"$p-$((p + 2))\"},
		{\"action\": \"deny\", \"cidr\": \"127.0.0.1/32\", \"protocol\": \"tcp\", \"ports\": \"$((p + 2))\"}]}}}"
	use_host_network
	set_cmd sh -c "for port in $p $((p + 1)) $((p + 2)); do echo \"\$port: \$(nettool tcp 127.0.0.1 \$port)\"; done"
	runc_run "$CID"
	assert_success
	assert_result "$p" ok
	assert_result "$((p + 1))" EPERM
	assert_result "$((p + 2))" EPERM
	assert_stopped "$CID"
}

@test "egress: IPv6, and IPv4 rules on IPv4-mapped IPv6 (connect6, sendmsg4 from an IPv6 socket)" {
	local p
	p=$(free_ports 3)
	host_listen tcp 127.0.0.1 "$p"
	host_listen tcp 127.0.0.1 $((p + 1))
	host_listen tcp ::1 "$p"
	host_listen tcp ::1 $((p + 1))
	host_listen udp 127.0.0.1 "$p"
	host_listen udp 127.0.0.1 $((p + 1))
	net_policy net "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"deny\", \"cidr\": \"127.0.0.1\", \"ports\": \"$((p + 1))\"},
		{\"action\": \"deny\", \"cidr\": \"::1\", \"protocol\": \"tcp\", \"ports\": \"$p\"}]}}}"
	use_host_network
	set_cmd sh -c "
		echo \"v4 $p: \$(nettool tcp 127.0.0.1 $p)\"
		echo \"v4 $((p + 1)): \$(nettool tcp 127.0.0.1 $((p + 1)))\"
		echo \"v6 $p: \$(nettool tcp ::1 $p)\"
		echo \"v6 $((p + 1)): \$(nettool tcp ::1 $((p + 1)))\"
		echo \"mapped $p: \$(nettool tcp ::ffff:127.0.0.1 $p)\"
		echo \"mapped $((p + 1)): \$(nettool tcp ::ffff:127.0.0.1 $((p + 1)))\"
		echo \"mapped-udp $p: \$(nettool udp ::ffff:127.0.0.1 $p)\"
		echo \"mapped-udp $((p + 1)): \$(nettool udp ::ffff:127.0.0.1 $((p + 1)))\"
		echo \"mapped-udpc $((p + 1)): \$(nettool udpc ::ffff:127.0.0.1 $((p + 1)))\"
		echo \"unspecified $((p + 1)): \$(nettool tcp 0.0.0.0 $((p + 1)))\""
	runc_run "$CID"
	assert_success
	assert_result "v4 $p" ok
	assert_result "v4 $((p + 1))" EPERM
	assert_result "v6 $p" EPERM
	assert_result "v6 $((p + 1))" ok
	assert_result "mapped $p" ok
	assert_result "mapped $((p + 1))" EPERM
	assert_result "mapped-udp $p" ok
	assert_result "mapped-udp $((p + 1))" EPERM
	assert_result "mapped-udpc $((p + 1))" EPERM
	# 0.0.0.0 is this host: loopback
	assert_result "unspecified $((p + 1))" EPERM
	assert_stopped "$CID"
	# the mapped denials are logged as the IPv4 addresses they are
	run jq -e -s --argjson port $((p + 1)) '[.[] | select(.type == "net" and .port == $port)]
		| all(.addr == "127.0.0.1") and any(.protocol == "udp") and any(.protocol == "tcp")' \
		"$(audit_log "$CID")"
	assert_success
	run jq -e -s --argjson port "$p" 'any(.[]; .type == "net" and .addr == "::1" and .port == $port)' \
		"$(audit_log "$CID")"
	assert_success
}

@test "egress udp: unconnected and connected sends, v4 and v6" {
	local p
	p=$(free_ports 2)
	host_listen udp 127.0.0.1 "$p"
	host_listen udp 127.0.0.1 $((p + 1))
	host_listen udp ::1 "$p"
	host_listen udp ::1 $((p + 1))
	net_policy net "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"deny\", \"cidr\": \"0.0.0.0/0\", \"protocol\": \"udp\", \"ports\": \"$((p + 1))\"},
		{\"action\": \"deny\", \"cidr\": \"::/0\", \"protocol\": \"udp\", \"ports\": \"$((p + 1))\"}]}}}"
	use_host_network
	set_cmd sh -c "for a in 127.0.0.1 ::1; do for port in $p $((p + 1)); do
		echo \"udp \$a \$port: \$(nettool udp \$a \$port)\"; echo \"udpc \$a \$port: \$(nettool udpc \$a \$port)\"; done; done"
	runc_run "$CID"
	assert_success
	local a
	for a in 127.0.0.1 ::1; do
		assert_result "udp $a $p" ok
		assert_result "udpc $a $p" ok
		assert_result "udp $a $((p + 1))" EPERM
		assert_result "udpc $a $((p + 1))" EPERM
	done
	assert_stopped "$CID"
	run jq -e -s '.[-1].stats.egress_denied == 4' "$(audit_log "$CID")"
	assert_success
}

@test "egress: io_uring connect and sendmsg are decided like the syscalls" {
	local p
	p=$(free_ports 2)
	host_listen tcp 127.0.0.1 "$p"
	host_listen tcp 127.0.0.1 $((p + 1))
	host_listen udp ::1 "$p"
	host_listen udp ::1 $((p + 1))
	net_policy net "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"deny\", \"cidr\": \"127.0.0.1\", \"protocol\": \"tcp\", \"ports\": \"$((p + 1))\"},
		{\"action\": \"deny\", \"cidr\": \"::1\", \"protocol\": \"udp\", \"ports\": \"$((p + 1))\"}]}}}"
	use_host_network
	set_cmd sh -c "for port in $p $((p + 1)); do
		echo \"connect \$port: \$(nettool uring-connect 127.0.0.1 \$port)\"
		echo \"sendmsg \$port: \$(nettool uring-sendmsg ::1 \$port)\"; done"
	runc_run "$CID"
	assert_success
	assert_result "connect $p" ok
	assert_result "connect $((p + 1))" EPERM
	assert_result "sendmsg $p" ok
	assert_result "sendmsg $((p + 1))" EPERM
	assert_stopped "$CID"
	run jq -e -s --argjson port $((p + 1)) '[.[] | select(.type == "net")] as $n
		| ($n | length == 2) and ($n | any(.protocol == "tcp" and .addr == "127.0.0.1" and .port == $port))
		and ($n | any(.protocol == "udp" and .addr == "::1" and .port == $port))
		and .[-1].stats.egress_denied == 2' "$(audit_log "$CID")"
	assert_success
}

@test "egress: sendmmsg and TCP fast open are decided like sendto and connect" {
	local p
	p=$(free_ports 2)
	host_listen tcp 127.0.0.1 "$p"
	host_listen tcp 127.0.0.1 $((p + 1))
	host_listen udp 127.0.0.1 "$p"
	host_listen udp 127.0.0.1 $((p + 1))
	net_policy net "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"deny\", \"cidr\": \"127.0.0.0/8\", \"ports\": \"$((p + 1))\"}]}}}"
	use_host_network
	set_cmd sh -c "for port in $p $((p + 1)); do
		echo \"sendmmsg \$port: \$(nettool sendmmsg 127.0.0.1 \$port)\"
		echo \"tfo \$port: \$(nettool tfo 127.0.0.1 \$port)\"; done"
	runc_run "$CID"
	assert_success
	assert_result "sendmmsg $p" ok
	assert_result "sendmmsg $((p + 1))" EPERM
	assert_result "tfo $p" ok
	assert_result "tfo $((p + 1))" EPERM
	assert_stopped "$CID"
	# sendmmsg stops at the first refused datagram: one denial each
	run jq -e -s '.[-1].stats.egress_denied == 2' "$(audit_log "$CID")"
	assert_success
}

@test "cidr edges: /0 covers its own family only, /32 and /128 one address" {
	local p
	p=$(free_ports 1)
	host_listen tcp ::1 "$p"
	host_listen udp 127.0.0.1 "$p"
	host_listen udp ::1 "$p"
	net_policy net "{\"network\": {\"egress\": {\"default\": \"deny\", \"rules\": [
		{\"action\": \"allow\", \"cidr\": \"::/0\", \"protocol\": \"tcp\"},
		{\"action\": \"allow\", \"cidr\": \"127.0.0.1/32\", \"protocol\": \"udp\"},
		{\"action\": \"allow\", \"cidr\": \"::1/128\", \"protocol\": \"udp\"}]}}}"
	use_host_network
	set_cmd sh -c "
		echo \"tcp ::1: \$(nettool tcp ::1 $p)\"
		echo \"tcp 127.0.0.1: \$(nettool tcp 127.0.0.1 $p)\"
		echo \"tcp mapped: \$(nettool tcp ::ffff:127.0.0.1 $p)\"
		echo \"udp 127.0.0.1: \$(nettool udp 127.0.0.1 $p)\"
		echo \"udp 127.0.0.2: \$(nettool udp 127.0.0.2 $p)\"
		echo \"udp ::1: \$(nettool udp ::1 $p)\"
		echo \"udp ::2: \$(nettool udp ::2 $p)\""
	runc_run "$CID"
	assert_success
	assert_result "tcp ::1" ok
	# ::/0 is IPv6 only: IPv4, mapped or not, falls to the default
	assert_result "tcp 127.0.0.1" EPERM
	assert_result "tcp mapped" EPERM
	assert_result "udp 127.0.0.1" ok
	assert_result "udp 127.0.0.2" EPERM
	assert_result "udp ::1" ok
	assert_result "udp ::2" EPERM
	assert_stopped "$CID"
}

@test "cidr edges: a deny of 0.0.0.0/0 covers all IPv4 (mapped too) and no IPv6, a /128 deny one address" {
	local p
	p=$(free_ports 1)
	host_listen tcp 127.0.0.1 "$p"
	host_listen tcp ::1 "$p"
	host_listen udp 127.0.0.1 "$p"
	host_listen udp ::1 "$p"
	net_policy net "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"allow\", \"cidr\": \"127.0.0.1/32\", \"protocol\": \"tcp\"},
		{\"action\": \"deny\", \"cidr\": \"0.0.0.0/0\", \"protocol\": \"tcp\"},
		{\"action\": \"deny\", \"cidr\": \"::1/128\", \"protocol\": \"udp\"}]}}}"
	use_host_network
	set_cmd sh -c "
		echo \"tcp 127.0.0.1: \$(nettool tcp 127.0.0.1 $p)\"
		echo \"tcp mapped: \$(nettool tcp ::ffff:127.0.0.1 $p)\"
		echo \"tcp ::1: \$(nettool tcp ::1 $p)\"
		echo \"udp ::1: \$(nettool udp ::1 $p)\"
		echo \"udp 127.0.0.1: \$(nettool udp 127.0.0.1 $p)\""
	runc_run "$CID"
	assert_success
	# deny beats the narrower allow
	assert_result "tcp 127.0.0.1" EPERM
	assert_result "tcp mapped" EPERM
	assert_result "tcp ::1" ok
	assert_result "udp ::1" EPERM
	assert_result "udp 127.0.0.1" ok
	assert_stopped "$CID"
}

@test "egress: a process that moves itself into a sub-cgroup is still bound" {
	requires cgroup2
	local p
	p=$(free_ports 2)
	host_listen tcp 127.0.0.1 "$p"
	host_listen tcp 127.0.0.1 $((p + 1))
	net_policy net "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"deny\", \"cidr\": \"127.0.0.1\", \"protocol\": \"tcp\", \"ports\": \"$((p + 1))\"}]}}}"
	use_host_network
	# the container's own cgroup2 directory, writable at /cg
	update_config '.linux.cgroupsPath = "/" + $id
		| .mounts += [{destination: "/cg", type: "bind", source: $cg, options: ["rbind", "rw"]}]' \
		--arg id "$CID" --arg cg "$CGROUP2/$CID"
	set_cmd sh -c "mkdir /cg/sub && echo \$\$ >/cg/sub/cgroup.procs && grep '^0::' /proc/self/cgroup
		echo \"sub $p: \$(nettool tcp 127.0.0.1 $p)\"
		echo \"sub $((p + 1)): \$(nettool tcp 127.0.0.1 $((p + 1)))\"
		mkdir /cg/sub/deeper && echo \$\$ >/cg/sub/deeper/cgroup.procs
		echo \"deeper $((p + 1)): \$(nettool tcp 127.0.0.1 $((p + 1)))\"
		echo \$\$ >/cg/cgroup.procs; rmdir /cg/sub/deeper /cg/sub"
	runc_run "$CID"
	assert_success
	assert_line --regexp "^0::/(.*/)?$CID/sub\$"
	assert_result "sub $p" ok
	assert_result "sub $((p + 1))" EPERM
	assert_result "deeper $((p + 1))" EPERM
	assert_stopped "$CID"
	run jq -e -s '.[-1].stats.egress_denied == 2' "$(audit_log "$CID")"
	assert_success
}

@test "egress: a connection made before the programs were attached is cut at the packet hook" {
	local p cg pid fifo
	p=$(free_ports 1)
	host_sink 127.0.0.1 "$p"
	write_policy net "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"deny\", \"cidr\": \"127.0.0.1\", \"protocol\": \"tcp\", \"ports\": \"$p\"}]}}}"
	# a stand-in container (called through the hook directly) that connects first
	cg=$CGROUP2/$CID-pre
	mkdir "$cg"
	fifo=$BATS_TEST_TMPDIR/go
	mkfifo "$fifo"
	# shellcheck disable=SC2016
	bash -c 'echo $$ >"$1/cgroup.procs" && exec 4<>"/dev/tcp/127.0.0.1/$2" || exit 1
		echo before >&4; read -r _ <"$3"; echo after >&4; sleep 300' \
		bash "$cg" "$p" "$fifo" </dev/null >/dev/null 2>&1 3>&- &
	pid=$!
	echo "$pid $cg" >>"$BATS_TEST_TMPDIR/sandboxes"
	wait_for 50 0.1 grep -q '^received' "$SINK_OUT"

	run_hook createRuntime "$(make_state "$CID" "$pid" "$BUNDLE" net)"
	assert_success
	echo go >"$fifo"
	wait_for 50 0.1 eval '[ "$(stat_of "$CID" egress_denied)" -ge 1 ]'
	sleep 0.5
	[ "$(grep -c '^received' "$SINK_OUT")" -eq 1 ] ||
		fail "data sent after the attach arrived: $(cat "$SINK_OUT")"
	wait_net_record "$CID" ".port == $p and .direction == \"egress\" and .addr == \"127.0.0.1\""

	# the container ends; its orphaned socket may go on retransmitting (and being denied)
	stop_sandboxes || true
	run_hook poststop "$(jq -cn --arg id "$CID" --arg b "$BUNDLE" \
		'{ociVersion: "1.0.2", id: $id, status: "stopped", bundle: $b}')"
	assert_success
	assert_not_monitored "$CID"
	[ -n "$(records "$CID" stop)" ] || fail "no stop record"
}

@test "egress: a flood of denials is counted exactly and logged without flooding the log" {
	local p
	p=$(free_ports 1)
	net_policy net "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"deny\", \"cidr\": \"127.0.0.1\", \"protocol\": \"udp\", \"ports\": \"$p\"}]}}}"
	use_host_network
	# 500 denied sends as fast as they go, from one process and from 20 in turn; then
	# wait for the window to close
	set_cmd sh -c "nettool flood-udp 127.0.0.1 $p 480
		i=0; while [ \$i -lt 20 ]; do nettool udp 127.0.0.1 $p 1 >/dev/null; i=\$((i + 1)); done; sleep 2"
	runc_run "$CID"
	assert_success
	assert_line "EPERM 480"
	assert_stopped "$CID"
	run jq -e -s '.[-1].stats.egress_denied == 500' "$(audit_log "$CID")"
	assert_success
	local n sum
	n=$(net_records "$CID" | wc -l)
	sum=$(net_records "$CID" | jq -s 'map(.count // 1) | add')
	echo "net records: $n, sum of counts: $sum" >&2
	# 10 one by one and one folded per key and second: the flood takes a few seconds
	# at most, however slow the machine
	[ "$n" -le 60 ] || fail "$n net records for 500 denials"
	[ "$sum" -eq 500 ] || fail "net records account for $sum denials, not 500"
}

# The folding state of a container's denials (ocibpf_net_agg) by key, as "port count" lines.
agg_entries() {
	local cgid
	cgid=$(jq -r .cgroup_id "$(state_file "$1")")
	bpftool -j map dump pinned "$(echo "$BPFFS_DIR"/sets/*/maps/ocibpf_net_agg)" |
		jq -r --argjson c "$cgid" '.[].formatted | select(.key.cgid == $c) | .key.port'
}

@test "egress: the folding state of denials goes with its window, what it folded is logged" {
	local p
	p=$(free_ports 40)
	net_policy net "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"deny\", \"cidr\": \"127.0.0.1\", \"protocol\": \"udp\", \"ports\": \"$p-$((p + 39))\"}]}}}"
	use_host_network
	# 40 keys denied 20 times each (10 logged one by one, 10 folded), then quiet
	update_config '.root.readonly = false'
	set_cmd sh -c "i=0; while [ \$i -lt 40 ]; do nettool flood-udp 127.0.0.1 \$(($p + i)) 20; i=\$((i + 1)); done
		touch /tmp/flooded; sleep 300"
	runc_run -d "$CID"
	assert_success
	wait_for 100 0.1 test -e "$BUNDLE/rootfs/tmp/flooded" || fail "the flood did not finish"
	# the window is 1 s: no entry of the container is left a few seconds later
	wait_for 50 0.1 eval '[ -z "$(agg_entries "$CID")" ]' ||
		fail "folding entries left after their window: $(agg_entries "$CID" | wc -l)"
	[ "$(stat_of "$CID" egress_denied)" = 800 ]
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
	local sum
	sum=$(net_records "$CID" | jq -s 'map(.count // 1) | add')
	[ "$sum" -eq 800 ] || fail "net records account for $sum denials, not 800"
}

@test "policy without a network section: nothing is policed" {
	local p
	p=$(free_ports 1)
	host_listen tcp 127.0.0.1 "$p"
	net_policy net '{"telemetry": true}'
	use_host_network
	set_cmd sh -c "echo \"tcp: \$(nettool tcp 127.0.0.1 $p)\""
	runc_run "$CID"
	assert_success
	assert_result tcp ok
	assert_stopped "$CID"
}

@test "crun: a denied connect fails with EPERM" {
	requires crun
	local p
	p=$(free_ports 2)
	host_listen tcp 127.0.0.1 "$p"
	host_listen tcp 127.0.0.1 $((p + 1))
	net_policy net "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"deny\", \"cidr\": \"127.0.0.1\", \"ports\": \"$((p + 1))\"}]}}}"
	use_host_network
	set_cmd sh -c "for port in $p $((p + 1)); do echo \"\$port: \$(nettool tcp 127.0.0.1 \$port)\"; done"
	crun_run "$CID"
	assert_success
	assert_result "$p" ok
	assert_result "$((p + 1))" EPERM
	assert_stopped "$CID"
}

# take ID FROM tcp|udp PORT: in container ID, a client to 127.0.0.1:PORT on the socket that
# `nettool give` hands out at /share/FROM.
take() {
	__runc exec "$1" env NETTOOL_FD_FROM="/share/$2" nettool "$3" 127.0.0.1 "$4" 1000
}

@test "a socket passed between containers (SCM_RIGHTS) is held to the policy of the container that made it, whoever connects or sends with it" {
	local p share=$BATS_TEST_TMPDIR/share
	p=$(free_ports 2)
	host_listen tcp 127.0.0.1 "$p"
	host_listen tcp 127.0.0.1 $((p + 1))
	host_listen udp 127.0.0.1 $((p + 1))
	mkdir "$share"
	write_policy strict "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"deny\", \"cidr\": \"127.0.0.1/32\", \"ports\": \"$((p + 1))\"}]}}}"
	# (with ingress rules, the open container's sends make flow entries: sendmsg4/6)
	write_policy open '{"network": {
		"egress": {"default": "allow", "rules": [{"action": "deny", "cidr": "192.0.2.1/32"}]},
		"ingress": {"default": "allow", "rules": [{"action": "deny", "cidr": "192.0.2.1/32"}]}}}'
	use_host_network
	update_config '.mounts += [{destination: "/share", type: "bind", source: $s, options: ["rbind", "rw"]}]' \
		--arg s "$share"
	local n
	for n in strict open; do
		set_policy "$n"
		set_cmd sh -c "nettool give /share/$n tcp 0 & nettool give /share/$n-udp udp 0 & sleep 300"
		runc_run -d "$CID-$n"
		assert_success
	done
	wait_for 50 0.1 eval "[ -S $share/strict ] && [ -S $share/strict-udp ] && [ -S $share/open ] && [ -S $share/open-udp ]"

	# the strict container's sockets in the open container's hands: still held to the
	# strict policy (the packets never leave: the SYN is dropped, a datagram's drop is
	# EPERM), as the open one's own are to its own
	run take "$CID-open" strict tcp $((p + 1))
	assert_output --regexp '^timeout '
	run take "$CID-open" strict-udp udp $((p + 1))
	assert_output --regexp '^EPERM '
	run take "$CID-open" strict-udp udpc $((p + 1))
	assert_output --regexp '^EPERM '
	run take "$CID-open" strict tcp "$p"
	assert_output --regexp '^ok '
	run take "$CID-open" open tcp $((p + 1))
	assert_output --regexp '^ok '
	# the open container's sockets in the strict container's hands: the strict policy
	# decides the connect and the send
	run take "$CID-strict" open tcp $((p + 1))
	assert_output --regexp '^EPERM '
	run take "$CID-strict" open-udp udp $((p + 1))
	assert_output --regexp '^EPERM '
	run take "$CID-strict" open tcp "$p"
	assert_output --regexp '^ok '
	# ... and in a host process's hands
	run env NETTOOL_FD_FROM="$share/strict" "$NETTOOL" tcp 127.0.0.1 $((p + 1)) 1000
	assert_output --regexp '^timeout '
	run env NETTOOL_FD_FROM="$share/strict-udp" "$NETTOOL" udp 127.0.0.1 $((p + 1)) 1000
	assert_output --regexp '^EPERM '

	# the strict container counted what its sockets were denied, without a process
	[ "$(stat_of "$CID-strict" egress_denied)" -ge 7 ]
	wait_net_record "$CID-strict" ".port == $((p + 1)) and .protocol == \"udp\" and (has(\"pid\") | not)"
	wait_net_record "$CID-strict" ".port == $((p + 1)) and .protocol == \"tcp\" and (has(\"pid\") | not)"
	for n in strict open; do
		runc_cmd delete -f "$CID-$n"
		assert_success
		assert_stopped "$CID-$n"
	done
}

@test "limit: a socket a host process made and passes into a container is not held to its policy" {
	local p share=$BATS_TEST_TMPDIR/share
	p=$(free_ports 1)
	host_listen tcp 127.0.0.1 "$p"
	mkdir "$share"
	"$NETTOOL" give "$share/host" tcp 0 >"$BATS_TEST_TMPDIR/give.out" 2>&1 3>&- &
	echo "$!" >>"$NET_PIDS"
	wait_for 50 0.05 grep -q listening "$BATS_TEST_TMPDIR/give.out"
	net_policy strict "{\"network\": {\"egress\": {\"default\": \"deny\"}}}"
	use_host_network
	update_config '.mounts += [{destination: "/share", type: "bind", source: $s, options: ["rbind", "rw"]}]' \
		--arg s "$share"
	set_cmd sh -c "echo \"own: \$(nettool tcp 127.0.0.1 $p)\"
		echo \"host's: \$(NETTOOL_FD_FROM=/share/host nettool tcp 127.0.0.1 $p)\""
	runc_run "$CID"
	assert_success
	assert_result own EPERM
	# docs/network-policy.md, Limits: its cgroup has no programs
	assert_result "host's" ok
	assert_stopped "$CID"
}

@test "egress: a process that moves to a network namespace of its own (unshare -U -n) is still held to the policy" {
	local p
	p=$(free_ports 2)
	net_policy net "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"deny\", \"cidr\": \"127.0.0.1\", \"protocol\": \"tcp\", \"ports\": \"$((p + 1))\"}]}}}"
	use_host_network
	# a new network namespace, owned by a new user namespace (no capability needed): its
	# loopback is down, so the allowed connect is unreachable, the denied one EPERM
	set_cmd unshare -U -n sh -c "readlink /proc/self/ns/net
		echo \"$p: \$(nettool tcp 127.0.0.1 $p)\"; echo \"$((p + 1)): \$(nettool tcp 127.0.0.1 $((p + 1)))\""
	runc_run "$CID"
	assert_success
	assert_line --regexp '^net:\[[0-9]+\]$'
	[ "${lines[0]}" != "$(readlink /proc/self/ns/net)" ] || fail "still in the host's network namespace"
	assert_result "$p" "Network is unreachable"
	assert_result "$((p + 1))" EPERM
	assert_stopped "$CID"
	run jq -e -s '.[-1].stats.egress_denied == 1' "$(audit_log "$CID")"
	assert_success
}

# --- own network namespace, test host in another ---------------------------------------

@test "egress icmp: ping denied by destination at the packet hook; replies pass with ingress default deny" {
	requires netns
	netns_pair
	add_cap CAP_NET_RAW
	net_policy net "{\"network\": {
		\"egress\": {\"default\": \"allow\", \"rules\": [
			{\"action\": \"deny\", \"cidr\": \"$PEER4B\", \"protocol\": \"icmp\"},
			{\"action\": \"deny\", \"cidr\": \"$PEER6B\", \"protocol\": \"icmp\"}]},
		\"ingress\": {\"default\": \"deny\"}}}"
	set_cmd sh -c "
		ping -c 1 -W 2 $PEER4 >/dev/null 2>&1; echo \"ping $PEER4: \$?\"
		ping -c 1 -W 2 $PEER4B 2>&1; echo \"ping $PEER4B: \$?\"
		ping6 -c 1 -W 2 $PEER6 >/dev/null 2>&1; echo \"ping6 $PEER6: \$?\"
		ping6 -c 1 -W 2 $PEER6B 2>&1; echo \"ping6 $PEER6B: \$?\""
	runc_run "$CID"
	assert_success
	assert_line "ping $PEER4: 0"
	assert_line "ping $PEER4B: 1"
	assert_line "ping6 $PEER6: 0"
	assert_line "ping6 $PEER6B: 1"
	assert_line --partial "Operation not permitted"
	assert_stopped "$CID"
	run jq -e -s --arg a "$PEER4B" --arg b "$PEER6B" '
		any(.[]; .type == "net" and .protocol == "icmp" and .addr == $a and .direction == "egress")
		and any(.[]; .type == "net" and .protocol == "icmpv6" and .addr == $b and .direction == "egress")
		and .[-1].stats.egress_denied >= 2 and .[-1].stats.ingress_denied == 0' "$(audit_log "$CID")"
	assert_success
}

@test "ingress: a listening container accepts allowed ports only; its replies pass with egress default deny" {
	requires netns
	netns_pair
	net_policy net '{"network": {
		"egress": {"default": "deny"},
		"ingress": {"default": "deny", "rules": [
			{"action": "allow", "cidr": "0.0.0.0/0", "protocol": "tcp", "ports": "8080"},
			{"action": "allow", "cidr": "::/0", "protocol": "tcp", "ports": "8080"}]}}}'
	set_cmd sh -c 'nettool listen-tcp :: 8080 & nettool listen-tcp :: 8081 & sleep 300'
	runc_run -d "$CID"
	assert_success
	wait_for 50 0.1 ip netns exec "$NET_CTR" sh -c 'ss -Hltn | grep -q ":8081 "'

	peer_nettool tcp "$CTR4" 8080
	assert_success
	peer_nettool tcp "$CTR6" 8080
	assert_success
	# a denied port never completes the handshake: the SYN is dropped
	peer_nettool tcp "$CTR4" 8081 1500
	assert_output --regexp '^timeout '
	peer_nettool tcp "$CTR6" 8081 1500
	assert_output --regexp '^timeout '

	[ "$(stat_of "$CID" ingress_denied)" -ge 2 ]
	[ "$(stat_of "$CID" egress_denied)" = 0 ]
	wait_net_record "$CID" ".direction == \"ingress\" and .protocol == \"tcp\" and .port == 8081
		and .addr == \"$PEER4\" and .action == \"deny\""
	wait_net_record "$CID" ".direction == \"ingress\" and .port == 8081 and .addr == \"$PEER6\""
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
}

@test "ingress udp: datagrams to allowed ports are answered, others dropped" {
	requires netns
	netns_pair
	net_policy net "{\"network\": {
		\"egress\": {\"default\": \"deny\"},
		\"ingress\": {\"default\": \"deny\", \"rules\": [
			{\"action\": \"allow\", \"cidr\": \"$PEER4/32\", \"protocol\": \"udp\", \"ports\": \"5353\"},
			{\"action\": \"allow\", \"cidr\": \"fd0c:bf::/64\", \"protocol\": \"udp\", \"ports\": \"5353\"},
			{\"action\": \"deny\", \"cidr\": \"$PEER6B/128\"}]}}}"
	set_cmd sh -c 'nettool listen-udp :: 5353 & nettool listen-udp :: 5354 & sleep 300'
	runc_run -d "$CID"
	assert_success
	wait_for 50 0.1 ip netns exec "$NET_CTR" sh -c 'ss -Hlun | grep -q ":5354 "'

	peer_nettool udp "$CTR4" 5353 1500
	assert_success
	peer_nettool udpc "$CTR6" 5353 1500
	assert_success
	peer_nettool udp "$CTR4" 5354 1000
	assert_output --regexp '^timeout '
	# from the peer's other address: not in the /32
	NETTOOL_SRC=$PEER4B peer_nettool udp "$CTR4" 5353 1000
	assert_output --regexp '^timeout '
	# deny beats allow: the /128 deny inside the allowed /64
	NETTOOL_SRC=$PEER6B peer_nettool udp "$CTR6" 5353 1000
	assert_output --regexp '^timeout '
	NETTOOL_SRC=$PEER6 peer_nettool udp "$CTR6" 5353 1000
	assert_success

	wait_for 50 0.1 eval '[ "$(stat_of "$CID" ingress_denied)" -ge 3 ]'
	wait_net_record "$CID" '.direction == "ingress" and .protocol == "udp" and .port == 5354'
	wait_net_record "$CID" ".direction == \"ingress\" and .addr == \"$PEER4B\" and .port == 5353"
	wait_net_record "$CID" ".direction == \"ingress\" and .addr == \"$PEER6B\" and .port == 5353"
	[ "$(stat_of "$CID" egress_denied)" = 0 ]
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
}

@test "stateful: with ingress default deny the container still gets its answers (tcp, udp, v4, v6)" {
	requires netns
	netns_pair
	peer_listen tcp :: 7000
	peer_listen udp :: 7001
	net_policy net '{"network": {"egress": {"default": "allow"}, "ingress": {"default": "deny"}}}'
	set_cmd sh -c "for a in $PEER4 $PEER6 ::ffff:$PEER4; do
		echo \"tcp \$a: \$(nettool tcp \$a 7000)\"; echo \"udp \$a: \$(nettool udp \$a 7001)\"
		echo \"udpc \$a: \$(nettool udpc \$a 7001)\"; done"
	runc_run "$CID"
	assert_success
	local a
	for a in "$PEER4" "$PEER6" "::ffff:$PEER4"; do
		assert_result "tcp $a" ok
		assert_result "udp $a" ok
		assert_result "udpc $a" ok
	done
	assert_stopped "$CID"
	run jq -e -s '.[-1].stats | .ingress_denied == 0 and .egress_denied == 0' "$(audit_log "$CID")"
	assert_success
}

@test "default deny both ways: nothing gets out, nothing gets in" {
	requires netns
	netns_pair
	add_cap CAP_NET_RAW
	peer_listen tcp :: 7000
	peer_listen udp :: 7001
	net_policy net '{"network": {"egress": {"default": "deny"}, "ingress": {"default": "deny"}}}'
	set_cmd sh -c "nettool listen-tcp :: 8080 & sleep 1
		for a in $PEER4 $PEER6; do
		echo \"tcp \$a: \$(nettool tcp \$a 7000)\"; echo \"udp \$a: \$(nettool udp \$a 7001)\"
		echo \"udpc \$a: \$(nettool udpc \$a 7001)\"; done
		ping -c 1 -W 1 $PEER4 >/dev/null 2>&1; echo \"ping: \$?\"
		echo \"loopback: \$(nettool tcp 127.0.0.1 8080)\"
		sleep 300"
	runc_run -d "$CID"
	assert_success
	wait_for 50 0.1 ip netns exec "$NET_CTR" sh -c 'ss -Hltn | grep -q ":8080 "'
	peer_nettool tcp "$CTR4" 8080 1000
	assert_output --regexp '^timeout '
	wait_for 100 0.1 grep -q '^loopback:' "$BATS_TEST_TMPDIR/$CID.stdio"
	run cat "$BATS_TEST_TMPDIR/$CID.stdio"
	local a
	for a in "$PEER4" "$PEER6"; do
		assert_result "tcp $a" EPERM
		assert_result "udp $a" EPERM
		assert_result "udpc $a" EPERM
	done
	assert_line "ping: 1"
	assert_result loopback EPERM
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
}

# mptcp_peer: the test host reads MPTCP connections on port 7000 (every address) and advertises
# $PEER4B and $PEER6B (ADD_ADDR); the container's namespace accepts the addresses a peer
# advertises, so that the kernel's path manager opens subflows to them (as a container
# with CAP_NET_ADMIN in its namespace can set up itself).
mptcp_peer() {
	[ "$(sysctl -n net.mptcp.enabled 2>/dev/null)" = 1 ] || skip "test requires MPTCP"
	ip -n "$NET_PEER" mptcp endpoint add "$PEER4B" signal
	ip -n "$NET_PEER" mptcp endpoint add "$PEER6B" signal
	ip -n "$NET_PEER" mptcp limits set subflows 4 add_addr_accepted 4
	ip -n "$NET_CTR" mptcp limits set subflows 4 add_addr_accepted 4
	local out=$BATS_TEST_TMPDIR/mptcp-sink.out
	NETTOOL_MPTCP=1 ip netns exec "$NET_PEER" "$NETTOOL" sink :: 7000 >"$out" 2>&1 3>&- &
	echo "$!" >>"$NET_PIDS"
	wait_for 50 0.05 grep -q listening "$out" 2>/dev/null || fail "MPTCP sink: $(cat "$out")"
}

# mptcp_case RUNTIME: a container under RUNTIME makes MPTCP connections to the test host,
# which advertises $PEER4B (denied) and $PEER6B (allowed).
mptcp_case() {
	requires netns
	netns_pair
	mptcp_peer
	net_policy net "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"deny\", \"cidr\": \"$PEER4B\"}]}}}"
	set_cmd sh -c "export NETTOOL_MPTCP=1
		echo \"direct $PEER4B: \$(nettool tcp $PEER4B 7000)\"
		echo \"direct $PEER6B: \$(nettool tcp $PEER6B 7000)\"
		echo \"v4: \$(NETTOOL_HOLD_MS=2000 nettool tcp $PEER4 7000 | tr '\n' ' ')\"
		echo \"v6: \$(NETTOOL_HOLD_MS=2000 nettool tcp $PEER6 7000 | tr '\n' ' ')\""
	"$1_run" "$CID"
	assert_success
	assert_result "direct $PEER4B" EPERM
	assert_result "direct $PEER6B" ok
	# established subflows: the first, and for v6 the one to PEER6B (which shows that the
	# kernel does open the advertised subflows from the container); the SYNs of the v4 one
	# to PEER4B (and of the v6 one's to ::ffff:PEER4B) never leave
	assert_line --regexp "^v4: subflows 1 ok [0-9]+ms \$"
	assert_line --regexp "^v6: subflows 2 ok [0-9]+ms \$"
	assert_stopped "$CID"
	# the direct connect (with its process) and the subflows' SYNs (a kernel worker's: no
	# process) are denials to PEER4B; nothing else is
	run jq -e -s --arg b "$PEER4B" '[.[] | select(.type == "net")] as $n
		| ($n | all(.addr == $b and .direction == "egress" and .protocol == "tcp" and .port == 7000))
		and ($n | any(.comm == "nettool")) and ($n | any(has("pid") | not))
		and .[-1].stats.egress_denied >= 2' "$(audit_log "$CID")"
	assert_success
}

@test "mptcp: connects are decided like tcp; the subflows the kernel opens to addresses the peer advertises are held to the policy" {
	mptcp_case runc
}

@test "crun: mptcp subflows the kernel opens to addresses the peer advertises are held to the policy" {
	requires crun
	mptcp_case crun
}

@test "a hostile neighbour's datagrams to 40,000 destinations do not cost another container the answer it waits for" {
	local p
	p=$(free_ports 1)
	# a slow server: it answers after 3 s (a resolver asking upstream)
	NETTOOL_ECHO_DELAY_MS=3000 host_listen udp 127.0.0.1 "$p"
	net_policy net '{"network": {"egress": {"default": "allow"}, "ingress": {"default": "deny"}}}'
	use_host_network
	set_cmd sleep 300
	runc_run -d "$CID-n"
	assert_success
	runc_run -d "$CID-h"
	assert_success
	# the neighbour asks; while it waits, the other sends one datagram to each of 40,000
	# addresses (allowed: egress allows all)
	local out=$BATS_TEST_TMPDIR/neighbour.out
	__runc exec "$CID-n" nettool udp 127.0.0.1 "$p" 10000 >"$out" 2>&1 &
	local w=$!
	sleep 0.5
	run __runc exec "$CID-h" nettool spray-udp 127.100.0.1 9 40000
	assert_output "EPERM 0"
	wait "$w" || true
	grep -q '^ok' "$out" || fail "the neighbour lost its answer: $(cat "$out")"
	runc_cmd delete -f "$CID-n"
	assert_success
	runc_cmd delete -f "$CID-h"
	assert_success
	assert_stopped "$CID-n"
	assert_stopped "$CID-h"
}

# --- lifecycle -------------------------------------------------------------------------

@test "rules are in the maps while the container runs; after it stops its summary goes and the policy is kept unused" {
	# the policies earlier tests of this file left kept go (the account below counts them)
	ocibpf gc --unload
	assert_success
	net_policy net '{"network": {"egress": {"default": "deny", "rules": [
		{"action": "allow", "cidr": "10.0.0.0/8", "protocol": "tcp", "ports": "80,443"}]}}}'
	use_host_network
	set_cmd sleep 300
	runc_run -d "$CID"
	assert_success
	local cgid id
	cgid=$(jq -r .cgroup_id "$(state_file "$CID")")
	net_rules_loaded "$cgid" || fail "no policy for cgroup $cgid in $SET_MAPS/ocibpf_net_meta"
	id=$(policy_id_of "$cgid")
	[ "$(registry_refs "$id")" = 1 ] || fail "policy $id: refs $(registry_refs "$id"), want 1"
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
	! net_rules_loaded "$cgid" || fail "policy for cgroup $cgid left in the maps"
	# its compiled entries are kept for the next container of the policy, used by none
	[ "$(registry_refs "$id")" = 0 ] || fail "policy $id: refs $(registry_refs "$id"), want 0 (kept)"
	[ "$(kept_account)" = "1 $(policy_entries "$id")" ] || fail "account of kept policies: '$(kept_account)'"
	# the next container of it takes it: nothing is kept, and the account takes no slot
	runc_run -d "$CID-2"
	assert_success
	[ "$(registry_refs "$id")" = 1 ] || fail "policy $id: refs $(registry_refs "$id"), want 1"
	[ -z "$(kept_account)" ] || fail "the account of kept policies stays with none kept: '$(kept_account)'"
	runc_cmd delete -f "$CID-2"
	assert_success
	[ "$(kept_account)" = "1 $(policy_entries "$id")" ] || fail "account of kept policies: '$(kept_account)'"
}

# kept_account: "POLICIES ENTRIES" of the account of kept policies (registry id 0), "" when
# there is none.
kept_account() {
	set_maps_dir
	bpftool -j map dump pinned "$SET_MAPS/ocibpf_net_registry" |
		jq -r '.[] | (.formatted // .) | select(.key == 0) | "\(.value.refs) \(.value.n_entries)"'
}

# registry: "ID REFS" of every registered policy (the account of the kept ones, id 0, left out).
registry() {
	set_maps_dir
	bpftool -j map dump pinned "$SET_MAPS/ocibpf_net_registry" |
		jq -r '.[] | (.formatted // .) | select(.key != 0) | "\(.key) \(.value.refs)"'
}

# registry_refs POLICY-ID: its count of users ("" when not registered).
registry_refs() {
	registry | awk -v id="$1" '$1 == id { print $2 }'
}

# policy_id_of CGROUP-ID: the policy id in the container's summary (ocibpf_net_meta).
policy_id_of() {
	set_maps_dir
	bpftool -j map lookup pinned "$SET_MAPS/ocibpf_net_meta" key $(u64_bytes "$1") |
		jq -r '(.formatted.value // .value).policy'
}

# exec_tcp ID PORT: connect from inside running container ID to 127.0.0.1:PORT.
exec_tcp() {
	__runc exec "$1" nettool tcp 127.0.0.1 "$2" 5000
}

# deny_port_policy NAME PORT: egress allowed but tcp to 127.0.0.1:PORT.
deny_port_policy() {
	write_policy "$1" "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"deny\", \"cidr\": \"127.0.0.1/32\", \"protocol\": \"tcp\", \"ports\": \"$2\"}]}}}"
}

@test "containers with the same policy share its entries; one stopping leaves the other enforced" {
	local p
	p=$(free_ports 2)
	host_listen tcp 127.0.0.1 "$p"
	host_listen tcp 127.0.0.1 $((p + 1))
	deny_port_policy deny-a "$p"
	deny_port_policy deny-b $((p + 1))
	use_host_network
	set_cmd sleep 300
	local id na nb
	declare -A cg pid

	set_policy deny-a
	runc_run -d "$CID-a1"
	assert_success
	cg[a1]=$(jq -r .cgroup_id "$(state_file "$CID-a1")")
	pid[a1]=$(policy_id_of "${cg[a1]}")
	na=$(policy_entries "${pid[a1]}")
	[ "$na" -gt 0 ] || fail "no entries of deny-a in the trie"
	runc_run -d "$CID-a2"
	assert_success
	cg[a2]=$(jq -r .cgroup_id "$(state_file "$CID-a2")")
	# the same policy: the same id, nothing written again
	pid[a2]=$(policy_id_of "${cg[a2]}")
	[ "${pid[a1]}" != 0 ] && [ "${pid[a1]}" = "${pid[a2]}" ] ||
		fail "policy ids ${pid[a1]} and ${pid[a2]} for the same policy"
	[ "$(policy_entries "${pid[a1]}")" = "$na" ] ||
		fail "the second container wrote entries again: $na -> $(policy_entries "${pid[a1]}")"
	[ "$(registry_refs "${pid[a1]}")" = 2 ] || fail "deny-a: $(registry_refs "${pid[a1]}") users, want 2"

	set_policy deny-b
	runc_run -d "$CID-b"
	assert_success
	cg[b]=$(jq -r .cgroup_id "$(state_file "$CID-b")")
	pid[b]=$(policy_id_of "${cg[b]}")
	[ "${pid[b]}" != "${pid[a1]}" ] || fail "two policies share id ${pid[b]}"
	nb=$(policy_entries "${pid[b]}")
	[ "$nb" -gt 0 ] || fail "no entries for the second policy"

	# each enforces its own policy
	for id in a1 a2; do
		run exec_tcp "$CID-$id" "$p"
		assert_output --regexp '^EPERM'
		run exec_tcp "$CID-$id" $((p + 1))
		assert_output --regexp '^ok'
	done
	run exec_tcp "$CID-b" "$p"
	assert_output --regexp '^ok'
	run exec_tcp "$CID-b" $((p + 1))
	assert_output --regexp '^EPERM'

	# one user of deny-a stops: the other is still held to it, its entries stay
	runc_cmd delete -f "$CID-a1"
	assert_success
	assert_stopped "$CID-a1"
	[ "$(policy_entries "${pid[a1]}")" = "$na" ] || fail "entries removed while a container uses them"
	run exec_tcp "$CID-a2" "$p"
	assert_output --regexp '^EPERM'
	run exec_tcp "$CID-a2" $((p + 1))
	assert_output --regexp '^ok'

	# the last user of deny-a stops: its entries are kept, used by none; deny-b holds
	# (another test's kept policy may make room for it: at most 16 are kept)
	runc_cmd delete -f "$CID-a2"
	assert_success
	assert_stopped "$CID-a2"
	[ "$(policy_entries "${pid[a1]}")" = "$na" ] ||
		fail "after deny-a's last user: $(policy_entries "${pid[a1]}") of its entries, want $na (kept)"
	[ "$(registry_refs "${pid[a1]}")" = 0 ] || fail "deny-a: $(registry_refs "${pid[a1]}") users, want 0"
	run exec_tcp "$CID-b" $((p + 1))
	assert_output --regexp '^EPERM'
	run exec_tcp "$CID-b" "$p"
	assert_output --regexp '^ok'

	# the next container of deny-a takes the kept entries: nothing written, held to them
	set_policy deny-a
	runc_run -d "$CID-a3"
	assert_success
	[ "$(policy_id_of "$(jq -r .cgroup_id "$(state_file "$CID-a3")")")" = "${pid[a1]}" ] ||
		fail "deny-a compiled again under another id"
	[ "$(policy_entries "${pid[a1]}")" = "$na" ] ||
		fail "the kept policy was written again: $na -> $(policy_entries "${pid[a1]}")"
	[ "$(registry_refs "${pid[a1]}")" = 1 ] || fail "deny-a: $(registry_refs "${pid[a1]}") users, want 1"
	run exec_tcp "$CID-a3" "$p"
	assert_output --regexp '^EPERM'
	run exec_tcp "$CID-a3" $((p + 1))
	assert_output --regexp '^ok'

	runc_cmd delete -f "$CID-a3"
	assert_success
	runc_cmd delete -f "$CID-b"
	assert_success
	assert_stopped "$CID-a3"
	assert_stopped "$CID-b"
	[ "$(registry_refs "${pid[a1]}")" = 0 ] && [ "$(registry_refs "${pid[b]}")" = 0 ] ||
		fail "registry after the last containers: $(registry)"
	# gc keeps them and says nothing of them
	ocibpf gc --json
	assert_success
	jq -e 'all(.[]; .removed != "network-policy")' <<<"$output" >/dev/null ||
		fail "gc removed a kept policy: $output"
	[ "$(policy_entries "${pid[a1]}")" = "$na" ] && [ "$(policy_entries "${pid[b]}")" = "$nb" ] ||
		fail "gc removed kept entries: $(registry)"
}

@test "a policy file edited between two containers: the second is held to the new rules, not the kept ones" {
	local p
	p=$(free_ports 2)
	host_listen tcp 127.0.0.1 "$p"
	host_listen tcp 127.0.0.1 $((p + 1))
	deny_port_policy edited "$p"
	use_host_network
	set_cmd sleep 300
	set_policy edited
	runc_run -d "$CID-1"
	assert_success
	run exec_tcp "$CID-1" "$p"
	assert_output --regexp '^EPERM'
	runc_cmd delete -f "$CID-1"
	assert_success

	deny_port_policy edited $((p + 1))
	runc_run -d "$CID-2"
	assert_success
	run exec_tcp "$CID-2" "$p"
	assert_output --regexp '^ok'
	run exec_tcp "$CID-2" $((p + 1))
	assert_output --regexp '^EPERM'
	runc_cmd delete -f "$CID-2"
	assert_success
	assert_stopped "$CID-1"
	assert_stopped "$CID-2"
}

@test "a policy file edited while a container of it runs: the running one keeps the old rules, the next gets the new, each counted apart" {
	local p
	p=$(free_ports 2)
	host_listen tcp 127.0.0.1 "$p"
	host_listen tcp 127.0.0.1 $((p + 1))
	use_host_network
	set_cmd sleep 300
	set_policy live
	deny_port_policy live "$p"
	runc_run -d "$CID-old"
	assert_success
	deny_port_policy live $((p + 1))
	runc_run -d "$CID-new"
	assert_success
	local old new
	old=$(policy_id_of "$(jq -r .cgroup_id "$(state_file "$CID-old")")")
	new=$(policy_id_of "$(jq -r .cgroup_id "$(state_file "$CID-new")")")
	[ "$old" != "$new" ] || fail "both versions of the file under policy $old"
	run exec_tcp "$CID-old" "$p"
	assert_output --regexp '^EPERM'
	run exec_tcp "$CID-old" $((p + 1))
	assert_output --regexp '^ok'
	run exec_tcp "$CID-new" "$p"
	assert_output --regexp '^ok'
	run exec_tcp "$CID-new" $((p + 1))
	assert_output --regexp '^EPERM'
	# the old version's last container stops: kept; the new one is untouched
	runc_cmd delete -f "$CID-old"
	assert_success
	assert_stopped "$CID-old"
	[ "$(registry_refs "$old")" = 0 ] && [ "$(registry_refs "$new")" = 1 ] || fail "registry: $(registry)"
	run exec_tcp "$CID-new" $((p + 1))
	assert_output --regexp '^EPERM'
	run exec_tcp "$CID-new" "$p"
	assert_output --regexp '^ok'
	# the file as it is now: one more user of the new version, none of the kept old one
	runc_run -d "$CID-new2"
	assert_success
	[ "$(policy_id_of "$(jq -r .cgroup_id "$(state_file "$CID-new2")")")" = "$new" ] || fail "new2 not under $new"
	[ "$(registry_refs "$old")" = 0 ] && [ "$(registry_refs "$new")" = 2 ] || fail "registry: $(registry)"
	run exec_tcp "$CID-new2" "$p"
	assert_output --regexp '^ok'
	runc_cmd delete -f "$CID-new"
	assert_success
	runc_cmd delete -f "$CID-new2"
	assert_success
	assert_stopped "$CID-new"
	assert_stopped "$CID-new2"
	[ "$(registry_refs "$new")" = 0 ] || fail "registry: $(registry)"
}

@test "at most 16 policies are kept unused: the one unused longest goes first, its entries with it" {
	use_host_network
	set_cmd sleep 300
	local i ids=()
	for i in $(seq 0 17); do
		write_policy "keep-$i" "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
			{\"action\": \"deny\", \"cidr\": \"10.$i.0.0/16\", \"protocol\": \"tcp\", \"ports\": \"1-$((1000 + i))\"}]}}}"
	done
	for i in $(seq 0 17); do
		set_policy "keep-$i"
		runc_run -d "$CID-$i"
		assert_success
		ids+=("$(policy_id_of "$(jq -r .cgroup_id "$(state_file "$CID-$i")")")")
		runc_cmd delete -f "$CID-$i"
		assert_success
		assert_stopped "$CID-$i"
	done
	local kept
	kept=$(registry | awk '$2 == 0' | wc -l)
	[ "$kept" -le 16 ] || fail "$kept policies kept unused: $(registry)"
	# the last 16 are kept, the two unused longest are gone
	for i in 0 1; do
		[ -z "$(registry_refs "${ids[$i]}")" ] || fail "keep-$i (${ids[$i]}) still kept: $(registry)"
		[ ! -e "$(ls -d "$BPFFS_DIR"/sets/*/netpolicy | head -n 1)/$(printf '%08x' "${ids[$i]}")" ] ||
			fail "keep-$i's key list still pinned"
	done
	for i in $(seq 2 17); do
		[ "$(registry_refs "${ids[$i]}")" = 0 ] || fail "keep-$i (${ids[$i]}) not kept: $(registry)"
	done
	# no entry of the ones gone is left in the trie; the kept ones have theirs
	for i in 0 1; do
		[ "$(policy_entries "${ids[$i]}")" = 0 ] || fail "trie entries of keep-$i left"
	done
	[ "$(policy_entries "${ids[17]}")" -gt 0 ] || fail "no trie entries of keep-17 (kept)"
}

@test "eviction never takes the entries of a running container's policy, kept once and the oldest registered" {
	local p i id n
	p=$(free_ports 2)
	host_listen tcp 127.0.0.1 "$p"
	host_listen tcp 127.0.0.1 $((p + 1))
	deny_port_policy held "$p"
	for i in $(seq 0 17); do
		write_policy "press-$i" "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
			{\"action\": \"deny\", \"cidr\": \"10.$i.0.0/16\", \"protocol\": \"udp\", \"ports\": \"53\"}]}}}"
	done
	use_host_network
	# held is kept once (unused longest of all), then in use again by a running container
	set_policy held
	set_cmd true
	runc_run "$CID-first"
	assert_success
	set_cmd sleep 300
	runc_run -d "$CID-held"
	assert_success
	id=$(policy_id_of "$(jq -r .cgroup_id "$(state_file "$CID-held")")")
	n=$(policy_entries "$id")
	# 18 other policies, one container at a time: the keep overflows twice
	set_cmd true
	for i in $(seq 0 17); do
		set_policy "press-$i"
		runc_run "$CID-$i"
		assert_success
	done
	[ "$(registry_refs "$id")" = 1 ] && [ "$(policy_entries "$id")" = "$n" ] ||
		fail "held: $(registry_refs "$id") users, $(policy_entries "$id") of $n entries"
	run exec_tcp "$CID-held" "$p"
	assert_output --regexp '^EPERM'
	run exec_tcp "$CID-held" $((p + 1))
	assert_output --regexp '^ok'
	runc_cmd delete -f "$CID-held"
	assert_success
	assert_stopped "$CID-held"
	[ "$(registry_refs "$id")" = 0 ] || fail "held not kept after its container: $(registry)"
}

# run_counted: container $CID running with a small policy of its own; COUNTED_CGID is its
# cgroup id, COUNTED_ID its policy's id (in the trie and counted).
run_counted() {
	net_policy net '{"network": {"egress": {"default": "deny", "rules": [
		{"action": "allow", "cidr": "192.0.2.0/24", "protocol": "udp", "ports": "4242"}]}}}'
	use_host_network
	set_cmd sleep 300
	runc_run -d "$CID"
	assert_success
	COUNTED_CGID=$(jq -r .cgroup_id "$(state_file "$CID")")
	COUNTED_ID=$(policy_id_of "$COUNTED_CGID")
	[ "$(policy_entries "$COUNTED_ID")" -gt 0 ] || fail "no entries of policy $COUNTED_ID in the trie"
}

# gc_removes_policy ID: ocibpf gc says it removed policy ID, and it is not registered.
gc_removes_policy() {
	ocibpf gc --json
	assert_success
	jq -e --arg id "$(printf '%08x' "$1")" 'any(.[]; .removed == "network-policy" and .id == $id)' <<<"$output"
	[ -z "$(registry_refs "$1")" ] || fail "policy $1 still registered after gc: $(registry)"
}

@test "ocibpf gc removes a policy whose count a killed hook left too high" {
	local COUNTED_CGID COUNTED_ID
	run_counted
	local cgid=$COUNTED_CGID id=$COUNTED_ID
	# as if a hook was killed between counting itself in and writing the summary
	set_maps_dir
	bpftool map delete pinned "$SET_MAPS/ocibpf_net_meta" key $(u64_bytes "$cgid")
	runc_cmd delete -f "$CID"
	assert_success
	[ "$(registry_refs "$id")" = 1 ] || fail "expected the leak this test makes: $(registry)"
	gc_removes_policy "$id"
	[ "$(policy_entries "$id")" = 0 ] || fail "entries of policy $id left after gc: $(policy_entries "$id")"
}

@test "a poststop that can't take the policies' lock still removes the container's summary, and leaves its policy's count to ocibpf gc" {
	local COUNTED_CGID COUNTED_ID
	run_counted
	local cgid=$COUNTED_CGID id=$COUNTED_ID dir
	set_maps_dir
	dir=$(dirname "$SET_MAPS")/netpolicy
	[ -d "$dir" ] || fail "no $dir"
	# the lock's directory is a pinned map now, not a directory: the lock can't be taken
	mv "$dir" "$dir-away"
	bpftool map pin pinned "$SET_MAPS/ocibpf_net_meta" "$dir"
	runc_cmd delete -f "$CID"
	local rc=$status
	rm -f "$dir"
	mv "$dir-away" "$dir"
	[ "$rc" = 0 ] || fail "runc delete: $output"
	# the summary went (the cgroup's lookups deny); the count was not touched without the
	# lock (a release racing another container's start could leave a used policy
	# evictable): one too high, until gc recounts it
	! net_rules_loaded "$cgid" || fail "the container's summary is still in the maps"
	[ "$(registry_refs "$id")" = 1 ] || fail "policy $id counted: $(registry)"
	gc_removes_policy "$id"
}

# big_policy NAME PORT: egress allowed but tcp to 127.0.0.1:PORT, and 10,000 denies on
# 200.x.y.0/24 (after 127.0.0.1 in the trie's order: the family's /0 first, then by address).
big_policy() {
	jq -n --argjson p "$2" '{network: {egress: {default: "allow", rules: (
		[range(0; 10000) | {action: "deny", cidr: "200.\(. / 256 | floor).\(. % 256).0/24",
		   protocol: "tcp", ports: "22"}]
		+ [{action: "deny", cidr: "127.0.0.1/32", protocol: "tcp", ports: "\($p)"}])}}}' |
		write_policy "$1"
}

@test "a hook killed half way through evicting a kept policy: the next container of that policy is held to all of its rules" {
	command -v gcc >/dev/null || skip "test requires gcc"
	local killer=$BATS_TEST_TMPDIR/bpf-kill mark=$BATS_TEST_TMPDIR/killed
	gcc -O2 -o "$killer" "$INTEGRATION_ROOT/bpf-kill.c"
	# a set of its own: the policies other tests kept would be evicted first
	local BPFFS_DIR
	BPFFS_DIR=$(new_bpffs_dir)
	update_host_config '.bpffs_dir = $d' --arg d "$BPFFS_DIR"
	local p i id n
	p=$(free_ports 2)
	host_listen tcp 127.0.0.1 "$p"
	host_listen tcp 127.0.0.1 $((p + 1))
	big_policy big $((p + 1))
	for i in $(seq 1 16); do
		write_policy "small-$i" "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
			{\"action\": \"deny\", \"cidr\": \"10.$i.0.0/16\", \"protocol\": \"tcp\", \"ports\": \"22\"}]}}}"
	done
	use_host_network
	set_cmd sh -c "for port in $p $((p + 1)); do echo \"\$port: \$(nettool tcp 127.0.0.1 \$port)\"; done"

	# big's last container stops: kept, the one unused longest; 15 more make the keep full
	set_policy big
	runc_run "$CID-big1"
	assert_success
	assert_result "$p" ok
	assert_result "$((p + 1))" EPERM
	id=$(registry | awk '{ print $1 }')
	n=$(policy_entries "$id")
	[ "$n" -gt 10000 ] && [ "$(registry_refs "$id")" = 0 ] || fail "big not kept: $(registry), $n entries"
	set_cmd true
	for i in $(seq 1 15); do
		set_policy "small-$i"
		runc_run "$CID-s$i"
		assert_success
	done
	[ "$(registry | wc -l)" = 16 ] || fail "want 16 kept: $(registry)"

	# the 17th policy's poststop evicts big, and is SIGKILLed in its 3000th map delete
	update_config '.hooks.poststop |= map(.path = $k | .args = ["bpf-kill", "delete", "3000", $m, $h, "poststop"])' \
		--arg k "$killer" --arg m "$mark" --arg h "$OCIBPF_HOOK"
	set_policy small-16
	runc_run "$CID-s16"
	[ -e "$mark" ] || fail "the poststop hook was not killed: $output"
	update_config '.hooks.poststop |= map(.path = $h | .args = ["ocibpf-hook", "poststop"])' --arg h "$OCIBPF_HOOK"
	local left
	left=$(policy_entries "$id")
	[ "$left" -gt 0 ] && [ "$left" -lt "$n" ] || fail "not killed in big's removal: $left of $n entries left"

	# the next container of big: every one of its rules holds
	set_policy big
	set_cmd sh -c "for port in $p $((p + 1)); do echo \"\$port: \$(nettool tcp 127.0.0.1 \$port)\"; done; sleep 300"
	runc_run -d "$CID-big2"
	assert_success
	local cg pid
	cg=$(jq -r .cgroup_id "$(state_file "$CID-big2")")
	pid=$(policy_id_of "$cg")
	run exec_tcp "$CID-big2" "$p"
	assert_output --regexp '^ok'
	run exec_tcp "$CID-big2" $((p + 1))
	assert_output --regexp '^EPERM'
	[ "$(policy_entries "$pid")" = "$n" ] || fail "big in force with $(policy_entries "$pid") of its $n entries"

	# gc puts right what the killed hook left; big stays in force
	ocibpf gc
	assert_success
	[ "$(registry_refs "$pid")" = 1 ] || fail "big after gc: $(registry)"
	run exec_tcp "$CID-big2" "$p"
	assert_output --regexp '^ok'
	runc_cmd delete -f "$CID-big2"
	assert_success
	assert_stopped "$CID-big2"
	ocibpf gc --unload
	assert_success
	[ ! -e "$BPFFS_DIR" ] || fail "$BPFFS_DIR left after gc --unload: $(find "$BPFFS_DIR")"
}

@test "hooks killed half way through writing a policy's entries: the next container of it is held to all of them, gc removes what another left" {
	command -v gcc >/dev/null || skip "test requires gcc"
	local killer=$BATS_TEST_TMPDIR/bpf-kill mark=$BATS_TEST_TMPDIR/killed
	gcc -O2 -o "$killer" "$INTEGRATION_ROOT/bpf-kill.c"
	local BPFFS_DIR
	BPFFS_DIR=$(new_bpffs_dir)
	update_host_config '.bpffs_dir = $d' --arg d "$BPFFS_DIR"
	local p
	p=$(free_ports 3)
	host_listen tcp 127.0.0.1 "$p"
	host_listen tcp 127.0.0.1 $((p + 1))
	big_policy big $((p + 1))
	big_policy other $((p + 2))
	use_host_network
	set_cmd sh -c "for port in $p $((p + 1)); do echo \"\$port: \$(nettool tcp 127.0.0.1 \$port)\"; done"
	# ocibpf load first, so that the 3000th map write is one of the policy's
	ocibpf load --no-collector
	assert_success

	# createRuntime SIGKILLed in its 3000th map write, for big then for other
	update_config '.hooks.createRuntime |= map(.path = $k | .args = ["bpf-kill", "update", "3000", $m, $h, "createRuntime"])' \
		--arg k "$killer" --arg m "$mark" --arg h "$OCIBPF_HOOK"
	local pol
	for pol in big other; do
		rm -f "$mark"
		set_policy "$pol"
		runc_run "$CID-$pol-killed"
		assert_failure
		[ -e "$mark" ] || fail "the createRuntime hook of $pol was not killed: $output"
	done
	update_config '.hooks.createRuntime |= map(.path = $h | .args = ["ocibpf-hook", "createRuntime"])' --arg h "$OCIBPF_HOOK"
	[ -z "$(registry)" ] || fail "a policy registered by a killed hook: $(registry)"
	local keys
	keys=$(ls "$BPFFS_DIR"/sets/*/netpolicy)
	[ "$(wc -w <<<"$keys")" = 2 ] || fail "want the key lists of big and other left: $keys"

	# the next container of big: all of its rules
	set_policy big
	set_cmd sh -c "for port in $p $((p + 1)); do echo \"\$port: \$(nettool tcp 127.0.0.1 \$port)\"; done; sleep 300"
	runc_run -d "$CID-big"
	assert_success
	local id n
	id=$(policy_id_of "$(jq -r .cgroup_id "$(state_file "$CID-big")")")
	run exec_tcp "$CID-big" "$p"
	assert_output --regexp '^ok'
	run exec_tcp "$CID-big" $((p + 1))
	assert_output --regexp '^EPERM'
	n=$(policy_entries "$id")
	[ "$n" -gt 10000 ] || fail "big in force with $n entries"

	# gc removes other's half-written entries and key list, and the records of the killed starts
	ocibpf gc --json
	assert_success
	local other
	other=$(grep -vx "$(printf '%08x' "$id")" <<<"$keys")
	jq -e --arg id "$other" 'any(.[]; .removed == "network-policy" and .id == $id)' <<<"$output" >/dev/null ||
		fail "gc did not remove other's key list $other: $output"
	[ "$(policy_entries $((16#$other)))" = 0 ] || fail "entries of other left: $(policy_entries $((16#$other)))"
	[ ! -e "$(ls -d "$BPFFS_DIR"/sets/*/netpolicy)/$other" ] || fail "other's key list left"
	[ "$(policy_entries "$id")" = "$n" ] && [ "$(registry_refs "$id")" = 1 ] ||
		fail "big after gc: $(policy_entries "$id") entries, $(registry)"
	runc_cmd delete -f "$CID-big"
	assert_success
	assert_stopped "$CID-big"
	ocibpf gc --unload
	assert_success
	[ ! -e "$BPFFS_DIR" ] || fail "$BPFFS_DIR left after gc --unload: $(find "$BPFFS_DIR")"
}

@test "ocibpf gc and gc --unload in a loop while three workers start and stop containers of three kept policies (runc, crun): each held to its policy from its first connect, nothing left" {
	requires crun
	local p i w
	p=$(free_ports 2)
	host_listen tcp 127.0.0.1 "$p"
	host_listen tcp 127.0.0.1 $((p + 1))
	for i in 0 1 2; do
		write_policy "race-$i" "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
			{\"action\": \"deny\", \"cidr\": \"127.0.0.1/32\", \"protocol\": \"tcp\", \"ports\": \"$((p + i % 2))\"},
			{\"action\": \"deny\", \"cidr\": \"10.$i.0.0/16\", \"protocol\": \"tcp\", \"ports\": \"1-100\"}]}}}"
	done
	use_host_network
	set_cmd sh -c "for port in $p $((p + 1)); do echo \"\$port: \$(nettool tcp 127.0.0.1 \$port)\"; done"
	local stop=$BATS_TEST_TMPDIR/stop gclog=$BATS_TEST_TMPDIR/gc.log
	(
		while [ ! -e "$stop" ]; do
			"$OCIBPF_CLI" gc >>"$gclog" 2>&1 || echo "gc: status $?" >>"$gclog"
			"$OCIBPF_CLI" gc --unload >>"$gclog" 2>&1 || echo "gc --unload: status $?" >>"$gclog"
		done
	) 3>&- &
	local gcpid=$!
	# worker W: 12 containers, one at a time, each of another policy, runc and crun in turn
	worker() {
		local w=$1 b=$BATS_TEST_TMPDIR/bundle-$1 i pol rt out
		cp -a "$BUNDLE" "$b"
		for i in $(seq 0 11); do
			pol=$(((i + w) % 3))
			jq --arg k "$POLICY_ANNOTATION" --arg v "race-$pol" '.annotations[$k] = $v' "$b/config.json" >"$b/config.tmp" &&
				mv "$b/config.tmp" "$b/config.json"
			rt=__runc
			[ $(((i + w) % 2)) = 0 ] || rt=__crun
			out=$("$rt" run -b "$b" "$CID-$w-$i" 2>&1)
			grep -qx "$((p + pol % 2)): EPERM [0-9]*ms" <<<"$out" &&
				grep -qx "$((p + 1 - pol % 2)): ok [0-9]*ms" <<<"$out" ||
				echo "${rt#__} $CID-$w-$i (race-$pol): $out"
		done
	}
	local pids=() res=$BATS_TEST_TMPDIR/worker
	for w in 0 1 2; do
		worker "$w" >"$res-$w" 2>&1 3>&- &
		pids+=($!)
	done
	wait "${pids[@]}"
	touch "$stop"
	wait "$gcpid"
	[ -z "$(cat "$res"-*)" ] || fail "containers not held to their policy: $(cat "$res"-*)"
	! grep -q status "$gclog" || fail "gc failed: $(cat "$gclog")"
	ocibpf gc --unload
	assert_success
	[ ! -e "$BPFFS_DIR" ] || fail "$BPFFS_DIR left after gc --unload: $(find "$BPFFS_DIR")"
}

# policy_entries POLICY-ID: how many entries of the policy the trie holds.
policy_entries() {
	set_maps_dir
	bpftool -j map dump pinned "$SET_MAPS/ocibpf_net_policy" |
		jq --argjson id "$1" '[.[] | .formatted.key | select(.policy == $id)] | length'
}

@test "fail closed: when the rules can't be put in force the container is refused" {
	update_host_config '.bpffs_dir = $d' --arg d "$(new_bpffs_dir)"
	local bpffs
	bpffs=$(jq -r .bpffs_dir "$OCIBPF_CONFIG")
	# load the set with a first container, then break it: the policy maps are gone
	net_policy net '{"network": {"egress": {"default": "deny"}}}'
	use_host_network
	set_cmd true
	runc_run "$CID-ok"
	assert_success
	rm "$bpffs"/sets/*/maps/ocibpf_net_policy
	runc_run "$CID"
	assert_failure
	assert_output --partial "ocibpf_net_policy"
	assert_nothing_left "$CID"
	ocibpf gc --unload
	assert_success
	[ ! -e "$bpffs" ] || fail "$bpffs left after gc --unload: $(find "$bpffs")"
}

@test "a 10,000-rule policy loads quickly and is enforced" {
	local p
	p=$(free_ports 2)
	host_listen tcp 127.0.0.1 "$p"
	host_listen tcp 127.0.0.1 $((p + 1))
	# 10,000 denies on 10.x.y.0/24 with ports, and one on loopback
	jq -n --argjson p "$p" '{network: {egress: {default: "allow", rules: (
		[range(0; 9999) | {action: "deny", cidr: "10.\(. / 256 | floor).\(. % 256).0/24",
		   protocol: "tcp", ports: "22,6000-6100"}]
		+ [{action: "deny", cidr: "127.0.0.1/32", protocol: "tcp", ports: "\($p + 1)"}])}}}' |
		write_policy big
	set_policy big
	use_host_network
	set_cmd sh -c "for port in $p $((p + 1)); do echo \"\$port: \$(nettool tcp 127.0.0.1 \$port)\"; done"
	local t0 t1
	t0=$(date +%s%N)
	runc_run "$CID"
	t1=$(date +%s%N)
	assert_success
	assert_result "$p" ok
	assert_result "$((p + 1))" EPERM
	echo "# runc run with a 10,000-rule policy: $(((t1 - t0) / 1000000)) ms" >&3
	assert_stopped "$CID"
}

@test "a process left in the cgroup of a container whose init exited (no pid namespace) is held to the policy through ocibpf gc, until the runtime deletes the container" {
	local p stdio
	p=$(free_ports 2)
	host_listen tcp 127.0.0.1 "$p"
	host_listen tcp 127.0.0.1 $((p + 1))
	deny_port_policy left "$p"
	set_policy left
	use_host_network
	# the host's pid namespace: the kernel does not kill the rest of the cgroup with init
	update_config '.linux.namespaces |= map(select(.type != "pid"))'
	# init starts a process that waits for /go (made by the test in the rootfs), then
	# connects to the denied port and the allowed one; init exits at once
	set_cmd sh -c "setsid sh -c 'while [ ! -e /go ]; do sleep 0.1; done
		for port in $p $((p + 1)); do echo \"\$port: \$(nettool tcp 127.0.0.1 \$port 5000)\"; done
		echo done; sleep 300' </dev/null & exit 0"
	runc_run -d "$CID"
	assert_success
	wait_status runc "$CID" stopped || fail "init did not exit"
	local cg
	cg=$CGROUP2$(jq -r .cgroup "$(state_file "$CID")")
	grep -q '^populated 1$' "$cg/cgroup.events" || fail "nothing left in $cg"
	# an operator's gc (a timer, a script) while the runtime has not deleted the container
	ocibpf gc
	assert_success
	[ -e "$(state_file "$CID")" ] || fail "gc ended the container while a process of it runs: $output"
	# nor does a start of the same id under another runtime root, in a cgroup of its own
	# (runc's is named for the id: its cleanup would kill what is left), nor its poststop
	update_config '.linux.cgroupsPath = $c' --arg c "/$CID-other"
	RUNC_ROOT=$BATS_TEST_TMPDIR/runc-other runc_run "$CID"
	update_config 'del(.linux.cgroupsPath)'
	assert_failure
	assert_output --partial "processes are left in its cgroup"
	[ -e "$(state_file "$CID")" ] || fail "a refused start of the id ended the container: $output"
	touch "$BUNDLE/rootfs/go"
	stdio=$BATS_TEST_TMPDIR/$CID.stdio
	wait_for 100 0.1 grep -q '^done$' "$stdio" || fail "no answer from the process left: $(cat "$stdio")"
	run cat "$stdio"
	assert_result "$p" EPERM
	assert_result "$((p + 1))" ok
	# the runtime's delete kills what is left, then poststop ends the run
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
}

@test "two configurations with one policy file, containers of both at once under runc: each held to it by its own set and cache; gc --unload of one leaves the other's containers held to it" {
	local p conf2 bpffs2 state2 i
	p=$(free_ports 2)
	host_listen tcp 127.0.0.1 "$p"
	host_listen tcp 127.0.0.1 $((p + 1))
	bpffs2=$(new_bpffs_dir)
	state2=$OCIBPF_TEST_ROOT/run-$BATS_TEST_NUMBER-2
	conf2=$OCIBPF_TEST_ROOT/configs/$BATS_TEST_NUMBER-2.json
	jq --arg b "$bpffs2" --arg s "$state2" --arg l "$OCIBPF_TEST_ROOT/log-$BATS_TEST_NUMBER-2" \
		'.bpffs_dir = $b | .state_dir = $s | .log_dir = $l' "$OCIBPF_CONFIG" >"$conf2"
	chmod 0644 "$conf2"
	deny_port_policy both "$p"
	sleep 2.5	# older than the policy cache's racy window: both configurations cache it
	use_host_network
	set_cmd sleep 300
	set_policy both
	# A and B, twice each, interleaved: the second of each from its cache and kept entries
	for i in 1 2; do
		runc_run -d "$CID-a$i"
		assert_success
		setup_busybox_bundle "$BATS_TEST_TMPDIR/bundle-b$i"
		add_nettool
		use_host_network
		set_cmd sleep 300
		set_policy both
		OCIBPF_CONFIG=$conf2 add_hooks
		runc_run -d "$CID-b$i"
		assert_success
		setup_busybox_bundle "$BATS_TEST_TMPDIR/bundle-a$((i + 1))"
		add_nettool
		use_host_network
		set_cmd sleep 300
		set_policy both
		add_hooks
	done
	[ -f "$STATE_DIR/policies/both.cache" ] && [ -f "$state2/policies/both.cache" ] ||
		fail "no cache in either state_dir: $(ls "$STATE_DIR/policies" "$state2/policies")"
	[ -e "$(state_file "$CID-a2")" ] && [ ! -e "$state2/containers/$CID-a2.json" ] &&
		[ -e "$state2/containers/$CID-b2.json" ] && [ ! -e "$(state_file "$CID-b2")" ] ||
		fail "a container recorded by the other configuration"
	for i in a1 a2 b1 b2; do
		run exec_tcp "$CID-$i" "$p"
		assert_output --regexp '^EPERM'
		run exec_tcp "$CID-$i" $((p + 1))
		assert_output --regexp '^ok'
	done
	# B's containers go, then B's set, caches and all
	for i in b1 b2; do
		runc_cmd delete -f "$CID-$i"
		assert_success
	done
	OCIBPF_CONFIG=$conf2 ocibpf gc --unload
	assert_success
	[ ! -e "$bpffs2" ] || fail "$bpffs2 left after gc --unload: $(find "$bpffs2")"
	[ ! -e "$state2/policies/both.cache" ] || fail "B's cache left after its gc --unload"
	[ -f "$STATE_DIR/policies/both.cache" ] || fail "B's gc --unload removed A's cache"
	# A's running containers are still held to the policy, and A's next one too
	runc_run -d "$CID-a3"
	assert_success
	for i in a1 a2 a3; do
		run exec_tcp "$CID-$i" "$p"
		assert_output --regexp '^EPERM'
		run exec_tcp "$CID-$i" $((p + 1))
		assert_output --regexp '^ok'
	done
	set_maps_dir
	local cg id
	cg=$(jq -r .cgroup_id "$(state_file "$CID-a3")")
	id=$(policy_id_of "$cg")
	[ "$(registry_refs "$id")" = 3 ] || fail "policy $id: $(registry_refs "$id") users in A's registry, want 3"
	for i in a1 a2 a3; do
		runc_cmd delete -f "$CID-$i"
		assert_success
		assert_stopped "$CID-$i"
	done
	[ "$(registry_refs "$id")" = 0 ] || fail "policy $id: $(registry_refs "$id") users after the last, want 0 (kept)"
}

@test "a container connecting in a tight loop from its first instruction to its kill: never a connect to the denied port, the allowed one from the first; nothing left after each stop" {
	local p i out n_a n_b
	p=$(free_ports 2)
	host_listen tcp 127.0.0.1 "$p"
	host_listen tcp 127.0.0.1 $((p + 1))
	deny_port_policy storm "$p"
	set_policy storm
	use_host_network
	set_cmd sh -c "while :; do echo \"a \$(nettool tcp 127.0.0.1 $p 500)\"; echo \"b \$(nettool tcp 127.0.0.1 $((p + 1)) 500)\"; done"
	for i in $(seq 1 8); do
		runc_run -d "$CID-$i"
		assert_success
		sleep "0.$((RANDOM % 4))"
		if ((i % 2)); then
			runc_cmd kill "$CID-$i" KILL
			wait_status runc "$CID-$i" stopped
		fi
		runc_cmd delete -f "$CID-$i"
		assert_success
		assert_stopped "$CID-$i"
		out=$BATS_TEST_TMPDIR/$CID-$i.stdio
		! grep -q '^a ok' "$out" || fail "container $i connected to the denied port: $(grep -c '^a ok' "$out") times"
		n_a=$(grep -c '^a EPERM' "$out" || true)
		n_b=$(grep -c '^b ok' "$out" || true)
		echo "container $i: $n_a denied, $n_b allowed, first: $(head -n 2 "$out" | tr '\n' ' ')" >&2
		[ "$n_a" -gt 0 ] && [ "$n_b" -gt 0 ] || fail "container $i: $n_a denied, $n_b allowed: $(head -n 5 "$out")"
		[ "$(head -n 1 "$out" | cut -d' ' -f1-2)" = "a EPERM" ] || fail "container $i's first connect: $(head -n 1 "$out")"
		! grep -v '^[ab] \(ok\|EPERM\) [0-9]*ms$' "$out" | grep -q . ||
			fail "container $i: $(grep -v '^[ab] \(ok\|EPERM\) [0-9]*ms$' "$out" | head -n 3)"
	done
	local cg id
	set_maps_dir
	[ -z "$(bpftool -j map dump pinned "$SET_MAPS/ocibpf_net_meta" | jq -r '.[]')" ] ||
		fail "summaries left: $(bpftool -j map dump pinned "$SET_MAPS/ocibpf_net_meta")"
	[ -z "$(registry | awk '$2 != 0')" ] || fail "registered policies with users left: $(registry)"
}

@test "processes left connecting in a tight loop after their init exited (no pid namespace) until the runtime deletes the container, under runc and crun: never a connect to the denied port" {
	requires crun
	local p rt out
	p=$(free_ports 2)
	host_listen tcp 127.0.0.1 "$p"
	host_listen tcp 127.0.0.1 $((p + 1))
	deny_port_policy left-loop "$p"
	set_policy left-loop
	use_host_network
	update_config '.linux.namespaces |= map(select(.type != "pid"))'
	set_cmd sh -c "setsid sh -c 'while :; do echo \"a \$(nettool tcp 127.0.0.1 $p 500)\"; echo \"b \$(nettool tcp 127.0.0.1 $((p + 1)) 500)\"; done' </dev/null & exit 0"
	for rt in runc crun; do
		"${rt}_run" -d "$CID-$rt"
		assert_success
		out=$BATS_TEST_TMPDIR/$CID-$rt.stdio
		wait_for 100 0.05 grep -q '^b ok' "$out" || fail "$rt: the processes left do not connect: $(head -n 3 "$out")"
		ocibpf gc
		assert_success
		"${rt}_cmd" delete -f "$CID-$rt"
		assert_success
		assert_stopped "$CID-$rt"
		sleep 0.5
		echo "$rt: $(grep -c '^a EPERM' "$out") denied, $(grep -c '^b ok' "$out") allowed" >&2
		! grep -q '^a ok' "$out" || fail "$rt: connected to the denied port $(grep -c '^a ok' "$out") times"
	done
}
