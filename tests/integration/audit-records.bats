#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Audit records a reviewer can trust (issue 12): valid UTF-8 JSON whatever bytes the
# container uses, the exact bytes recoverable (KEY_hex), cuts that split no character and
# are marked, a review (`ocibpf audit`) that shows every line and can't be forged, and
# input (hook state, host configuration) that means one thing.

load helpers

setup_file() {
	ocibpf_setup_file
	export RECTOOL=$BATS_FILE_TMPDIR/rectool
	if ! gcc -O2 -static -o "$RECTOOL" "$INTEGRATION_ROOT/rectool.c" 2>"$BATS_FILE_TMPDIR/rectool.log"; then
		echo "# audit-records: cannot build rectool: $(head -n 3 "$BATS_FILE_TMPDIR/rectool.log")" >&3
		RECTOOL=
	fi
}

teardown_file() {
	ocibpf_teardown_file
}

setup() {
	requires root cgroup2 bpf runc busybox jq
	[ -n "$RECTOOL" ] || fail "rectool could not be built (gcc -static)"
	ocibpf_setup
	setup_busybox_bundle
	add_hooks
	cp "$RECTOOL" "$BUNDLE/rootfs/bin/rectool"
}

teardown() {
	ocibpf_teardown
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

hex() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'; }

# The log is strict UTF-8 JSON now (the teardown checks it too, for every test).
assert_log_valid() {
	check_audit_logs || fail "audit log is not strict UTF-8 JSON"
}

@test "a process named with a byte that is not UTF-8: valid JSON, exact bytes in comm_hex, \\xff in the table" {
	run_audited '{"audit": {"syscalls": ["openat"]}}' rectool name "$(hex $'evil\xff')"
	assert_success
	assert_stopped "$CID"
	assert_log_valid
	records "$CID" syscall | jq -e -s 'any(.[]; .comm_hex == "6576696cff" and .comm == "evil\ufffd"
		and .path == "/etc/passwd")'
	ocibpf audit "$CID"
	assert_success
	assert_line --regexp ' evil\\xff +syscall +openat\("/etc/passwd"\)'
}

@test "argv with bytes that are not UTF-8, a newline and ESC: exact in argv_hex, no forged row, no ESC on the terminal" {
	run_audited '{"audit": {"syscalls": []}}' \
		rectool exec "$(hex $'a\xff')" "$(hex $'\nFORGED 1 2 3')" "$(hex $'\e[2J')"
	assert_success
	assert_stopped "$CID"
	assert_log_valid
	records "$CID" exec | jq -e -s '.[1].filename == "/bin/true"
		and .[1].argv == ["true", "a\ufffd", "\nFORGED 1 2 3", "\u001b[2J"]
		and .[1].argv_hex == [null, "61ff", null, null]'
	ocibpf audit "$CID"
	assert_success
	refute_line --regexp '^FORGED'
	[[ "$output" != *$'\e'* ]] || fail "an ESC byte reached the table"
	# (/bin/true is a link to busybox: the file run is shown after the name)
	assert_line --regexp ' exec +/bin/true \[exe /bin/busybox\]: true a\\xff \\nFORGED 1 2 3 \\e\[2J$'
	# --json gives the records as they are.
	ocibpf audit --json --type exec "$CID"
	assert_success
	jq -e -s '.[1].argv_hex == [null, "61ff", null, null]' <<<"$output"
}

