#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
#
# Nothing vanishes unaccounted (issue 12): io_uring operations are audited as the syscalls
# they stand for, a syscall record is never dropped uncounted in the kernel, and one
# container flooding its audit doesn't make another lose records. (A full log_dir is in
# faults.bats.)

load helpers
load reliability-helpers

setup_file() {
	ocibpf_setup_file
	export URINGTOOL=$BATS_FILE_TMPDIR/uringtool
	gcc -O2 -static -o "$URINGTOOL" "$INTEGRATION_ROOT/uringtool.c" 2>"$BATS_FILE_TMPDIR/uringtool.log" ||
		echo "# cannot build uringtool: $(head -n 3 "$BATS_FILE_TMPDIR/uringtool.log")" >&3
}

teardown_file() {
	ocibpf_teardown_file
}

setup() {
	requires root cgroup2 bpf runc busybox jq
	ocibpf_setup
	setup_busybox_bundle
	add_hooks
	[ -x "$URINGTOOL" ] || fail "uringtool could not be built (gcc -static)"
	cp "$URINGTOOL" "$BUNDLE/rootfs/bin/uringtool"
}

teardown() {
	[ -z "${STOPPED_COLLECTOR:-}" ] || kill -CONT "$STOPPED_COLLECTOR"
	stop_collector_foreground
	ocibpf_teardown
}

# run_audited POLICY-JSON CMD...: a container with POLICY, in the foreground, on the
# host network.
run_audited() {
	write_policy audited "$1"
	shift
	set_policy audited
	use_host_network
	set_cmd "$@"
	runc_run "$CID"
}

# uring_records ID: the log's io_uring records.
uring_records() {
	jq -c 'select(.via == "io_uring")' "$(audit_log "$1")"
}

@test "io_uring: OPENAT, OPENAT2, CONNECT, MKDIRAT, UNLINKAT and STATX are audited as their syscalls, with path, address and result" {
	run_audited '{"audit": {"syscalls": ["openat", "openat2", "connect", "mkdirat", "unlinkat", "statx"]}}' \
		sh -c 'uringtool openat /etc/passwd && uringtool openat2 /etc/group &&
			uringtool connect 127.0.0.1 1 && { uringtool connect ::1 2; true; } &&
			uringtool mkdirat /dev/shm/made &&
			uringtool unlinkat /dev/shm/nothere && uringtool statx /etc'
	assert_success
	assert_stopped "$CID"
	run uring_records "$CID"
	echo "$output"
	# Each as the syscall it stands for, with what the kernel's copy of the request says.
	jq -s -e 'any(.[]; .type == "syscall" and .syscall == "openat" and .path == "/etc/passwd"
		and .io_uring_op == "OPENAT" and .ret >= 0 and .user_data == 4242 and .comm == "uringtool")' <<<"$output"
	jq -s -e 'any(.[]; .syscall == "openat2" and .path == "/etc/group" and .ret >= 0)' <<<"$output"
	jq -s -e 'any(.[]; .syscall == "connect" and .addr == "127.0.0.1" and .port == 1 and .ret == -111)' <<<"$output"
	jq -s -e 'any(.[]; .syscall == "connect" and .addr == "::1" and .port == 2 and .ret < 0)' <<<"$output"
	jq -s -e 'any(.[]; .syscall == "mkdirat" and .path == "/dev/shm/made" and .ret == 0 and .args[2] == 493)' <<<"$output"
	jq -s -e 'any(.[]; .syscall == "unlinkat" and .path == "/dev/shm/nothere" and .ret == -2)' <<<"$output"
	jq -s -e 'any(.[]; .syscall == "statx" and .path == "/etc" and .ret == 0)' <<<"$output"
	# The syscalls made directly are still there, without the mark.
	jq -s -e 'any(.[]; .type == "syscall" and .syscall == "openat" and .via == null)' "$(audit_log "$CID")"
}

@test "io_uring: an operation the kernel refuses while preparing it is audited with its error" {
	run_audited '{"audit": {"syscalls": ["openat"]}}' uringtool openat-bad /etc/passwd
	assert_success
	assert_stopped "$CID"
	run uring_records "$CID"
	echo "$output"
	jq -s -e 'any(.[]; .syscall == "openat" and .path == "/etc/passwd" and .ret == -22
		and .io_uring_op == "OPENAT")' <<<"$output"
}

