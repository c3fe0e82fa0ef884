#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
#
# Faults (issue 7): the collector SIGKILLed, containers SIGKILLed and runtimes that never
# call poststop, a full log_dir, and a host without bpffs, without cgroup2 or with a
# kernel that refuses a program type. What must hold: enforcement never depends on the
# collector or on poststop, nothing is lost silently, stale state is collected and live
# state never is, and a refusal says what is missing.

load helpers
load net-helpers
load reliability-helpers

setup_file() {
	ocibpf_setup_file
	net_setup_file
}

teardown_file() {
	ocibpf_teardown_file
}

setup() {
	requires root cgroup2 bpf bpftool runc busybox jq
	ocibpf_setup
	net_setup
	: >"$BATS_TEST_TMPDIR/mounts"
	setup_busybox_bundle
	write_policy base "$BASE_POLICY"
	add_hooks
}

teardown() {
	[ -z "${FOLLOW_PID:-}" ] || kill "$FOLLOW_PID" 2>/dev/null
	stop_collector_foreground
	net_teardown
	ocibpf_teardown
	local m
	while read -r m; do
		[ -n "$m" ] && umount -l "$m" 2>/dev/null
	done <"$BATS_TEST_TMPDIR/mounts"
	true
}

# stdio_of ID: the detached container's output (runc_run -d).
stdio_of() {
	echo "$BATS_TEST_TMPDIR/$1.stdio"
}

# log_has ID JQ-CONDITION: some record of the audit log meets the condition.
log_has() {
	jq -s -e "any(.[]; $2)" "$(audit_log "$1")" >/dev/null 2>&1
}

# log_records_valid ID: every line of the audit log is a JSON object (no torn line).
log_records_valid() {
	jq -e -s 'all(.[]; type == "object" and (.seq | type) == "number")' "$(audit_log "$1")" >/dev/null
}

# --- the collector killed ---------------------------------------------------------------