@test "a 291-byte path to /etc/passwd: its tail is kept and path_truncated is set" {
	local p
	p=$(printf '/.%.0s' $(seq 140))/etc/passwd
	[ ${#p} -eq 291 ]
	run_audited '{"audit": {"syscalls": ["openat"]}}' sh -c "cat $p >/dev/null && cat /etc/group >/dev/null"
	assert_success
	assert_stopped "$CID"
	records "$CID" syscall | jq -e -s 'any(.[]; .path_truncated == true and (.path | length) == 255
		and (.path | endswith("/./././etc/passwd")) and .ret >= 0 and .file == "/etc/passwd")'
	records "$CID" syscall | jq -e -s 'any(.[]; .path == "/etc/group" and .path_truncated == false)'
	ocibpf audit "$CID"
	assert_success
	# a cut path is not compared with the file opened: the file is shown
	assert_line --regexp 'openat\("\.\.\.(/\.)+/etc/passwd" -> /etc/passwd\) = [0-9]+$'
}

@test "a long path of multi-byte characters: the kept tail starts on a character" {
	local p
	p=/tmp/$(printf 'é%.0s' $(seq 150))/x
	[ "$(printf '%s' "$p" | wc -c)" -eq 307 ]
	run_audited '{"audit": {"syscalls": ["openat"]}}' rectool open "$(hex "$p")"
	assert_success
	assert_stopped "$CID"
	assert_log_valid
	local want
	want=$(printf 'é%.0s' $(seq 126))/x
	records "$CID" syscall | jq -e -s --arg w "$want" 'any(.[]; .path == $w and .path_truncated == true
		and (has("path_hex") | not) and .ret < 0)'
}

@test "names and arguments of multi-byte characters cut at 15 bytes and 1 KiB split no character" {
	local long
	long=$(printf 'é%.0s' $(seq 700))
	run_audited '{"audit": {"syscalls": ["openat"]}}' \
		sh -c "rectool name $(hex 'ééééééééé') && exec /bin/true $long"
	assert_success
	assert_stopped "$CID"
	assert_log_valid
	# The kernel kept 15 bytes: 7 characters and half of the 8th, which goes.
	records "$CID" syscall | jq -e -s 'any(.[]; .comm == "ééééééé" and .comm_truncated == true
		and (has("comm_hex") | not))'
	records "$CID" exec | jq -e -s '.[-1].filename == "/bin/true" and .[-1].argv_truncated == true
		and (.[-1].argv[1] | test("^é+$")) and (.[-1] | has("argv_hex") | not)'
}

@test "ocibpf audit --since: a negative duration or one past 1970 is bad usage" {
	local when
	for when in -5m -1s 99999999999999999999999s 1000000000d 1969-12-31T23:59:59Z; do
		ocibpf audit --since "$when" "$CID"
		[ "$status" -eq 2 ] || fail "--since $when: status $status"
	done
	ocibpf audit --since 5m "$CID"
	[ "$status" -eq 1 ]   # a valid --since; no such log
}

@test "ocibpf audit --since: a date or time that does not exist, short fields, spaces or no zone are bad usage; an RFC 3339 offset means what it says" {
	local when
	for when in 2026-02-31T00:00:00Z 2026-02-29T00:00:00Z 2026-13-01T00:00:00Z 2026-12-02T24:00:00Z \
		2026-12-02T02:60:00Z 2026-12-2T2:0:0Z " 2026-12-02T02:00:00Z" "2026-12-02T02:00:00Z " \
		2026-12-02T02:00:00 2026-12-02T02:00Z 2026-12-02T02:00:00.Z 2026-12-02T02:00:00+1:00 \
		2026-12-02T02:00:00+24:00 2026-12-02; do
		ocibpf audit --since "$when" "$CID"
		[ "$status" -eq 2 ] || fail "--since '$when': status $status"
		[[ "$stderr" == *"invalid --since"* ]] || fail "--since '$when': $stderr"
	done

	run_audited '{"audit": {"syscalls": ["openat"]}}' cat /etc/passwd
	assert_success
	local ts secs
	ts=$(jq -r 'select(.type == "start") | .ts' "$LOG_DIR/$CID.jsonl")
	secs=$(date -u -d "${ts%.*}Z" +%s)
	# the start record's second, written at +01:00, -05:30, in lower case: it is in
	for when in "$(date -u -d "@$((secs + 3600))" +%Y-%m-%dT%H:%M:%S)+01:00" \
		"$(date -u -d "@$((secs - 19800))" +%Y-%m-%dT%H:%M:%S)-05:30" \
		"$(date -u -d "@$secs" +%Y-%m-%dt%H:%M:%Sz)" "$(date -u -d "@$secs" +%Y-%m-%dT%H:%M:%S)+00:00"; do
		ocibpf audit --json --type start --since "$when" "$CID"
		assert_success
		[ "${#lines[@]}" -eq 1 ] || fail "--since $when (start at $ts): $output"
	done
	# the next second, at +01:00: it is not
	ocibpf audit --json --type start --since "$(date -u -d "@$((secs + 3601))" +%Y-%m-%dT%H:%M:%S)+01:00" "$CID"
	assert_success
	[ -z "$output" ] || fail "a record before --since shown: $output"
}