@test "io_uring: an operation whose syscall is not audited, or that stands for none, leaves no record" {
	run_audited '{"audit": {"syscalls": ["connect"]}}' \
		sh -c 'uringtool openat /etc/passwd && uringtool nop'
	assert_success
	assert_stopped "$CID"
	run uring_records "$CID"
	assert_output ""
}

# uring_link_ids LINKS-DIR: the kernel ids of the three pinned io_uring links (fails when one is missing).
uring_link_ids() {
	local p
	for p in uring_submit uring_complete uring_failed; do
		bpftool -j link show pinned "$1/$p" 2>/dev/null | jq -er .id || return 1
	done
}

@test "io_uring: the tracepoint programs are attached by ocibpf load and stay until gc --unload, whether or not a container audits" {
	# (attaching one patches kernel text on every CPU: the first audited container after
	# a load or a quiet spell paid for it in its hook)
	local bpffs links ids id
	bpffs=$(new_bpffs_dir)
	update_host_config '.bpffs_dir = $d' --arg d "$bpffs"
	ocibpf load
	assert_success
	links=$(echo "$bpffs"/sets/*/links)
	ids=$(uring_link_ids "$links") || fail "not attached by the load: $(ls "$links")"

	write_policy quiet '{"telemetry": true}'
	set_policy quiet
	set_cmd sleep 100
	runc_run -d "$CID"
	assert_success
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
	# the first audited container finds them attached: its hook attaches nothing
	write_policy audited '{"audit": {"syscalls": ["openat"]}}'
	set_policy audited
	set_cmd sh -c 'uringtool openat /etc/passwd; sleep 100'
	runc_run -d "$CID"
	assert_success
	[ "$(uring_link_ids "$links")" = "$ids" ] || fail "attached again for a container: $(uring_link_ids "$links")"
	wait_for 100 0.1 eval '[ -n "$(uring_records "$CID")" ]' || fail "io_uring open not audited"
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
	# past the collector's linger (10 s) and sweep (ocibpfd(8)): not detached
	sleep 12
	[ "$(uring_link_ids "$links")" = "$ids" ] || fail "detached with the set loaded: $(ls "$links")"

	ocibpf gc --unload
	assert_success
	[ ! -e "$bpffs" ] || fail "$bpffs left: $(find "$bpffs")"
	for id in $ids; do
		! bpftool link show id "$id" >/dev/null 2>&1 || fail "link $id still in the kernel after gc --unload"
	done
}

@test "io_uring: a set loaded without its tracepoint programs attached (an older ocibpf) gets them from load, or from an audited container" {
	local bpffs links
	bpffs=$(new_bpffs_dir)
	update_host_config '.bpffs_dir = $d' --arg d "$bpffs"
	ocibpf load --no-collector
	assert_success
	links=$(echo "$bpffs"/sets/*/links)
	rm -f "$links"/uring_*
	ocibpf load --no-collector
	assert_success
	uring_link_ids "$links" >/dev/null || fail "load did not attach them: $(ls "$links")"

	rm -f "$links"/uring_*
	write_policy audited '{"audit": {"syscalls": ["openat"]}}'
	set_policy audited
	set_cmd sh -c 'uringtool openat /etc/passwd; sleep 100'
	runc_run -d "$CID"
	assert_success
	uring_link_ids "$links" >/dev/null || fail "the hook did not attach them: $(ls "$links")"
	wait_for 100 0.1 eval '[ -n "$(uring_records "$CID")" ]' || fail "io_uring open not audited"
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
	ocibpf gc --unload
	assert_success
}

@test "io_uring: an audited container started soon after another finds its tracepoints attached" {
	ocibpf version --json
	local links id1 id2
	links=$BPFFS_DIR/sets/$(jq -r .bpf_set <<<"$output")/links
	write_policy audited '{"audit": {"syscalls": ["openat"]}}'
	set_policy audited
	set_cmd sleep 100
	runc_run -d "$CID"
	assert_success
	id1=$(bpftool -j link show pinned "$links/uring_submit" | jq -er .id) ||
		fail "not attached: $(ls "$links")"
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
	# past several sweeps of the collector with no container: attaching again would patch
	# kernel text on every CPU at the next start
	sleep 3
	runc_run -d "$CID"
	assert_success
	id2=$(bpftool -j link show pinned "$links/uring_submit" | jq -er .id) ||
		fail "not attached: $(ls "$links")"
	runc_cmd delete -f "$CID"
	assert_success
	[ "$id2" = "$id1" ] || fail "detached and attached again between two containers ($id1, then $id2)"
}