@test "collector SIGKILLed: network policy holds, audit resumes after a lost record" {
	net_requires_nettool
	add_nettool
	local p
	p=$(free_ports 1)
	write_policy enforced "{\"audit\": {\"syscalls\": [\"openat\"]},
		\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
			{\"action\": \"deny\", \"cidr\": \"127.0.0.1/32\", \"protocol\": \"tcp\", \"ports\": \"$p\"}]}}}"
	set_policy enforced
	use_host_network
	# One connect attempt and one audited open every 0.1 s, for at most 60 s.
	set_cmd sh -c "i=0; while [ \$i -lt 600 ] && [ ! -e /stop ]; do
		: </etc/passwd; echo \"try \$i: \$(nettool tcp 127.0.0.1 $p 2000)\"; sleep 0.1; i=\$((i + 1)); done"
	runc_run -d "$CID"
	assert_success
	local stdio pid cg
	stdio=$(stdio_of "$CID")
	cg=$(cgroup2_of "$(runtime_state runc "$CID" pid)")
	wait_for 50 0.1 eval '[ -n "$(collector_pid)" ]'
	pid=$(collector_pid)
	wait_for 50 0.1 sh -c "grep -q /etc/passwd '$(audit_log "$CID")'"
	grep -q EPERM "$stdio"

	kill -9 "$pid"
	wait_for 50 0.1 sh -c "! kill -0 $pid 2>/dev/null || grep -q '^State:.*Z' /proc/$pid/status"
	# No collector: the programs are pinned, enforcement doesn't need it.
	[ -z "$(collector_pid)" ]
	local n
	n=$(grep -c '^try ' "$stdio")
	wait_for 100 0.1 sh -c "[ \$(grep -c '^try ' '$stdio') -ge $((n + 10)) ]"
	[ -z "$(collector_pid)" ] || fail "a collector came back on its own: $(collector_pid)"
	run attach_types "$cg"
	assert_line connect4
	assert_line egress

	# The next hook (another container) starts a collector; it takes the first one
	# up again, with a lost record for the gap.
	local bundle1=$BUNDLE
	setup_busybox_bundle "$BATS_TEST_TMPDIR/bundle2"
	set_policy base
	add_hooks
	runc_run "$CID-next"
	assert_success
	BUNDLE=$bundle1
	wait_for 100 0.1 log_has "$CID" '.type == "lost"' ||
		{ cp "$(audit_log "$CID")" /tmp/faultlog.jsonl; fail "no lost record; collector $(collector_pid); lost: $(ls "$STATE_DIR/lost")"; }
	local lost_seq
	lost_seq=$(records "$CID" lost | head -n 1 | jq .seq)
	records "$CID" lost | head -n 1 | jq -e '(.reason | test("collector")) and has("count")'
	# Records resume after it.
	wait_for 100 0.1 log_has "$CID" ".type == \"syscall\" and .seq > $lost_seq"

	touch "$BUNDLE/rootfs/stop"
	wait_stopped "$CID"
	runc_cmd delete "$CID"
	assert_success
	assert_stopped "$CID"
	assert_stopped "$CID-next"
	# Every connect of the whole run was refused, before, during and after the gap.
	[ "$(grep -c '^try ' "$stdio")" -ge $((n + 10)) ]
	run grep '^try ' "$stdio"
	refute_line --regexp '^try [0-9]+: (ok|refused|timeout)'
	[ "$(grep -c '^try [0-9]*: EPERM' "$stdio")" -eq "$(grep -c '^try ' "$stdio")" ]
}

@test "collector SIGKILLed between a hook's sync request and its answer: the hook does not hang, the container is audited from its first syscall" {
	# A collector that holds no tracepoint yet (ocibpf load starts it), stopped: the
	# hook's sync request waits in its socket.
	ocibpf load
	assert_success
	local cpid
	wait_for 100 0.05 eval '[ -n "$(collector_pid)" ]' || fail "no collector after ocibpf load"
	cpid=$(collector_pid)
	kill -STOP "$cpid"
	write_policy audited '{"audit": {"syscalls": ["openat"]}}'
	set_policy audited
	set_cmd sh -c 'cat /etc/passwd >/dev/null; echo CONTAINER-RAN'
	(timeout 60 "$RUNC" --root "$RUNC_ROOT" run -b "$BUNDLE" "$CID" </dev/null >"$BATS_TEST_TMPDIR/run.out" 2>&1
		echo "status $?" >>"$BATS_TEST_TMPDIR/run.out") &
	local runner=$! hook= p
	# This test's hook, waiting for the answer (in poll: it has sent its request).
	find_hook() {
		for p in $(pgrep -x ocibpf-hook); do
			tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OCIBPF_CONFIG=$OCIBPF_CONFIG" &&
				grep -q poll "/proc/$p/wchan" 2>/dev/null && hook=$p && return 0
		done
		return 1
	}
	wait_for 400 0.05 find_hook || { kill -CONT "$cpid"; fail "no hook waiting: $(cat "$BATS_TEST_TMPDIR/run.out")"; }
	kill -9 "$cpid"
	wait "$runner"
	echo "runc: $(cat "$BATS_TEST_TMPDIR/run.out")" >&2
	grep -qx "status 0" "$BATS_TEST_TMPDIR/run.out" || fail "refused or hung: $(cat "$BATS_TEST_TMPDIR/run.out")"
	grep -q CONTAINER-RAN "$BATS_TEST_TMPDIR/run.out"
	assert_stopped "$CID"
	# Audited from its first syscall: the entrypoint is the first exec, its open is there.
	records "$CID" exec | head -n 1 | jq -e '.argv[0] == "sh"' || fail "first exec: $(records "$CID" exec | head -n 1)"
	log_has "$CID" '.type == "syscall" and .path == "/etc/passwd"' || fail "open not audited: $(cat "$(audit_log "$CID")")"
	! log_has "$CID" '.type == "lost"' || fail "records lost: $(records "$CID" lost)"
}

# --- containers killed, poststop never called ----------------------------------------------

@test "container SIGKILLed, no poststop: ocibpf gc removes its links, pins, map entries and state, not a live one's" {
	set_policy base
	set_cmd sleep 300
	# this runtime never calls poststop
	update_config 'del(.hooks)'
	add_hooks createRuntime
	local links0
	links0=$(our_cgroup_links 2>/dev/null || echo 0)
	runc_run -d "$CID-gone"
	assert_success

	setup_busybox_bundle "$BATS_TEST_TMPDIR/bundle2"
	set_policy base
	set_cmd sleep 300
	add_hooks
	runc_run -d "$CID-live"
	assert_success

	local gone live live_links
	gone=$(cgid_of "$CID-gone")
	live=$(cgid_of "$CID-live")
	cgroup_map_has "$gone"
	cgroup_map_has "$live"
	live_links=$(cgroup_links_of "$live")
	[ "$live_links" -ge 6 ] || fail "live container has $live_links links"

	# SIGKILL from outside, then the runtime forgets it without any hook.
	kill -9 "$(runtime_state runc "$CID-gone" pid)"
	wait_status runc "$CID-gone" stopped
	runc_cmd delete "$CID-gone"
	assert_success
	[ -f "$(state_file "$CID-gone")" ] || fail "expected a stale record"
	[ -d "$(pins_dir "$CID-gone")" ] || fail "expected stale pins"
	cgroup_map_has "$gone" || fail "expected a stale map entry"

	ocibpf gc
	assert_success
	assert_output --partial "$CID-gone"
	refute_output --partial "$CID-live"
	assert_not_monitored "$CID-gone"
	! cgroup_map_has "$gone" || fail "ocibpf_cgroups still has $gone"
	! map_keys ocibpf_stats | grep -qx "$gone" || fail "ocibpf_stats still has $gone"
	# The stale container's log is closed with a stop record.
	records "$CID-gone" | tail -n 1 | jq -e '.type == "stop" and .reason == "gc"'

	# The live one is untouched: record, pins, map entries, links in force.
	assert_monitored "$CID-live" "$(runtime_state runc "$CID-live" pid)" base
	cgroup_map_has "$live"
	[ "$(cgroup_links_of "$live")" -eq "$live_links" ]
	[ "$(our_cgroup_links)" -eq $((links0 + live_links)) ] ||
		fail "links of this set: $(our_cgroup_links), want $((links0 + live_links))"

	# Nothing more to collect.
	ocibpf gc
	assert_success
	assert_output ""

	runc_cmd delete -f "$CID-live"
	assert_success
	assert_stopped "$CID-live"
	! cgroup_map_has "$live"
	[ "$(our_cgroup_links)" -eq "$links0" ]
}

@test "container SIGKILLed, no poststop: the next container with its id cleans up what it left" {
	set_policy base
	set_cmd sleep 300
	update_config 'del(.hooks)'
	add_hooks createRuntime
	runc_run -d "$CID"
	assert_success
	local old
	old=$(cgid_of "$CID")
	kill -9 "$(runtime_state runc "$CID" pid)"
	wait_status runc "$CID" stopped
	runc_cmd delete "$CID"
	assert_success
	cgroup_map_has "$old"

	# Same id again, with both hooks this time.
	update_config 'del(.hooks)'
	add_hooks
	runc_run -d "$CID"
	assert_success
	local new
	new=$(cgid_of "$CID")
	[ "$new" != "$old" ]
	! cgroup_map_has "$old" || fail "the dead container's map entry is still there"
	cgroup_map_has "$new"
	[ -d "$(pins_dir "$CID")" ]
	[ "$(cgroup_links_of "$new")" -ge 6 ]
	[ "$(jq -r .pid "$(state_file "$CID")")" = "$(runtime_state runc "$CID" pid)" ]
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
	# Each container's records run from start to stop.
	run jq -r .type "$(audit_log "$CID")"
	[ "${lines[0]}" = start ] && [ "${lines[1]}" = stop ] && [ "${lines[2]}" = start ] &&
		[ "${lines[-1]}" = stop ] || fail "records: ${lines[*]}"
}

@test "a live container is never collected: gc, poststop and a hook for another id leave it alone" {
	set_policy base
	set_cmd sleep 300
	runc_run -d "$CID"
	assert_success
	local cg pid
	pid=$(runtime_state runc "$CID" pid)
	cg=$(cgid_of "$CID")
	ocibpf gc
	assert_success
	# Nothing about the container. (The cache of base.json an earlier test of this file
	# made is stale here, setup rewrote the file: gc may say it removed that.)
	[ -z "$(grep -v '^removed policy-cache base (policy file changed)$' <<<"$output")" ] ||
		fail "gc: $output"
	# A stray poststop for another id, and a create for an id in use, change nothing.
	run_hook poststop "$(jq -cn --arg id "$CID-other" --arg b "$BUNDLE" \
		'{ociVersion: "1.0.2", id: $id, status: "stopped", bundle: $b}')"
	assert_success
	spawn_sandbox
	run_hook createRuntime "$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" base)"
	assert_failure
	grep -qi "already monitored" <<<"$stderr" || fail "stderr: $stderr"
	assert_monitored "$CID" "$pid" base
	cgroup_map_has "$cg"
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
}