@test "ocibpf audit --syscall: a name that is no syscall is bad usage, not an empty review" {
	run_audited '{"audit": {"syscalls": ["openat"]}}' cat /etc/passwd
	assert_success
	ocibpf audit --syscall openat "$CID"
	assert_success
	assert_line --partial '/etc/passwd'
	local args
	for args in "--syscall opneat $CID" "--json --syscall opneat $CID" "--syscall opneat --all" \
		"--syscall OPENAT $CID" "--syscall opneat nosuchcontainer"; do
		# shellcheck disable=SC2086
		ocibpf audit $args
		[ "$status" -eq 2 ] || fail "audit $args: status $status"
		[ -z "$output" ] || fail "audit $args: printed $output"
		[[ "$stderr" == *'unknown syscall "'* ]] || fail "audit $args: $stderr"
	done
}

@test "ocibpf audit: errno names in the table, numbers in --json" {
	run_audited '{"audit": {"syscalls": ["openat", "connect"]}}' \
		sh -c 'cat /no/such/file 2>/dev/null; nc -w 1 127.0.0.1 9 </dev/null; true'
	assert_success
	ocibpf audit "$CID"
	assert_success
	assert_line --regexp ' syscall +openat\("/no/such/file"\) = ENOENT$'
	assert_line --regexp ' syscall +connect\(127\.0\.0\.1:9\) = ECONNREFUSED$'
	ocibpf audit --json --type syscall "$CID"
	jq -e -s 'any(.[]; .path == "/no/such/file" and .ret == -2)
		and any(.[]; .syscall == "connect" and .ret == -111)' <<<"$output"
}

@test "the runtime's setup before the entrypoint: marked setup, hidden from the table unless --all" {
	run_audited '{"audit": {"syscalls": ["openat"]}}' sh -c ': </etc/passwd'
	assert_success
	assert_stopped "$CID"
	# runc init opens its rootfs, /proc, ... before it execs the entrypoint.
	jq -e -s '(map(.type) | index("exec")) as $x
		| ([.[] | select(.setup == true)] | length) > 0
		and all(.[$x:][]; .setup != true)
		and all(.[:$x][]; .type != "syscall" or .setup == true)' "$(audit_log "$CID")"
	ocibpf audit "$CID"
	assert_success
	refute_line --partial '[setup]'
	assert_line --regexp 'openat\("/etc/passwd"\) = [0-9]+$'
	ocibpf audit --all "$CID"
	assert_success
	assert_line --partial '[setup]'
	# --json gives every record, marked.
	ocibpf audit --json "$CID"
	jq -e -s 'any(.[]; .setup == true)' <<<"$output"
}