# A second bundle, for a second container (BUNDLE2, CID2).
setup_second_bundle() {
	local first=$BUNDLE
	setup_busybox_bundle "$BATS_TEST_TMPDIR/bundle2"
	BUNDLE2=$BUNDLE
	add_hooks
	BUNDLE=$first
	CID2=$CID-2
}

@test "an audited container whose syscalls the collector holds already starts without asking it, even when it hangs" {
	setup_second_bundle
	write_policy audited '{"audit": {"syscalls": ["openat"]}}'
	set_policy audited
	set_cmd sleep 100
	runc_run -d "$CID"
	assert_success
	local collector
	collector=$(cat "$STATE_DIR/ocibpfd.pid")
	kill -STOP "$collector"
	STOPPED_COLLECTOR=$collector
	# asking would wait 10 s for an answer and then refuse the container
	BUNDLE=$BUNDLE2
	set_policy audited
	set_cmd sh -c ': </etc/passwd; sleep 100'
	runc_run -d "$CID2"
	assert_success
	kill -CONT "$collector"
	STOPPED_COLLECTOR=
	# audited from its first syscall: the tracepoints were in force
	wait_for 100 0.1 jq -s -e '[.[] | select(.type == "syscall" and .path == "/etc/passwd")] | length >= 1' \
		"$(audit_log "$CID2")" || fail "no record of the open: $(cat "$(audit_log "$CID2")")"
	runc_cmd delete -f "$CID2"
	assert_success
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID2"
}

@test "a collector killed leaves what it published: the next audited container is not fooled" {
	setup_second_bundle
	write_policy audited '{"audit": {"syscalls": ["openat"]}}'
	set_policy audited
	set_cmd sleep 100
	runc_run -d "$CID"
	assert_success
	local collector
	collector=$(cat "$STATE_DIR/ocibpfd.pid")
	[ -s "$STATE_DIR/ocibpfd.tracepoints" ] || fail "the collector published nothing"
	kill -9 "$collector"
	wait_for 50 0.1 sh -c "! kill -0 $collector 2>/dev/null" || fail "collector $collector still there"
	# its links went with it; its file stays
	[ -s "$STATE_DIR/ocibpfd.tracepoints" ]
	BUNDLE=$BUNDLE2
	set_policy audited
	set_cmd sh -c ': </etc/passwd; sleep 100'
	runc_run -d "$CID2"
	assert_success
	wait_for 100 0.1 jq -s -e '[.[] | select(.type == "syscall" and .path == "/etc/passwd")] | length >= 1' \
		"$(audit_log "$CID2")" || fail "no record of the open: $(cat "$(audit_log "$CID2")")"
	[ "$(cat "$STATE_DIR/ocibpfd.pid")" != "$collector" ]
	runc_cmd delete -f "$CID2"
	assert_success
	runc_cmd delete -f "$CID"
	assert_success
}

# The second container has opened /etc/passwd (its sh has become sleep), or its hook waits
# for the (stopped) collector to accept its request.
second_opened() {
	local pid
	pid=$(runtime_state runc "$CID2" pid)
	[ -n "$pid" ] && [ "$pid" != 0 ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sleep ]
}
collector_asked() {
	ss -xlH | awk -v p="$STATE_DIR/ocibpfd.sock" '$5 == p && $3 > 0 { f = 1 } END { exit !f }'
}

@test "a set unloaded and loaded again under the collector: what it published is not taken for the new set" {
	setup_second_bundle
	write_policy audited '{"audit": {"syscalls": ["openat"]}}'
	set_policy audited
	set_cmd sleep 100
	runc_run -d "$CID"
	assert_success
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
	# it lingers on openat (10 s), attached to the programs of the set it opened
	local collector
	collector=$(cat "$STATE_DIR/ocibpfd.pid")
	[ -s "$STATE_DIR/ocibpfd.tracepoints" ] || fail "the collector published nothing"
	kill -STOP "$collector"
	STOPPED_COLLECTOR=$collector
	# a new set under the same version: new programs, new maps
	ocibpf gc --unload
	assert_success
	ocibpf load
	assert_success
	BUNDLE=$BUNDLE2
	set_policy audited
	set_cmd sh -c ': </etc/passwd; sleep 100'
	# the hook must ask (and wait for) the collector: the tracepoints it holds feed the old set
	__runc run -d -b "$BUNDLE" "$CID2" </dev/null >"$BATS_TEST_TMPDIR/run2.out" 2>&1 &
	local run2=$!
	# (when it does not ask, the container opens /etc/passwd meanwhile)
	wait_for 300 0.1 eval 'second_opened || collector_asked' || fail "neither started nor asked"
	kill -CONT "$collector"
	STOPPED_COLLECTOR=
	wait "$run2" || fail "runc run failed: $(cat "$BATS_TEST_TMPDIR/run2.out")"
	wait_for 100 0.1 jq -s -e '[.[] | select(.type == "syscall" and .path == "/etc/passwd")] | length >= 1' \
		"$(audit_log "$CID2")" || fail "no record of the open: $(cat "$(audit_log "$CID2")")"
	runc_cmd delete -f "$CID2"
	assert_success
	assert_stopped "$CID2"
}

