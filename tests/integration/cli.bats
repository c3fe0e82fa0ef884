#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
#
# The CLI as people use it (issue 14): containers found by id, name (from the engine's
# annotations) or unique id prefix in every command that takes an ID, `ps` and `stats`
# tables that line up for 64-character ids, and --help for every command.

load helpers

setup_file() {
	ocibpf_setup_file
}

teardown_file() {
	ocibpf_teardown_file
}

setup() {
	ocibpf_setup
	[ -x "$OCIBPF_CLI" ] || fail "$OCIBPF_CLI is not built (run make)"
}

teardown() {
	ocibpf_teardown
}

# long_id TAIL: a 64-character id of this test ending in TAIL (as Podman and Docker ids).
long_id() {
	local base=$CID-0123456789abcdef0123456789abcdef0123456789abcdef0123456789
	echo "${base:0:$((64 - ${#1}))}$1"
}

# start_named ID POLICY [NAME]: a runc container running sleep, with the annotation
# containerd's CRI plugin puts the container's name in.
start_named() {
	local id=$1 policy=$2 name=${3:-}
	setup_busybox_bundle "$BATS_TEST_TMPDIR/bundle-$id"
	set_policy "$policy"
	[ -z "$name" ] || update_config '.annotations["io.kubernetes.cri.container-name"] = $n' --arg n "$name"
	add_hooks
	set_cmd sh -c 'cat /etc/passwd >/dev/null; exec sleep 300'
	runc_run -d "$id"
	assert_success
}

# column_starts LINE...: where each line's columns start (runs of 3+ spaces separate them).
column_starts() {
	local l
	for l in "$@"; do
		awk '{ s = ""; pos = 1; rest = $0
		       while (match(rest, /   +[^ ]/)) { pos += RSTART + RLENGTH - 2; s = s " " pos;
		         rest = substr(rest, RSTART + RLENGTH - 1) }
		       print s }' <<<"$l"
	done
}

@test "every command has --help: usage on stdout, exit 0, nothing on stderr" {
	local cmd
	for cmd in ps stats metrics audit policy seccomp gc install version help; do
		ocibpf "$cmd" --help
		assert_success
		[ -z "$stderr" ] || fail "$cmd --help: stderr: $stderr"
		assert_line --index 0 --regexp "^usage: ocibpf $cmd( |\$)"
		ocibpf help "$cmd"
		assert_success
		assert_line --index 0 --regexp "^usage: ocibpf $cmd( |\$)"
	done
	# with other arguments too, and -h
	ocibpf audit --type exec --help
	assert_success
	assert_output --partial "ID: a container's id, its name"
	ocibpf seccomp -h
	assert_success
	ocibpf help nosuchcommand
	assert_failure 2
	ocibpf audit
	assert_failure 2
	[[ "$stderr" == *"usage: ocibpf audit"* ]] || fail "$stderr"
}