@test "ocibpf audit: a line that is not a record is shown and reported; seq goes on past it" {
	run_audited '{"audit": {"syscalls": []}}' true
	assert_success
	assert_stopped "$CID"
	local log last n
	log=$(audit_log "$CID")
	last=$(tail -n 1 "$log" | jq .seq)
	# As an older writer wrote it (a byte that is not UTF-8), and plain garbage with ESC.
	printf '{"seq":%d,"ts":"2026-01-01T00:00:00.000000000Z","container":"%s","type":"exec","comm":"x\xff"}\n' \
		$((last + 1)) "$CID" >>"$log"
	n=$(wc -l <"$log")
	allow_unreadable_lines "$CID" "$n"
	ocibpf audit "$CID"
	[ "$status" -eq 1 ]
	assert_line --regexp "^- +- +- +unreadable line $n: \\{\"seq\":$((last + 1)),.*\"comm\":\"x\\\\xff\"\\}$"
	[[ "$stderr" == *"1 line of $log is not an audit record (line $n)"* ]] || fail "stderr: $stderr"

	# The next run of the same id counts on from the unreadable line.
	runc_run "$CID"
	assert_success
	run jq -e -s --argjson s $((last + 2)) '.[0].type == "start" and .[0].seq == $s' \
		<(tail -n +$((n + 1)) "$log")
	assert_success

	printf 'garbage \e]0;owned\a\n' >>"$log"
	n=$(wc -l <"$log")
	allow_unreadable_lines "$CID" "$n"
	ocibpf audit --json "$CID"
	[ "$status" -eq 1 ]
	# Every line of --json is JSON; the unreadable ones say so.
	jq -e -s --argjson n "$n" 'any(.[]; .unreadable == true and .line == $n
		and .text == "garbage \u001b]0;owned\u0007")' <<<"$output"
	ocibpf audit "$CID"
	[ "$status" -eq 1 ]
	[[ "$output" != *$'\e'* ]] || fail "an ESC byte reached the table"
	assert_line --partial 'garbage \e]0;owned\x07'
	[[ "$stderr" == *"2 lines of $log are not audit records"* ]] || fail "stderr: $stderr"
}

@test "ocibpf seccomp reads the stop record through the decoder, past unreadable lines" {
	run_audited '{"audit": {"syscalls": ["all"]}}' true
	assert_success
	assert_stopped "$CID"
	printf 'not a record "type":"stop"\n' >>"$(audit_log "$CID")"
	allow_unreadable_lines "$CID" "$(wc -l <"$(audit_log "$CID")")"
	ocibpf seccomp "$CID"
	assert_success
	jq -e '.syscalls[0].names | index("execve") != null' <<<"$output"
}

@test "hook: a state with a NUL and more after it, or a key given twice, is refused" {
	local state
	state=$(make_state "$CID" 1 "$BUNDLE" audited)
	{ printf '%s' "$state"; printf '\0'; printf '{"id":"other"}'; } >"$BATS_TEST_TMPDIR/state"
	run --separate-stderr "$OCIBPF_HOOK" createRuntime <"$BATS_TEST_TMPDIR/state"
	assert_hook_error "invalid OCI state" "NUL byte"
	run_hook createRuntime "${state%\}},\"id\":\"$CID-other\"}"
	assert_hook_error "invalid OCI state" '"id" is given twice'
	run_hook createRuntime "${state%\}},\"x\":{\"k\":1,\"k\":2}}"
	assert_hook_error "invalid OCI state" '"k" is given twice'
	assert_nothing_left "$CID"
}

@test "host configuration: a NUL and more after it, or a key given twice, is refused" {
	printf '{"log_dir": "/tmp"}\0{"log_dir": "/x"}' >"$OCIBPF_CONFIG"
	ocibpf ps
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"$OCIBPF_CONFIG: invalid JSON: NUL byte"* ]] || fail "stderr: $stderr"
	jq -n --arg l "$LOG_DIR" '{log_dir: $l}' | sed 's/}$/, "log_dir": "\/tmp"}/' >"$OCIBPF_CONFIG"
	ocibpf ps
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"$OCIBPF_CONFIG: invalid JSON: key \"log_dir\" is given twice"* ]] || fail "stderr: $stderr"
}

# --- which file: a path relative to the cwd or to a directory fd --------------------------
# `cd /etc && cat shadow` passes only "shadow" to openat: the record's `dir` is the
# directory the kernel took it from (the cwd, or the dirfd's), as the container sees it;
# `path` stays as passed. An exec's `exe` is the file the kernel ran.

# run_both POLICY-JSON CMD...: run the container through runc (as $CID-runc) and then
# crun (as $CID-crun), each to its stop record.
run_both() {
	local policy=$1 rt
	shift
	write_policy audited "$policy"
	set_policy audited
	use_host_network
	set_cmd "$@"
	for rt in runc crun; do
		"${rt}_run" "$CID-$rt"
		assert_success
		assert_stopped "$CID-$rt"
	done
}

# tmpfs_tmp: a fresh tmpfs at /tmp for each run (the rootfs is read-only), a mount the
# walk crosses.
tmpfs_tmp() {
	update_config '.mounts += [{destination: "/tmp", type: "tmpfs", source: "tmpfs",
		options: ["nosuid", "nodev"]}]'
}

