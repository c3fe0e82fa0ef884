#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Syscall auditing (issue 3): exec and syscall records in the container's audit log,
# the collector, `ocibpf audit`, `ocibpf seccomp`.

load helpers
load reliability-helpers

setup_file() {
	ocibpf_setup_file
}

teardown_file() {
	ocibpf_teardown_file
}

setup() {
	requires root cgroup2 bpf runc busybox jq
	ocibpf_setup
	setup_busybox_bundle
	add_hooks
}

teardown() {
	ocibpf_teardown
}

# has_record ID TYPE: the log has a record of TYPE.
has_record() {
	[ -n "$(records "$1" "$2")" ]
}

# run_audited POLICY-JSON CMD...: run a container with POLICY through runc, in the
# foreground, on the host network.
run_audited() {
	local policy=$1
	shift
	write_policy audited "$policy"
	set_policy audited
	use_host_network
	set_cmd "$@"
	runc_run "$CID"
}

@test "exec records: every exec with argv, the entrypoint first" {
	run_audited '{"audit": {"syscalls": []}}' \
		sh -c 'echo one two >/dev/null; /bin/busybox echo "with space" x; exec /bin/true'
	assert_success
	assert_stopped "$CID"

	run records "$CID" exec
	[ "${#lines[@]}" -eq 3 ] || fail "want 3 exec records, got ${#lines[@]}: $output"
	# The entrypoint is the first exec, right after the start record.
	run jq -s -e '.[1].type == "exec" and .[1].filename == "/bin/sh"
		and .[1].argv == ["sh", "-c", "echo one two >/dev/null; /bin/busybox echo \"with space\" x; exec /bin/true"]' \
		"$(audit_log "$CID")"
	assert_success
	records "$CID" exec | jq -e -s '.[1].argv == ["/bin/busybox", "echo", "with space", "x"]
		and .[1].argv_truncated == false and (.[1].pid | type) == "number"
		and (.[1].ppid | type) == "number" and .[1].uid == 0 and (.[1].comm | length) > 0'
	records "$CID" exec | jq -e -s '.[2].filename == "/bin/true"'
	# `audit: {syscalls: []}` logs execs only.
	[ -z "$(records "$CID" syscall)" ]
}

@test "exec records: a long argv is cut and marked as truncated" {
	local long
	long=$(head -c 3000 /dev/zero | tr '\0' a)
	run_audited '{"audit": {"syscalls": []}}' sh -c "exec /bin/true $long"
	assert_success
	records "$CID" exec | jq -e -s '.[1].argv_truncated == true and .[1].argv[0] == "/bin/true"
		and (.[1].argv[1] | length) < 3000 and (.[1].argv[1] | test("^a+$"))'
}

@test "syscall records: openat with path, return value and raw args" {
	run_audited '{"audit": {"syscalls": ["openat"]}}' \
		sh -c ': </etc/passwd; : </no/such/file; true'
	# the second redirect fails in the shell, not the container
	assert_stopped "$CID"
	records "$CID" syscall | jq -e -s '
		any(.[]; .syscall == "openat" and .path == "/etc/passwd" and .ret >= 0
			and (.args | length) == 6 and (.nr | type) == "number"
			and (.pid | type) == "number" and (.tid | type) == "number" and .comm == "sh")
		and any(.[]; .syscall == "openat" and .path == "/no/such/file" and .ret == -2)
		and all(.[]; .syscall == "openat")'
}

@test "syscall records: connect with address and port" {
	run_audited '{"audit": {"syscalls": ["connect"]}}' \
		sh -c 'nc -w 1 127.0.0.1 9 </dev/null; nc -w 1 ::1 7 </dev/null; true'
	assert_success
	records "$CID" syscall | jq -e -s '
		any(.[]; .syscall == "connect" and .addr == "127.0.0.1" and .port == 9 and .ret == -111)'
	records "$CID" syscall | jq -e -s '
		any(.[]; .syscall == "connect" and .addr == "::1" and .port == 7 and .ret < 0)'
}