@test "fairness: a container flooding its audit while the collector is stalled doesn't make a quiet one lose records" {
	setup_second_bundle
	write_policy audited '{"audit": {"syscalls": ["openat"]}}'
	# The quiet one: 200 audited opens once /go exists (runc's stdio file says when done).
	set_policy audited
	use_host_network
	set_cmd sh -c 'while [ ! -e /go ]; do usleep 20000; done; i=0
		while [ $i -lt 200 ]; do : </etc/passwd; i=$((i + 1)); done; echo done; sleep 100'
	local quiet_bundle=$BUNDLE
	runc_run -d "$CID"
	assert_success
	# The flood: opens in a tight loop until /stop.
	BUNDLE=$BUNDLE2
	set_policy audited
	use_host_network
	set_cmd sh -c 'while [ ! -e /stop ]; do for j in 1 2 3 4 5 6 7 8 9 10; do : </etc/passwd; done; done'
	runc_run -d "$CID2"
	assert_success
	BUNDLE=$quiet_bundle

	# The collector stalls (as one starved of CPU would): the flood fills what it may of
	# the ring buffer and then loses records.
	local collector
	collector=$(cat "$STATE_DIR/ocibpfd.pid")
	kill -STOP "$collector"
	STOPPED_COLLECTOR=$collector
	wait_for 600 0.1 sh -c "[ \"\$($OCIBPF_CLI stats --json $CID2 | jq '.[0].audit_lost')\" -gt 1000 ]" ||
		fail "the flood lost nothing: $("$OCIBPF_CLI" stats --json "$CID2")"
	# The quiet container's records still find room.
	touch "$BUNDLE/rootfs/go"
	wait_for 300 0.1 grep -q '^done' "$BATS_TEST_TMPDIR/$CID.stdio" || fail "the quiet container did not finish"
	kill -CONT "$collector"
	STOPPED_COLLECTOR=
	touch "$BUNDLE2/rootfs/stop"
	runc_cmd delete -f "$CID"
	assert_success
	runc_cmd delete -f "$CID2"
	assert_success

	assert_stopped "$CID"
	run jq -s '[.[] | select(.type == "syscall" and .path == "/etc/passwd")] | length' "$(audit_log "$CID")"
	[ "$output" -ge 200 ] || fail "the quiet container has $output records of its 200 opens"
	! jq -e 'select(.type == "lost")' "$(audit_log "$CID")" || fail "the quiet container lost records"
	# The flood's losses are accounted for in its own log.
	jq -s -e '[.[] | select(.type == "lost") | .count] | add > 1000' "$(audit_log "$CID2")"
}

@test "kernel: a syscall between enter and exit is kept in the thread's task storage, which nothing evicts" {
	# An LRU map of 16,384 entries evicted entries, and their records, uncounted once
	# that many threads were inside audited syscalls at once.
	write_policy audited '{"audit": {"syscalls": ["openat"]}}'
	set_policy audited
	set_cmd sleep 100
	runc_run -d "$CID"
	assert_success
	ocibpf version --json
	local maps
	maps=$BPFFS_DIR/sets/$(jq -r .bpf_set <<<"$output")/maps
	bpftool -j map show pinned "$maps/ocibpf_pending_task" | jq -e '.type == "task_storage"'
	[ ! -e "$maps/ocibpf_pending" ] || fail "the LRU map is still there"
	runc_cmd delete -f "$CID"
	assert_success
}