# --- log_dir full ------------------------------------------------------------------------

@test "log_dir full: the collector reports it, counts what it drops, and accounts for it once space is back" {
	local logfs=$BATS_TEST_TMPDIR/logfs
	mkdir "$logfs"
	mount -t tmpfs -o size=512k,mode=0750 tmpfs "$logfs"
	echo "$logfs" >>"$BATS_TEST_TMPDIR/mounts"
	update_host_config '.log_dir = $d' --arg d "$logfs"
	LOG_DIR=$logfs
	start_collector_foreground "$BATS_TEST_TMPDIR/ocibpfd.err"

	write_policy audited '{"audit": {"syscalls": ["openat"]}}'
	set_policy audited
	# About 50 audited opens a second, for at most 60 s.
	set_cmd sh -c 'i=0; while [ $i -lt 600 ] && [ ! -e /stop ]; do
		for j in 1 2 3 4 5; do : </etc/passwd; done; sleep 0.1; i=$((i + 1)); done; echo finished $i'
	# All but 32 KiB taken.
	head -c $((480 * 1024)) /dev/zero >"$logfs/filler"
	runc_run -d "$CID"
	assert_success
	local log=$logfs/$CID.jsonl

	# Full: the collector says so and goes on.
	wait_for 200 0.1 grep -q "No space left on device" "$BATS_TEST_TMPDIR/ocibpfd.err" ||
		fail "no report: $(cat "$BATS_TEST_TMPDIR/ocibpfd.err"); df: $(df -k "$logfs" | tail -n 1)"
	grep -q "$CID" "$BATS_TEST_TMPDIR/ocibpfd.err"
	# once a failing episode (space can come and go at the edge), not once a flush
	[ "$(grep -c "cannot write audit log" "$BATS_TEST_TMPDIR/ocibpfd.err")" -le 10 ] ||
		fail "reported too often: $(head -n 20 "$BATS_TEST_TMPDIR/ocibpfd.err")"
	sleep 1
	kill -0 "$FG_COLLECTOR" || fail "the collector died"
	[ "$(runtime_state runc "$CID" status)" = running ] || fail "the container is not running"
	# Nothing torn: what is in the log is whole records.
	log_records_valid "$CID" || fail "torn log: $(tail -c 300 "$log")"

	# Space back: a lost record accounts for what was dropped, then records go on.
	rm "$logfs/filler"
	wait_for 100 0.1 log_has "$CID" '.type == "lost"'
	records "$CID" lost | head -n 1 |
		jq -e '.count > 0 and (.reason | test("writing the audit log failed"))'
	local lost_seq
	lost_seq=$(records "$CID" lost | head -n 1 | jq .seq)
	wait_for 100 0.1 log_has "$CID" ".type == \"syscall\" and .seq > $lost_seq"
	grep -q "written again" "$BATS_TEST_TMPDIR/ocibpfd.err"

	touch "$BUNDLE/rootfs/stop"
	wait_stopped "$CID"
	grep -q '^finished' "$(stdio_of "$CID")"
	runc_cmd delete "$CID"
	assert_success
	log_records_valid "$CID"
	# seq has no gap: the lost record stands for what is missing.
	assert_stopped "$CID"
	kill -0 "$FG_COLLECTOR"
	stop_collector_foreground
}