@test "IDs by unique prefix and by name: ps, stats, audit, seccomp; ambiguous prefixes list the candidates; gone containers by their logs" {
	requires root cgroup2 bpf bpftool jq busybox runc
	write_policy counted '{"telemetry": {"syscalls": true}}'
	write_policy base "$BASE_POLICY"
	local a b
	a=$(long_id aaa1)
	b=$(long_id aab2)
	start_named "$a" counted web
	start_named "$b" base

	# ps: 12-character ids, a NAME column, columns lined up; --no-trunc: whole ids
	ocibpf ps
	assert_success
	assert_line --index 0 --regexp '^CONTAINER ID +NAME +POLICY +PID +STARTED +CGROUP$'
	assert_line --regexp "^${a:0:12} +web +counted +[0-9]+ "
	assert_line --regexp "^${b:0:12} +- +base +[0-9]+ "
	[ "$(column_starts "${lines[@]}" | sort -u | wc -l)" = 1 ] ||
		fail "columns do not line up: $(column_starts "${lines[@]}")"
	ocibpf ps --no-trunc
	assert_success
	assert_line --regexp "^$a +web +counted "
	assert_line --regexp "^$b +- +base "
	[ "$(column_starts "${lines[@]}" | sort -u | wc -l)" = 1 ] ||
		fail "columns do not line up: $(column_starts "${lines[@]}")"
	ocibpf ps --json
	run jq -e --arg a "$a" --arg b "$b" 'map({(.id): .name}) | add == {($a): "web", ($b): null}' <<<"$output"
	assert_success

	# a name, a unique prefix, the whole id: the same container
	local arg
	for arg in web "${a:0:63}" "$a"; do
		ocibpf ps --no-trunc "$arg"
		assert_success
		[ "${#lines[@]}" = 2 ] && [[ "${lines[1]}" == "$a "* ]] || fail "ps $arg: $output"
		ocibpf stats --json "$arg"
		assert_success
		run jq -e --arg a "$a" 'length == 1 and .[0].id == $a' <<<"$output"
		assert_success
		ocibpf audit --type start "$arg"
		assert_success
		assert_line --partial "policy counted"
	done
	# stats: whole ids (not cut), the name
	ocibpf stats "${b:0:63}" web
	assert_success
	assert_line --index 0 --regexp '^ID +NAME +CPU %'
	assert_line --regexp "^$a +web "
	assert_line --regexp "^$b +- "

	# an ambiguous prefix: exit 1, one line naming both
	local p=${a:0:61}
	for cmd in "stats" "audit" "seccomp" "ps"; do
		ocibpf $cmd "$p"
		assert_failure 1
		[ -z "$output" ] || fail "$cmd: output with an error: $output"
		[ "${#stderr_lines[@]}" = 1 ] || fail "$cmd: $stderr"
		[[ "$stderr" == "ocibpf: $p: ambiguous id prefix: 2 containers match: "* ]] || fail "$cmd: $stderr"
		[[ "$stderr" == *"$a"* && "$stderr" == *"$b"* ]] || fail "$cmd: candidates not listed: $stderr"
	done

	# no such container: the error only (stats prints no header)
	for cmd in "stats" "audit" "seccomp" "ps"; do
		ocibpf $cmd nosuchthing
		assert_failure 1
		[ -z "$output" ] || fail "$cmd: output with an error: $output"
		[[ "$stderr" == "ocibpf: nosuchthing: no such container"* ]] || fail "$cmd: $stderr"
	done

	# gone: audit and seccomp find them by a prefix of their logs' ids; names are gone with them
	runc_cmd delete -f "$a"
	assert_success
	runc_cmd delete -f "$b"
	assert_success
	ocibpf audit --type stop "${a:0:63}"
	assert_success
	assert_line --partial "stop"
	ocibpf seccomp "${a:0:63}"
	assert_success
	run jq -e '.syscalls[0].names | index("execve") != null' <<<"$output"
	assert_success
	ocibpf audit "$p"
	assert_failure 1
	[[ "$stderr" == *"ambiguous id prefix"* ]] || fail "$stderr"
	ocibpf stats "${a:0:63}"
	assert_failure 1
	[[ "$stderr" == *"no such container"* ]] || fail "$stderr"
	ocibpf audit web
	assert_failure 1
}

@test "a name that is also an id prefix: the name counts (as docker and podman); an id counts over a name" {
	requires root cgroup2 bpf bpftool jq busybox runc
	write_policy base "$BASE_POLICY"
	local a=$CID-a b=$CID-b
	# b is named like a prefix of a; a is named like b's id
	start_named "$a" base "$b"
	start_named "$b" base "${a:0:${#a}-1}"
	ocibpf ps --no-trunc "${a:0:${#a}-1}"
	assert_success
	[[ "${lines[1]}" == "$b "* ]] || fail "the name did not count: $output"
	ocibpf ps --no-trunc "$b"
	assert_success
	[[ "${lines[1]}" == "$b "* ]] || fail "the id did not count: $output"
	runc_cmd delete -f "$a"
	runc_cmd delete -f "$b"

	# a name no engine allows (control bytes, spaces) is not kept; the container is
	# monitored and torn down as any other
	local c=$CID-c
	start_named "$c" base "$(printf 'bad name\033[2J')"
	ocibpf ps --json
	run jq -e --arg c "$c" 'map(select(.id == $c)) | length == 1 and .[0].name == null' <<<"$output"
	assert_success
	runc_cmd delete -f "$c"
	assert_success
	assert_stopped "$c"
}