@test "kernel: every audited syscall of many processes at once is recorded or counted as lost" {
	run_audited '{"audit": {"syscalls": ["openat"]}}' \
		sh -c 'for p in 1 2 3 4 5 6 7 8; do (i=0; while [ $i -lt 500 ]; do : </etc/passwd; i=$((i + 1)); done) & done; wait'
	assert_success
	assert_stopped "$CID"
	run jq -s '([.[] | select(.type == "syscall" and .path == "/etc/passwd")] | length)
		+ ([.[] | select(.type == "lost") | .count // 0] | add // 0)' "$(audit_log "$CID")"
	[ "$output" -ge 4000 ] || fail "only $output of 4000 opens recorded or counted"
}

# The per-syscall tracepoint links (perf_event) of the loaded set's programs: those the
# collector holds.
syscall_links() {
	local set enter exit
	set=$("$OCIBPF_CLI" version --json | jq -r .bpf_set)
	enter=$(bpftool -j prog show pinned "$BPFFS_DIR/sets/$set/progs/sys_enter_tp" | jq .id)
	exit=$(bpftool -j prog show pinned "$BPFFS_DIR/sets/$set/progs/sys_exit_tp" | jq .id)
	bpftool -j link show | jq --argjson a "$enter" --argjson b "$exit" \
		'[.[] | select(.type == "perf_event" and (.prog_id == $a or .prog_id == $b))] | length'
}

# stop_collector: SIGSTOP the collector (teardown resumes it); a hook that asks it
# anything then waits 10 s for an answer and refuses its container.
stop_collector() {
	STOPPED_COLLECTOR=$(cat "$STATE_DIR/ocibpfd.pid")
	kill -STOP "$STOPPED_COLLECTOR"
}
resume_collector() {
	kill -CONT "$STOPPED_COLLECTOR"
	STOPPED_COLLECTOR=
}

@test "ocibpf load holds the syscalls its policies audit: the first audited container asks the collector nothing, and they go after the linger" {
	write_policy audited '{"audit": {"syscalls": ["openat"]}}'
	ocibpf load
	assert_success
	[ "$(syscall_links)" -ge 2 ] || fail "nothing attached at load: $(syscall_links) links"
	# asking would wait 10 s for an answer and then refuse the container
	stop_collector
	set_policy audited
	set_cmd sh -c ': </etc/passwd; sleep 100'
	runc_run -d "$CID"
	assert_success
	resume_collector
	# audited from its first syscall
	wait_for 100 0.1 jq -s -e '[.[] | select(.type == "syscall" and .path == "/etc/passwd")] | length >= 1' \
		"$(audit_log "$CID")" || fail "no record of the open: $(cat "$(audit_log "$CID")")"
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
	# no container needs them: detached after the collector's linger (10 s, swept every s)
	wait_for 200 0.1 eval '[ "$(syscall_links)" = 0 ]' ||
		fail "still attached 20 s after the last container: $(syscall_links) links"
}

@test "a supervised collector (ocibpfd --foreground) holds the syscalls the policies audit as it starts" {
	write_policy audited '{"audit": {"syscalls": ["openat"]}}'
	ocibpf load --no-collector
	assert_success
	[ "$(syscall_links)" = 0 ] || fail "attached with no collector: $(syscall_links) links"
	start_collector_foreground "$BATS_TEST_TMPDIR/ocibpfd.err"
	wait_for 100 0.1 eval '[ "$(syscall_links)" -ge 2 ]' ||
		fail "nothing attached by the collector: $(syscall_links) links; $(cat "$BATS_TEST_TMPDIR/ocibpfd.err")"
	# asking would wait 10 s for an answer and then refuse the container
	STOPPED_COLLECTOR=$FG_COLLECTOR
	kill -STOP "$STOPPED_COLLECTOR"
	set_policy audited
	set_cmd sh -c ': </etc/passwd; sleep 100'
	runc_run -d "$CID"
	assert_success
	resume_collector
	wait_for 100 0.1 jq -s -e '[.[] | select(.type == "syscall" and .path == "/etc/passwd")] | length >= 1' \
		"$(audit_log "$CID")" || fail "no record of the open: $(cat "$(audit_log "$CID")")"
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
	stop_collector_foreground
}

@test "after ocibpf load, a container auditing a syscall no policy named at the load is still audited from its first syscall" {
	write_policy audited '{"audit": {"syscalls": ["openat"]}}'
	ocibpf load
	assert_success
	# written after the load: chdir is not held; the hook asks for it and waits
	write_policy later '{"audit": {"syscalls": ["chdir"]}}'
	set_policy later
	set_cmd sh -c 'cd /tmp; sleep 100'
	runc_run -d "$CID"
	assert_success
	wait_for 100 0.1 jq -s -e '[.[] | select(.type == "syscall" and .syscall == "chdir" and .path == "/tmp")] | length >= 1' \
		"$(audit_log "$CID")" || fail "no record of the chdir: $(cat "$(audit_log "$CID")")"
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
	rm -f "$POLICY_DIR/later.json"
}

@test "ocibpf load holds the default policy's syscalls first, whatever the other policies take" {
	# 32 syscalls (all ocibpf primes) in a policy whose name sorts first
	write_policy a-wide '{"audit": {"syscalls": ["read", "write", "open", "close", "getpid", "getppid",
		"getuid", "poll", "lseek", "mmap", "mprotect", "munmap", "brk", "ioctl", "pread64",
		"pwrite64", "readv", "writev", "access", "pipe", "select", "sched_yield", "mremap",
		"msync", "mincore", "madvise", "dup", "dup2", "pause", "nanosleep", "getitimer", "alarm"]}}'
	write_policy zz '{"audit": {"syscalls": ["chdir"]}}'
	update_host_config '.default_policy = "zz"'
	ocibpf load
	assert_success
	stop_collector
	set_cmd sh -c 'cd /tmp; sleep 100'
	runc_run -d "$CID"
	assert_success
	resume_collector
	wait_for 100 0.1 jq -s -e '[.[] | select(.type == "syscall" and .syscall == "chdir" and .path == "/tmp")] | length >= 1' \
		"$(audit_log "$CID")" || fail "no record of the chdir: $(cat "$(audit_log "$CID")")"
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
	rm -f "$POLICY_DIR/a-wide.json" "$POLICY_DIR/zz.json"
}