@test "log_dir full until the container stopped: the lost and stop records are written once space is back, poststop and ocibpfd.log say so, --follow ends" {
	local logfs=$BATS_TEST_TMPDIR/logfs
	mkdir "$logfs"
	mount -t tmpfs -o size=512k,mode=0750 tmpfs "$logfs"
	echo "$logfs" >>"$BATS_TEST_TMPDIR/mounts"
	update_host_config '.log_dir = $d' --arg d "$logfs"
	LOG_DIR=$logfs

	write_policy audited '{"audit": {"syscalls": ["openat"]}}'
	set_policy audited
	# 3,000 audited opens of /etc/passwd (about 900 KiB of records), then it waits for
	# /stop: the log is full long before the end.
	set_cmd sh -c 'i=0; while [ $i -lt 600 ]; do for j in 1 2 3 4 5; do : </etc/passwd; done
		i=$((i + 1)); done; echo opened $((i * 5)); while [ ! -e /stop ]; do sleep 0.1; done'
	head -c $((480 * 1024)) /dev/zero >"$logfs/filler"
	runc_run -d "$CID"
	assert_success
	local log=$logfs/$CID.jsonl ocibpfd_log=$STATE_DIR/ocibpfd.log
	wait_for 300 0.1 grep -q '^opened' "$(stdio_of "$CID")" || fail "the container did not finish its opens"
	"$OCIBPF_CLI" audit --json --follow "$CID" >"$BATS_TEST_TMPDIR/follow.out" 2>&1 3>&- &
	FOLLOW_PID=$!
	local follow=$FOLLOW_PID
	touch "$BUNDLE/rootfs/stop"
	wait_stopped "$CID"

	# poststop can't write the stop record: it says so, and what is kept for later.
	runc_cmd delete "$CID"
	echo "$output"
	assert_output --partial "No space left on device"
	assert_output --partial "stop record and a lost record for"
	[ -f "$STATE_DIR/pending/$CID.json" ] || fail "nothing kept in $STATE_DIR/pending"
	grep -q "$CID: .*records could not be written to its audit log" "$ocibpfd_log" ||
		fail "ocibpfd.log: $(cat "$ocibpfd_log")"
	# The run is not over for a reviewer until its stop record is in the log.
	sleep 1.5
	kill -0 "$follow" || fail "--follow ended with no stop record: $(tail -n 2 "$BATS_TEST_TMPDIR/follow.out")"
	! log_has "$CID" '.type == "stop"' || fail "a stop record while log_dir is full?"

	# Space back: the collector (which stayed for this) writes the lost and stop records.
	rm "$logfs/filler"
	wait_for 100 0.1 log_has "$CID" '.type == "stop"' || fail "no stop record: $(tail -n 2 "$log")"
	wait_for 50 0.1 sh -c "! kill -0 $follow" || fail "--follow did not end"
	wait "$follow"
	FOLLOW_PID=
	[ ! -e "$STATE_DIR/pending/$CID.json" ] || fail "still pending"
	grep -q "$CID: its audit log is written again: a lost record .* and its stop record" "$ocibpfd_log" ||
		fail "ocibpfd.log: $(cat "$ocibpfd_log")"
	log_records_valid "$CID"
	# The stop record is last and seq has no gap; the lost records account for every open.
	assert_stopped "$CID"
	tail -n 2 "$BATS_TEST_TMPDIR/follow.out" | head -n 1 | jq -e '.type == "lost"'
	tail -n 1 "$BATS_TEST_TMPDIR/follow.out" | jq -e '.type == "stop"'
	jq -s -e '([.[] | select(.type == "syscall" and .path == "/etc/passwd")] | length)
		+ ([.[] | select(.type == "lost") | .count] | add) >= 3000' "$log" ||
		fail "records vanished: $(jq -s -c '[group_by(.type)[] | {(.[0].type): length}]' "$log"), lost $(jq -s '[.[] | select(.type == "lost") | .count] | add' "$log")"
}