@test "audit and seccomp: a prefix shared by a running container and a gone one's log is ambiguous (as docker counts stopped containers), not the running one's" {
	requires root cgroup2 bpf bpftool jq busybox runc
	write_policy counted '{"telemetry": {"syscalls": true}}'
	local a b
	a=$(long_id aaa1)
	b=$(long_id aab2)
	start_named "$a" counted
	start_named "$b" counted
	runc_cmd delete -f "$b"
	assert_success
	# b is gone, its log stays; a prefix of both names neither
	local p=${a:0:61} cmd
	for cmd in audit seccomp; do
		ocibpf $cmd "$p"
		assert_failure 1
		[ -z "$output" ] || fail "$cmd $p: printed $output"
		[[ "$stderr" == "ocibpf: $p: ambiguous id prefix: 2 containers match: "* ]] || fail "$cmd: $stderr"
		[[ "$stderr" == *"$a"* && "$stderr" == *"$b"* ]] || fail "$cmd: candidates not listed: $stderr"
		# each by a prefix of its own
		ocibpf $cmd "${a:0:63}"
		assert_success
		ocibpf $cmd "${b:0:63}"
		assert_success
	done
	# stats and ps know only running containers: the prefix is a's
	ocibpf stats --json "$p"
	assert_success
	run jq -e --arg a "$a" 'length == 1 and .[0].id == $a' <<<"$output"
	assert_success
	runc_cmd delete -f "$a"
	assert_success
}

@test "OCIBPF_CONFIG naming a FIFO nobody writes, a directory, /dev/zero or garbage: every command and the hook fail at once, naming the file; a pipe that carries a configuration is read" {
	requires root cgroup2 bpf jq busybox runc
	local bad=$BATS_TEST_TMPDIR/bad good=$OCIBPF_CONFIG cfg
	mkfifo "$bad.fifo"
	mkdir "$bad.dir"
	printf '{"log_dir": "%s",' "$LOG_DIR" >"$bad.json"
	for cfg in "$bad.fifo" "$bad.dir" /dev/zero "$bad.json"; do
		for cmd in ps stats "audit x" metrics gc load "install podman --dry-run"; do
			# shellcheck disable=SC2086
			OCIBPF_CONFIG=$cfg ocibpf $cmd
			[ "$status" -eq 1 ] || fail "$cmd with $cfg: status $status"
			[[ "$stderr" == "ocibpf: "*"$cfg"* ]] || fail "$cmd with $cfg: the file is not named: $stderr"
			[ "${#stderr_lines[@]}" -eq 1 ] || fail "$cmd with $cfg: $stderr"
		done
		# the hook a runtime runs: it refuses the start at once, naming the file
		setup_busybox_bundle "$BATS_TEST_TMPDIR/bundle-$(basename "$cfg")"
		write_policy base "$BASE_POLICY"
		set_policy base
		OCIBPF_CONFIG=$cfg add_hooks
		local t0=$SECONDS
		runc_run "$CID"
		assert_failure
		[ $((SECONDS - t0)) -lt 10 ] || fail "the start with $cfg took $((SECONDS - t0)) s"
		assert_output --partial "ocibpf-hook"
		assert_output --partial "$cfg"
		runc_cmd delete -f "$CID"
	done
	# process substitution: a pipe whose writer is there
	OCIBPF_CONFIG=/dev/stdin run --separate-stderr timeout "$HOOK_TIMEOUT" "$OCIBPF_CLI" ps --json <"$good"
	assert_success
	[ "$output" = "[]" ] || fail "ps --json from a configuration on a pipe: $output"
	run --separate-stderr timeout "$HOOK_TIMEOUT" bash -c 'cat "$2" | OCIBPF_CONFIG=/dev/stdin "$1" ps --json' bash "$OCIBPF_CLI" "$good"
	assert_success
	[ "$output" = "[]" ] || fail "ps --json from a configuration on a pipe: $output"
}