@test "audit all: every syscall is recorded and counted" {
	run_audited '{"audit": {"syscalls": ["all"]}}' sh -c ': </etc/passwd; : >/dev/shm/made; getpid=1; true'
	assert_success
	assert_stopped "$CID"
	# the 4th argument (r10 on x86-64, not the C ABI's rcx): the mode, 0666
	records "$CID" syscall | jq -e -s '
		any(.[]; .syscall == "openat" and .path == "/etc/passwd")
		and any(.[]; .syscall == "openat" and .path == "/dev/shm/made" and .args[3] == 438)
		and any(.[]; .syscall == "execve")
		and ([.[].syscall] | unique | length) > 10'
	# ["all"] implies syscall counting: the stop record has counts by name.
	records "$CID" stop | jq -e '.stats.syscalls > 10 and .stats.syscall_counts.openat >= 1'
}

@test "a burst of 3,500 audited syscalls is recorded without loss" {
	echo burst >"$BUNDLE/rootfs/burst"
	run_audited '{"audit": {"syscalls": ["openat"]}}' \
		sh -c 'i=0; while [ $i -lt 3500 ]; do : </burst; i=$((i + 1)); done'
	assert_success
	assert_stopped "$CID"
	local n
	n=$(records "$CID" syscall | jq -s '[.[] | select(.path == "/burst")] | length')
	[ "$n" -eq 3500 ] || fail "want 3500 openat records, got $n"
	[ -z "$(records "$CID" lost)" ] || fail "lost records: $(records "$CID" lost)"
}

@test "the collector killed mid-run: the gap is explained by a lost record" {
	write_policy audited '{"audit": {"syscalls": ["openat"]}}'
	set_policy audited
	set_cmd sh -c 'i=0; while [ $i -lt 60 ] && [ ! -e /stop ]; do : </etc/passwd; sleep 0.1; i=$((i + 1)); done'
	runc_run -d "$CID"
	assert_success
	wait_for 50 0.1 test -s "$STATE_DIR/ocibpfd.pid"
	local pid
	pid=$(cat "$STATE_DIR/ocibpfd.pid")
	wait_for 50 0.1 sh -c "grep -q '/etc/passwd' '$(audit_log "$CID")'"
	kill -9 "$pid"
	wait_for 50 0.1 sh -c "! kill -0 $pid 2>/dev/null"
	# Started by hand (or by the next hook), it picks the container up again.
	OCIBPF_CONFIG=$OCIBPF_CONFIG "$OCIBPFD" </dev/null >/dev/null 2>"$BATS_TEST_TMPDIR/ocibpfd.err" 3>&- &
	wait_for 50 0.1 has_record "$CID" lost || { cat "$BATS_TEST_TMPDIR/ocibpfd.err" "$(audit_log "$CID")" >&2; false; }
	local before
	before=$(records "$CID" syscall | wc -l)
	wait_for 50 0.1 sh -c "[ \$(jq -c 'select(.type == \"syscall\")' '$(audit_log "$CID")' | wc -l) -gt $before ]"
	touch "$BUNDLE/rootfs/stop"
	wait_for 100 0.1 sh -c "[ \"\$(timeout 5 $RUNC --root $RUNC_ROOT state $CID 2>/dev/null | jq -r .status)\" = stopped ]"
	runc_cmd delete "$CID"
	assert_success
	assert_stopped "$CID"
	# Nothing silent: a lost record says what is missing, seq has no gap.
	records "$CID" lost | jq -e -s 'length >= 1 and all(.[]; (.reason | length) > 0)'
}