@test "log_dir full: a new container is refused (fail closed), with the reason; fail_open lets it run" {
	local logfs=$BATS_TEST_TMPDIR/logfs
	mkdir "$logfs"
	mount -t tmpfs -o size=64k,mode=0750 tmpfs "$logfs"
	echo "$logfs" >>"$BATS_TEST_TMPDIR/mounts"
	update_host_config '.log_dir = $d' --arg d "$logfs"
	head -c $((64 * 1024)) /dev/zero >"$logfs/filler" 2>/dev/null || true
	set_policy base
	set_cmd sh -c 'echo CONTAINER-STARTED'
	runc_run "$CID"
	assert_failure
	refute_output --partial CONTAINER-STARTED
	assert_output --partial "ocibpf-hook: $CID: "
	assert_output --partial "No space left on device"
	assert_not_monitored "$CID"

	update_host_config '.fail_open = true'
	runc_run "$CID"
	assert_success
	assert_output --partial CONTAINER-STARTED
	assert_not_monitored "$CID"
}

# --- what the host lacks -----------------------------------------------------------------

# in_private_mounts CMD...: CMD in a mount namespace of its own (nothing it unmounts
# is unmounted for anyone else).
in_private_mounts() {
	unshare -m --propagation private "$@"
}

@test "bpffs not mounted: the hook refuses, naming bpffs" {
	requires unshare
	spawn_sandbox
	local state
	state=$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" base)
	# shellcheck disable=SC2016
	run --separate-stderr in_private_mounts sh -c '
		while mountpoint -q /sys/fs/bpf; do umount -l /sys/fs/bpf || exit 99; done
		exec timeout 30 "$0" createRuntime' "$OCIBPF_HOOK" <<<"$state"
	echo "stderr: $stderr" >&2
	assert_hook_error --id "$CID" bpffs "$BPFFS_DIR"
	assert_nothing_left "$CID" "$SANDBOX_CGROUP"
}

