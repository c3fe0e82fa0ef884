#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
#
# Foundation tests: ocibpf-hook's lifecycle with real containers under runc and
# crun, its refusals (each leaving nothing behind), and the CLI's ps, gc,
# policy check and version.

load helpers

setup_file() {
	ocibpf_setup_file
}

teardown_file() {
	ocibpf_teardown_file
}

setup() {
	ocibpf_setup
	requires root cgroup2 bpf bpftool jq busybox
	if [[ "$BATS_TEST_DESCRIPTION" != harness:* ]]; then
		for bin in "$OCIBPF_HOOK" "$OCIBPF_CLI" "$OCIBPFD"; do
			[ -x "$bin" ] || fail "$bin is not built (run make)"
		done
	fi
	setup_busybox_bundle
	write_policy base "$BASE_POLICY"
	write_policy full "$FULL_POLICY"
}

teardown() {
	ocibpf_teardown
}

# --- the harness itself, without hooks ----------------------------------------------

@test "harness: runc runs a busybox container in a cgroup2 dir of its own" {
	requires runc
	set_cmd cat /proc/self/cgroup
	runc_run "$CID"
	assert_success
	assert_line --regexp "^0::/(.*/)?$CID\$"
}

@test "harness: crun runs a busybox container (hybrid-mode workaround)" {
	requires crun
	set_cmd cat /proc/self/cgroup
	crun_run "$CID"
	assert_success
	assert_line --regexp "^0::/(.*/)?$CID\$"
}

@test "harness: detached runc container, kill and delete" {
	requires runc
	set_cmd sleep 300
	runc_run -d "$CID"
	assert_success
	[ "$(runtime_state runc "$CID" status)" = running ]
	runc_cmd delete -f "$CID"
	assert_success
}

# --- lifecycle with real runtimes ----------------------------------------------------

# monitored_lifecycle RT STAGE: a detached container under RT with the hook at
# STAGE and poststop: monitored while it runs, nothing left after delete.
monitored_lifecycle() {
	local rt=$1 stage=$2 pid cg
	set_policy base
	set_cmd sleep 300
	add_hooks "$stage" poststop
	"${rt}_run" -d "$CID"
	assert_success
	pid=$(runtime_state "$rt" "$CID" pid)
	[ -n "$pid" ] && [ "$pid" -gt 0 ]
	assert_monitored "$CID" "$pid" base

	# the policy has a network section: the socket-address programs too
	cg=$(cgroup2_of "$pid")
	run attach_types "$cg"
	assert_line connect4
	assert_line connect6
	assert_line sendmsg4
	assert_line sendmsg6

	"${rt}_cmd" delete -f "$CID"
	assert_success
	assert_stopped "$CID"
}

@test "runc: createRuntime hook monitors the container, poststop cleans up" {
	requires runc
	monitored_lifecycle runc createRuntime
}

@test "runc: prestart hook monitors the container, poststop cleans up" {
	requires runc
	monitored_lifecycle runc prestart
}

@test "crun: createRuntime hook monitors the container, poststop cleans up" {
	requires crun
	monitored_lifecycle crun createRuntime
}

@test "crun: prestart hook monitors the container, poststop cleans up" {
	requires crun
	monitored_lifecycle crun prestart
}

# hooked_twice RT: the hook at createRuntime and at prestart (an older setup's prestart
# entry kept when ocibpf-runtime or a hooks.d file adds createRuntime): the second call
# is for the same container, which is monitored once.
hooked_twice() {
	local rt=$1 pid
	set_policy base
	set_cmd sleep 300
	add_hooks createRuntime prestart poststop
	"${rt}_run" -d "$CID"
	assert_success
	pid=$(runtime_state "$rt" "$CID" pid)
	[ -n "$pid" ] && [ "$pid" -gt 0 ]
	assert_monitored "$CID" "$pid" base
	[ "$(records "$CID" start | wc -l)" -eq 1 ] || fail "start records: $(records "$CID" start)"
	"${rt}_cmd" delete -f "$CID"
	assert_success
	assert_stopped "$CID"
	[ "$(records "$CID" stop | wc -l)" -eq 1 ] || fail "stop records: $(records "$CID" stop)"
}

@test "runc: the hook at both createRuntime and prestart monitors the container once" {
	requires runc
	hooked_twice runc
}

@test "crun: the hook at both createRuntime and prestart monitors the container once" {
	requires crun
	hooked_twice crun
}

@test "runc: a policy using every section (audit, network, telemetry)" {
	requires runc
	set_policy full
	set_cmd sleep 300
	add_hooks
	runc_run -d "$CID"
	assert_success
	assert_monitored "$CID" "$(runtime_state runc "$CID" pid)" full
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
}

@test "runc: foreground run from start record to stop record" {
	requires runc
	set_policy base
	set_cmd sh -c 'cat /proc/self/cgroup; echo CONTAINER-RAN'
	add_hooks
	RUNTIME_TIMEOUT=20 runc_run "$CID"
	[ "$status" -ne 124 ] && [ "$status" -ne 137 ] ||
		fail "runc run did not finish within 20 s (status $status)"
	assert_success
	assert_line CONTAINER-RAN
	run records "$CID"
	assert_success
	[ "$(jq -r .type <<<"${lines[0]}")" = start ]
	[ "$(jq -r .policy <<<"${lines[0]}")" = base ]
	assert_stopped "$CID"
}

@test "crun: foreground run from start record to stop record" {
	requires crun
	set_policy base
	set_cmd sh -c 'echo CONTAINER-RAN'
	add_hooks
	RUNTIME_TIMEOUT=20 crun_run "$CID"
	# crun is a child subreaper: it waits for every process that the hook left
	# behind, so a collector that is still crun's child makes this hang
	[ "$status" -ne 124 ] && [ "$status" -ne 137 ] ||
		fail "crun run did not finish within 20 s (status $status)"
	assert_success
	assert_line CONTAINER-RAN
	run records "$CID"
	assert_success
	[ "$(jq -r .type <<<"${lines[0]}")" = start ]
	assert_stopped "$CID"
}

@test "a container reusing an id appends to its log, seq goes on counting" {
	requires runc
	write_policy quiet '{"telemetry": true}'
	set_policy quiet
	add_hooks
	runc_run "$CID"
	assert_success
	runc_run "$CID"
	assert_success
	run jq -r 'select(.type == "start" or .type == "stop") | .type' "$(audit_log "$CID")"
	assert_success
	[ "$(echo $output)" = "start stop start stop" ]
	assert_stopped "$CID"
}