@test "a user who can't read state_dir (sudo forgotten): ps, stats and metrics say so (exit 1), never an empty list; audit and seccomp say why they found nothing" {
	requires root cgroup2 bpf bpftool jq busybox runc
	command -v setpriv >/dev/null || skip "test requires setpriv"
	write_policy base "$BASE_POLICY"
	start_named "$CID" base web
	# the configuration readable by anyone; state_dir root's, 0700 as ocibpf makes it
	local cfg
	cfg=$(mktemp /tmp/ocibpf-cli-config.XXXXXX)
	cp "$OCIBPF_CONFIG" "$cfg"
	chmod 0644 "$cfg"
	[ "$(stat -c %a "$STATE_DIR/containers")" = 700 ] || fail "state_dir/containers: $(stat -c %a "$STATE_DIR/containers")"
	local cmd
	for cmd in ps "ps --json" stats "stats --json" metrics; do
		# shellcheck disable=SC2086
		run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups \
			env OCIBPF_CONFIG="$cfg" timeout "$HOOK_TIMEOUT" "$OCIBPF_CLI" $cmd
		log_run_stderr "ocibpf $cmd (as nobody)"
		[ "$status" -eq 1 ] || { rm -f "$cfg"; fail "$cmd as nobody: status $status, output: $output"; }
		[ -z "$output" ] || { rm -f "$cfg"; fail "$cmd as nobody: printed $output"; }
		[[ "$stderr" == "ocibpf: "*"$STATE_DIR"*"Permission denied"* ]] || { rm -f "$cfg"; fail "$cmd: $stderr"; }
	done
	# audit --all lists log_dir; audit and seccomp by id or name say why they found nothing
	for cmd in "audit --all" "audit --all --json" "audit $CID" "audit web" "seccomp ${CID:0:8}"; do
		# shellcheck disable=SC2086
		run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups \
			env OCIBPF_CONFIG="$cfg" timeout "$HOOK_TIMEOUT" "$OCIBPF_CLI" $cmd
		log_run_stderr "ocibpf $cmd (as nobody)"
		[ "$status" -eq 1 ] || { rm -f "$cfg"; fail "$cmd as nobody: status $status, output: $output"; }
		[ -z "$output" ] || { rm -f "$cfg"; fail "$cmd as nobody: printed $output"; }
		[[ "$stderr" == "ocibpf: "*"Permission denied"* ]] || { rm -f "$cfg"; fail "$cmd: $stderr"; }
		[ "${#stderr_lines[@]}" -eq 1 ] || { rm -f "$cfg"; fail "$cmd: $stderr"; }
	done
	rm -f "$cfg"
	# root sees it
	ocibpf ps --json
	assert_success
	run jq -e --arg c "$CID" 'map(.id) == [$c]' <<<"$output"
	assert_success
	runc_cmd delete -f "$CID"
	assert_success
}

@test "ps: a cgroup path with ESC and CR (the container's creator chooses it) reaches the terminal escaped, as in the audit table: no repainted or forged row" {
	requires root cgroup2 bpf bpftool jq busybox runc
	write_policy base "$BASE_POLICY"
	setup_busybox_bundle
	set_policy base
	# the kernel refuses a newline in a cgroup's name; ESC and CR it takes
	update_config '.linux.cgroupsPath = $p' --arg p "/$CID-x"$'\e[2K\r'"$CID-forged   -   strict"
	add_hooks
	set_cmd sleep 300
	runc_run -d "$CID"
	assert_success
	ocibpf ps --no-trunc
	assert_success
	[[ "$output" != *$'\e'* && "$output" != *$'\r'* ]] || fail "control bytes reach the terminal: $(cat -v <<<"$output")"
	[ "${#lines[@]}" -eq 2 ] || fail "$output"
	assert_line --index 1 --regexp "^$CID +- +base +[0-9]+ .* /$CID-x\\\\e\[2K\\\\r$CID-forged   -   strict\$"
	# --json keeps the path as it is
	ocibpf ps --json
	run jq -e --arg p "/$CID-x"$'\e[2K\r'"$CID-forged   -   strict" '.[0].cgroup == $p' <<<"$output"
	assert_success
	runc_cmd delete -f "$CID"
	assert_success
}

@test "a name two containers share (two pods' \"web\"): every command says it is ambiguous, lists both, does nothing; each is found by its id" {
	requires root cgroup2 bpf bpftool jq busybox runc
	write_policy counted '{"telemetry": {"syscalls": true}}'
	start_named "$CID-a" counted web
	start_named "$CID-b" counted web
	local cmd
	for cmd in ps stats "stats --json" "audit" "audit --json" seccomp; do
		# shellcheck disable=SC2086
		ocibpf $cmd web
		assert_failure 1
		[ -z "$output" ] || fail "$cmd web: printed $output"
		[[ "$stderr" == "ocibpf: web: ambiguous name: 2 containers match: $CID-a, $CID-b" ]] || fail "$cmd: $stderr"
	done
	ocibpf stats --json "$CID-a" "$CID-b"
	assert_success
	run jq -e --arg a "$CID-a" --arg b "$CID-b" 'map(.id) == [$a, $b]' <<<"$output"
	assert_success
	runc_cmd delete -f "$CID-a"
	assert_success
	# one gone: the name is the other's alone (names go with their containers)
	ocibpf ps --no-trunc web
	assert_success
	assert_line --index 1 --regexp "^$CID-b +web "
	runc_cmd delete -f "$CID-b"
	assert_success
}