@test "bpffs_dir under /tmp: runc refuses the container, naming bpffs" {
	local d
	d=$(mktemp -d /tmp/ocibpf-test-nobpffs.XXXXXX)
	update_host_config '.bpffs_dir = $d' --arg d "$d/bpf"
	set_policy base
	set_cmd sh -c 'echo CONTAINER-STARTED'
	runc_run "$CID"
	local found
	found=$(find "$d" -mindepth 1)
	rm -rf "$d"
	assert_failure
	refute_output --partial CONTAINER-STARTED
	assert_output --regexp "ocibpf-hook: $CID: .*bpf filesystem.*mount -t bpf"
	[ -z "$found" ] || fail "written under $d: $found"
	assert_not_monitored "$CID"
}

@test "cgroup2 not mounted: the hook refuses, naming cgroup2" {
	requires unshare
	spawn_sandbox
	local state
	state=$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" base)
	# shellcheck disable=SC2016
	run --separate-stderr in_private_mounts sh -c '
		umount -l "$1" || exit 99
		! grep -q " - cgroup2 " /proc/self/mountinfo || exit 98
		exec timeout 30 "$0" createRuntime' "$OCIBPF_HOOK" "$CGROUP2" <<<"$state"
	echo "stderr: $stderr" >&2
	assert_hook_error --id "$CID" "cgroup2 is not mounted"
	assert_nothing_left "$CID" "$SANDBOX_CGROUP"
}

@test "a kernel without a program type: the hook refuses, naming the program and its type" {
	command -v gcc >/dev/null || skip "test requires gcc"
	# The kernel here has every type: bpf-fault plays one that lacks cgroup/sock_addr
	# (connect4/6, sendmsg4/6; BPF_PROG_TYPE_CGROUP_SOCK_ADDR = 18), for the hook as
	# shipped (a static binary: seccomp, not LD_PRELOAD).
	local fault=$BATS_TEST_TMPDIR/bpf-fault
	gcc -O2 -o "$fault" "$INTEGRATION_ROOT/bpf-fault.c"
	update_host_config '.bpffs_dir = $d' --arg d "$(new_bpffs_dir)"
	spawn_sandbox
	local state
	state=$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" base)
	run --separate-stderr timeout "$HOOK_TIMEOUT" "$fault" 18 "$OCIBPF_HOOK" createRuntime \
		<<<"$state"
	echo "stderr: $stderr" >&2
	assert_hook_error --id "$CID" "sock_connect4" "cgroup/connect4"
	assert_nothing_left "$CID" "$SANDBOX_CGROUP"
	local bpffs
	bpffs=$(jq -r .bpffs_dir "$OCIBPF_CONFIG")
	[ -z "$(find "$bpffs" -mindepth 1 -not -type d 2>/dev/null)" ] ||
		fail "half a set left pinned: $(find "$bpffs" -mindepth 1)"
	rm -rf "$bpffs"
}

# --- a hook killed half-way --------------------------------------------------------------