@test "container without annotation and no default_policy is left alone" {
	requires runc
	set_cmd sleep 300
	add_hooks
	runc_run -d "$CID"
	assert_success
	local pid cg
	pid=$(runtime_state runc "$CID" pid)
	cg=$(cgroup2_of "$pid")
	[ -z "$(bpftool cgroup show "$cg")" ] || fail "programs attached: $(bpftool cgroup show "$cg")"
	assert_not_monitored "$CID"
	[ ! -e "$(audit_log "$CID")" ]
	ocibpf ps --json
	assert_success
	jq -e --arg id "$CID" 'all(.[]; .id != $id)' <<<"$output"
	runc_cmd delete -f "$CID"
	assert_success
	assert_nothing_left "$CID"
}

@test "default_policy applies to containers that name none" {
	requires runc
	write_policy dflt '{"telemetry": true, "network": {"egress": {"default": "allow"}}}'
	update_host_config '.default_policy = "dflt"'
	set_cmd sleep 300
	add_hooks
	runc_run -d "$CID"
	assert_success
	assert_monitored "$CID" "$(runtime_state runc "$CID" pid)" dflt
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
}

@test "the annotation wins over default_policy" {
	requires runc
	write_policy dflt '{"telemetry": true}'
	update_host_config '.default_policy = "dflt"'
	set_policy base
	add_hooks
	runc_run "$CID"
	assert_success
	[ "$(head -n 1 "$(audit_log "$CID")" | jq -r .policy)" = base ]
	assert_stopped "$CID"
}

@test "two containers share the pinned programs (warm path loads none)" {
	requires runc
	set_policy base
	set_cmd sleep 300
	add_hooks
	runc_run -d "$CID-a"
	assert_success
	runc_run -d "$CID-b"
	assert_success
	local a b
	a=$(attached_prog_ids "$(cgroup2_of "$(runtime_state runc "$CID-a" pid)")" | tr '\n' ' ')
	b=$(attached_prog_ids "$(cgroup2_of "$(runtime_state runc "$CID-b" pid)")" | tr '\n' ' ')
	echo "a: $a; b: $b" >&2
	[ -n "$a" ]
	[ "$a" = "$b" ]
	runc_cmd delete -f "$CID-a"
	assert_success
	# b is still monitored after a has gone
	assert_monitored "$CID-b" "$(runtime_state runc "$CID-b" pid)" base
	runc_cmd delete -f "$CID-b"
	assert_success
	assert_stopped "$CID-a"
	assert_stopped "$CID-b"
}

@test "concurrent cold starts in a fresh bpffs_dir don't race" {
	requires runc
	local bpffs i
	bpffs=$(new_bpffs_dir)
	update_host_config '.bpffs_dir = $d' --arg d "$bpffs"
	set_policy base
	set_cmd sleep 300
	add_hooks
	for i in 1 2 3 4; do
		(
			rc=0
			__runc run -d -b "$BUNDLE" "$CID-$i" </dev/null >"$BATS_TEST_TMPDIR/run-$i.out" 2>&1 || rc=$?
			echo $rc >"$BATS_TEST_TMPDIR/run-$i.rc"
		) &
	done
	wait
	for i in 1 2 3 4; do
		echo "container $i: rc $(cat "$BATS_TEST_TMPDIR/run-$i.rc"): $(cat "$BATS_TEST_TMPDIR/run-$i.out")" >&2
	done
	for i in 1 2 3 4; do
		[ "$(cat "$BATS_TEST_TMPDIR/run-$i.rc")" -eq 0 ]
		local pid
		pid=$(runtime_state runc "$CID-$i" pid)
		[ -f "$(state_file "$CID-$i")" ]
		[ -d "$bpffs/containers/$(jq -r .run "$(state_file "$CID-$i")")" ]
		run attach_types "$(cgroup2_of "$pid")"
		assert_line ingress
		assert_line egress
	done
	for i in 1 2 3 4; do
		runc_cmd delete -f "$CID-$i"
		assert_success
		[ "$(tail -n 1 "$(audit_log "$CID-$i")" | jq -r .type)" = stop ]
		[ ! -e "$(state_file "$CID-$i")" ]
	done
	[ -z "$(ls -A "$bpffs/containers" 2>/dev/null)" ] || fail "pins left: $(ls -A "$bpffs/containers")"
	ocibpf gc --unload
	assert_success
	[ ! -e "$bpffs" ] || fail "$bpffs left after gc --unload: $(find "$bpffs")"
}

# set_pins DIR: the set's pins of maps and programs as "inode path", and the ids of its
# programs: what a load makes anew.
set_pins() {
	find "$1"/sets/*/maps "$1"/sets/*/progs -type f -printf '%i %p\n' | sort
	local p
	for p in "$1"/sets/*/progs/*; do
		bpftool -j prog show pinned "$p" | jq -r '"prog \(.name) \(.id)"'
	done
}

@test "ocibpf load pins the set once; a second run and the containers after it load nothing" {
	requires runc
	local bpffs before
	bpffs=$(new_bpffs_dir)
	update_host_config '.bpffs_dir = $d' --arg d "$bpffs"
	ocibpf load
	assert_success
	assert_output --partial "loaded BPF set"
	[ -e "$bpffs"/sets/*/complete ] || fail "no complete set in $bpffs: $(find "$bpffs")"
	before=$(set_pins "$bpffs")
	[ "$(grep -c '^prog ' <<<"$before")" -ge 6 ] || fail "programs not pinned: $before"
	# and the collector started, so that the first container doesn't wait for one
	wait_for 50 0.1 eval '[ -n "$(collector_pids)" ]' || fail "load started no collector"

	# idempotent: nothing loaded, the same pins
	ocibpf load --json
	assert_success
	jq -e '.loaded == false' <<<"$output"
	[ "$(set_pins "$bpffs")" = "$before" ] || fail "a second load changed the set"

	# a container (every program: audit, network, telemetry) uses the set as it is
	set_policy full
	set_cmd true
	add_hooks
	runc_run "$CID"
	assert_success
	assert_stopped "$CID"
	[ "$(set_pins "$bpffs")" = "$before" ] || fail "a container start loaded the set again"
	[ "$(ls "$bpffs"/sets | wc -l)" -eq 1 ] || fail "more than one set: $(ls "$bpffs"/sets)"

	ocibpf gc --unload
	assert_success
	[ ! -e "$bpffs" ] || fail "$bpffs left after gc --unload: $(find "$bpffs")"
	wait_for 50 0.1 no_collector || fail "the collector stays after gc --unload: $(collector_pids)"

	# --no-collector (the systemd unit's: it runs its own)
	ocibpf load --no-collector
	assert_success
	assert_output --partial "loaded BPF set"
	sleep 0.5
	no_collector || fail "load --no-collector started one: $(collector_pids)"
	ocibpf gc --unload
	assert_success
}

