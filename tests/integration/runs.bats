#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
#
# Container identity (SPEC.md, issue 11): what ocibpf keeps for a container belongs to
# one run of it. A second container with the same id (another runc --root, the id
# reused back to back), a hook killed half-way, `ocibpf gc` racing a poststop and
# `ocibpf gc --unload` while containers start never touch another run, and every id
# runc takes works.

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
	RUNC_ROOT2=$BATS_TEST_TMPDIR/runc-root-2
	write_policy audited '{"audit": {"syscalls": ["openat"]}}'
}

teardown() {
	local x
	for x in "$RUNC_ROOT2"/*; do
		[ -e "$x" ] && timeout 20 "$RUNC" --root "$RUNC_ROOT2" delete -f "$(basename "$x")" >/dev/null 2>&1
	done
	rm -rf "$RUNC_ROOT2"
	if [ -n "${STOPPED_COLLECTOR:-}" ]; then
		kill -CONT "$STOPPED_COLLECTOR" 2>/dev/null || true
	fi
	net_teardown
	ocibpf_teardown
}

# runs_of ID: one line per run in ID's log: "start exec syscall ... stop" (the types in order).
runs_of() {
	jq -r -s '[foreach .[] as $r ([]; if $r.type == "start" then [$r.type] else . + [$r.type] end;
		select($r.type == "stop") | join(" "))] | .[]' "$(audit_log "$1")"
}

# denied_policy PORT: deny TCP to 127.0.0.1:PORT, audit openat.
denied_policy() {
	write_policy locked "{\"audit\": {\"syscalls\": [\"openat\"]},
		\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
			{\"action\": \"deny\", \"cidr\": \"127.0.0.1/32\", \"protocol\": \"tcp\", \"ports\": \"$1\"}]}}}"
	set_policy locked
}

# start_locked PORT: a listener on the host at 127.0.0.1:PORT, and $CID running (sleep 300,
# host network) under denied_policy PORT, monitored.
start_locked() {
	host_listen tcp 127.0.0.1 "$1"
	denied_policy "$1"
	use_host_network
	set_cmd sleep 300
	runc_run -d "$CID"
	assert_success
	assert_monitored "$CID" "$(runtime_state runc "$CID" pid)" locked
}

@test "a start refused for an id that runs under another runc root leaves the running container exactly as it was" {
	local p
	p=$(free_ports 1)
	start_locked "$p"
	local record_before pins log_before
	record_before=$(cat "$(state_file "$CID")")
	pins=$(pins_dir "$CID")
	log_before=$(cat "$(audit_log "$CID")")

	# The same id under a second root, from the same bundle (another cgroup), then from
	# another bundle: both refused; the runtime runs their poststop.
	update_config '.linux.cgroupsPath = $p' --arg p "/$CID-second"
	run timeout 30 "$RUNC" --root "$RUNC_ROOT2" run -d -b "$BUNDLE" "$CID" </dev/null
	echo "second root: status $status: $output" >&2
	assert_failure
	assert_output --partial "already monitored"
	local other=$BATS_TEST_TMPDIR/bundle-2
	cp -a "$BUNDLE" "$other"
	run timeout 30 "$RUNC" --root "$RUNC_ROOT2" run -d -b "$other" "$CID" </dev/null
	assert_failure
	assert_output --partial "already monitored"
	# a refused start with a policy that does not load either
	update_config '.annotations[$k] = "nosuchpolicy"' --arg k "$POLICY_ANNOTATION"
	run timeout 30 "$RUNC" --root "$RUNC_ROOT2" run -d -b "$BUNDLE" "$CID" </dev/null
	assert_failure
	assert_output --partial nosuchpolicy

	# Nothing of the running container was touched.
	[ "$(cat "$(state_file "$CID")")" = "$record_before" ] || fail "record changed"
	[ -d "$pins" ] && [ -n "$(ls -A "$pins")" ] || fail "pins gone: $pins"
	[ "$(cat "$(audit_log "$CID")")" = "$log_before" ] || fail "log changed: $(cat "$(audit_log "$CID")")"
	run attach_types "$(jq -r .cgroup_dir <<<"$record_before")"
	assert_line egress
	assert_line connect4
	# Its denied port is still denied.
	run __runc exec "$CID" nettool tcp 127.0.0.1 "$p" 2000
	echo "$output" >&2
	assert_output --regexp '^EPERM [0-9]+ms$'

	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
	[ "$(grep -c '"type":"start"' "$(audit_log "$CID")")" -eq 1 ]
}

@test "the same id run 25 times back to back: every run logs its own records between its start and stop" {
	set_policy audited
	set_cmd sh -c 'cat /etc/passwd >/dev/null; cat /etc/group >/dev/null'
	local i
	for i in $(seq 25); do
		runc_run "$CID"
		assert_success
	done
	run runs_of "$CID"
	echo "$output" >&2
	[ "${#lines[@]}" -eq 25 ] || fail "${#lines[@]} runs logged"
	local line
	for line in "${lines[@]}"; do
		[[ "$line" == "start "*" exec "*" stop" ]] || fail "run without its exec records: $line"
		[[ "$line" == *syscall* ]] || fail "run without its openat records: $line"
		[[ "$line" != *lost* ]] || fail "records lost: $line"
	done
	assert_seq_contiguous "$CID"
	assert_not_monitored "$CID"
}

@test "a createRuntime hook killed half-way leaves no stop without a start, and nothing behind" {
	set_policy audited
	set_cmd sleep 300
	# A collector (kept by a running container), then stopped: the hook waits in its
	# sync request.
	runc_run -d "$CID-first"
	assert_success
	local cpid
	stop_collector
	# a syscall the collector holds no tracepoint for yet: the hook must ask it (for
	# syscalls it holds, it would not: ocibpf-hook(8))
	write_policy audited2 '{"audit": {"syscalls": ["openat", "connect"]}}'
	set_policy audited2
	(timeout 30 "$RUNC" --root "$RUNC_ROOT" run -d -b "$BUNDLE" "$CID" </dev/null >"$BATS_TEST_TMPDIR/run.out" 2>&1 || true) &
	local runner=$! hook=
	# recorded, then waiting for the stopped collector
	wait_for 200 0.05 eval '[ -f "$(state_file "$CID")" ]' ||
		fail "no record: $(cat "$BATS_TEST_TMPDIR/run.out")"
	# this test's hook (other suites may run hooks on this machine)
	local p
	for p in $(pgrep -x ocibpf-hook); do
		tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OCIBPF_CONFIG=$OCIBPF_CONFIG" && hook=$p
	done
	[ -n "$hook" ] || fail "no hook running: $(cat "$BATS_TEST_TMPDIR/run.out")"
	kill -9 "$hook"
	wait "$runner" || true
	echo "runc: $(cat "$BATS_TEST_TMPDIR/run.out")" >&2
	kill -CONT "$cpid"
	STOPPED_COLLECTOR=
	__runc delete -f "$CID" >/dev/null 2>&1 || true
	runc_cmd delete -f "$CID-first"
	assert_success
	ocibpf gc
	assert_success
	local log starts stops
	log=$(audit_log "$CID")
	starts=$(grep -c '"type":"start"' "$log" 2>/dev/null || true)
	stops=$(grep -c '"type":"stop"' "$log" 2>/dev/null || true)
	[ "${starts:-0}" -eq "${stops:-0}" ] || fail "$starts start and $stops stop records: $(cat "$log")"
	assert_not_monitored "$CID"
}

@test "ocibpf gc racing poststop writes one stop record per run" {
	set_policy audited
	set_cmd sleep 300
	local i
	for i in 1 2 3 4 5; do
		runc_run -d "$CID-$i"
		assert_success
		kill -9 "$(runtime_state runc "$CID-$i" pid)"
		wait_status runc "$CID-$i" stopped
		# poststop (runc delete) and two gc at once
		__runc delete "$CID-$i" >/dev/null 2>&1 &
		"$OCIBPF_CLI" gc >/dev/null 2>&1 &
		"$OCIBPF_CLI" gc >/dev/null 2>&1 &
		wait
		[ "$(grep -c '"type":"stop"' "$(audit_log "$CID-$i")")" -eq 1 ] ||
			fail "stop records: $(grep '"type":"stop"' "$(audit_log "$CID-$i")")"
		assert_seq_contiguous "$CID-$i"
		assert_not_monitored "$CID-$i"
	done
}

# stop_collector: the running collector stopped (SIGSTOP; its pid in $cpid and in
# STOPPED_COLLECTOR, which teardown continues).
stop_collector() {
	wait_for 100 0.05 eval '[ -n "$(collector_pids)" ]' || fail "no collector"
	cpid=$(collector_pids | head -n 1)
	kill -STOP "$cpid"
	STOPPED_COLLECTOR=$cpid
}

# gone_behind_stopped_collector: $CID (policy "audited") ran to its end while the
# collector was stopped (SIGSTOP, pid in $cpid and STOPPED_COLLECTOR): its records are still
# queued in the kernel, and its poststop has not run (runc run -d, not deleted).
gone_behind_stopped_collector() {
	set_policy audited
	set_cmd sh -c 'cat /etc/passwd >/dev/null'
	# openat held by the collector (for its linger), so that the next start asks it nothing
	runc_run "$CID-warm"
	assert_success
	stop_collector
	runc_run -d "$CID"
	assert_success
	wait_status runc "$CID" stopped
}

# assert_drained_then_stopped ID: ID, gone behind a stopped collector, was ended by gc:
# its queued records (start, the /etc/passwd openat) all came before its stop record, in
# an unbroken seq, and it is no longer monitored. Then its poststop (runc delete) comes
# late and must write no second stop record.
assert_drained_then_stopped() {
	local id=$1
	run jq -r 'if .type == "syscall" then .path else .type end' "$(audit_log "$id")"
	[[ "$(tr '\n' ' ' <<<"$output")" == "start "*"/etc/passwd stop " ]] ||
		fail "records after the stop, or lost: $(cat "$(audit_log "$id")")"
	assert_seq_contiguous "$id"
	assert_not_monitored "$id"
	runc_cmd delete "$id"
	assert_success
	[ "$(grep -c '"type":"stop"' "$(audit_log "$id")")" -eq 1 ] ||
		fail "stop records: $(cat "$(audit_log "$id")")"
}

@test "ocibpf gc ending a container whose poststop has not come: its queued records go before its stop record" {
	local cpid
	gone_behind_stopped_collector
	# gc ends it (no poststop yet); the collector comes back meanwhile
	"$OCIBPF_CLI" gc >"$BATS_TEST_TMPDIR/gc.out" 2>&1 &
	local gc=$!
	sleep 1
	kill -CONT "$cpid"
	STOPPED_COLLECTOR=
	wait "$gc" || fail "gc: $(cat "$BATS_TEST_TMPDIR/gc.out")"
	assert_drained_then_stopped "$CID"
}

@test "ocibpf gc ending a container while no collector runs: one is started for its queued records, before its stop record" {
	local cpid
	gone_behind_stopped_collector
	# the collector dies (an OOM kill, an operator's kill -9) with the records queued
	kill -9 "$cpid"
	STOPPED_COLLECTOR=
	wait_for 100 0.05 eval '[ -z "$(collector_pids)" ]' || fail "the collector did not go"
	ocibpf gc
	assert_success
	assert_drained_then_stopped "$CID"
}

@test "ocibpf gc waiting on a hung collector to drain a gone container holds no start off" {
	local cpid
	gone_behind_stopped_collector
	# gc asks the stopped collector to drain it (and waits, up to its timeout) ...
	"$OCIBPF_CLI" gc >"$BATS_TEST_TMPDIR/gc.out" 2>&1 &
	local gc=$!
	sleep 0.5
	# ... meanwhile a container that needs nothing of the collector starts at once
	write_policy netonly '{"network": {"egress": {"default": "allow", "rules": []}}}'
	set_policy netonly
	set_cmd sleep 300
	local t0 ms
	t0=$(date +%s%N)
	runc_run -d "$CID-b"
	ms=$((($(date +%s%N) - t0) / 1000000))
	assert_success
	kill -CONT "$cpid"
	STOPPED_COLLECTOR=
	wait "$gc" || true
	[ "$ms" -lt 4000 ] || fail "the start waited $ms ms for gc"
	runc_cmd delete -f "$CID-b"
	assert_success
	runc_cmd delete "$CID"
	assert_success
	assert_not_monitored "$CID"
}

@test "gc --unload while the collector runs: containers started after it are audited" {
	set_policy audited
	set_cmd sh -c 'cat /etc/passwd >/dev/null'
	runc_run "$CID-a"
	assert_success
	[ -n "$(collector_pids)" ] || fail "no collector"
	ocibpf gc --unload
	assert_success
	assert_output --partial "bpf-set"
	runc_run "$CID-b"
	assert_success
	run runs_of "$CID-b"
	[[ "$output" == "start "*" exec "*"syscall"*" stop" ]] || fail "after the unload: $output"
}

@test "gc --unload every 0.2 s while containers start: every start succeeds and is audited" {
	set_policy audited
	set_cmd sh -c 'cat /etc/passwd >/dev/null'
	(for _ in $(seq 60); do "$OCIBPF_CLI" gc --unload >/dev/null 2>&1; sleep 0.2; done) &
	local unloader=$! i failed=0
	for i in $(seq 15); do
		runc_run "$CID-$i"
		[ "$status" -eq 0 ] || failed=$((failed + 1))
	done
	kill "$unloader" 2>/dev/null || true
	wait "$unloader" || true
	[ "$failed" -eq 0 ] || fail "$failed of 15 starts refused"
	for i in $(seq 15); do
		run runs_of "$CID-$i"
		[[ "$output" == "start "*" exec "*" stop" ]] || fail "$CID-$i: $output"
		assert_not_monitored "$CID-$i"
	done
}

@test "ids with . + , and long ids are monitored (runc and crun)" {
	set_policy audited
	set_cmd sh -c 'cat /etc/passwd >/dev/null'
	local long id
	long=$CID-$(printf 'x%.0s' {1..180})
	for id in "$CID.a" "$CID+b,c" "$CID.1.2" "$long"; do
		runc_run "$id"
		assert_success
		run runs_of "$id"
		[[ "$output" == "start "*" exec "*" stop" ]] || fail "$id: $output"
		assert_not_monitored "$id"
	done
	requires crun
	crun_run "$CID.crun"
	assert_success
	run runs_of "$CID.crun"
	[[ "$output" == "start "*" exec "*" stop" ]] || fail "crun: $output"
}

@test "ids ocibpf can't monitor are left alone without a policy, and refused clearly with one" {
	set_cmd true
	local id=".$CID"
	runc_run "$id"
	assert_success
	[ ! -e "$(audit_log "$id")" ]
	set_policy audited
	runc_run "$id"
	assert_failure
	assert_output --partial "container id cannot be monitored"
	[ ! -e "$(audit_log "$id")" ]
	[ -z "$(orphan_pins)" ]
}

@test "a second container put in the cgroup of a monitored one is refused, and the first keeps its policy, stats and pins" {
	local p
	p=$(free_ports 1)
	update_config '.linux.cgroupsPath = $p' --arg p "/$CID-shared"
	start_locked "$p"
	local record_before pins cg
	record_before=$(cat "$(state_file "$CID")")
	pins=$(pins_dir "$CID")
	cg=$(jq -r .cgroup_dir <<<"$record_before")
	run __runc exec "$CID" nettool tcp 127.0.0.1 "$p" 2000
	assert_output --regexp '^EPERM [0-9]+ms$'

	# Another id, another runc root, the same cgroup (runc 1.1 only warns), a policy
	# that allows everything: refused; its poststop runs.
	write_policy open '{"network": {"egress": {"default": "allow"}}}'
	update_config '.annotations[$k] = "open"' --arg k "$POLICY_ANNOTATION"
	run timeout 30 "$RUNC" --root "$RUNC_ROOT2" run -d -b "$BUNDLE" "$CID-b" </dev/null
	echo "second container: status $status: $output" >&2
	assert_failure
	assert_output --partial "$CID-b"
	assert_output --partial "$CID"
	assert_not_monitored "$CID-b"
	[ ! -s "$(audit_log "$CID-b")" ] || fail "log of the refused container: $(cat "$(audit_log "$CID-b")")"

	# Nothing of the running container was touched: record, pins, programs, its
	# denied port, its counters.
	[ "$(cat "$(state_file "$CID")")" = "$record_before" ] || fail "record changed"
	[ -d "$pins" ] && [ -n "$(ls -A "$pins")" ] || fail "pins gone: $pins"
	run attach_types "$cg"
	assert_line egress
	assert_line connect4
	run __runc exec "$CID" nettool tcp 127.0.0.1 "$p" 2000
	assert_output --regexp '^EPERM [0-9]+ms$'
	ocibpf stats --json "$CID"
	assert_success
	[ "$(jq '.[0].egress_denied' <<<"$output")" -ge 2 ] || fail "egress_denied lost: $output"

	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
}

gone_pid() { ! kill -0 "$1" 2>/dev/null; }

# crash ID: the runtime gone without poststop (its process killed, its runc state
# removed by hand); ocibpf's record of the run stays. The cgroup stays too.
crash() {
	local pid
	pid=$(runtime_state runc "$1" pid)
	kill -9 "$pid"
	wait_for 50 0.1 gone_pid "$pid"
	rm -rf "${RUNC_ROOT:?}/$1"
	[ -f "$(state_file "$1")" ]
}

# open_policy: everything allowed, audit openat (another policy than locked).
open_policy() {
	write_policy open '{"audit": {"syscalls": ["openat"]}, "network": {"egress": {"default": "allow"}}}'
	set_policy open
}

@test "a crashed container's cgroup removed and made again at its path: a container there is monitored with its own policy, gc clears only the old run" {
	local p
	p=$(free_ports 1)
	update_config --arg p "/$CID-cg" '.linux.cgroupsPath = $p'
	start_locked "$p"
	crash "$CID"
	rmdir "$CGROUP2/$CID-cg"

	open_policy
	runc_run -d "$CID-b"
	assert_success
	local pid
	pid=$(runtime_state runc "$CID-b" pid)
	assert_monitored "$CID-b" "$pid" open
	run __runc exec "$CID-b" nettool tcp 127.0.0.1 "$p" 2000
	assert_output --regexp '^ok '
	ocibpf gc
	assert_success
	assert_stopped "$CID"
	assert_monitored "$CID-b" "$pid" open
	ocibpf stats --json "$CID-b"
	assert_success
	runc_cmd delete -f "$CID-b"
	assert_success
	assert_stopped "$CID-b"
}

@test "a crashed container's cgroup reused as it is: the start is refused naming the owner and ocibpf gc; after gc it is monitored" {
	local p
	p=$(free_ports 1)
	update_config --arg p "/$CID-cg" '.linux.cgroupsPath = $p'
	start_locked "$p"
	crash "$CID"
	[ -d "$CGROUP2/$CID-cg" ]

	open_policy
	runc_run -d "$CID-b"
	assert_failure
	assert_output --regexp "cgroup /$CID-cg is that of container $CID, whose process is gone: .*ocibpf gc"
	assert_not_monitored "$CID-b"
	runc_cmd delete -f "$CID-b"
	ocibpf gc
	assert_success
	assert_stopped "$CID"
	runc_run -d "$CID-b"
	assert_success
	local pid
	pid=$(runtime_state runc "$CID-b" pid)
	assert_monitored "$CID-b" "$pid" open
	run __runc exec "$CID-b" nettool tcp 127.0.0.1 "$p" 2000
	assert_output --regexp '^ok '
	runc_cmd delete -f "$CID-b"
	assert_success
	assert_stopped "$CID-b"
	rmdir "$CGROUP2/$CID-cg" 2>/dev/null || true
}

@test "an id reused after a crash without poststop: the new run is monitored with its own policy, the old one closed" {
	local p
	p=$(free_ports 1)
	start_locked "$p"
	local cg
	cg=$(cgroup2_of "$(runtime_state runc "$CID" pid)")
	crash "$CID"
	rmdir "$cg"

	open_policy
	runc_run -d "$CID"
	assert_success
	local pid
	pid=$(runtime_state runc "$CID" pid)
	run jq -e --argjson pid "$pid" '.pid == $pid and .policy == "open"' "$(state_file "$CID")"
	assert_success
	run __runc exec "$CID" nettool tcp 127.0.0.1 "$p" 2000
	assert_output --regexp '^ok '
	# the crashed run closed (a stop), then the new one's start
	run runs_of "$CID"
	[ "${#lines[@]}" -eq 1 ] || fail "runs: ${lines[*]}"
	run jq -s -r '[.[] | select(.type == "start") | .policy] | join(" ")' "$(audit_log "$CID")"
	assert_output "locked open"
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
}

@test "a sub-cgroup of a crashed container cleared by gc keeps its tracker entry until removed: a start there is refused saying so, then monitored" {
	local p
	p=$(free_ports 1)
	update_config --arg p "/$CID-cg" '.linux.cgroupsPath = $p'
	start_locked "$p"
	mkdir "$CGROUP2/$CID-cg/sub"
	crash "$CID"
	ocibpf gc
	assert_success
	assert_stopped "$CID"

	open_policy
	update_config --arg p "/$CID-cg/sub" '.linux.cgroupsPath = $p'
	runc_run -d "$CID-b"
	assert_failure
	assert_output --partial "cgroup /$CID-cg/sub was made inside a monitored container that is gone"
	assert_not_monitored "$CID-b"
	runc_cmd delete -f "$CID-b"
	[ ! -d "$CGROUP2/$CID-cg/sub" ] || rmdir "$CGROUP2/$CID-cg/sub"
	runc_run -d "$CID-b"
	assert_success
	local pid
	pid=$(runtime_state runc "$CID-b" pid)
	assert_monitored "$CID-b" "$pid" open
	run __runc exec "$CID-b" nettool tcp 127.0.0.1 "$p" 2000
	assert_output --regexp '^ok '
	runc_cmd delete -f "$CID-b"
	assert_success
	assert_stopped "$CID-b"
	local x
	leftover_cgroups | sort -r | while read -r x; do rmdir "$x"; done
}

@test "two configurations sharing a bpffs_dir or a state_dir: refused clearly while the other runs a container, never stripping its policy" {
	local p
	p=$(free_ports 1)
	start_locked "$p"
	run __runc exec "$CID" nettool tcp 127.0.0.1 "$p" 2000
	assert_output --regexp '^EPERM [0-9]+ms$'
	local cg pins
	cg=$(jq -r .cgroup_dir "$(state_file "$CID")")
	pins=$(pins_dir "$CID")

	# B: the same bpffs_dir, a state_dir of its own.
	local conf_b=$OCIBPF_TEST_ROOT/configs/$BATS_TEST_NUMBER-b.json
	jq --arg s "$BATS_TEST_TMPDIR/state-b" --arg l "$BATS_TEST_TMPDIR/log-b" \
		'.state_dir = $s | .log_dir = $l' "$OCIBPF_CONFIG" >"$conf_b"
	chmod 0644 "$conf_b"
	OCIBPF_CONFIG=$conf_b ocibpf gc
	assert_failure
	[[ "$stderr" == *"$BPFFS_DIR"* ]] || fail "stderr does not name $BPFFS_DIR: $stderr"
	[[ "$stderr" == *"$STATE_DIR"* ]] || fail "stderr does not name $STATE_DIR: $stderr"
	OCIBPF_CONFIG=$conf_b ocibpf load --no-collector
	assert_failure
	[[ "$stderr" == *"$STATE_DIR"* ]] || fail "stderr does not name $STATE_DIR: $stderr"
	spawn_sandbox
	OCIBPF_CONFIG=$conf_b run_hook createRuntime "$(make_state "$CID-b" "$SANDBOX_PID" "$BUNDLE" locked)"
	assert_hook_error --id "$CID-b" "$BPFFS_DIR" "$STATE_DIR"
	[ -z "$(bpftool cgroup show "$SANDBOX_CGROUP")" ] || fail "attached in B's sandbox"

	# C: the same state_dir, a bpffs_dir of its own.
	local conf_c=$OCIBPF_TEST_ROOT/configs/$BATS_TEST_NUMBER-c.json bpffs_c
	bpffs_c=$(new_bpffs_dir)
	jq --arg b "$bpffs_c" '.bpffs_dir = $b' "$OCIBPF_CONFIG" >"$conf_c"
	chmod 0644 "$conf_c"
	OCIBPF_CONFIG=$conf_c ocibpf load --no-collector
	assert_failure
	[[ "$stderr" == *"$STATE_DIR"* ]] || fail "stderr does not name $STATE_DIR: $stderr"
	[[ "$stderr" == *"$BPFFS_DIR"* ]] || fail "stderr does not name $BPFFS_DIR: $stderr"
	OCIBPF_CONFIG=$conf_c ocibpf gc
	assert_failure

	# A's container kept everything: pins, programs in force, its denied port.
	[ -d "$pins" ] && [ -n "$(ls -A "$pins")" ] || fail "pins gone: $pins"
	run attach_types "$cg"
	assert_line egress
	assert_line connect4
	run __runc exec "$CID" nettool tcp 127.0.0.1 "$p" 2000
	assert_output --regexp '^EPERM [0-9]+ms$'
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"

	# Once A runs nothing, another configuration may take the directories over.
	OCIBPF_CONFIG=$conf_c ocibpf load --no-collector
	assert_success
	OCIBPF_CONFIG=$conf_c ocibpf gc --unload
	assert_success
	[ ! -e "$bpffs_c" ] || fail "left: $(find "$bpffs_c")"
	OCIBPF_CONFIG=$conf_b ocibpf gc --unload
	assert_success
	ocibpf gc --unload
	assert_success
}

@test "sharing markers removed by hand while a container runs: another configuration is still refused, never stripping its policy" {
	local p
	p=$(free_ports 1)
	start_locked "$p"
	local cg
	cg=$(jq -r .cgroup_dir "$(state_file "$CID")")
	# a careless clean-up: both markers gone, the container still running
	rm -rf "$BPFFS_DIR/state_dir" "$STATE_DIR/bpffs_dir"

	# B: the same bpffs_dir, a state_dir of its own.
	local conf_b=$OCIBPF_TEST_ROOT/configs/$BATS_TEST_NUMBER-b.json
	jq --arg s "$BATS_TEST_TMPDIR/state-b" --arg l "$BATS_TEST_TMPDIR/log-b" \
		'.state_dir = $s | .log_dir = $l' "$OCIBPF_CONFIG" >"$conf_b"
	chmod 0644 "$conf_b"
	OCIBPF_CONFIG=$conf_b ocibpf gc
	assert_failure
	[[ "$stderr" == *"$BPFFS_DIR"* ]] || fail "stderr does not name $BPFFS_DIR: $stderr"
	OCIBPF_CONFIG=$conf_b ocibpf load --no-collector
	assert_failure

	# C: the same state_dir, a bpffs_dir of its own.
	local conf_c=$OCIBPF_TEST_ROOT/configs/$BATS_TEST_NUMBER-c.json bpffs_c
	bpffs_c=$(new_bpffs_dir)
	jq --arg b "$bpffs_c" '.bpffs_dir = $b' "$OCIBPF_CONFIG" >"$conf_c"
	chmod 0644 "$conf_c"
	OCIBPF_CONFIG=$conf_c ocibpf load --no-collector
	assert_failure
	[[ "$stderr" == *"$STATE_DIR"* ]] || fail "stderr does not name $STATE_DIR: $stderr"
	OCIBPF_CONFIG=$conf_c ocibpf gc
	assert_failure

	# A itself is not refused (its markers are made again), and its container kept its policy.
	ocibpf gc
	assert_success
	run attach_types "$cg"
	assert_line egress
	run __runc exec "$CID" nettool tcp 127.0.0.1 "$p" 2000
	assert_output --regexp '^EPERM [0-9]+ms$'
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
	rm -rf "$bpffs_c"
	OCIBPF_CONFIG=$conf_b ocibpf gc --unload
	assert_success
	ocibpf gc --unload
	assert_success
}

@test "sharing markers edited by hand to garbage or to each other while a container runs: the configuration itself is not refused, another still is" {
	local p
	p=$(free_ports 1)
	start_locked "$p"
	local cg hex_bpffs
	cg=$(jq -r .cgroup_dir "$(state_file "$CID")")
	hex_bpffs=$(printf %s "$(realpath "$BPFFS_DIR")" | od -An -tx1 | tr -d ' \n')
	local edit
	for edit in "state: garbage" "state: names the state_dir" "bpffs: garbage" \
		"bpffs: names the bpffs_dir"; do
		case $edit in
		"state: garbage") echo "/nowhere/at all" >"$STATE_DIR/bpffs_dir" ;;
		"state: names the state_dir") echo "$STATE_DIR" >"$STATE_DIR/bpffs_dir" ;;
		"bpffs: garbage")
			rmdir "$BPFFS_DIR"/state_dir/*
			mkdir "$BPFFS_DIR/state_dir/not-a-path" ;;
		"bpffs: names the bpffs_dir")
			rmdir "$BPFFS_DIR"/state_dir/*
			mkdir "$BPFFS_DIR/state_dir/$hex_bpffs" ;;
		esac
		# its own container is no other configuration's: gc removes nothing, a start goes on
		ocibpf gc
		[ "$status" -eq 0 ] || fail "$edit: gc refused: $stderr"
		[ -z "$output" ] || fail "$edit: gc removed: $output"
		spawn_sandbox "$CID-sb-${edit//[^a-z]/}"
		run_hook createRuntime "$(make_state "$CID-b" "$SANDBOX_PID" "$BUNDLE" locked)"
		[ "$status" -eq 0 ] || fail "$edit: start refused: $stderr"
		run_hook poststop "$(make_state "$CID-b" "$SANDBOX_PID" "$BUNDLE" locked)"
		assert_success
	done

	# Another configuration with a marker of garbage in place is still refused.
	echo "/nowhere/at all" >"$STATE_DIR/bpffs_dir"
	rmdir "$BPFFS_DIR"/state_dir/*
	mkdir "$BPFFS_DIR/state_dir/not-a-path"
	local conf_b=$OCIBPF_TEST_ROOT/configs/$BATS_TEST_NUMBER-b.json
	jq --arg s "$BATS_TEST_TMPDIR/state-b" --arg l "$BATS_TEST_TMPDIR/log-b" \
		'.state_dir = $s | .log_dir = $l' "$OCIBPF_CONFIG" >"$conf_b"
	chmod 0644 "$conf_b"
	OCIBPF_CONFIG=$conf_b ocibpf gc
	assert_failure
	[[ "$stderr" == *"$BPFFS_DIR"* ]] || fail "stderr does not name $BPFFS_DIR: $stderr"
	local conf_c=$OCIBPF_TEST_ROOT/configs/$BATS_TEST_NUMBER-c.json bpffs_c
	bpffs_c=$(new_bpffs_dir)
	jq --arg b "$bpffs_c" '.bpffs_dir = $b' "$OCIBPF_CONFIG" >"$conf_c"
	chmod 0644 "$conf_c"
	OCIBPF_CONFIG=$conf_c ocibpf load --no-collector
	assert_failure
	[[ "$stderr" == *"$STATE_DIR"* ]] || fail "stderr does not name $STATE_DIR: $stderr"

	run attach_types "$cg"
	assert_line egress
	run __runc exec "$CID" nettool tcp 127.0.0.1 "$p" 2000
	assert_output --regexp '^EPERM [0-9]+ms$'
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
	rm -rf "$bpffs_c"
	OCIBPF_CONFIG=$conf_b ocibpf gc --unload
	assert_success
	ocibpf gc --unload
	assert_success
}

@test "the same bpffs_dir and state_dir spelled otherwise (slashes doubled or trailing, a symlink; config refuses . and ..) are the same configuration: not refused, nothing of its container removed" {
	local p
	p=$(free_ports 1)
	start_locked "$p"
	local cg pins
	cg=$(jq -r .cgroup_dir "$(state_file "$CID")")
	pins=$(pins_dir "$CID")
	ln -s "$STATE_DIR" "$BATS_TEST_TMPDIR/state-link"
	ln -s "$BPFFS_DIR" "$BATS_TEST_TMPDIR/bpffs-link"
	local conf_s=$OCIBPF_TEST_ROOT/configs/$BATS_TEST_NUMBER-s.json spelling
	for spelling in "$BPFFS_DIR//|$STATE_DIR/" \
		"$(dirname "$BPFFS_DIR")//$(basename "$BPFFS_DIR")|$(dirname "$STATE_DIR")//$(basename "$STATE_DIR")//" \
		"$BATS_TEST_TMPDIR/bpffs-link|$BATS_TEST_TMPDIR/state-link"; do
		jq --arg b "${spelling%%|*}" --arg s "${spelling#*|}" \
			'.bpffs_dir = $b | .state_dir = $s' "$OCIBPF_CONFIG" >"$conf_s"
		chmod 0644 "$conf_s"
		OCIBPF_CONFIG=$conf_s ocibpf gc
		assert_success
		OCIBPF_CONFIG=$conf_s ocibpf load --no-collector
		assert_success
		# and back: the canonical spelling is not refused either
		ocibpf gc
		assert_success
		[ -z "$output" ] || fail "gc ($spelling) removed: $output"
	done
	[ -d "$pins" ] && [ -n "$(ls -A "$pins")" ] || fail "pins gone: $pins"
	run attach_types "$cg"
	assert_line egress
	run __runc exec "$CID" nettool tcp 127.0.0.1 "$p" 2000
	assert_output --regexp '^EPERM [0-9]+ms$'
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
}

@test "a bpffs_dir inside another configuration's sets/ or containers/ is refused, naming both, either way round" {
	ocibpf load --no-collector
	assert_success
	# inside: its own state_dir, bpffs_dir under this one's sets/
	local conf_n=$OCIBPF_TEST_ROOT/configs/$BATS_TEST_NUMBER-n.json
	jq --arg b "$BPFFS_DIR/sets/nested" --arg s "$BATS_TEST_TMPDIR/state-n" \
		'.bpffs_dir = $b | .state_dir = $s' "$OCIBPF_CONFIG" >"$conf_n"
	chmod 0644 "$conf_n"
	OCIBPF_CONFIG=$conf_n ocibpf load --no-collector
	assert_failure
	[[ "$stderr" == *"$BPFFS_DIR"* && "$stderr" == *"$STATE_DIR"* ]] || fail "stderr: $stderr"
	spawn_sandbox
	OCIBPF_CONFIG=$conf_n run_hook createRuntime "$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" audited)"
	assert_hook_error --id "$CID" "$BPFFS_DIR"
	# what the refused load pinned there goes with this one's gc (it was never in use)
	ocibpf gc --unload
	assert_success
	[ ! -e "$BPFFS_DIR" ] || fail "left: $(find "$BPFFS_DIR" -maxdepth 3)"

	# the other way round: the inner one first, then one around it
	local outer inner conf_o=$OCIBPF_TEST_ROOT/configs/$BATS_TEST_NUMBER-o.json
	outer=$(new_bpffs_dir)
	inner=$outer/containers/inner
	jq --arg b "$inner" --arg s "$BATS_TEST_TMPDIR/state-n" \
		'.bpffs_dir = $b | .state_dir = $s' "$OCIBPF_CONFIG" >"$conf_n"
	jq --arg b "$outer" '.bpffs_dir = $b' "$OCIBPF_CONFIG" >"$conf_o"
	chmod 0644 "$conf_o"
	OCIBPF_CONFIG=$conf_n ocibpf load --no-collector
	assert_success
	OCIBPF_CONFIG=$conf_o ocibpf load --no-collector
	assert_failure
	[[ "$stderr" == *"$inner"* && "$stderr" == *"state-n"* ]] || fail "stderr: $stderr"
	OCIBPF_CONFIG=$conf_o ocibpf gc --unload
	assert_failure
	[ -d "$inner/sets" ] || fail "the outer configuration's gc removed the inner set"
	OCIBPF_CONFIG=$conf_n ocibpf gc --unload
	assert_success
	OCIBPF_CONFIG=$conf_o ocibpf gc --unload
	assert_success
	[ ! -e "$outer" ] || fail "left: $(find "$outer" -maxdepth 4)"
}

@test "gc --unload in a loop while containers with a network policy start: each one that starts has its whole policy in force from its first connect" {
	local p
	p=$(free_ports 1)
	host_listen tcp 127.0.0.1 "$p"
	denied_policy "$p"
	use_host_network
	set_cmd sh -c "nettool tcp 127.0.0.1 $p 2000; cat /etc/passwd >/dev/null"
	(for _ in $(seq 100); do "$OCIBPF_CLI" gc --unload >/dev/null 2>&1; sleep 0.1; done) &
	local unloader=$! i
	for i in $(seq 12); do
		runc_run "$CID-$i"
		# refused is allowed (with its reason); running without the policy is not
		if [ "$status" -ne 0 ]; then
			assert_output --partial "ocibpf-hook: $CID-$i: "
			assert_nothing_left "$CID-$i"
			continue
		fi
		assert_output --regexp 'EPERM [0-9]+ms'
		run runs_of "$CID-$i"
		[[ "$output" == "start "*" exec "*" stop" ]] || fail "$CID-$i: $output"
		assert_not_monitored "$CID-$i"
	done
	kill "$unloader" 2>/dev/null || true
	wait "$unloader" || true
}