@test "a process in a sub-cgroup of the container is still audited" {
	write_policy audited '{"audit": {"syscalls": ["openat"]}}'
	set_policy audited
	set_cmd sh -c 'i=0; while [ ! -e /go ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done; : </etc/group'
	runc_run -d "$CID"
	assert_success
	local pid cg
	pid=$(runtime_state runc "$CID" pid)
	cg=$(cgroup2_of "$pid")
	mkdir "$cg/sub"
	echo "$pid" >"$cg/sub/cgroup.procs"
	grep -q "^0::.*/sub$" "/proc/$pid/cgroup"
	touch "$BUNDLE/rootfs/go"
	wait_for 100 0.1 sh -c "[ \"\$(timeout 5 $RUNC --root $RUNC_ROOT state $CID 2>/dev/null | jq -r .status)\" = stopped ]"
	runc_cmd delete "$CID"
	assert_success
	records "$CID" syscall | jq -e -s 'any(.[]; .path == "/etc/group" and .ret >= 0)'
}

@test "a process in a sub-cgroup nobody entered in ocibpf_cgroups is audited (nearest ancestor)" {
	# The hook enters the sub-cgroups that exist when it runs, 33 levels deep, and cgtrack
	# those made later below a known one: a pre-existing tree deeper than that has
	# cgroups neither entered. Network policy found a process there through its parent
	# cgroups; exec and syscall auditing looked at the leaf only and missed it.
	write_policy audited '{"audit": {"syscalls": ["openat"]}}'
	set_policy audited
	update_config --arg p "/$CID" '.linux.cgroupsPath = $p'
	local deep=$CGROUP2/$CID i
	for i in $(seq 34); do deep+=/d; done
	mkdir -p "$deep"
	set_cmd sh -c 'i=0; while [ ! -e /go ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done; : </etc/group; /bin/busybox true deep-exec'
	runc_run -d "$CID"
	assert_success
	local pid
	pid=$(runtime_state runc "$CID" pid)
	[ "$(cgroup2_of "$pid")" = "$CGROUP2/$CID" ] || fail "not in $CGROUP2/$CID: $(cat "/proc/$pid/cgroup")"
	echo "$pid" >"$deep/cgroup.procs"
	[ "$(cgroup2_of "$pid")" = "$deep" ] || fail "not moved: $(cat "/proc/$pid/cgroup")"
	# the gap this is about: the container's cgroup is entered, the leaf is not
	cgroup_map_has "$(stat -c %i "$CGROUP2/$CID")" || fail "the container's own cgroup is not in ocibpf_cgroups"
	! cgroup_map_has "$(stat -c %i "$deep")" || fail "the leaf is in ocibpf_cgroups: this test does not test the gap"
	touch "$BUNDLE/rootfs/go"
	wait_for 100 0.1 sh -c "[ \"\$(timeout 5 $RUNC --root $RUNC_ROOT state $CID 2>/dev/null | jq -r .status)\" = stopped ]"
	runc_cmd delete "$CID"
	assert_success
	[ ! -d "$CGROUP2/$CID" ] || find "$CGROUP2/$CID" -depth -type d -exec rmdir {} +
	# (runc's init opens /etc/group too, before the exec of sh: the shell's open is wanted)
	records "$CID" syscall | jq -e -s 'any(.[]; .path == "/etc/group" and .comm == "sh" and .ret >= 0)' >/dev/null ||
		fail "no openat record from the deep sub-cgroup: $(records "$CID" syscall)"
	records "$CID" exec | jq -e -s 'any(.[]; .argv == ["/bin/busybox", "true", "deep-exec"])' >/dev/null ||
		fail "no exec record from the deep sub-cgroup: $(records "$CID" exec)"
}