# anchor_links CGROUP-DIR: "ATTACH-TYPE PROG-ID" of what is attached to the cgroup itself.
anchor_links() {
	bpftool -j cgroup show "$1" | jq -r '.[] | "\(.attach_type) \(.id)"' | sort
}

@test "a loaded set attaches its programs once to an empty anchor cgroup; gc --unload removes it" {
	requires runc cgroup2
	local bpffs anchor before conf2 bpffs2 anchor2
	bpffs=$(new_bpffs_dir)
	anchor=$(anchor_cgroup "$bpffs")
	update_host_config '.bpffs_dir = $d' --arg d "$bpffs"
	[ ! -e "$anchor" ] || fail "anchor before any load: $anchor"
	ocibpf load --no-collector
	assert_success
	# every program a container may get, each attached once, where no process is: the
	# kernel keeps these attach types switched on while the set is loaded
	[ -d "$anchor" ] || fail "no anchor cgroup $anchor after ocibpf load"
	run attach_types "$anchor"
	assert_output "$(printf '%s\n' connect4 connect6 egress ingress sendmsg4 sendmsg6)"
	[ ! -s "$anchor/cgroup.procs" ] || fail "processes in the anchor: $(cat "$anchor/cgroup.procs")"
	before=$(anchor_links "$anchor")

	# containers come and go (every program: audit, network, telemetry); the anchor stays
	set_policy full
	set_cmd true
	add_hooks
	runc_run "$CID"
	assert_success
	assert_stopped "$CID"
	[ "$(anchor_links "$anchor")" = "$before" ] || fail "a container changed the anchor"

	# a second configuration's set has an anchor of its own; unloading one leaves the other
	bpffs2=$(new_bpffs_dir)
	anchor2=$(anchor_cgroup "$bpffs2")
	conf2=$OCIBPF_TEST_ROOT/configs/$BATS_TEST_NUMBER-2.json
	jq --arg b "$bpffs2" '.bpffs_dir = $b' "$OCIBPF_CONFIG" >"$conf2"
	chmod 0644 "$conf2"
	OCIBPF_CONFIG=$conf2 ocibpf load --no-collector
	assert_success
	[ "$anchor2" != "$anchor" ] && [ -d "$anchor2" ] || fail "no anchor of its own: $anchor2"
	ocibpf gc --unload
	assert_success
	[ ! -e "$anchor" ] || fail "anchor left after gc --unload: $anchor"
	[ "$(anchor_links "$anchor2")" != "" ] || fail "the other set's anchor lost its programs"

	# an anchor removed by hand comes back with the next ocibpf load (the set stays)
	before=$(set_pins "$bpffs2")
	rm -rf "$bpffs2"/sets/*/anchor
	rmdir "$anchor2"
	OCIBPF_CONFIG=$conf2 ocibpf load --no-collector --json
	assert_success
	jq -e '.loaded == false' <<<"$output"
	run attach_types "$anchor2"
	assert_output "$(printf '%s\n' connect4 connect6 egress ingress sendmsg4 sendmsg6)"
	[ "$(set_pins "$bpffs2")" = "$before" ] || fail "the set was loaded again"
	OCIBPF_CONFIG=$conf2 ocibpf gc --unload
	assert_success
	[ ! -e "$anchor2" ] || fail "anchor left after gc --unload: $anchor2"
}

# set_layout DIR: the set's pins by name, with what the kernel says each map and program is.
set_layout() {
	local p
	(cd "$1"/sets/* && find . -mindepth 1 | sort)
	for p in "$1"/sets/*/maps/*; do
		bpftool -j map show pinned "$p" |
			jq -c '{name, type, bytes_key, bytes_value, max_entries, flags}'
	done
	for p in "$1"/sets/*/progs/*; do
		bpftool -j prog show pinned "$p" | jq -c '{name, type}'
	done
}

@test "the light skeleton loads the set; the libbpf loader (older kernels, OCIBPF_LOADER=libbpf) pins the same" {
	requires runc strace
	local bpffs light trace=$BATS_TEST_TMPDIR/load.strace
	bpffs=$(new_bpffs_dir)
	update_host_config '.bpffs_dir = $d' --arg d "$bpffs"
	# the kernel's BTF (5.5 MB here) is not read in user space: the kernel relocates
	run --separate-stderr strace -f -qq -e trace=openat -o "$trace" "$OCIBPF_CLI" load --no-collector
	assert_success
	assert_output --partial "loaded BPF set"
	! grep -F /sys/kernel/btf/vmlinux "$trace" || fail "ocibpf load read the kernel BTF"
	light=$(set_layout "$bpffs")
	grep -q '"name":"ocibpf_net_agg"' <<<"$light" || fail "no ocibpf_net_agg: $light"
	grep -q '^./links/exec_audit$' <<<"$light" || fail "exec_audit not attached: $light"
	ocibpf gc --unload
	assert_success

	OCIBPF_LOADER=libbpf ocibpf load --no-collector
	assert_success
	assert_output --partial "loaded BPF set"
	diff <(echo "$light") <(set_layout "$bpffs") || fail "libbpf pinned another set"
	bpftool -j prog show pinned "$bpffs"/sets/*/progs/skb_egress | jq -e '.name == "skb_egress"'

	# and a container (every program) runs on it
	set_policy full
	set_cmd true
	add_hooks
	runc_run "$CID"
	assert_success
	assert_stopped "$CID"
	ocibpf gc --unload
	assert_success
}