@test "a hook killed between its cgroup claim and its record: starts there are refused until gc releases the claim, whether the cgroup lives or is gone" {
	command -v gcc >/dev/null || skip "test requires gcc"
	local killer=$BATS_TEST_TMPDIR/claim-kill
	gcc -O2 -o "$killer" "$INTEGRATION_ROOT/claim-kill.c"
	ocibpf load --no-collector
	assert_success
	spawn_sandbox
	local cg=$SANDBOX_CGROUP cgid
	cgid=$(stat -c %i "$cg")
	# Killed (SIGKILL, for real) just after bpfset_claim: no record, the claim stays.
	run timeout "$HOOK_TIMEOUT" "$killer" "$OCIBPF_HOOK" createRuntime \
		<<<"$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" base)"
	[ "$status" -eq 137 ] || fail "the hook was not killed at its claim: status $status: $output"
	[ ! -e "$(state_file "$CID")" ] || fail "a record: $(cat "$(state_file "$CID")")"
	map_keys ocibpf_stats | grep -qx "$cgid" || fail "no claim left in ocibpf_stats: $(map_keys ocibpf_stats)"

	# A start in that cgroup is refused, saying why and what clears it.
	run_hook createRuntime "$(make_state "$CID-2" "$SANDBOX_PID" "$BUNDLE" base)"
	assert_hook_error --id "$CID-2" "is being set up for another container" "ocibpf gc"

	# The cgroup lives: gc holds off every hook, so no start is between its claim and its
	# record; the claim is a leftover, released, naming the cgroup.
	ocibpf gc
	assert_success
	assert_output --partial "removed cgroup-claim $cgid"
	assert_output --partial "$cg"
	! map_keys ocibpf_stats | grep -qx "$cgid" || fail "ocibpf_stats still has $cgid"
	run_hook createRuntime "$(make_state "$CID-3" "$SANDBOX_PID" "$BUNDLE" base)"
	assert_success
	assert_monitored "$CID-3" "$SANDBOX_PID" base
	run_hook poststop "$(make_state "$CID-3" "$SANDBOX_PID" "$BUNDLE" base | jq -c 'del(.pid) | .status = "stopped"')"
	assert_success
	assert_not_monitored "$CID-3"

	# Killed again, and the cgroup gone before gc: released too.
	run timeout "$HOOK_TIMEOUT" "$killer" "$OCIBPF_HOOK" createRuntime \
		<<<"$(make_state "$CID-4" "$SANDBOX_PID" "$BUNDLE" base)"
	[ "$status" -eq 137 ] || fail "the hook was not killed at its claim: status $status: $output"
	map_keys ocibpf_stats | grep -qx "$cgid" || fail "no claim left in ocibpf_stats: $(map_keys ocibpf_stats)"
	stop_sandboxes || true
	[ ! -d "$cg" ] || fail "sandbox cgroup still there"
	ocibpf gc --json
	assert_success
	jq -e --arg id "$cgid" 'any(.[]; .removed == "cgroup-claim" and .id == $id)' <<<"$output" ||
		fail "gc: $output"
	! map_keys ocibpf_stats | grep -qx "$cgid" || fail "ocibpf_stats still has $cgid"
	ocibpf gc
	assert_success
	assert_output ""
}

@test "gc while a start sits between its cgroup claim and its record waits for it: the live start keeps its claim and is monitored" {
	command -v gcc >/dev/null || skip "test requires gcc"
	local holder=$BATS_TEST_TMPDIR/claim-hold hold=$BATS_TEST_TMPDIR/held
	gcc -O2 -o "$holder" "$INTEGRATION_ROOT/claim-kill.c"
	ocibpf load --no-collector
	assert_success
	spawn_sandbox
	local cgid
	cgid=$(stat -c %i "$SANDBOX_CGROUP")
	make_state "$CID" "$SANDBOX_PID" "$BUNDLE" base >"$BATS_TEST_TMPDIR/state.json"
	CLAIM_HOLD=$hold timeout "$HOOK_TIMEOUT" "$holder" "$OCIBPF_HOOK" createRuntime \
		<"$BATS_TEST_TMPDIR/state.json" >"$BATS_TEST_TMPDIR/hook.out" 2>&1 &
	local hook=$!
	wait_for 100 0.1 test -e "$hold" || fail "the hook never reached its claim: $(cat "$BATS_TEST_TMPDIR/hook.out")"
	map_keys ocibpf_stats | grep -qx "$cgid" || fail "no claim: $(map_keys ocibpf_stats)"
	[ ! -e "$(state_file "$CID")" ] || fail "recorded already"
	# gc now: it must wait for the start (the sets lock), not release its claim
	"$OCIBPF_CLI" gc >"$BATS_TEST_TMPDIR/gc.out" 2>&1 &
	local gc=$!
	sleep 1
	kill -0 "$gc" 2>/dev/null || fail "gc did not wait for the start: $(cat "$BATS_TEST_TMPDIR/gc.out")"
	rm -f "$hold"
	wait "$hook" || fail "the hook failed: $(cat "$BATS_TEST_TMPDIR/hook.out")"
	wait "$gc" || fail "gc failed: $(cat "$BATS_TEST_TMPDIR/gc.out")"
	! grep -q "cgroup-claim" "$BATS_TEST_TMPDIR/gc.out" || fail "gc released a live start's claim: $(cat "$BATS_TEST_TMPDIR/gc.out")"
	map_keys ocibpf_stats | grep -qx "$cgid" || fail "the claim is gone: $(map_keys ocibpf_stats)"
	assert_monitored "$CID" "$SANDBOX_PID" base
	run_hook poststop "$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" base | jq -c 'del(.pid) | .status = "stopped"')"
	assert_success
	assert_not_monitored "$CID"
}

# --- state_dir full or read-only ---------------------------------------------------------