# no_host_dir ID HOST-DIR: no record of ID past the runtime's setup names HOST-DIR.
no_host_dir() {
	jq -e -s --arg h "$2" 'all(.[] | select(.setup != true) | (.dir, .exe) // empty;
		contains($h) | not)' "$(audit_log "$1")" >/dev/null ||
		fail "$1: a record names the host's $2"
}

@test "a path relative to the cwd (cd /etc && cat passwd): dir is /etc, path as passed, absolute paths get no dir" {
	requires crun
	run_both '{"audit": {"syscalls": ["openat"]}}' sh -c 'cd /etc && cat passwd >/dev/null && cat /etc/group >/dev/null'
	local id
	for id in "$CID-runc" "$CID-crun"; do
		assert_log_valid
		records "$id" syscall | jq -e -s 'any(.[]; .path == "passwd" and .dir == "/etc"
			and .dir_truncated == false and .ret >= 0 and .args[0] >= 4294967196)' ||
			fail "$id: no openat(AT_FDCWD, \"passwd\") with dir /etc"
		records "$id" syscall | jq -e -s 'all(.[] | select(.path? // "" | startswith("/")); has("dir") | not)
			and any(.[]; .path == "/etc/group")' ||
			fail "$id: an absolute path got a dir"
		no_host_dir "$id" "$BUNDLE/rootfs"
		ocibpf audit "$id"
		assert_success
		assert_line --regexp ' syscall +openat\("/etc/" "passwd"\) = [0-9]+$'
		assert_line --regexp ' syscall +openat\("/etc/group"\) = [0-9]+$'
	done
}

@test "openat relative to a directory fd that is not the cwd: dir is the fd's directory" {
	requires crun
	run_both '{"audit": {"syscalls": ["openat"]}}' rectool openat "$(hex /etc)" "$(hex passwd)"
	local id
	for id in "$CID-runc" "$CID-crun"; do
		records "$id" syscall | jq -e -s 'any(.[]; .path == "passwd" and .dir == "/etc"
			and .ret >= 0 and .args[0] < 1024)' ||
			fail "$id: no openat(dirfd, \"passwd\") with dir /etc"
		ocibpf audit "$id"
		assert_success
		assert_line --regexp ' syscall +openat\("/etc/" "passwd"\) = [0-9]+$'
	done
}

@test "a relative path in a bind mount (a volume at /data): dir is the container's /data/..., never the host's" {
	requires crun
	local vol=$BATS_TEST_TMPDIR/vol-on-host
	mkdir -p "$vol/sub"
	echo hi >"$vol/sub/f"
	update_config '.mounts += [{destination: "/data", type: "bind", source: $s, options: ["rbind", "rw"]}]' \
		--arg s "$vol"
	run_both '{"audit": {"syscalls": ["openat"]}}' sh -c 'cd /data/sub && cat f >/dev/null'
	local id
	for id in "$CID-runc" "$CID-crun"; do
		records "$id" syscall | jq -e -s 'any(.[]; .path == "f" and .dir == "/data/sub" and .ret >= 0)' ||
			fail "$id: no openat(\"f\") with dir /data/sub"
		no_host_dir "$id" "$vol"
		no_host_dir "$id" "$BUNDLE/rootfs"
	done
}

