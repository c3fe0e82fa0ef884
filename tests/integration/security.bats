#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
#
# Security (issue 7): a container with CAP_SYS_ADMIN, a cgroup namespace and a
# writable cgroupfs tries to get out from under its programs; ownership and modes of
# what ocibpf writes; symlinks planted in log_dir and state_dir; policy files others
# can write; container ids and annotation values that try path traversal or shell
# metacharacters.

load helpers
load net-helpers
load reliability-helpers

setup_file() {
	ocibpf_setup_file
	net_setup_file
	export ESCAPE=$BATS_FILE_TMPDIR/escape
	gcc -O2 -static -o "$ESCAPE" "$INTEGRATION_ROOT/escape.c" 2>"$BATS_FILE_TMPDIR/escape.log" || ESCAPE=
	export CGSTRESS=$BATS_FILE_TMPDIR/cgstress
	gcc -O2 -pthread -o "$CGSTRESS" "$INTEGRATION_ROOT/cgstress.c"
}

teardown_file() {
	ocibpf_teardown_file
}

setup() {
	requires root cgroup2 bpf bpftool runc busybox jq
	ocibpf_setup
	net_setup
	setup_busybox_bundle
	write_policy base "$BASE_POLICY"
	add_hooks
}

# Sub-cgroups the ocibpf_cgroups tests made (a container's own are removed by runc), and
# cgroups they made themselves.
remove_test_cgroups() {
	local d
	if [ -f "$BATS_TEST_TMPDIR/subcgroup-dirs" ]; then
		while read -r d; do
			[ -d "$d" ] && (cd "$d" && find . -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null)
		done <"$BATS_TEST_TMPDIR/subcgroup-dirs"
	fi
	if [ -f "$BATS_TEST_TMPDIR/cgroup-dirs-made" ]; then
		while read -r d; do
			[ ! -d "$d" ] || { (cd "$d" && find . -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null); rmdir "$d" 2>/dev/null; }
		done <"$BATS_TEST_TMPDIR/cgroup-dirs-made"
	fi
	return 0
}

teardown() {
	if [ -n "${STOPPED_COLLECTOR:-}" ]; then
		kill -CONT "$STOPPED_COLLECTOR" 2>/dev/null || true
	fi
	remove_test_cgroups
	[ ! -f "$BATS_TEST_TMPDIR/cgtrack-budget" ] || set_cgtrack_budget 0 || true
	net_teardown
	local rc=0
	ocibpf_teardown || rc=$?
	# after a failure, the containers that kept processes there are gone now
	remove_test_cgroups
	rm -f "$BATS_TEST_TMPDIR"/victim*
	if [ -f "$BATS_TEST_TMPDIR/userns-dir" ]; then
		rm -rf "$(cat "$BATS_TEST_TMPDIR/userns-dir")"
	fi
	return $rc
}

# --- a privileged container against its own programs ----------------------------------------