# state_tmpfs SIZE: a tmpfs of SIZE as this test's state_dir (unmounted at teardown).
state_tmpfs() {
	local fs=$BATS_TEST_TMPDIR/statefs
	mkdir "$fs"
	mount -t tmpfs -o "size=$1,mode=0700" tmpfs "$fs"
	echo "$fs" >>"$BATS_TEST_TMPDIR/mounts"
	update_host_config '.state_dir = $d' --arg d "$fs"
	STATE_DIR=$fs
}

# fill_fs DIR: every block of DIR's file system taken (by DIR/filler).
fill_fs() {
	dd if=/dev/zero of="$1/filler" bs=4k >/dev/null 2>&1 || true
	[ "$(df --output=avail -k "$1" | tail -n 1 | tr -d ' ')" -eq 0 ] || fail "$1 not full: $(df -k "$1")"
}

# no_claim CGROUP-DIR: the set's stats and cgroups maps hold nothing for that cgroup.
no_claim() {
	local id
	id=$(stat -c %i "$1")
	! map_keys ocibpf_stats | grep -qx "$id" || fail "ocibpf_stats still claims $1 ($id)"
	! cgroup_map_has "$id" || fail "ocibpf_cgroups still has $1 ($id)"
}

@test "state_dir full: the hook refuses the start naming the container and what failed, leaves nothing; once space is back the same cgroup starts" {
	state_tmpfs 256k
	ocibpf load --no-collector
	assert_success
	fill_fs "$STATE_DIR"
	spawn_sandbox
	local state
	state=$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" base)
	run_hook createRuntime "$state"
	assert_hook_error --id "$CID" "$STATE_DIR" "No space left on device"
	assert_nothing_left "$CID" "$SANDBOX_CGROUP"
	no_claim "$SANDBOX_CGROUP"
	# runc too: refused, the container never runs
	set_policy base
	set_cmd sh -c 'echo CONTAINER-STARTED'
	runc_run "$CID-runc"
	assert_failure
	refute_output --partial CONTAINER-STARTED
	assert_output --partial "ocibpf-hook: $CID-runc: "
	assert_output --partial "No space left on device"
	assert_nothing_left "$CID-runc"

	# Space back: the same cgroup takes a container, monitored.
	rm "$STATE_DIR/filler"
	run_hook createRuntime "$state"
	assert_success
	assert_monitored "$CID" "$SANDBOX_PID" base
	run_hook poststop "$(jq -c 'del(.pid) | .status = "stopped"' <<<"$state")"
	assert_success
	assert_not_monitored "$CID"
	no_claim "$SANDBOX_CGROUP"
}

@test "state_dir read-only: the hook refuses the start naming the container and what failed, leaves nothing" {
	state_tmpfs 1m
	ocibpf load --no-collector
	assert_success
	mount -o remount,ro "$STATE_DIR"
	spawn_sandbox
	local state
	state=$(make_state "$CID" "$SANDBOX_PID" "$BUNDLE" base)
	run_hook createRuntime "$state"
	assert_hook_error --id "$CID" "$STATE_DIR" "Read-only file system"
	assert_nothing_left "$CID" "$SANDBOX_CGROUP"
	no_claim "$SANDBOX_CGROUP"
	mount -o remount,rw "$STATE_DIR"
	run_hook createRuntime "$state"
	assert_success
	assert_monitored "$CID" "$SANDBOX_PID" base
	run_hook poststop "$(jq -c 'del(.pid) | .status = "stopped"' <<<"$state")"
	assert_success
	assert_not_monitored "$CID"
}

@test "state_dir full at poststop: the container's programs are detached and its pins and entries removed; what could not be done is said" {
	state_tmpfs 256k
	set_policy base
	set_cmd sleep 300
	runc_run -d "$CID"
	assert_success
	local cgid cgdir
	cgid=$(cgid_of "$CID")
	cgdir=$(jq -r .cgroup_dir "$(state_file "$CID")")
	cgroup_map_has "$cgid"
	fill_fs "$STATE_DIR"
	runc_cmd delete -f "$CID"
	echo "poststop: $output" >&2
	assert_success
	assert_not_monitored "$CID"
	! cgroup_map_has "$cgid" || fail "ocibpf_cgroups still has $cgid"
	! map_keys ocibpf_stats | grep -qx "$cgid" || fail "ocibpf_stats still has $cgid"
	[ "$(cgroup_links_of "$cgid")" -eq 0 ] || fail "links left on $cgid"
	assert_stopped "$CID"
	rm "$STATE_DIR/filler"
}