@test "a directory deeper than the walk goes, or longer than 255 bytes: dir_truncated, the tail kept" {
	requires crun
	local long
	long=$(printf 'L%.0s' $(seq 100))
	tmpfs_tmp
	run_both '{"audit": {"syscalls": ["openat"]}}' sh -c '
		d=/tmp/top; i=0; while [ $i -lt 40 ]; do d=$d/d; i=$((i + 1)); done
		mkdir -p "$d" /tmp/top/d/d/d "/tmp/$1/$1/$1/end" &&
		cd "$d" && cat deep 2>/dev/null; cd /tmp/top/d/d/d && cat short 2>/dev/null
		cd "/tmp/$1/$1/$1/end" && cat long 2>/dev/null; true' sh "$long"
	local id
	for id in "$CID-runc" "$CID-crun"; do
		assert_log_valid
		records "$id" syscall | jq -e -s 'any(.[]; .path == "deep" and .dir_truncated == true
			and (.dir | test("^(/d)+$")) and (.dir | length) >= 40)' ||
			fail "$id: the deep directory is not cut with its tail kept"
		records "$id" syscall | jq -e -s 'any(.[]; .path == "short" and .dir == "/tmp/top/d/d/d"
			and .dir_truncated == false)' || fail "$id: /tmp/top/d/d/d"
		records "$id" syscall | jq -e -s --arg l "$long" 'any(.[]; .path == "long"
			and .dir_truncated == true and (.dir | endswith("/" + $l + "/end"))
			and (.dir | length) <= 255)' || fail "$id: the long directory is not cut with its tail kept"
		ocibpf audit "$id"
		assert_success
		assert_line --regexp ' syscall +openat\("\.\.\.(/d)+/" "deep"\) = ENOENT$'
	done
}

@test "directory names that are not UTF-8 or hold a newline: dir_hex, no forged row in the table" {
	requires crun
	tmpfs_tmp
	run_both '{"audit": {"syscalls": ["openat"]}}' sh -c '
		a=$(printf "/tmp/a\377b"); n=$(printf "/tmp/x\nFORGED 1 2 3")
		mkdir "$a" "$n" && cd "$a" && cat f 2>/dev/null; cd "$n" && cat g 2>/dev/null; true'
	local id
	for id in "$CID-runc" "$CID-crun"; do
		assert_log_valid
		records "$id" syscall | jq -e -s --arg h "$(hex $'/tmp/a\xffb')" 'any(.[]; .path == "f"
			and .dir == "/tmp/a\ufffdb" and .dir_hex == $h)' || fail "$id: no dir_hex"
		records "$id" syscall | jq -e -s 'any(.[]; .path == "g" and .dir == "/tmp/x\nFORGED 1 2 3"
			and (has("dir_hex") | not))' || fail "$id: the newline"
		ocibpf audit "$id"
		assert_success
		refute_line --regexp '^FORGED'
		assert_line --partial 'openat("/tmp/a\xffb/" "f") = ENOENT'
		assert_line --partial 'openat("/tmp/x\nFORGED 1 2 3/" "g") = ENOENT'
	done
}

@test "exec of a relative filename and fileless execs from a memfd: exe is the file the kernel ran" {
	requires crun
	run_both '{"audit": {"syscalls": []}}' sh -c 'cd /bin && ./true && rectool memexec empty && rectool memexec proc'
	local id
	for id in "$CID-runc" "$CID-crun"; do
		assert_log_valid
		records "$id" exec | jq -e -s 'any(.[]; .filename == "./true" and .dir == "/bin"
			and .exe == "/bin/busybox" and .exe_truncated == false)' ||
			fail "$id: ./true: no dir /bin and exe /bin/busybox"
		records "$id" exec | jq -e -s 'any(.[]; .filename == "/bin/rectool" and .exe == "/bin/rectool"
			and (has("dir") | not))' || fail "$id: /bin/rectool"
		# execveat(fd, "", AT_EMPTY_PATH): the kernel names it /dev/fd/N.
		records "$id" exec | jq -e -s 'any(.[]; (.filename | test("^/dev/fd/[0-9]+$"))
			and .exe == "/memfd:evil" and .exe_deleted == true and .exe_unreachable == true
			and .argv == ["rectool", "true"])' || fail "$id: execveat of a memfd"
		records "$id" exec | jq -e -s 'any(.[]; (.filename | test("^/proc/self/fd/[0-9]+$"))
			and .exe == "/memfd:evil" and .exe_deleted == true and .argv == ["rectool", "true"])' ||
			fail "$id: execve of /proc/self/fd/N"
		ocibpf audit "$id"
		assert_success
		assert_line --regexp ' exec +\./true \[in /bin, exe /bin/busybox\]: \./true$'
		assert_line --regexp ' exec +/dev/fd/[0-9]+ \[exe /memfd:evil \(deleted\) \(unreachable\)\]: rectool true$'
	done
}