# locked_policy PORT: audit openat, deny TCP to 127.0.0.1:PORT.
locked_policy() {
	write_policy locked "{\"audit\": {\"syscalls\": [\"openat\"]},
		\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
			{\"action\": \"deny\", \"cidr\": \"127.0.0.1/32\", \"protocol\": \"tcp\", \"ports\": \"$1\"}]}}}"
	set_policy locked
}

# The attack, once /go exists: mount the cgroup2 hierarchy (its cgroup namespace makes
# the container's cgroup the root), make a sub-cgroup and move there, try everything
# escape.c knows against both, then connect and open again.
attack_cmd() {
	local p=$1
	set_cmd sh -c "i=0; while [ ! -e /go ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done
		echo \"before: \$(nettool tcp 127.0.0.1 $p 2000)\"
		mkdir -p /tmp/cg && mount -t cgroup2 none /tmp/cg || echo MOUNT-FAILED
		mkdir /tmp/cg/sub && echo \$\$ >/tmp/cg/sub/cgroup.procs && echo \"moved: \$(grep ^0:: /proc/self/cgroup)\"
		escape /tmp/cg /tmp/cg/sub
		echo \"after: \$(nettool tcp 127.0.0.1 $p 2000)\"
		: </etc/group
		echo done"
}

@test "CAP_SYS_ADMIN in a user namespace, cgroupns, writable cgroupfs: sub-cgroups and detach/override attempts leave policy and audit in force" {
	net_requires_nettool
	[ -n "$ESCAPE" ] || skip "cannot build escape.c: $(head -n 3 "$BATS_FILE_TMPDIR/escape.log")"
	# The mapped root must reach the bundle: not under bats' 0700 temp dirs.
	local dir
	dir=$(mktemp -d /tmp/ocibpf-test-userns.XXXXXX)
	chmod 0755 "$dir"
	echo "$dir" >"$BATS_TEST_TMPDIR/userns-dir"
	setup_busybox_bundle "$dir/bundle"
	chmod 0755 "$BUNDLE"
	add_hooks
	add_nettool
	cp "$ESCAPE" "$BUNDLE/rootfs/bin/escape"
	local p
	p=$(free_ports 1)
	locked_policy "$p"
	use_host_network
	add_cap CAP_SYS_ADMIN
	# A user namespace (root is uid 100000 outside), a cgroup namespace; /sys bound from
	# the host (sysfs can't be mounted without a network namespace of its own).
	update_config '.linux.namespaces += [{type: "user"}, {type: "cgroup"}]
		| .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
		| .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
		| .mounts |= map(select(.type != "cgroup" and .type != "sysfs"))
		| .mounts += [{destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"]},
			{destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777"]}]
		| del(.linux.seccomp)'
	attack_cmd "$p"
	runc_run -d "$CID"
	assert_success
	local pid cg
	pid=$(runtime_state runc "$CID" pid)
	cg=$(cgroup2_of "$pid")
	# Delegate its cgroup to the container's root, as an engine does for nested cgroups.
	chown 100000:100000 "$cg" "$cg/cgroup.procs" "$cg/cgroup.subtree_control" "$cg/cgroup.threads"
	touch "$BUNDLE/rootfs/go"
	wait_stopped "$CID"
	run cat "$BATS_TEST_TMPDIR/$CID.stdio"
	echo "$output" >&2
	refute_output --partial MOUNT-FAILED
	assert_line --regexp '^before: EPERM '
	assert_line --regexp '^moved: 0::/sub$'
	refute_line --regexp '^(prog_detach|prog_detach_any|attach_replace|link_update|link_detach) [a-z0-9]+: ok$'
	assert_line 'successes: 0'
	assert_line --regexp '^after: EPERM '
	assert_line done
	run attach_types "$cg"
	assert_line connect4
	runc_cmd delete "$CID"
	assert_success
	assert_stopped "$CID"
	records "$CID" syscall | jq -e -s 'any(.[]; .path == "/etc/group" and .ret >= 0)'
	records "$CID" stop | jq -e '.stats.egress_denied >= 2'
}

@test "CAP_SYS_ADMIN in the host user namespace: the container is refused, it could detach its programs" {
	set_policy base
	set_cmd sh -c 'echo CONTAINER-STARTED'
	add_cap CAP_SYS_ADMIN
	runc_run "$CID"
	assert_failure
	refute_output --partial CONTAINER-STARTED
	assert_output --regexp "ocibpf-hook: $CID: .*CAP_SYS_ADMIN in the host user namespace"
	assert_not_monitored "$CID"
	# in its bounding set only is the same (root regains it on exec)
	update_config '.process.capabilities = {bounding: ["CAP_SYS_ADMIN"]}'
	runc_run "$CID"
	assert_failure
	assert_output --partial "CAP_SYS_ADMIN in the host user namespace"
}

@test "crun reads capability names as libcap does (cap_sys_admin, 21, Cap_Net_Admin, 0xc): such a container is refused the same" {
	requires crun
	set_policy base
	update_config '.annotations["run.oci.hooks.stderr"] = $f' --arg f "$BATS_TEST_TMPDIR/hooks.stderr"
	local spelled want
	while read -r spelled want; do
		update_config '.process.capabilities = {bounding: [$c], effective: [$c], permitted: [$c]}
			| .process.args = ["sh", "-c", "grep CapEff /proc/self/status"]' --arg c "$spelled"
		rm -f "$BATS_TEST_TMPDIR/hooks.stderr"
		crun_run "$CID"
		assert_failure
		refute_output --partial CapEff
		grep -q "ocibpf-hook: $CID: the container has $want" "$BATS_TEST_TMPDIR/hooks.stderr" ||
			fail "$spelled: not refused for $want: $(cat "$BATS_TEST_TMPDIR/hooks.stderr" 2>/dev/null)"
		assert_not_monitored "$CID"
	done <<'CAPS'
cap_sys_admin CAP_SYS_ADMIN
21 CAP_SYS_ADMIN
Cap_Net_Admin CAP_NET_ADMIN
0xc CAP_NET_ADMIN
CAPS
	# crun does give them (so the refusal is not for nothing): a telemetry-only policy
	# runs it, and the kernel says it has CAP_NET_ADMIN (bit 12)
	write_policy telemetry '{"telemetry": true}'
	set_policy telemetry
	crun_run "$CID"
	assert_success
	assert_output --regexp 'CapEff:[[:space:]]+0*1000$'
	assert_stopped "$CID"
}

# vxlan_peer: the test host ends a VXLAN tunnel from the container's namespace
# (192.168.77.2 in it) and listens on it and on $PEER4, port 7777.
vxlan_peer() {
	local vb=on$$-${BATS_TEST_NUMBER}b
	ip -n "$NET_PEER" link add vx0 type vxlan id 42 remote "$CTR4" dstport 4789 dev "$vb"
	ip -n "$NET_PEER" addr add 192.168.77.2/24 dev vx0
	ip -n "$NET_PEER" link set vx0 up
	peer_listen tcp 192.168.77.2 7777
	peer_listen tcp "$PEER4" 7777
}

# vxlan_received: packets the test host's end of the tunnel received.
vxlan_received() {
	ip -n "$NET_PEER" -s -j link show vx0 | jq '.[0].stats64.rx.packets'
}

@test "CAP_NET_ADMIN and a network policy: refused under runc and crun, it could tunnel around its programs (vxlan); an audit-only policy runs" {
	requires netns crun
	net_requires_nettool
	netns_pair
	vxlan_peer
	add_nettool
	add_host_binary "$(command -v ip)" /bin/ip2
	add_cap CAP_NET_ADMIN
	net_policy net "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"deny\", \"cidr\": \"$PEER4/32\"}]}}}"
	# The tunnel's packets to $PEER4 come from a kernel socket: the cgroup's programs
	# see neither them nor what comes back.
	set_cmd sh -c "echo CONTAINER-STARTED
		echo \"direct: \$(nettool tcp $PEER4 7777)\"
		ip2 link add vx0 type vxlan id 42 remote $PEER4 dstport 4789 dev on$$-${BATS_TEST_NUMBER}a
		ip2 addr add 192.168.77.1/24 dev vx0 && ip2 link set vx0 up
		echo \"tunnel: \$(nettool tcp 192.168.77.2 7777)\""
	runc_run "$CID"
	assert_failure
	refute_output --partial CONTAINER-STARTED
	assert_output --regexp "ocibpf-hook: $CID: .*CAP_NET_ADMIN over its network namespace"
	assert_not_monitored "$CID"
	update_config '.annotations["run.oci.hooks.stderr"] = $f' --arg f "$BATS_TEST_TMPDIR/hooks.stderr"
	crun_run "$CID"
	assert_failure
	refute_output --partial CONTAINER-STARTED
	grep -q "ocibpf-hook: $CID: .*CAP_NET_ADMIN over its network namespace" "$BATS_TEST_TMPDIR/hooks.stderr"
	assert_not_monitored "$CID"
	[ "$(vxlan_received)" = 0 ] || fail "the tunnel carried packets: $(vxlan_received)"
	# in its bounding set only is the same (root regains it on exec)
	update_config '.process.capabilities = {bounding: ["CAP_NET_ADMIN"]}'
	runc_run "$CID"
	assert_failure
	assert_output --partial "CAP_NET_ADMIN over its network namespace"
	# an audit-only policy promises nothing about the network: it runs, audited
	update_config '.process.capabilities = {bounding: ["CAP_NET_ADMIN"], effective: ["CAP_NET_ADMIN"],
		permitted: ["CAP_NET_ADMIN"]}'
	write_policy audit '{"audit": {"syscalls": ["connect"]}}'
	set_policy audit
	runc_run "$CID"
	assert_success
	assert_output --partial CONTAINER-STARTED
	assert_line --regexp '^tunnel: ok [0-9]+ms$'
	assert_stopped "$CID"
	records "$CID" syscall | jq -e -s 'any(.[]; .syscall == "connect" and .addr == "192.168.77.2")'
}

# --- a container that fills ocibpf_cgroups ------------------------------------------------------

# A container that can write its cgroupfs (cgroupns and a writable mount, or systemd in
# the container) makes as many sub-cgroups as it likes; what it does is done here from
# the host in its cgroup directory, which is the same to the kernel. Only MAX_SUBCGROUPS
# of them get an entry in ocibpf_cgroups (the rest are found by the walk up to the
# container, bpf/container.bpf.h): the map never fills, other containers still start.

# cgroup_entry CGID FIELD: a field of CGID's entry in ocibpf_cgroups.
cgroup_entry() {
	set_maps_dir
	bpftool -j map lookup pinned "$SET_MAPS/ocibpf_cgroups" key $(u64_bytes "$1") |
		jq -r --arg f "$2" '.formatted.value[$f]'
}

# entries_of CGID: entries of ocibpf_cgroups that belong to the container of cgroup CGID.
entries_of() {
	set_maps_dir
	bpftool -j map dump pinned "$SET_MAPS/ocibpf_cgroups" |
		jq --argjson cg "$1" '[.[] | select(.formatted.value.container_cgid == $cg)] | length'
}

# make_subcgroups DIR N PREFIX: N sub-cgroups DIR/PREFIX1 ... (removed in teardown).
make_subcgroups() {
	echo "$1" >>"$BATS_TEST_TMPDIR/subcgroup-dirs"
	(cd "$1" && seq -f "$3%g" "$2" | xargs mkdir)
}

# cgtrack_slot 0|1: sub-cgroup entries the tracker holds for all containers (0), its
# budget (1; 0: the default).
cgtrack_slot() {
	set_maps_dir
	bpftool -j map lookup pinned "$SET_MAPS/ocibpf_cgtrack" key "$1" 0 0 0 | jq -r '.formatted.value // .value'
}

set_cgtrack_budget() {
	set_maps_dir
	bpftool map update pinned "$SET_MAPS/ocibpf_cgtrack" key 1 0 0 0 value $(u64_bytes "$1")
}

# opened_group ID: the container's shell opened /etc/group (an audited openat).
opened_group() {
	records "$1" syscall | jq -e -s 'any(.[]; .path == "/etc/group" and .comm == "sh" and .ret >= 0)' >/dev/null
}

remove_subcgroups() {
	(cd "$1" && find . -mindepth 1 -depth -type d -exec rmdir {} +)
}

@test "a container making 20,000 sub-cgroups keeps 64 entries; later containers start and are policed; the rest is found by the walk" {
	net_requires_nettool
	local p
	p=$(free_ports 1)
	locked_policy "$p"
	use_host_network
	add_nettool
	set_cmd sh -c "i=0; while [ ! -e /go ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done
		echo \"cg: \$(grep ^0:: /proc/self/cgroup)\"
		echo \"after: \$(nettool tcp 127.0.0.1 $p 2000)\"
		: </etc/group
		echo done
		i=0; while [ ! -e /end ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done"
	runc_run -d "$CID"
	assert_success
	local pid cg own
	pid=$(runtime_state runc "$CID" pid)
	cg=$(cgroup2_of "$pid")
	own=$(stat -c %i "$cg")
	make_subcgroups "$cg" 20000 s

	# Another container starts, is monitored, and its policy is in force.
	local a=$BUNDLE
	setup_busybox_bundle "$BATS_TEST_TMPDIR/bundle2"
	add_hooks
	add_nettool
	locked_policy "$p"
	use_host_network
	set_cmd sh -c "echo \"other: \$(nettool tcp 127.0.0.1 $p 2000)\""
	runc_run "$CID-b"
	assert_success
	assert_line --regexp "^other: EPERM "
	assert_stopped "$CID-b"

	# The first container's own entry counts what it holds: the cap, no more.
	[ "$(entries_of "$own")" -eq 65 ] || fail "$(entries_of "$own") entries for the container, want 1 + 64"
	[ "$(cgroup_entry "$own" subcgroups)" -eq 64 ] || fail "counter: $(cgroup_entry "$own" subcgroups)"

	# A process in a sub-cgroup beyond the cap: not in the map, still policed and audited.
	! cgroup_map_has "$(stat -c %i "$cg/s20000")" || fail "s20000 is in ocibpf_cgroups: this does not test the walk"
	echo "$pid" >"$cg/s20000/cgroup.procs"
	touch "$a/rootfs/go"
	wait_for 100 0.1 grep -q '^done' "$BATS_TEST_TMPDIR/$CID.stdio"
	run cat "$BATS_TEST_TMPDIR/$CID.stdio"
	assert_line --regexp '^cg: 0::/.*/s20000$'
	assert_line --regexp '^after: EPERM'
	wait_for 50 0.1 opened_group "$CID" ||
		fail "no openat record from s20000: $(records "$CID" syscall)"
	[ "$(stat_of "$CID" egress_denied)" -ge 1 ]

	# Removing sub-cgroups gives their entries back; new ones are tracked again.
	echo "$pid" >"$cg/cgroup.procs"
	remove_subcgroups "$cg"
	[ "$(cgroup_entry "$own" subcgroups)" -eq 0 ] || fail "counter after rmdir: $(cgroup_entry "$own" subcgroups)"
	[ "$(entries_of "$own")" -eq 1 ]
	[ "$(cgtrack_slot 0)" -eq 0 ] || fail "the tracker holds $(cgtrack_slot 0) entries"
	mkdir "$cg/again"
	[ "$(cgroup_entry "$own" subcgroups)" -eq 1 ]
	cgroup_map_has "$(stat -c %i "$cg/again")"
	rmdir "$cg/again"
	[ "$(cgroup_entry "$own" subcgroups)" -eq 0 ]

	touch "$a/rootfs/end"
	wait_stopped "$CID"
	runc_cmd delete "$CID"
	assert_success
	assert_stopped "$CID"
}

@test "many containers together: the tracker keeps within its budget for all, beyond it the walk; slots come back" {
	# The budget (ocibpf.h: MAX_CGROUPS - 2 * MAX_CONTAINERS) made small, so that two
	# containers can reach it; put back in teardown.
	touch "$BATS_TEST_TMPDIR/cgtrack-budget"
	write_policy audited '{"audit": {"syscalls": ["openat"]}}'
	set_policy audited
	set_cmd sleep 300
	runc_run -d "$CID-a"
	assert_success
	runc_run -d "$CID-b"
	assert_success
	local ca cb a b
	ca=$(cgroup2_of "$(runtime_state runc "$CID-a" pid)")
	cb=$(cgroup2_of "$(runtime_state runc "$CID-b" pid)")
	a=$(stat -c %i "$ca")
	b=$(stat -c %i "$cb")
	[ "$(cgtrack_slot 0)" -eq 0 ]
	set_cgtrack_budget 10
	make_subcgroups "$ca" 8 s
	make_subcgroups "$cb" 8 s
	[ "$(cgroup_entry "$a" subcgroups)" -eq 8 ] || fail "a: $(cgroup_entry "$a" subcgroups)"
	[ "$(cgroup_entry "$b" subcgroups)" -eq 2 ] || fail "b: $(cgroup_entry "$b" subcgroups)"
	[ "$(cgtrack_slot 0)" -eq 10 ]
	[ "$(entries_of "$b")" -eq 3 ]
	remove_subcgroups "$ca"
	[ "$(cgtrack_slot 0)" -eq 2 ]
	[ "$(cgroup_entry "$a" subcgroups)" -eq 0 ]
	mkdir "$cb/again"
	cgroup_map_has "$(stat -c %i "$cb/again")"
	[ "$(cgroup_entry "$b" subcgroups)" -eq 3 ]
	remove_subcgroups "$cb"
	[ "$(cgtrack_slot 0)" -eq 0 ]
	[ "$(cgroup_entry "$b" subcgroups)" -eq 0 ]
	[ "$(entries_of "$b")" -eq 1 ]
	set_cgtrack_budget 0
	runc_cmd delete -f "$CID-a"
	assert_success
	runc_cmd delete -f "$CID-b"
	assert_success
	assert_stopped "$CID-a"
	assert_stopped "$CID-b"
}

# nested_refused ID PATH: a container with an allow-all policy started in cgroup PATH is
# refused, naming the monitored container $CID.
nested_refused() {
	local b=$BATS_TEST_TMPDIR/bundle-$1
	[ -d "$b" ] || { cp -a "$BUNDLE" "$b"; rm -f "$b/rootfs/go" "$b/rootfs/end"; }
	write_policy open '{"network": {"egress": {"default": "allow"}}}'
	local cfg
	cfg=$(jq --arg p "$2" --arg k "$POLICY_ANNOTATION" '.linux.cgroupsPath = $p | .annotations[$k] = "open"
		| .process.args = ["sh", "-c", "echo NESTED-STARTED"]' "$b/config.json")
	echo "$cfg" >"$b/config.json"
	run __runc run -b "$b" "$1" </dev/null
	echo "nested $1 in $2: status $status: $output" >&2
	assert_failure
	refute_output --partial NESTED-STARTED
	assert_output --partial "monitored container $CID"
	assert_not_monitored "$1"
}

@test "a container started in a monitored container's sub-cgroup (or around it) is refused: the outer one's entries, counters and policy there stay" {
	net_requires_nettool
	local p
	p=$(free_ports 1)
	locked_policy "$p"
	use_host_network
	add_nettool
	hostile_wait_cmd "$p"
	# in /$CID/c, so that a container can be put around it (/$CID)
	update_config --arg p "/$CID/c" '.linux.cgroupsPath = $p'
	echo "$CGROUP2/$CID" >>"$BATS_TEST_TMPDIR/cgroup-dirs-made"
	runc_run -d "$CID"
	assert_success
	local pid cg outer used
	pid=$(runtime_state runc "$CID" pid)
	cg=$CGROUP2/$CID/c
	outer=$(stat -c %i "$cg")
	used=$(cgtrack_slot 0)
	echo "$cg" >>"$BATS_TEST_TMPDIR/subcgroup-dirs"
	# The container makes a sub-cgroup: the tracker enters it as the container's.
	mkdir "$cg/nested"
	local nested
	nested=$(stat -c %i "$cg/nested")
	[ "$(cgroup_entry "$nested" container_cgid)" = "$outer" ]
	[ "$(cgroup_entry "$outer" subcgroups)" -eq 1 ]
	[ "$(cgtrack_slot 0)" -eq $((used + 1)) ]

	nested_refused "$CID-in" "/$CID/c/nested"
	# runc may have removed the cgroup it was given (the tracker then gave its slots back)
	if [ -d "$cg/nested" ]; then
		[ "$(cgroup_entry "$nested" container_cgid)" = "$outer" ] || fail "entry: $(cgroup_entry "$nested" container_cgid)"
		[ "$(cgroup_entry "$outer" subcgroups)" -eq 1 ] || fail "counter: $(cgroup_entry "$outer" subcgroups)"
		[ "$(cgtrack_slot 0)" -eq $((used + 1)) ] || fail "budget used: $(cgtrack_slot 0)"
		rmdir "$cg/nested"
	fi
	[ "$(cgroup_entry "$outer" subcgroups)" -eq 0 ] || fail "counter after rmdir: $(cgroup_entry "$outer" subcgroups)"
	[ "$(cgtrack_slot 0)" -eq "$used" ] || fail "budget used after rmdir: $(cgtrack_slot 0), was $used"
	[ "$(tracked_entries)" -eq 0 ]

	# A sub-cgroup past the cap (no entry: found by the walk), one runc makes deeper: the same.
	make_subcgroups "$cg" 64 k
	mkdir "$cg/walk"
	! cgroup_map_has "$(stat -c %i "$cg/walk")"
	nested_refused "$CID-walk" "/$CID/c/walk"
	nested_refused "$CID-deep" "/$CID/c/k1/new/deeper"
	[ "$(cgroup_entry "$outer" subcgroups)" -eq 64 ] || fail "counter: $(cgroup_entry "$outer" subcgroups)"
	# Around it: a container whose cgroup holds the monitored one's. (runc can't start one
	# there in hybrid mode, the devices controller refuses: the hook is called directly
	# for a process put in /$CID.)
	sh -c 'echo $$ > "$1/cgroup.procs" && exec sleep 300' sh "$CGROUP2/$CID" </dev/null >/dev/null 2>&1 3>&- &
	local around=$!
	echo "$around $CGROUP2/$CID" >>"$BATS_TEST_TMPDIR/sandboxes"
	wait_for 50 0.02 grep -qx "$around" "$CGROUP2/$CID/cgroup.procs"
	run_hook createRuntime "$(make_state "$CID-around" "$around" "$BUNDLE" open)"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"ocibpf-hook: $CID-around: cgroup /$CID is around that of monitored container $CID"* ]] ||
		fail "stderr: $stderr"
	assert_not_monitored "$CID-around"
	kill -9 "$around"
	wait "$around" || true
	: >"$BATS_TEST_TMPDIR/sandboxes"
	[ -d "$cg" ]

	# The outer container's process in its sub-cgroups (runc removed those it was given):
	# its own policy, its own log.
	mkdir -p "$cg/k2/there"
	echo "$pid" >"$cg/k2/there/cgroup.procs"
	touch "$BUNDLE/rootfs/go"
	wait_for 100 0.1 grep -q '^done' "$BATS_TEST_TMPDIR/$CID.stdio"
	run cat "$BATS_TEST_TMPDIR/$CID.stdio"
	assert_line --regexp '^after: EPERM'
	wait_for 50 0.1 opened_group "$CID" || fail "no openat record: $(records "$CID" syscall)"
	echo "$pid" >"$cg/cgroup.procs"
	# (a child the shell forked there may still be exiting: EBUSY until it is gone)
	wait_for 50 0.1 remove_subcgroups "$cg" 2>/dev/null
	[ "$(cgroup_entry "$outer" subcgroups)" -eq 0 ]
	[ "$(cgtrack_slot 0)" -eq "$used" ]
	touch "$BUNDLE/rootfs/end"
	wait_stopped "$CID"
	runc_cmd delete "$CID"
	assert_success
	assert_stopped "$CID"
	# runc made /$CID, the parent of its cgroup, in every hierarchy
	local x
	leftover_cgroups | sort -r | while read -r x; do rmdir "$x"; done
}

@test "a start in a cgroup that has a sub-cgroup (crun, systemd delegation) reads no record of the others to look for one around: 300 records, few opens" {
	requires strace
	write_policy open '{"network": {"egress": {"default": "allow"}}}'
	spawn_sandbox "$CID-seed"
	local seed=$SANDBOX_PID
	run_hook createRuntime "$(make_state "$CID-seed" "$seed" "$BUNDLE" open)"
	assert_success
	# 300 others (records of containers elsewhere, as on a busy node)
	local i
	for i in $(seq 300); do
		jq --arg id "$CID-f$i" --arg cg "/$CID-f$i" '.id = $id | .cgroup = $cg' \
			"$(state_file "$CID-seed")" >"$(state_file "$CID-f$i")"
	done
	spawn_sandbox "$CID-sub"
	mkdir "$SANDBOX_CGROUP/init"
	echo "$SANDBOX_CGROUP" >>"$BATS_TEST_TMPDIR/subcgroup-dirs"
	make_state "$CID-sub" "$SANDBOX_PID" "$BUNDLE" open >"$BATS_TEST_TMPDIR/state.json"
	strace -f -c -o "$BATS_TEST_TMPDIR/strace" -e trace=openat "$OCIBPF_HOOK" createRuntime \
		<"$BATS_TEST_TMPDIR/state.json"
	local opens
	opens=$(awk '$NF == "openat" { print $4 }' "$BATS_TEST_TMPDIR/strace")
	echo "openat: $opens" >&3
	[ "$opens" -lt 100 ] || fail "$opens opens for one start: $(cat "$BATS_TEST_TMPDIR/strace")"
	assert_monitored_hook() { cgroup_map_has "$(stat -c %i "$SANDBOX_CGROUP")"; }
	assert_monitored_hook || fail "not entered"
	rm -f "$STATE_DIR"/containers/"$CID"-f*.json
	run_hook poststop "$(make_state "$CID-sub" "$SANDBOX_PID" "$BUNDLE" open)"
	assert_success
	run_hook poststop "$(make_state "$CID-seed" "$seed" "$BUNDLE" open)"
	assert_success
	rmdir "$SANDBOX_CGROUP/init"
}

@test "around a monitored container deeper than the walk goes (34 levels): still refused, found in the records" {
	write_policy open '{"network": {"egress": {"default": "allow"}}}'
	spawn_sandbox "$CID-outer"
	local outer_pid=$SANDBOX_PID outer_cg=$SANDBOX_CGROUP deep i
	echo "$outer_cg" >>"$BATS_TEST_TMPDIR/subcgroup-dirs"
	deep=$CID-outer
	for i in $(seq 34); do deep=$deep/d; done
	mkdir -p "$CGROUP2/$deep"
	spawn_sandbox "$deep/m"
	local inner_pid=$SANDBOX_PID
	run_hook createRuntime "$(make_state "$CID-in" "$inner_pid" "$BUNDLE" open)"
	assert_success
	run_hook createRuntime "$(make_state "$CID-around" "$outer_pid" "$BUNDLE" open)"
	[ "$status" -eq 1 ] || fail "not refused: $stderr"
	[[ "$stderr" == *"is around that of monitored container $CID-in"* ]] || fail "stderr: $stderr"
	assert_not_monitored "$CID-around"
	run_hook poststop "$(make_state "$CID-in" "$inner_pid" "$BUNDLE" open)"
	assert_success
	stop_sandboxes || true
	rmdir -p "$CGROUP2/$deep" 2>/dev/null || true
	[ ! -d "$outer_cg" ] || fail "left: $outer_cg"
}

@test "sub-cgroups that exist when the hook runs: it enters at most 64 and counts them" {
	write_policy audited '{"audit": {"syscalls": ["openat"]}}'
	set_policy audited
	update_config --arg p "/$CID" '.linux.cgroupsPath = $p'
	mkdir "$CGROUP2/$CID"
	make_subcgroups "$CGROUP2/$CID" 100 p
	mkdir "$CGROUP2/$CID/p1/deeper"
	set_cmd sh -c 'i=0; while [ ! -e /go ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done; : </etc/group'
	runc_run -d "$CID"
	assert_success
	local pid own
	pid=$(runtime_state runc "$CID" pid)
	own=$(stat -c %i "$CGROUP2/$CID")
	[ "$(cgroup_entry "$own" subcgroups)" -eq 64 ] || fail "counter: $(cgroup_entry "$own" subcgroups)"
	[ "$(entries_of "$own")" -eq 65 ] || fail "$(entries_of "$own") entries for the container, want 1 + 64"
	# one not entered: its process is audited all the same
	local d leaf=
	for d in "$CGROUP2/$CID"/p*; do
		cgroup_map_has "$(stat -c %i "$d")" || { leaf=$d; break; }
	done
	[ -n "$leaf" ]
	echo "$pid" >"$leaf/cgroup.procs"
	touch "$BUNDLE/rootfs/go"
	wait_stopped "$CID"
	runc_cmd delete "$CID"
	assert_success
	assert_stopped "$CID"
	[ ! -d "$CGROUP2/$CID" ] || remove_subcgroups "$CGROUP2/$CID"
	rmdir "$CGROUP2/$CID" 2>/dev/null || true
	opened_group "$CID" || fail "no openat record from $leaf: $(records "$CID" syscall)"
}

# tracked_entries: entries the tracker made (CF_TRACKED) in ocibpf_cgroups, any container's.
tracked_entries() {
	set_maps_dir
	bpftool -j map dump pinned "$SET_MAPS/ocibpf_cgroups" |
		jq '[.[] | select((.formatted.value.flags / 64 | floor) % 2 == 1)] | length'
}

# hostile_wait_cmd PORT: wait for /go, say where it is and whether PORT is denied, open
# /etc/group (audited), then wait for /end.
hostile_wait_cmd() {
	set_cmd sh -c "i=0; while [ ! -e /go ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done
		echo \"cg: \$(grep ^0:: /proc/self/cgroup)\"
		echo \"after: \$(nettool tcp 127.0.0.1 $1 2000)\"
		: </etc/group
		echo done
		i=0; while [ ! -e /end ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done"
}

@test "racing mkdir/rmdir/rename from many threads, three levels deep, processes moved among them: counters back to 0, no tracked entry left, the deny holds" {
	net_requires_nettool
	local p
	p=$(free_ports 1)
	locked_policy "$p"
	use_host_network
	add_nettool
	hostile_wait_cmd "$p"
	runc_run -d "$CID"
	assert_success
	local pid cg own used
	pid=$(runtime_state runc "$CID" pid)
	cg=$(cgroup2_of "$pid")
	own=$(stat -c %i "$cg")
	used=$(cgtrack_slot 0)
	echo "$cg" >>"$BATS_TEST_TMPDIR/subcgroup-dirs"
	# 8 threads x 1500 cycles (~36,000 mkdir/rmdir), the container's init moved about
	run "$CGSTRESS" "$cg" 8 1500 "$pid"
	echo "cgstress: $output" >&2
	assert_success
	[ -z "$(find "$cg" -mindepth 1 -type d)" ] || fail "left: $(find "$cg" -mindepth 1 -type d)"
	[ "$(cgroup_entry "$own" subcgroups)" -eq 0 ] || fail "counter: $(cgroup_entry "$own" subcgroups)"
	[ "$(cgtrack_slot 0)" -eq "$used" ] || fail "budget used: $(cgtrack_slot 0), was $used"
	[ "$(entries_of "$own")" -eq 1 ] || fail "$(entries_of "$own") entries for the container"
	[ "$(tracked_entries)" -eq 0 ] || fail "$(tracked_entries) tracked entries left"

	# Again while the counter sits at the cap: 70 made first, the rest found by the walk.
	make_subcgroups "$cg" 70 k
	[ "$(cgroup_entry "$own" subcgroups)" -eq 64 ]
	run "$CGSTRESS" "$cg" 8 500 "$pid"
	assert_success
	[ "$(cgroup_entry "$own" subcgroups)" -eq 0 ] || fail "counter: $(cgroup_entry "$own" subcgroups)"
	[ "$(cgtrack_slot 0)" -eq "$used" ] || fail "budget used: $(cgtrack_slot 0), was $used"
	[ "$(tracked_entries)" -eq 0 ] || fail "$(tracked_entries) tracked entries left"

	# A process in a sub-cgroup three levels deep: denied and audited.
	mkdir -p "$cg/x/y/z"
	echo "$pid" >"$cg/x/y/z/cgroup.procs"
	touch "$BUNDLE/rootfs/go"
	wait_for 100 0.1 grep -q '^done' "$BATS_TEST_TMPDIR/$CID.stdio"
	run cat "$BATS_TEST_TMPDIR/$CID.stdio"
	assert_line --regexp '^cg: 0::/.*/x/y/z$'
	assert_line --regexp '^after: EPERM'
	wait_for 50 0.1 opened_group "$CID" || fail "no openat record: $(records "$CID" syscall)"
	echo "$pid" >"$cg/cgroup.procs"
	# (a child the shell forked there may still be exiting: EBUSY until it is gone)
	wait_for 50 0.1 remove_subcgroups "$cg" 2>/dev/null
	[ "$(cgroup_entry "$own" subcgroups)" -eq 0 ]
	touch "$BUNDLE/rootfs/end"
	wait_stopped "$CID"
	runc_cmd delete "$CID"
	assert_success
	assert_stopped "$CID"
	[ "$(cgtrack_slot 0)" -eq "$used" ]
}

# quiesced CGID: poststop set CF_QUIESCED in the container's own entry.
quiesced() {
	local f
	f=$(cgroup_entry "$1" flags)
	[ -n "$f" ] && [ "$f" != null ] && [ $(((f >> 5) & 1)) -eq 1 ]
}

@test "poststop's quiesce writes the sub-cgroup counter full: a mkdir racing it can't leave the count below its entries" {
	# User space rewrites the container's entry at poststop (CF_QUIESCED): written back
	# as it was read, an add the tracker made meanwhile was lost, the count fell below
	# the entries it holds, and their rmdirs could take it below 0 together. Held at
	# poststop's drain (the collector stopped), the entry is looked at.
	local p
	p=$(free_ports 1)
	locked_policy "$p"
	use_host_network
	set_cmd sleep 300
	runc_run -d "$CID"
	assert_success
	local pid cg own used
	pid=$(runtime_state runc "$CID" pid)
	cg=$(cgroup2_of "$pid")
	own=$(stat -c %i "$cg")
	used=$(cgtrack_slot 0)
	make_subcgroups "$cg" 3 q
	[ "$(cgroup_entry "$own" subcgroups)" -eq 3 ]
	wait_for 100 0.05 eval '[ -n "$(collector_pids)" ]' || fail "no collector"
	local cpid
	cpid=$(collector_pids | head -n 1)
	kill -STOP "$cpid"
	STOPPED_COLLECTOR=$cpid
	# poststop for the run, as the runtime calls it; it waits for the drain
	jq -cn --arg id "$CID" --arg b "$BUNDLE" '{ociVersion: "1.0.2-dev", id: $id, status: "stopped", bundle: $b}' |
		"$OCIBPF_HOOK" poststop >"$BATS_TEST_TMPDIR/poststop.out" 2>&1 3>&- &
	local hook=$!
	wait_for 100 0.05 quiesced "$own" || fail "not quiesced: $(cgroup_entry "$own" flags)"
	[ "$(cgroup_entry "$own" subcgroups)" -eq 64 ] || fail "counter after quiesce: $(cgroup_entry "$own" subcgroups)"
	mkdir "$cg/late"
	! cgroup_map_has "$(stat -c %i "$cg/late")" || fail "an entry made after the stop"
	remove_subcgroups "$cg"
	[ "$(cgroup_entry "$own" subcgroups)" -eq 61 ] || fail "counter after rmdir: $(cgroup_entry "$own" subcgroups)"
	[ "$(cgtrack_slot 0)" -eq "$used" ] || fail "budget used: $(cgtrack_slot 0), was $used"
	[ "$(tracked_entries)" -eq 0 ]
	kill -CONT "$cpid"
	STOPPED_COLLECTOR=
	wait "$hook" || fail "poststop: $(cat "$BATS_TEST_TMPDIR/poststop.out")"
	! cgroup_map_has "$own"
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
}

# --- what ocibpf writes: owners and modes ----------------------------------------------------

@test "state, pins and logs are root's and not writable by others, logs 0640, whatever the umask" {
	write_policy audited '{"audit": {"syscalls": ["openat"]}, "telemetry": true}'
	set_policy audited
	set_cmd sh -c 'i=0; while [ ! -e /stop ] && [ $i -lt 300 ]; do : </etc/passwd; sleep 0.1; i=$((i + 1)); done'
	umask 000
	runc_run -d "$CID"
	assert_success
	wait_for 50 0.1 eval '[ -n "$(collector_pid)" ]'
	wait_for 50 0.1 sh -c "grep -q /etc/passwd '$(audit_log "$CID")'"
	sleep 1 # a sampler tick: the stats file

	local bad
	bad=$(find "$STATE_DIR" "$LOG_DIR" "$BPFFS_DIR" \( ! -user root -o -perm /022 \) -printf '%M %u %p\n')
	[ -z "$bad" ] || fail "writable by others or not root's: $bad"
	[ "$(stat -c %a "$(audit_log "$CID")")" = 640 ]
	[ "$(stat -c %a "$LOG_DIR")" = 750 ]
	[ "$(stat -c %a "$(state_file "$CID")")" = 600 ]
	[ "$(stat -c %a "$STATE_DIR/containers")" = 700 ]
	# the control socket: root only (connect needs write permission)
	[ "$(( 0$(stat -c %a "$STATE_DIR/ocibpfd.sock") & 077 ))" -eq 0 ]
	local pins
	pins=$(find "$BPFFS_DIR" -mindepth 1 \( -perm /077 \) -printf '%M %p\n')
	[ -z "$pins" ] || fail "pins open to others: $pins"
	touch "$BUNDLE/rootfs/stop"
	wait_stopped "$CID"
	runc_cmd delete "$CID"
	assert_success
	assert_stopped "$CID"
	[ "$(stat -c %a "$(audit_log "$CID")")" = 640 ]
}

# --- symlinks planted in log_dir and state_dir ---------------------------------------------------

# plant_victim: a file that must never change; sets VICTIM and VICTIM_SUM.
plant_victim() {
	VICTIM=$BATS_TEST_TMPDIR/victim
	echo "precious $RANDOM" >"$VICTIM"
	chmod 0644 "$VICTIM"
	VICTIM_SUM=$(stat -c '%s %a %u' "$VICTIM")$(sha256sum <"$VICTIM")
}

assert_victim_intact() {
	[ "$(stat -c '%s %a %u' "$VICTIM")$(sha256sum <"$VICTIM")" = "$VICTIM_SUM" ] ||
		fail "the symlink was followed: $VICTIM is now: $(stat -c '%s %a' "$VICTIM"): $(head -c 200 "$VICTIM")"
}

@test "a symlink planted as the audit log is not followed: the container is refused" {
	plant_victim
	mkdir -p "$LOG_DIR"
	ln -s "$VICTIM" "$(audit_log "$CID")"
	set_policy base
	set_cmd sh -c 'echo CONTAINER-STARTED'
	runc_run "$CID"
	assert_failure
	refute_output --partial CONTAINER-STARTED
	assert_output --regexp "ocibpf-hook: $CID: cannot open audit log .*$CID.jsonl"
	assert_victim_intact
	[ -L "$(audit_log "$CID")" ]
	assert_not_monitored "$CID"
	rm "$(audit_log "$CID")"
}

@test "a log_dir that is a symbolic link (say, to a bigger disk) is refused saying so, not \"Not a directory\"" {
	write_policy base "$BASE_POLICY"
	local real=$BATS_TEST_TMPDIR/real-log link=$BATS_TEST_TMPDIR/log-link
	mkdir -m 0750 "$real"
	ln -s "$real" "$link"
	update_host_config --arg l "$link" '.log_dir = $l'
	set_policy base
	set_cmd sh -c 'echo CONTAINER-STARTED'
	runc_run "$CID"
	assert_failure
	refute_output --partial CONTAINER-STARTED
	assert_output --partial "ocibpf-hook: $CID: log_dir $link is a symbolic link (not followed"
	refute_output --partial "Not a directory"
	assert_not_monitored "$CID"
	[ -z "$(ls -A "$real")" ] || fail "written through the link: $(ls -A "$real")"
	runc_cmd delete -f "$CID"
	# the directory it points to, named as log_dir, is fine
	update_host_config --arg l "$real" '.log_dir = $l'
	runc_run "$CID"
	assert_success
	assert_output --partial CONTAINER-STARTED
	[ -f "$real/$CID.jsonl" ] || fail "no log in $real"
}

@test "symlinks planted in state_dir are not followed (records, stats, lost counters, pid file)" {
	plant_victim
	mkdir -p "$STATE_DIR/containers" "$STATE_DIR/stats" "$STATE_DIR/lost"
	ln -s "$VICTIM" "$(state_file "$CID")"
	ln -s "$VICTIM" "$STATE_DIR/stats/$CID.json"
	ln -s "$VICTIM" "$STATE_DIR/lost/$CID"
	ln -s "$VICTIM" "$STATE_DIR/ocibpfd.pid"
	write_policy audited '{"audit": {"syscalls": ["openat"]}, "telemetry": true}'
	set_policy audited
	set_cmd sh -c ': </etc/passwd; sleep 1'
	runc_run "$CID"
	echo "$output" >&2
	assert_victim_intact
	# Whatever ocibpf wrote replaced the links; none is left pointing out.
	local links
	links=$(find "$STATE_DIR" -type l -lname "$VICTIM")
	if [ "$status" -eq 0 ]; then
		assert_stopped "$CID"
	fi
	assert_victim_intact
	[ -z "$links" ] || [ "$status" -ne 0 ] || fail "links left in state_dir: $links"
	find "$STATE_DIR" -type l -lname "$VICTIM" -delete
}

@test "a symlink record planted in state_dir is neither read nor listed, and gc removes only the link" {
	plant_victim
	spawn_sandbox
	# A crafted record, behind a link, that names a live process.
	jq -n --arg id "$CID-planted" --argjson pid "$SANDBOX_PID" --arg cg "$SANDBOX_CGROUP" \
		'{id: $id, policy: "base", pid: $pid, pid_start: 0, cgroup: "/x", cgroup_dir: $cg,
		  cgroup_id: 1, flags: 3, set: "0123456789abcdef", bundle: "/"}' >"$VICTIM"
	VICTIM_SUM=$(stat -c '%s %a %u' "$VICTIM")$(sha256sum <"$VICTIM")
	mkdir -p "$STATE_DIR/containers"
	ln -s "$VICTIM" "$(state_file "$CID-planted")"
	ocibpf ps --json
	assert_success
	jq -e --arg id "$CID-planted" 'all(.[]; .id != $id)' <<<"$output" || fail "a planted record is listed: $output"
	ocibpf gc
	assert_success
	[ ! -e "$(state_file "$CID-planted")" ] && [ ! -L "$(state_file "$CID-planted")" ] ||
		fail "gc left the planted link"
	assert_victim_intact
}

@test "the collector reopening logs (SIGHUP) does not follow a symlink planted in log_dir" {
	plant_victim
	write_policy audited '{"audit": {"syscalls": ["openat"]}}'
	set_policy audited
	set_cmd sh -c 'i=0; while [ ! -e /go ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done;
		: </etc/passwd; i=0; while [ ! -e /stop ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done'
	runc_run -d "$CID"
	assert_success
	wait_for 50 0.1 eval '[ -n "$(collector_pid)" ]'
	# logrotate's move, and a link where the log was
	mv "$(audit_log "$CID")" "$(audit_log "$CID").1"
	ln -s "$VICTIM" "$(audit_log "$CID")"
	kill -HUP "$(collector_pid)"
	sleep 0.5
	touch "$BUNDLE/rootfs/go"
	sleep 1
	assert_victim_intact
	[ -n "$(collector_pid)" ] || fail "the collector died"
	rm "$(audit_log "$CID")"
	touch "$BUNDLE/rootfs/stop"
	wait_stopped "$CID"
	runc_cmd delete "$CID"
	assert_success
	assert_victim_intact
	assert_not_monitored "$CID"
}

# --- policy files ---------------------------------------------------------------------------------

@test "a policy file that is group- or world-writable, not root's, or a symlink is refused" {
	set_cmd sh -c 'echo CONTAINER-STARTED'
	update_config '.annotations["run.oci.hooks.stderr"] = "/dev/null"'
	local name
	write_policy groupw '{"telemetry": true}'
	chmod 0664 "$POLICY_DIR/groupw.json"
	write_policy worldw '{"telemetry": true}'
	chmod 0646 "$POLICY_DIR/worldw.json"
	write_policy notroot '{"telemetry": true}'
	chown 65534:65534 "$POLICY_DIR/notroot.json"
	write_policy target '{"telemetry": true}'
	ln -s "$POLICY_DIR/target.json" "$POLICY_DIR/linked.json"
	for name in groupw worldw notroot linked; do
		set_policy "$name"
		runc_run "$CID"
		assert_failure
		refute_output --partial CONTAINER-STARTED
		assert_output --partial "ocibpf-hook: $CID: policy $name: $POLICY_DIR/$name.json"
		case $name in
		groupw | worldw) assert_output --partial "writable by group or others" ;;
		notroot) assert_output --partial "not owned by root" ;;
		linked) assert_output --partial "symbolic link" ;;
		esac
		assert_not_monitored "$CID"
	done
	# the same content, root's and 0644, is fine
	set_policy target
	runc_run "$CID"
	assert_success
	assert_output --partial CONTAINER-STARTED
	assert_stopped "$CID"
}

# --- ids and annotation values ---------------------------------------------------------------------

@test "a host configuration that is group- or world-writable, or not root's, is refused like a policy file (it names policy_dir, log_dir, default_policy)" {
	set_cmd sh -c 'echo CONTAINER-STARTED'
	write_policy base "$BASE_POLICY"
	set_policy base
	local mode
	for mode in 0664 0646 notroot; do
		if [ "$mode" = notroot ]; then
			chmod 0644 "$OCIBPF_CONFIG"
			chown 65534:65534 "$OCIBPF_CONFIG"
		else
			chmod "$mode" "$OCIBPF_CONFIG"
		fi
		runc_run "$CID"
		assert_failure
		refute_output --partial CONTAINER-STARTED
		assert_output --partial "ocibpf-hook: $CID: "
		assert_output --partial "$OCIBPF_CONFIG"
		case $mode in
		notroot) assert_output --partial "not owned by root" ;;
		*) assert_output --partial "writable by group or others" ;;
		esac
		assert_not_monitored "$CID"
		runc_cmd delete -f "$CID"
		# root's commands refuse it too (gc acts on the directories it names)
		ocibpf gc
		assert_failure 1
		[[ "$stderr" == "ocibpf: $OCIBPF_CONFIG"* ]] || fail "gc: $stderr"
	done
	chown 0:0 "$OCIBPF_CONFIG"
	chmod 0644 "$OCIBPF_CONFIG"
	runc_run "$CID"
	assert_success
	assert_output --partial CONTAINER-STARTED
	assert_stopped "$CID"
}