@test "two containers audited for different syscalls don't see each other's records" {
	write_policy opens '{"audit": {"syscalls": ["openat"]}}'
	write_policy connects '{"audit": {"syscalls": ["connect"]}}'
	use_host_network
	set_cmd sh -c 'sleep 0.5; : </etc/passwd; nc -w 1 127.0.0.1 9 </dev/null; true'
	set_policy opens
	runc_run -d "$CID-a"
	assert_success
	set_policy connects
	runc_run -d "$CID-b"
	assert_success
	local id
	for id in "$CID-a" "$CID-b"; do
		wait_for 100 0.1 sh -c "[ \"\$(timeout 5 $RUNC --root $RUNC_ROOT state $id 2>/dev/null | jq -r .status)\" = stopped ]"
		runc_cmd delete "$id"
		assert_success
		assert_stopped "$id"
	done
	records "$CID-a" syscall | jq -e -s --arg id "$CID-a" 'length > 0
		and all(.[]; .syscall == "openat" and .container == $id)'
	records "$CID-b" syscall | jq -e -s --arg id "$CID-b" 'length > 0
		and all(.[]; .syscall == "connect" and .container == $id)'
}

@test "ocibpf audit: table, --json, --type, --syscall, --since" {
	run_audited '{"audit": {"syscalls": ["openat", "connect"]}}' \
		sh -c ': </etc/passwd; nc -w 1 127.0.0.1 9 </dev/null; true'
	assert_success
	ocibpf audit "$CID"
	assert_success
	assert_line --regexp '^TIME +PID +COMM +TYPE +DETAIL$'
	assert_line --regexp ' start +policy audited'
	# (busybox behind the /bin/sh symlink: the file the kernel ran, exe)
	assert_line --regexp ' exec +/bin/sh \[exe /bin/busybox\]: sh -c '
	assert_line --regexp ' syscall +openat\("/etc/passwd"\) = [0-9]+$'
	assert_line --regexp ' syscall +connect\(127\.0\.0\.1:9\) = ECONNREFUSED$'
	assert_line --regexp ' stop +cpu '

	ocibpf audit --json --type exec "$CID"
	assert_success
	jq -e -s 'length >= 1 and all(.[]; .type == "exec")' <<<"$output"

	ocibpf audit --json --syscall connect "$CID"
	assert_success
	jq -e -s 'length >= 1 and all(.[]; .syscall == "connect")' <<<"$output"

	ocibpf audit --json --since 1h "$CID"
	assert_success
	[ "$(wc -l <<<"$output")" -eq "$(wc -l <"$(audit_log "$CID")")" ]
	ocibpf audit --json --since 2099-01-01T00:00:00Z "$CID"
	assert_success
	assert_output ""

	ocibpf audit --type nonsense "$CID"
	assert_failure 2
	ocibpf audit no-such-container
	assert_failure 1
}

@test "ocibpf audit --follow stops at the stop record" {
	write_policy audited '{"audit": {"syscalls": ["openat"]}}'
	set_policy audited
	set_cmd sh -c 'sleep 1; : </etc/passwd'
	runc_run -d "$CID"
	assert_success
	run timeout 20 "$OCIBPF_CLI" audit --json --follow "$CID" &
	local follower=$!
	wait_for 100 0.1 sh -c "[ \"\$(timeout 5 $RUNC --root $RUNC_ROOT state $CID 2>/dev/null | jq -r .status)\" = stopped ]"
	runc_cmd delete "$CID"
	assert_success
	wait "$follower"
}