# --- which file: the file an open opened ----------------------------------------------------
# `ln -s /etc/passwd /tmp/x; cat /tmp/x` passes only "/tmp/x": the record of an open that
# returned a fd has `file`, the file the fd is (walked at exit), when it is not the path
# (with dir for a relative path) or when there is no path (open_by_handle_at).

# no_file_where ID JQ-FILTER WHAT: no record of ID that FILTER selects has a file.
no_file_where() {
	records "$1" syscall | jq -e -s "[.[] | select($2)] | length > 0 and all(.[]; has(\"file\") | not)" \
		>/dev/null || fail "$1: $3"
}

@test "an open through a symlink (final, in the middle, relative), a magic link or ..: file is the file opened" {
	requires crun
	tmpfs_tmp
	run_both '{"audit": {"syscalls": ["openat"]}}' sh -c '
		ln -s /etc/passwd /tmp/x && cat /tmp/x >/dev/null
		ln -s /etc /tmp/d && cat /tmp/d/group >/dev/null
		cd /tmp && ln -s ../etc/passwd rel && cat rel >/dev/null
		cd /etc && cat /proc/self/cwd/group >/dev/null
		exec 3</etc && cat /proc/self/fd/3/passwd >/dev/null
		cat /tmp/../etc/group >/dev/null
		cd /tmp && cat ../etc/passwd >/dev/null'
	local id
	for id in "$CID-runc" "$CID-crun"; do
		assert_log_valid
		local p f
		for p in /tmp/x:/etc/passwd /tmp/d/group:/etc/group /proc/self/cwd/group:/etc/group \
			/proc/self/fd/3/passwd:/etc/passwd /tmp/../etc/group:/etc/group; do
			f=${p#*:} p=${p%%:*}
			records "$id" syscall | jq -e -s --arg p "$p" --arg f "$f" 'any(.[]; .path == $p
				and .file == $f and .file_truncated == false and .ret >= 0 and (has("dir") | not))' ||
				fail "$id: openat(\"$p\") has no file $f"
		done
		records "$id" syscall | jq -e -s 'any(.[]; .path == "rel" and .dir == "/tmp"
			and .file == "/etc/passwd" and .ret >= 0)' || fail "$id: openat(\"rel\") in /tmp: no file"
		records "$id" syscall | jq -e -s 'any(.[]; .path == "../etc/passwd" and .dir == "/tmp"
			and .file == "/etc/passwd" and .ret >= 0)' || fail "$id: openat(\"../etc/passwd\") in /tmp: no file"
		no_host_dir "$id" "$BUNDLE/rootfs"
		ocibpf audit "$id"
		assert_success
		assert_line --regexp ' syscall +openat\("/tmp/x" -> /etc/passwd\) = [0-9]+$'
		assert_line --regexp ' syscall +openat\("/tmp/" "rel" -> /etc/passwd\) = [0-9]+$'
		assert_line --regexp ' syscall +openat\("/proc/self/cwd/group" -> /etc/group\) = [0-9]+$'
	done
}

@test "an open of the path it names, a failed open, a relative path that is dir/path: no file, records as before" {
	requires crun
	tmpfs_tmp
	run_both '{"audit": {"syscalls": ["openat"]}}' sh -c '
		cat /etc/group >/dev/null; cd /etc && cat passwd >/dev/null
		cat /nonexistent 2>/dev/null; ln -s /nonexistent /tmp/dangling && cat /tmp/dangling 2>/dev/null
		true'
	local id
	for id in "$CID-runc" "$CID-crun"; do
		no_file_where "$id" '.path == "/etc/group" and .ret >= 0' "openat(\"/etc/group\") has a file"
		no_file_where "$id" '.path == "passwd" and .dir == "/etc" and .ret >= 0' "openat(\"passwd\") in /etc has a file"
		no_file_where "$id" '.path == "/tmp/dangling" and .ret == -2' "a failed openat(\"/tmp/dangling\") has a file"
		no_file_where "$id" '.ret < 0' "a failed open has a file"
		ocibpf audit "$id"
		assert_success
		assert_line --regexp ' syscall +openat\("/etc/group"\) = [0-9]+$'
		assert_line --regexp ' syscall +openat\("/etc/" "passwd"\) = [0-9]+$'
		assert_line --regexp ' syscall +openat\("/tmp/dangling"\) = ENOENT$'
	done
}