@test "gc --unload removes the anchor however bpffs_dir is spelled, and after its pins went by hand" {
	requires cgroup2
	local bpffs odd conf2
	bpffs=$(new_bpffs_dir)
	# one directory, two spellings (a second configuration, or an edited one)
	odd=/sys/fs/bpf//${bpffs#/sys/fs/bpf/}
	update_host_config '.bpffs_dir = $d' --arg d "$odd"
	conf2=$OCIBPF_TEST_ROOT/configs/$BATS_TEST_NUMBER-2.json
	jq --arg b "$bpffs" '.bpffs_dir = $b' "$OCIBPF_CONFIG" >"$conf2"
	chmod 0644 "$conf2"
	ocibpf load --no-collector
	assert_success
	OCIBPF_CONFIG=$conf2 ocibpf gc --unload
	assert_success
	[ ! -e "$bpffs/sets" ] || fail "sets left: $(ls "$bpffs/sets")"
	local a
	for a in "$(anchor_cgroup "$odd")" "$(anchor_cgroup "$bpffs")"; do
		if [ -e "$a" ]; then
			rmdir "$a"
			fail "anchor left after gc --unload: $a"
		fi
	done

	# the pins removed by hand (as the package's purge does): the anchor is not forgotten
	ocibpf load --no-collector
	assert_success
	[ -d "$(anchor_cgroup "$bpffs")" ] || fail "no anchor after ocibpf load"
	rm -rf "$bpffs"
	ocibpf gc --unload
	assert_success
	if [ -e "$(anchor_cgroup "$bpffs")" ]; then
		rmdir "$(anchor_cgroup "$bpffs")"
		fail "anchor left after the pins went and gc --unload"
	fi
}

@test "two configurations run side by side" {
	requires runc
	local conf2=$OCIBPF_TEST_ROOT/configs/$BATS_TEST_NUMBER-2.json bpffs2
	bpffs2=$(new_bpffs_dir)
	jq --arg b "$bpffs2" --arg s "$OCIBPF_TEST_ROOT/run-$BATS_TEST_NUMBER-2" \
		--arg l "$OCIBPF_TEST_ROOT/log-$BATS_TEST_NUMBER-2" \
		'.bpffs_dir = $b | .state_dir = $s | .log_dir = $l' "$OCIBPF_CONFIG" >"$conf2"
	chmod 0644 "$conf2"

	set_policy base
	set_cmd sleep 300
	add_hooks
	runc_run -d "$CID-a"
	assert_success

	setup_busybox_bundle "$BATS_TEST_TMPDIR/bundle2"
	set_policy base
	set_cmd sleep 300
	OCIBPF_CONFIG=$conf2 add_hooks
	runc_run -d "$CID-b"
	assert_success

	ocibpf ps --json
	assert_success
	jq -e --arg a "$CID-a" --arg b "$CID-b" 'any(.[]; .id == $a) and all(.[]; .id != $b)' <<<"$output"
	OCIBPF_CONFIG=$conf2 ocibpf ps --json
	assert_success
	jq -e --arg a "$CID-a" --arg b "$CID-b" 'any(.[]; .id == $b) and all(.[]; .id != $a)' <<<"$output"
	[ -f "$OCIBPF_TEST_ROOT/log-$BATS_TEST_NUMBER-2/$CID-b.jsonl" ]
	[ ! -e "$(audit_log "$CID-b")" ]

	runc_cmd delete -f "$CID-a"
	assert_success
	runc_cmd delete -f "$CID-b"
	assert_success
	assert_stopped "$CID-a"
	[ -z "$(ls -A "$OCIBPF_TEST_ROOT/run-$BATS_TEST_NUMBER-2/containers" 2>/dev/null)" ]
	[ -z "$(ls -A "$bpffs2/containers" 2>/dev/null)" ]
	OCIBPF_CONFIG=$conf2 ocibpf gc --unload
	assert_success
	[ ! -e "$bpffs2" ] || fail "$bpffs2 left after gc --unload: $(find "$bpffs2")"
}

# net_container_monitored: $CID under runc with the net policy, monitored; sets cgid (the
# caller's local) to its cgroup id.
net_container_monitored() {
	write_policy net "$BASE_POLICY"
	set_policy net
	set_cmd sleep 300
	add_hooks
	runc_run -d "$CID"
	assert_success
	assert_monitored "$CID" "$(runtime_state runc "$CID" pid)" net
	cgid=$(cgid_of "$CID")
}

@test "bpffs_dir edited while a container runs: its poststop ends the run in the bpffs_dir it started it in (pins, map entries); nothing is made in the new one" {
	requires runc
	load reliability-helpers
	local moved cgid
	moved=$(new_bpffs_dir)
	net_container_monitored
	cgroup_map_has "$cgid" || fail "no entry of $cgid in ocibpf_cgroups"

	# A careless operator edits bpffs_dir while it runs.
	update_host_config '.bpffs_dir = $d' --arg d "$moved"
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
	! cgroup_map_has "$cgid" || fail "the entry of $cgid is left in ocibpf_cgroups"
	[ ! -e "$moved" ] || fail "poststop made $moved: $(find "$moved")"
	update_host_config '.bpffs_dir = $d' --arg d "$BPFFS_DIR"   # (for the leak check)
}

@test "state_dir edited while a container runs: its poststop ends the run recorded in the state_dir it was started with (found through bpffs_dir's marker)" {
	requires runc
	load reliability-helpers
	local moved=$OCIBPF_TEST_ROOT/run-$BATS_TEST_NUMBER-moved cgid
	net_container_monitored

	# A careless operator edits state_dir while it runs.
	update_host_config '.state_dir = $d' --arg d "$moved"
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
	! cgroup_map_has "$cgid" || fail "the entry of $cgid is left in ocibpf_cgroups"
	[ -z "$(ls -A "$moved/containers" 2>/dev/null)" ] || fail "records in $moved: $(ls -A "$moved/containers")"
	update_host_config '.state_dir = $d' --arg d "$STATE_DIR"   # (for the leak check)
	rm -rf "$moved"
}