@test "container ids with path traversal or shell metacharacters are refused, nothing is written" {
	spawn_sandbox
	local id marker=$BATS_TEST_TMPDIR/pwned
	local escaped=ocibpf-test-escaped-$$
	local ids=("../../../tmp/$escaped" '..' '.' "a/../../b" 'x;touch '"$marker" '$(touch '"$marker"')'
		'`touch '"$marker"'`' 'a|b' 'a&b' 'a b' $'a\nb' 'a>b' '*' "x'y" 'x"y' 'a\b' '-rf' $'\x01')
	for id in "${ids[@]}"; do
		run_hook createRuntime "$(make_state "$id" "$SANDBOX_PID" "$BUNDLE" base)"
		assert_hook_error "invalid OCI state" '"id"'
		run_hook poststop "$(jq -cn --arg id "$id" --arg b "$BUNDLE" \
			'{ociVersion: "1.0.2", id: $id, status: "stopped", bundle: $b}')"
		assert_hook_error "invalid OCI state" '"id"'
	done
	[ ! -e "$marker" ]
	[ -z "$(find /tmp -maxdepth 1 -name "$escaped*")" ]
	[ -z "$(find "$LOG_DIR" "$STATE_DIR" -mindepth 1 -newer "$BATS_TEST_TMPDIR/sandboxes" 2>/dev/null | grep -v '/ocibpfd\.')" ] ||
		fail "written: $(find "$LOG_DIR" "$STATE_DIR" -mindepth 1 -newer "$BATS_TEST_TMPDIR/sandboxes")"
	[ -z "$(bpftool cgroup show "$SANDBOX_CGROUP")" ]
}