@test "open_by_handle_at (no path at all) and audit \"all\" (the raw tracepoints): file is the file opened" {
	requires crun
	tmpfs_tmp
	update_config '.process.capabilities |= with_entries(.value += ["CAP_DAC_READ_SEARCH"])'
	run_both '{"audit": {"syscalls": ["all"]}}' sh -c "
		rectool handle $(hex /etc/passwd) && ln -s /etc/group /tmp/x && cat /tmp/x /etc/group >/dev/null"
	local id
	for id in "$CID-runc" "$CID-crun"; do
		assert_log_valid
		records "$id" syscall | jq -e -s 'any(.[]; .syscall == "open_by_handle_at" and .ret >= 0
			and .file == "/etc/passwd" and .file_truncated == false and (has("path") | not))' ||
			fail "$id: open_by_handle_at has no file /etc/passwd"
		records "$id" syscall | jq -e -s 'any(.[]; .syscall == "openat" and .path == "/tmp/x"
			and .file == "/etc/group")' || fail "$id: audit all: openat(\"/tmp/x\") has no file"
		no_file_where "$id" '.syscall == "openat" and .path == "/etc/group"' "openat(\"/etc/group\") has a file"
		ocibpf audit "$id"
		assert_success
		assert_line --regexp ' syscall +open_by_handle_at\(-> /etc/passwd\) = [0-9]+$'
	done
}

@test "a symlink to a name that is not UTF-8 or holds a newline: file_hex, no forged row in the table" {
	requires crun
	tmpfs_tmp
	run_both '{"audit": {"syscalls": ["openat"]}}' sh -c '
		a=$(printf "/tmp/a\377b"); n=$(printf "/tmp/x\nFORGED 1 2 3")
		echo hi >"$a" && echo hi >"$n" && ln -s "$a" /tmp/l && ln -s "$n" /tmp/m &&
		cat /tmp/l /tmp/m >/dev/null'
	local id
	for id in "$CID-runc" "$CID-crun"; do
		assert_log_valid
		records "$id" syscall | jq -e -s --arg h "$(hex $'/tmp/a\xffb')" 'any(.[]; .path == "/tmp/l"
			and .file == "/tmp/a\ufffdb" and .file_hex == $h)' || fail "$id: no file_hex"
		records "$id" syscall | jq -e -s 'any(.[]; .path == "/tmp/m" and .file == "/tmp/x\nFORGED 1 2 3"
			and (has("file_hex") | not))' || fail "$id: the newline"
		ocibpf audit "$id"
		assert_success
		refute_line --regexp '^FORGED'
		assert_line --partial 'openat("/tmp/l" -> /tmp/a\xffb) = '
		assert_line --partial 'openat("/tmp/m" -> /tmp/x\nFORGED 1 2 3) = '
	done
}

@test "audit \"all\": a syscall that takes no path or address has neither (its first argument is no string)" {
	requires crun
	run_both '{"audit": {"syscalls": ["all"]}}' sh -c 'cat /etc/passwd >/dev/null'
	local id
	for id in "$CID-runc" "$CID-crun"; do
		records "$id" syscall | jq -e -s '[.[] | select(.syscall == "mprotect" or .syscall == "set_tid_address"
			or .syscall == "set_robust_list" or .syscall == "rseq" or .syscall == "getrandom")] |
			length > 0 and all(.[]; (has("path") or has("addr") or has("dir") or has("file")) | not)' ||
			fail "$id: a syscall without a path argument has a path: $(records "$id" syscall |
				jq -c 'select(.syscall == "mprotect" or .syscall == "set_tid_address") | .path' | head -n 3)"
		records "$id" syscall | jq -e -s 'any(.[]; .syscall == "openat" and .path == "/etc/passwd" and .ret >= 0)' ||
			fail "$id: no openat(\"/etc/passwd\")"
	done
}