@test "ocibpf load reads at most 256 policies for what to hold (the default policy always): one beyond is not held, its container is still audited from its first syscall" {
	local i
	for i in $(seq -w 1 300); do
		write_policy "a$i" "$BASE_POLICY"
	done
	write_policy zz '{"audit": {"syscalls": ["chdir"]}}'
	# beyond the 256 read: not held, and the load neither waits nor warns
	ocibpf load
	assert_success
	[ -z "$stderr" ] || fail "ocibpf load warned: $stderr"
	[ "$(syscall_links)" = 0 ] || fail "held although zz is beyond the policies read: $(syscall_links) links"
	set_policy zz
	set_cmd sh -c 'cd /tmp; sleep 100'
	runc_run -d "$CID"
	assert_success
	wait_for 100 0.1 jq -s -e '[.[] | select(.type == "syscall" and .syscall == "chdir" and .path == "/tmp")] | length >= 1' \
		"$(audit_log "$CID")" || fail "no record of the chdir: $(cat "$(audit_log "$CID")")"
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
	# the default policy is read first, however many sort before it
	wait_for 200 0.1 eval '[ "$(syscall_links)" = 0 ]' || fail "still attached: $(syscall_links) links"
	update_host_config '.default_policy = "zz"'
	# (a running collector keeps the configuration it started with)
	kill_collectors
	ocibpf load
	assert_success
	[ "$(syscall_links)" -ge 2 ] || fail "the default policy's chdir not held: $(syscall_links) links"
	rm -f "$POLICY_DIR"/a*.json "$POLICY_DIR/zz.json"
}

@test "ocibpf load with a policy_dir of bad policies (invalid, a symlink, a FIFO, one auditing all, default_policy missing): no hang, no warning, the good one held" {
	write_policy a-invalid '{"audit": {"syscalls": ["openat"'
	write_policy a-all '{"audit": {"syscalls": "all"}}'
	write_policy a-unknown '{"audit": {"syscalls": ["no_such_syscall"]}}'
	write_policy target '{"audit": {"syscalls": ["chdir"]}}'
	ln -s "$POLICY_DIR/target.json" "$POLICY_DIR/a-link.json"
	mkfifo "$POLICY_DIR/a-fifo.json"
	mkdir "$POLICY_DIR/a-dir.json"
	update_host_config '.default_policy = "missing"'
	run timeout 20 "$OCIBPF_CLI" load
	rm -rf "$POLICY_DIR"/a-*.json
	assert_success
	refute_output --partial warning
	[ "$(syscall_links)" -ge 2 ] || fail "the good policy's chdir not held: $(syscall_links) links"
	# "all" is audited by the raw programs, not held: only chdir's two tracepoints
	[ "$(syscall_links)" -eq 2 ] || fail "$(syscall_links) links held"
	rm -f "$POLICY_DIR/target.json"
}