@test "the collector runs detached while a container needs it" {
	requires runc
	set_policy full
	set_cmd sleep 300
	add_hooks
	local t0 t1
	t0=$(date +%s%N)
	runc_run -d "$CID"
	t1=$(date +%s%N)
	assert_success
	# the runtime must not wait on the collector's stdio
	[ $(((t1 - t0) / 1000000)) -lt 10000 ] || fail "runc run -d took $(((t1 - t0) / 1000000)) ms"

	[ -f "$STATE_DIR/ocibpfd.pid" ] || fail "no $STATE_DIR/ocibpfd.pid"
	local pid fd target
	pid=$(head -n 1 "$STATE_DIR/ocibpfd.pid" | tr -dc 0-9)
	[ -n "$pid" ] && [ -d "/proc/$pid" ] || fail "ocibpfd (pid '$pid') is not running"
	[ "$(readlink "/proc/$pid/exe")" = "$OCIBPFD" ]
	for fd in 0 1 2; do
		target=$(readlink "/proc/$pid/fd/$fd" || true)
		echo "ocibpfd fd $fd -> $target" >&2
		[[ "$target" != pipe:* && "$target" != "$BATS_TEST_TMPDIR"/* ]] ||
			fail "ocibpfd fd $fd is inherited from the runtime: $target"
	done
	# its own session, not the runtime's
	[ "$(ps -o sid= -p "$pid" | tr -d ' ')" != "$(ps -o sid= -p $$ | tr -d ' ')" ]

	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
}

@test "the collector stays while the BPF set is pinned: a container after a quiet spell finds it; gc --unload lets it go" {
	requires runc
	set_policy full
	set_cmd true
	add_hooks
	runc_run "$CID"
	assert_success
	local pid
	pid=$(collector_pids)
	[ -n "$pid" ] || fail "no collector"
	# Nothing runs for 5 s (it used to exit after 2): it is still there, and the next
	# container is served by it (not by a new one).
	sleep 5
	[ "$(collector_pids)" = "$pid" ] || fail "the collector changed or left: '$pid' -> '$(collector_pids)'"
	runc_run "$CID-2"
	assert_success
	[ "$(collector_pids)" = "$pid" ] || fail "a new collector: '$pid' -> '$(collector_pids)'"
	assert_stopped "$CID-2"
	assert_stopped "$CID"
	# The set unloaded: it exits, and cleans up after itself.
	ocibpf gc --unload
	assert_success
	wait_for 50 0.1 no_collector || fail "the collector stays after gc --unload: $(collector_pids)"
	local f
	for f in ocibpfd.pid ocibpfd.sock; do
		[ ! -e "$STATE_DIR/$f" ] || fail "$STATE_DIR/$f left behind"
	done
	[ -e "$STATE_DIR/ocibpfd.idle" ] || fail "no idle marker (it exited with no container)"
}

@test "ocibpfd --foreground takes over from a collector started on demand (which would stay)" {
	requires runc
	set_policy full
	set_cmd true
	add_hooks
	runc_run "$CID"
	assert_success
	local old
	old=$(collector_pids)
	[ -n "$old" ] || fail "no collector"
	"$OCIBPFD" --foreground --config "$OCIBPF_CONFIG" </dev/null >/dev/null 2>"$BATS_TEST_TMPDIR/fg.err" 3>&- &
	local fg=$!
	wait_for 100 0.1 eval '[ "$(collector_pids)" = "$fg" ]' ||
		{ kill "$fg"; fail "not taken over: $(collector_pids) (fg $fg): $(cat "$BATS_TEST_TMPDIR/fg.err")"; }
	[ ! -d "/proc/$old" ] || is_zombie "$old" || { kill "$fg"; fail "the on-demand collector $old still runs"; }
	grep -q "taking over from the collector started on demand (pid $old)" "$BATS_TEST_TMPDIR/fg.err"
	# it serves the next container
	runc_run "$CID-2"
	assert_success
	assert_stopped "$CID-2"
	# a second supervised one does not take over from it
	run "$OCIBPFD" --foreground --config "$OCIBPF_CONFIG" </dev/null 3>&-
	[ "$status" -eq 1 ] && [[ "$output" == *"already running"* ]] || { kill "$fg"; fail "second: $status $output"; }
	[ "$(collector_pids)" = "$fg" ]
	kill "$fg"
	wait "$fg" || true
	assert_stopped "$CID"
}

# --- bad input, hook called directly ------------------------------------------------

# A live process in a cgroup of its own, and the bundle naming policy base.
direct_setup() {
	spawn_sandbox
	set_policy base
}

# refused STATE [--id ID] WORD...: createRuntime with STATE fails with one error
# line ("ocibpf-hook: ID: ..." with --id) mentioning each WORD, and leaves nothing
# behind.
refused() {
	local state=$1
	shift
	run_hook createRuntime "$state"
	assert_hook_error "$@"
	assert_nothing_left "$CID" "$SANDBOX_CGROUP"
}

@test "direct: valid state, then poststop (annotations from the state)" {
	direct_setup
	run_hook createRuntime "$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" base)"
	assert_success
	assert_monitored "$CID" "$SANDBOX_PID" base
	run_hook poststop "$(jq -cn --arg id "$CID" --arg b "$BUNDLE" \
		'{ociVersion: "1.0.2-dev", id: $id, status: "stopped", bundle: $b}')"
	assert_success
	assert_stopped "$CID"
	# the cgroup still exists: the programs are gone from it
	[ -z "$(bpftool cgroup show "$SANDBOX_CGROUP")" ] ||
		fail "still attached after poststop: $(bpftool cgroup show "$SANDBOX_CGROUP")"
}

@test "direct: crun's state form, annotations from the bundle's config.json" {
	direct_setup
	run_hook createRuntime "$(jq -cn --arg id "$CID" --argjson pid "$SANDBOX_PID" --arg b "$BUNDLE" \
		'{ociVersion: "1.0", id: $id, pid: $pid, root: "rootfs", bundle: $b, status: "created"}')"
	assert_success
	assert_monitored "$CID" "$SANDBOX_PID" base
	run_hook poststop "$(jq -cn --arg id "$CID" --arg b "$BUNDLE" \
		'{ociVersion: "1.0", id: $id, pid: 0, root: "rootfs", bundle: $b, status: "stopped"}')"
	assert_success
	assert_stopped "$CID"
}

@test "direct: bad usage exits 2" {
	run --separate-stderr "$OCIBPF_HOOK" poststart </dev/null
	[ "$status" -eq 2 ]
	run --separate-stderr "$OCIBPF_HOOK" createRuntime poststop </dev/null
	[ "$status" -eq 2 ]
	# no stage is not bad usage (the status tells it), but an empty state is refused
	run --separate-stderr "$OCIBPF_HOOK" </dev/null
	[ "$status" -eq 1 ]
	[[ "$stderr" == "ocibpf-hook: invalid OCI state on stdin: "* ]] || fail "stderr: $stderr"
}

@test "direct: garbage, empty or truncated state is refused" {
	direct_setup
	refused 'this is not json' state
	refused '' state
	refused '[1, 2, 3]' state
	refused "{\"ociVersion\":\"1.0.2\",\"id\":\"$CID\",\"pid\":$SANDBOX_PID,\"bundle\":\"$BUNDLE" state
	refused "{\"ociVersion\":\"1.0.2\",\"id\":\"$CID\",\"pid\":$SANDBOX_PID" state
}

@test "direct: state with a missing id is refused" {
	direct_setup
	refused "$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" base | jq -c 'del(.id)')" id
	refused "$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" base | jq -c '.id = 42')" id
}

@test "direct: state with a missing or bad pid is refused" {
	direct_setup
	refused "$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" base | jq -c 'del(.pid)')" pid
	refused "$(make_state "$CID" 0 "$BUNDLE" base)" pid
	refused "$(make_state "$CID" -5 "$BUNDLE" base)" pid
	refused "$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" base | jq -c '.pid = "many"')" pid
}

@test "direct: state with a dead pid is refused" {
	direct_setup
	local pid
	pid=$(dead_pid)
	[ ! -d "/proc/$pid" ]
	refused "$(make_state "$CID" "$pid" "$BUNDLE" base)" --id "$CID" "$pid"
}

@test "direct: a process in the root cgroup is refused" {
	# (never attach a container's programs to the whole host)
	[ "$(sed -n 's/^0:://p' /proc/$$/cgroup)" = / ] || skip "the test runner is not in the root cgroup"
	run_hook createRuntime "$(make_state "$CID" $$ "$BUNDLE" base)"
	assert_hook_error --id "$CID" "root cgroup"
	assert_nothing_left "$CID"
}

@test "direct: ids that can't be file names are refused" {
	direct_setup
	local id
	for id in '../../x' 'a/b' '.hidden' '-dash' '' 'sp ace' "$(printf 'x%.0s' {1..1000})"; do
		refused "$(make_state "$id" "$SANDBOX_PID" "$BUNDLE" base)" id
	done
	# nothing escaped the directories
	[ ! -e "$OCIBPF_TEST_ROOT/x.json" ]
	[ ! -e "$(dirname "$LOG_DIR")/../x.jsonl" ]
	[ ! -e "$BPFFS_DIR/../x" ]
	[ ! -e /sys/fs/bpf/x ]
}

@test "direct: a missing policy file is refused" {
	direct_setup
	refused "$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" nosuchpolicy)" --id "$CID" nosuchpolicy
}

@test "direct: a policy name that is not a plain name is refused" {
	direct_setup
	local name
	for name in '../policies/base' '/etc/passwd' '.base' 'ba se' 'base/'; do
		refused "$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" "$name")" --id "$CID" policy
	done
}

@test "direct: invalid policies are refused, naming the file and the field" {
	direct_setup
	write_policy badjson '{"audit": {"syscalls": ["execve"]'
	refused "$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" badjson)" --id "$CID" badjson.json
	write_policy unknownkey '{"telemetry": true, "bogus_key": 1}'
	refused "$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" unknownkey)" --id "$CID" unknownkey.json bogus_key
	write_policy badcidr '{"network": {"egress": {"default": "allow", "rules": [{"action": "deny", "cidr": "10.0.0.0/33"}]}}}'
	refused "$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" badcidr)" --id "$CID" badcidr.json cidr
	write_policy badcidr2 '{"network": {"egress": {"default": "allow", "rules": [{"action": "deny", "cidr": "300.1.2.3/8"}]}}}'
	refused "$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" badcidr2)" --id "$CID" badcidr2.json cidr
	write_policy badports '{"network": {"egress": {"default": "allow", "rules": [{"action": "deny", "cidr": "10.0.0.0/8", "protocol": "tcp", "ports": "9000-80"}]}}}'
	refused "$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" badports)" --id "$CID" badports.json port
	write_policy bigport '{"network": {"egress": {"default": "allow", "rules": [{"action": "deny", "cidr": "10.0.0.0/8", "protocol": "tcp", "ports": "70000"}]}}}'
	refused "$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" bigport)" --id "$CID" bigport.json port
	write_policy badsyscall '{"audit": {"syscalls": ["execve", "notasyscall"]}}'
	refused "$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" badsyscall)" --id "$CID" badsyscall.json notasyscall
}

@test "direct: a world-writable policy file is refused" {
	direct_setup
	write_policy writable '{"telemetry": true}'
	chmod 0666 "$POLICY_DIR/writable.json"
	refused "$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" writable)" --id "$CID" writable.json
}

@test "direct: an unreadable bundle is refused when the state has no annotations" {
	direct_setup
	refused "$(make_state "$CID" "$SANDBOX_PID" "$BATS_TEST_TMPDIR/no-such-bundle")" --id "$CID" bundle
	refused "$(make_state "$CID" "$SANDBOX_PID" relative/bundle)" bundle
	mkdir "$BATS_TEST_TMPDIR/garbage-bundle"
	echo 'not json {' >"$BATS_TEST_TMPDIR/garbage-bundle/config.json"
	refused "$(make_state "$CID" "$SANDBOX_PID" "$BATS_TEST_TMPDIR/garbage-bundle")" --id "$CID" config.json
}

@test "direct: a bpffs_dir that is not on bpffs is refused" {
	direct_setup
	mkdir "$BATS_TEST_TMPDIR/notbpf"
	update_host_config '.bpffs_dir = $d' --arg d "$BATS_TEST_TMPDIR/notbpf"
	refused "$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" base)" --id "$CID" bpffs
	[ -z "$(find "$BATS_TEST_TMPDIR/notbpf" -mindepth 1)" ] ||
		fail "left in $BATS_TEST_TMPDIR/notbpf: $(find "$BATS_TEST_TMPDIR/notbpf" -mindepth 1)"
}

@test "direct: fail_open lets a refused container through, unmonitored" {
	direct_setup
	update_host_config '.fail_open = true'
	run_hook createRuntime "$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" nosuchpolicy)"
	assert_success
	[ -n "$stderr" ] || fail "fail_open: no warning on stderr"
	grep -q nosuchpolicy <<<"$stderr"
	assert_not_monitored "$CID"
	[ -z "$(bpftool cgroup show "$SANDBOX_CGROUP")" ]
}

@test "direct: poststop is idempotent, an unknown id is fine" {
	local stopped
	stopped=$(jq -cn --arg id "$CID-unknown" --arg b "$BUNDLE" \
		'{ociVersion: "1.0.2-dev", id: $id, status: "stopped", bundle: $b}')
	run_hook poststop "$stopped"
	assert_success
	run_hook poststop "$stopped"
	assert_success
	assert_not_monitored "$CID-unknown"
}

# --- the same failures through real runtimes ------------------------------------------

# not_started RT WORD...: `RT run` of the bundle fails, the container never ran,
# the hook's error reached the user, nothing is left.
not_started() {
	local rt=$1 errors
	shift
	set_cmd sh -c 'echo CONTAINER-STARTED'
	# crun sends hooks' stderr to /dev/null unless this annotation names a file
	update_config '.annotations["run.oci.hooks.stderr"] = $f' \
		--arg f "$BATS_TEST_TMPDIR/hooks.stderr"
	"${rt}_run" "$CID"
	assert_failure
	refute_output --partial CONTAINER-STARTED
	if [ "$rt" = crun ]; then
		errors=$(cat "$BATS_TEST_TMPDIR/hooks.stderr" 2>/dev/null || true)
		echo "hooks' stderr: $errors" >&2
		rm -f "$BATS_TEST_TMPDIR/hooks.stderr"
	else
		errors=$output
	fi
	grep -qF "ocibpf-hook: $CID: " <<<"$errors" || fail "no 'ocibpf-hook: $CID: ' error"
	local w
	for w in "$@"; do
		grep -qiF -- "$w" <<<"$errors" || fail "the hook's error does not mention '$w'"
	done
	assert_nothing_left "$CID"
}

@test "runc: a missing policy file refuses the container" {
	requires runc
	add_hooks
	set_policy nosuchpolicy
	not_started runc nosuchpolicy
}

@test "runc: a missing policy file refuses the container at prestart too" {
	requires runc
	add_hooks prestart poststop
	set_policy nosuchpolicy
	not_started runc nosuchpolicy
}

@test "crun: a missing policy file refuses the container" {
	requires crun
	add_hooks
	set_policy nosuchpolicy
	not_started crun nosuchpolicy
}

@test "crun: an invalid policy refuses the container at prestart" {
	requires crun
	write_policy badsyscall '{"audit": {"syscalls": ["notasyscall"]}}'
	add_hooks prestart poststop
	set_policy badsyscall
	not_started crun notasyscall
}

@test "runc: a bad policy name refuses the container" {
	requires runc
	add_hooks
	set_policy ../policies/base
	not_started runc policy
}

@test "runc: invalid policies refuse the container" {
	requires runc
	add_hooks
	write_policy badjson '{"audit": '
	set_policy badjson
	not_started runc badjson.json
	write_policy unknownkey '{"telemetry": true, "bogus_key": 1}'
	set_policy unknownkey
	not_started runc bogus_key
	write_policy badcidr '{"network": {"ingress": {"default": "deny", "rules": [{"action": "allow", "cidr": "fe80::/129"}]}}}'
	set_policy badcidr
	not_started runc cidr
	write_policy badports '{"network": {"egress": {"default": "allow", "rules": [{"action": "deny", "cidr": "10.0.0.0/8", "ports": "100-20"}]}}}'
	set_policy badports
	not_started runc port
	write_policy badsyscall '{"audit": {"syscalls": ["notasyscall"]}}'
	set_policy badsyscall
	not_started runc notasyscall
}

@test "runc: a missing default_policy file refuses containers that name none" {
	requires runc
	update_host_config '.default_policy = "nosuchdefault"'
	add_hooks
	not_started runc nosuchdefault
}

@test "runc: a bpffs_dir that is not on bpffs refuses the container" {
	requires runc
	mkdir "$BATS_TEST_TMPDIR/notbpf"
	update_host_config '.bpffs_dir = $d' --arg d "$BATS_TEST_TMPDIR/notbpf"
	add_hooks
	set_policy base
	not_started runc bpffs
}

@test "runc: fail_open lets the container run unmonitored" {
	requires runc
	update_host_config '.fail_open = true'
	write_policy badsyscall '{"audit": {"syscalls": ["notasyscall"]}}'
	add_hooks
	set_policy badsyscall
	set_cmd sh -c 'echo CONTAINER-STARTED'
	runc_run "$CID"
	assert_success
	assert_line CONTAINER-STARTED
	assert_not_monitored "$CID"
}

@test "runc: poststop twice in a row is fine" {
	requires runc
	set_policy base
	add_hooks createRuntime poststop poststop
	runc_run "$CID"
	assert_success
	assert_stopped "$CID"
	[ "$(records "$CID" stop | wc -l)" -eq 1 ]
	# and once more, by hand, after the container is gone
	run_hook poststop "$(jq -cn --arg id "$CID" --arg b "$BUNDLE" \
		'{ociVersion: "1.0.2-dev", id: $id, status: "stopped", bundle: $b}')"
	assert_success
	[ "$(records "$CID" stop | wc -l)" -eq 1 ]
}

# --- CLI ---------------------------------------------------------------------------

@test "ocibpf ps --json lists running monitored containers" {
	requires runc
	set_policy base
	set_cmd sleep 300
	add_hooks
	runc_run -d "$CID"
	assert_success
	local pid rel
	pid=$(runtime_state runc "$CID" pid)
	rel=$(cgroup2_of "$pid")
	rel=${rel#"$CGROUP2"}
	ocibpf ps --json
	assert_success
	jq -e --arg id "$CID" --argjson pid "$pid" --arg rel "$rel" \
		'type == "array" and any(.[]; .id == $id and .policy == "base" and .pid == $pid
		 and (.cgroup | endswith($rel)) and (.started | type) == "string")' <<<"$output"
	ocibpf ps
	assert_success
	assert_output --partial "$CID"
	runc_cmd delete -f "$CID"
	assert_success
	ocibpf ps --json
	assert_success
	jq -e --arg id "$CID" 'all(.[]; .id != $id)' <<<"$output"
	assert_stopped "$CID"
}

@test "ocibpf gc removes a container whose runtime skipped poststop" {
	requires runc
	set_policy base
	set_cmd sleep 300
	add_hooks createRuntime # no poststop
	runc_run -d "$CID-gone"
	assert_success

	# a second, healthy container that gc must leave alone
	setup_busybox_bundle "$BATS_TEST_TMPDIR/bundle2"
	set_policy base
	set_cmd sleep 300
	add_hooks
	runc_run -d "$CID-alive"
	assert_success

	runc_cmd kill "$CID-gone" KILL
	assert_success
	wait_status runc "$CID-gone" stopped
	runc_cmd delete "$CID-gone"
	assert_success
	# poststop never ran: the state is stale
	[ -f "$(state_file "$CID-gone")" ]

	ocibpf gc
	assert_success
	assert_not_monitored "$CID-gone"
	assert_monitored "$CID-alive" "$(runtime_state runc "$CID-alive" pid)" base

	runc_cmd delete -f "$CID-alive"
	assert_success
	assert_stopped "$CID-alive"
}

@test "direct: ocibpf gc treats a container whose process is a zombie as gone" {
	# A container process that died but was not reaped yet (its parent, here a
	# shell that exec'd sleep, never waits; on a host whose PID 1 is slow to reap,
	# a killed container's init looks like this after `runc delete`).
	SANDBOX_CGROUP=$CGROUP2/$CID-sandbox
	mkdir "$SANDBOX_CGROUP"
	local pidfile=$BATS_TEST_TMPDIR/child.pid parent child
	# shellcheck disable=SC2016
	sh -c 'sh -c "echo \$\$ > \"\$0/cgroup.procs\" && exec sleep 300" "$1" & echo $! >"$2"; exec sleep 300' \
		sh "$SANDBOX_CGROUP" "$pidfile" </dev/null >/dev/null 2>&1 3>&- &
	parent=$!
	echo "$parent $SANDBOX_CGROUP" >>"$BATS_TEST_TMPDIR/sandboxes"
	wait_for 50 0.05 test -s "$pidfile"
	child=$(cat "$pidfile")
	wait_for 50 0.05 grep -qx "$child" "$SANDBOX_CGROUP/cgroup.procs"

	run_hook createRuntime "$(make_state "$CID" "$child" "$BUNDLE" base)"
	assert_success
	assert_monitored "$CID" "$child" base

	kill -9 "$child"
	wait_for 50 0.1 is_zombie "$child"
	ocibpf gc
	assert_success
	assert_not_monitored "$CID"
}

@test "ocibpf policy check: syscalls that do what an audited one does, not audited, are noted (text and --json)" {
	local f=$BATS_TEST_TMPDIR/p.json
	echo '{"audit": {"syscalls": ["execve", "openat", "connect", "unlink"]}}' >"$f"
	ocibpf policy check "$f"
	assert_success
	assert_line --index 0 --partial "$f: valid"
	assert_line "  note: openat is audited, but not open, openat2, creat, open_by_handle_at: a process can use those unaudited"
	assert_line "  note: unlink is audited, but not unlinkat, rmdir: a process can use those unaudited"
	[ "${#lines[@]}" -eq 3 ] || fail "want the valid line and two notes"
	ocibpf policy check --json "$f"
	assert_success
	jq -e '.valid and (.notes | length == 2) and (.notes[0] | startswith("openat is audited, but not open,"))' <<<"$output"
	# the whole family, or "all": nothing to note
	echo '{"audit": {"syscalls": ["open", "openat", "openat2", "creat", "open_by_handle_at"]}}' >"$f"
	ocibpf policy check "$f"
	assert_success
	refute_output --partial note
	echo '{"audit": {"syscalls": ["all"]}}' >"$f"
	ocibpf policy check --json "$f"
	assert_success
	jq -e '.notes == []' <<<"$output"
}

@test "ocibpf policy check" {
	local f=$BATS_TEST_TMPDIR/p.json
	echo "$FULL_POLICY" >"$f"
	ocibpf policy check "$f"
	assert_success

	echo '{"audit": {"syscalls": ["all"]}, "telemetry": {"syscalls": true}}' >"$f"
	ocibpf policy check "$f"
	assert_success

	echo '{"network": {"egress": {"default": "allow", "rules": [{"action": "allow", "cidr": "::ffff:10.0.0.0/104", "protocol": "udp", "ports": "53,1000-2000"}]}}}' >"$f"
	ocibpf policy check "$f"
	assert_success

	local bad
	while IFS='|' read -r word bad; do
		echo "$bad" >"$f"
		ocibpf policy check "$f"
		[ "$status" -eq 1 ] || fail "policy check accepted $bad"
		[ -n "$stderr" ] || fail "policy check: no reason on stderr for $bad"
		grep -qiF -- "$word" <<<"$stderr" || fail "policy check: '$stderr' does not mention '$word'"
	done <<'EOF'
p.json|{"audit": 
bogus_key|{"bogus_key": true}
cidr|{"network": {"egress": {"default": "allow", "rules": [{"action": "deny", "cidr": "10.0.0.0/33"}]}}}
cidr|{"network": {"egress": {"default": "allow", "rules": [{"action": "deny", "cidr": "not-an-address"}]}}}
port|{"network": {"egress": {"default": "allow", "rules": [{"action": "deny", "cidr": "10.0.0.0/8", "ports": "9000-80"}]}}}
port|{"network": {"egress": {"default": "allow", "rules": [{"action": "deny", "cidr": "10.0.0.0/8", "ports": "65536"}]}}}
notasyscall|{"audit": {"syscalls": ["notasyscall"]}}
default|{"network": {"egress": {"default": "maybe"}}}
action|{"network": {"egress": {"default": "allow", "rules": [{"action": "drop", "cidr": "10.0.0.0/8"}]}}}
protocol|{"network": {"egress": {"default": "allow", "rules": [{"action": "deny", "cidr": "10.0.0.0/8", "protocol": "sctp"}]}}}
EOF

	ocibpf policy check "$BATS_TEST_TMPDIR/no-such-file.json"
	assert_failure 1
	ocibpf policy check
	assert_failure 2
}

@test "ocibpf version" {
	ocibpf version
	assert_success
	assert_output --partial "$(cat "$PROJECT_ROOT/VERSION")"
}