@test "policy annotations with path traversal or shell metacharacters are refused with a clear error" {
	spawn_sandbox
	local v marker=$BATS_TEST_TMPDIR/pwned
	local values=('../../../etc/passwd' '../policies/base' '/etc/ocibpf/policies/base' 'base/'
		'base;touch '"$marker" '$(touch '"$marker"')' '`touch '"$marker"'`' 'base|x' 'base x'
		$'base\nx' '.base' '-base' '' "$(printf 'a%.0s' {1..200})" $'\e[31mred')
	for v in "${values[@]}"; do
		run_hook createRuntime "$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" | jq -c \
			--arg v "$v" '.annotations["io.ocibpf.policy"] = $v')"
		echo "value $(printf %q "$v"): $stderr" >&2
		if [ -z "$v" ]; then
			# empty: no name
			assert_hook_error --id "$CID" policy
		else
			assert_hook_error --id "$CID" "invalid policy name"
		fi
		# one printable line, control characters tamed
		[[ "$stderr" != *$'\e'* ]] || fail "escape sequence passed through: $(printf %q "$stderr")"
		assert_nothing_left "$CID" "$SANDBOX_CGROUP"
	done
	[ ! -e "$marker" ]
	# through runc too (it passes annotations as they are)
	set_policy '../../../etc/passwd'
	set_cmd sh -c 'echo CONTAINER-STARTED'
	runc_run "$CID"
	assert_failure
	refute_output --partial CONTAINER-STARTED
	assert_output --partial "invalid policy name"
}
