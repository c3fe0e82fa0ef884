#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
#
# Nothing vanishes unaccounted (issue 12): io_uring operations are audited as the syscalls
# they stand for, a syscall record is never dropped uncounted in the kernel, and one
# container flooding its audit doesn't make another lose records. (A full log_dir is in
# faults.bats.)

load helpers

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
			uringtool connect 127.0.0.1 1 && uringtool mkdirat /dev/shm/made &&
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
	jq -s -e 'any(.[]; .syscall == "mkdirat" and .path == "/dev/shm/made" and .ret == 0 and .args[2] == 493)' <<<"$output"
	jq -s -e 'any(.[]; .syscall == "unlinkat" and .path == "/dev/shm/nothere" and .ret == -2)' <<<"$output"
	jq -s -e 'any(.[]; .syscall == "statx" and .path == "/etc" and .ret == 0)' <<<"$output"
	# The syscalls made directly are still there, without the mark.
	jq -s -e 'any(.[]; .type == "syscall" and .syscall == "openat" and .via == null)' "$(audit_log "$CID")"
}

@test "io_uring: an operation whose syscall is not audited, or that stands for none, leaves no record" {
	run_audited '{"audit": {"syscalls": ["connect"]}}' \
		sh -c 'uringtool openat /etc/passwd && uringtool nop'
	assert_success
	assert_stopped "$CID"
	run uring_records "$CID"
	assert_output ""
}

@test "io_uring: the tracepoint programs are attached only while some container audits" {
	ocibpf version --json
	local links
	links=$BPFFS_DIR/sets/$(jq -r .bpf_set <<<"$output")/links
	write_policy quiet '{"telemetry": true}'
	set_policy quiet
	set_cmd sleep 100
	runc_run -d "$CID"
	assert_success
	[ ! -e "$links/uring_submit" ] || fail "attached for a container that audits nothing"
	runc_cmd delete -f "$CID"

	write_policy audited '{"audit": {"syscalls": ["openat"]}}'
	set_policy audited
	runc_run -d "$CID"
	assert_success
	[ -e "$links/uring_submit" ] && [ -e "$links/uring_complete" ] || fail "not attached: $(ls "$links")"
	runc_cmd delete -f "$CID"
	assert_success
	[ ! -e "$links/uring_submit" ] || fail "still attached with no container auditing"
}