@test "ocibpf seccomp: the observed syscalls as a profile runc enforces" {
	write_policy counted '{"telemetry": {"syscalls": true}}'
	set_policy counted
	use_host_network
	set_cmd sh -c 'echo hi; cat /etc/passwd >/dev/null; trap "echo caught" USR1; kill -USR1 $$'
	runc_run "$CID"
	assert_success
	assert_stopped "$CID"
	records "$CID" stop | jq -e '.stats.syscall_counts.execve >= 1'

	# Also after the container is gone: from the stop record.
	ocibpf seccomp "$CID"
	assert_success
	local profile=$BATS_TEST_TMPDIR/profile.json
	printf '%s\n' "$output" >"$profile"
	# The native ABI only: a 32-bit syscall (int 0x80) is never seen by the audit, so the
	# profile must not let one through.
	local native
	case $(uname -m) in
	x86_64) native=SCMP_ARCH_X86_64 ;;
	aarch64) native=SCMP_ARCH_AARCH64 ;;
	*) fail "no native seccomp arch known for $(uname -m)" ;;
	esac
	jq -e --arg a "$native" '.defaultAction == "SCMP_ACT_ERRNO" and .architectures == [$a]
		and (.syscalls[0].names | index("execve")) != null
		and (.syscalls[0].names | index("chroot")) == null' "$profile"
	# What the kernel has a process make, seen in that run or not (restart_syscall never
	# is here): without them a handled signal kills the workload.
	jq -e '.syscalls[0].names as $n | all("rt_sigreturn", "restart_syscall", "exit", "exit_group"; . as $s | $n | index($s) != null)' "$profile"

	# The same workload under that profile runs; a syscall it never made is refused.
	update_config 'del(.hooks) | del(.annotations) | .linux.seccomp = $p[0]' --slurpfile p "$profile"
	runc_run "$CID-again"
	assert_success
	assert_output --partial hi
	set_cmd sh -c 'chroot / /bin/true; echo "chroot status $?"'
	runc_run "$CID-again"
	assert_output --partial "Operation not permitted"
	refute_output --partial "chroot status 0"
	# A signal caught and returned from, under the profile.
	set_cmd sh -c 'trap "echo caught" USR1; kill -USR1 $$; echo after'
	runc_run "$CID-again"
	assert_success
	assert_output --partial caught
	assert_output --partial after
}

@test "ocibpf seccomp refuses a container whose syscalls were not counted" {
	run_audited '{"audit": {"syscalls": ["openat"]}}' true
	assert_success
	ocibpf seccomp "$CID"
	assert_failure 1
	[[ "$stderr" == *"not counted"* ]]
}

@test "ring buffer: records that wrap its end arrive intact, and the collector maps a window of it (RSS <= 16 MiB)" {
	# 90,000 audited opens of a path with bytes that are not UTF-8 go through the 16 MiB
	# ring more than twice (400 bytes each), so some record wraps its end; libbpf's
	# consumer mapped the ring twice over (the collector at ~37 MiB RSS).
	write_policy audited '{"audit": {"syscalls": ["openat"]}}'
	set_policy audited
	use_host_network
	set_cmd sh -c 'p=$(printf "/nope/\377\303\251"); i=0
		while [ $i -lt 90000 ]; do true 2>/dev/null <"$p$i"; i=$((i + 1)); done; echo done; sleep 100'
	runc_run -d "$CID"
	assert_success
	wait_for 3000 0.1 grep -q '^done' "$BATS_TEST_TMPDIR/$CID.stdio" || fail "the opens did not finish"
	local hwm
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$(cat "$STATE_DIR/ocibpfd.pid")/status")
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
	[ "$hwm" -le $((16 * 1024)) ] || fail "the collector's peak RSS was $hwm KiB"

	# Every record written is whole: its exact bytes, in order; the others are counted.
	run jq -s -r '[.[] | select(.type == "syscall" and (.path // "" | startswith("/nope/")))] as $r
		| ($r | map(.path | ltrimstr("/nope/\ufffd\u00e9") | tonumber)) as $n
		| ([.[] | select(.type == "lost") | .count] | add // 0) as $lost
		| [($r | length), $lost,
		   ($r | all(.path_hex == "2f6e6f70652fffc3a9" + (.path | ltrimstr("/nope/\ufffd\u00e9")
				| explode | map("3" + ((. - 48) | tostring)) | join(""))
			and .ret == -2 and .comm == "sh")),
		   ($n == ($n | sort)), ($n | unique | length) == ($n | length)] | @tsv' "$(audit_log "$CID")"
	assert_success
	local written lost intact ordered unique
	read -r written lost intact ordered unique <<<"$output"
	[ "$intact" = true ] && [ "$ordered" = true ] && [ "$unique" = true ] ||
		fail "records not intact ($intact), out of order ($ordered) or repeated ($unique)"
	[ $((written + lost)) -ge 90000 ] || fail "$written written + $lost lost of 90000"
	[ "$written" -ge 84000 ] || fail "only $written written: the ring was not gone through twice"
	# seq has no gap.
	jq -s -e '[.[].seq] as $s | $s == [range($s[0]; $s[0] + ($s | length))]' "$(audit_log "$CID")"
}

# log_records DIR ID [TYPE]: the records of ID's log in DIR (compact JSON, one a line).
log_records() {
	jq -c --arg t "${3:-}" 'select($t == "" or .type == $t)' "$1/$2.jsonl"
}

@test "log_dir edited while a container runs: each run's records all go to the log its start record went to; the next container's to the new log_dir" {
	# A careless operator moves log_dir (say, off a full disk) while containers run and
	# the collector, started under the old configuration, drains their records.
	local moved=$BATS_TEST_TMPDIR/log-moved
	echo tick >"$BUNDLE/rootfs/tick"
	write_policy audited '{"audit": {"syscalls": ["openat"]}}'
	set_policy audited
	use_host_network
	set_cmd sh -c 'while [ ! -e /stop ]; do : </tick; sleep 0.1; done'
	runc_run -d "$CID-a"
	assert_success
	wait_for 50 0.1 has_record "$CID-a" syscall

	update_host_config '.log_dir = $d' --arg d "$moved"
	runc_run -d "$CID-b"
	assert_success
	wait_for 50 0.1 eval '[ -s "$moved/$CID-b.jsonl" ] && log_records "$moved" "$CID-b" syscall | grep -q .' ||
		fail "no syscall record of $CID-b in $moved: $(ls "$moved" "$LOG_DIR"; cat "$LOG_DIR/$CID-b.jsonl" 2>/dev/null | head -3)"
	local before
	before=$(log_records "$LOG_DIR" "$CID-a" syscall | wc -l)
	wait_for 50 0.1 eval '[ "$(log_records "$LOG_DIR" "$CID-a" syscall | wc -l)" -gt "$before" ]'
	# ocibpf audit under the edited configuration shows a running container's log where it is
	ocibpf audit --json "$CID-a"
	assert_success
	jq -s -e 'any(.[]; .type == "syscall" and .path == "/tick")' <<<"$output" ||
		fail "ocibpf audit $CID-a: $output"

	touch "$BUNDLE/rootfs/stop"
	local id
	for id in "$CID-a" "$CID-b"; do
		wait_status runc "$id" stopped
		runc_cmd delete "$id"
		assert_success
	done

	# a: wholly in the old log_dir, its stop record last; nothing of it in the new one
	assert_stopped "$CID-a"
	[ ! -e "$moved/$CID-a.jsonl" ] || fail "records of $CID-a in $moved: $(cat "$moved/$CID-a.jsonl")"
	# b: wholly in the new one
	[ ! -e "$LOG_DIR/$CID-b.jsonl" ] || fail "records of $CID-b in $LOG_DIR: $(head -5 "$LOG_DIR/$CID-b.jsonl")"
	log_records "$moved" "$CID-b" | jq -s -e --arg id "$CID-b" '
		.[0].type == "start" and .[-1].type == "stop" and ([.[].seq] == [range(1; length + 1)])
		and any(.[]; .type == "syscall" and .path == "/tick")' ||
		fail "$moved/$CID-b.jsonl: $(cat "$moved/$CID-b.jsonl")"
	# ocibpf audit of the edited configuration finds b's
	ocibpf audit --json "$CID-b"
	assert_success
	jq -s -e 'any(.[]; .type == "syscall" and .path == "/tick")' <<<"$output"
}
