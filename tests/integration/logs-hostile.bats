#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Logs over time under attack: files in log_dir made by hand (a careless operator, a
# damaged disk, a hostile writer), read by `ocibpf audit` and cleaned by `ocibpf gc`.

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
	# the crafted logs are not what a writer makes: gone before the harness checks logs
	rm -rf "${LOG_DIR:?}/$CID"* "${LOG_DIR:?}"/."$CID"* 2>/dev/null || true
	ocibpf_teardown
}

# audit under a memory limit (bytes of address space, in KiB)
audit_limited() {
	local kib=$1
	shift
	run --separate-stderr bash -c 'ulimit -v "$1"; shift; exec "$@"' _ "$kib" \
		timeout "$HOOK_TIMEOUT" "$OCIBPF_CLI" "$@"
	echo "\$ ocibpf $* (under ulimit -v $kib; status=$status)" >&2
	printf '%s\n' "${output:0:2000}" >&2
	printf '%s\n' "${stderr:0:2000}" >&2
}

@test "audit: a gzip bomb (300 MB of one line in a .gz of 1 MB) costs bounded memory, the line is unreadable, the records after it are shown" {
	mkdir -p "$LOG_DIR"
	local gz=$LOG_DIR/$CID.jsonl-20261129-1764374400.gz
	{
		head -c 300M /dev/zero
		printf '\n{"seq":2,"ts":"2026-11-29T00:00:01Z","type":"exec","comm":"after-bomb"}\n'
	} | gzip -1 >"$gz"
	printf '{"seq":1,"ts":"2026-11-30T00:00:00Z","type":"start"}\n' >"$(audit_log "$CID")"

	audit_limited 262144 audit --json "$CID"
	assert_failure 1
	[[ "$stderr" == *"1 line of $gz is not an audit record (line 1)"* ]] || fail "stderr: ${stderr:0:500}"
	# the bomb's line (cut), the record after it, the live file
	[ "$(jq -s 'length' <<<"$output")" = 3 ]
	jq -e -s '.[0].unreadable == true and .[0].line == 1 and .[1].comm == "after-bomb" and .[2].type == "start"' <<<"$output"

	# a line that only starts like a record is not one when it had to be cut
	{
		printf '{"seq":3,"ts":"2026-11-29T00:00:02Z","type":"exec"}'
		head -c 300M /dev/zero | tr '\0' ' '
		printf '\n'
	} | gzip -1 >"$gz"
	audit_limited 262144 audit --json "$CID"
	assert_failure 1
	jq -e -s 'length == 2 and .[0].unreadable == true and .[1].type == "start"' <<<"$output"
}

@test "log_retention.compress: a generation whose name is near NAME_MAX (a long id) is compressed too, nothing left aside" {
	# an id of 225 characters: its dateext generation's name is 251, its .gz's 254
	local id=$CID-
	while [ ${#id} -lt 225 ]; do id=${id}x; done
	local gen=$LOG_DIR/$id.jsonl-20261129-1764374400
	mkdir -p "$LOG_DIR"
	printf '{"seq":1,"ts":"2026-11-29T00:00:00Z","type":"start"}\n' >"$gen"
	update_host_config '.log_retention = {compress: true}'
	ocibpf gc
	assert_success
	assert_line "compressed log $(basename "$gen") (log_retention.compress)"
	[ ! -e "$gen" ] && [ -f "$gen.gz" ]
	[ "$(gzip -dc "$gen.gz")" = '{"seq":1,"ts":"2026-11-29T00:00:00Z","type":"start"}' ]
	[ -z "$(ls -A "$LOG_DIR" | grep '\.tmp$')" ]
}

@test "audit: a rotation while a slow reader is at an older generation loses nothing (the live file it listed is read under its new name)" {
	mkdir -p "$LOG_DIR"
	local gen1=$LOG_DIR/$CID.jsonl-20261128-1764288000 live
	live=$(audit_log "$CID")
	# A: a generation whose last line is still being written (no newline yet, its writer
	# holds the lock): the reader waits there, after listing the files
	printf '{"seq":1,"ts":"2026-11-28T00:00:00Z","type":"start","comm":"A"}\n{"seq":2,"ts":"2026-11-28T00:00:01Z","type":"exec","comm":"A2"}' >"$gen1"
	# B: the live file the reader lists
	printf '{"seq":1,"ts":"2026-11-29T00:00:00Z","type":"exec","comm":"B"}\n' >"$live"
	exec {lockfd}<"$gen1"
	flock -x "$lockfd"
	timeout 30 "$OCIBPF_CLI" audit --json "$CID" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	local reader=$!
	sleep 0.5
	kill -0 "$reader" || fail "the reader did not wait for the writer: $(cat "$BATS_TEST_TMPDIR/err")"
	# logrotate (dateext, delaycompress): B renamed, a new live file C
	mv "$live" "$LOG_DIR/$CID.jsonl-20261130-1764460800"
	printf '{"seq":1,"ts":"2026-11-30T00:00:00Z","type":"exec","comm":"C"}\n' >"$live"
	printf '\n' >>"$gen1"
	flock -u "$lockfd"
	exec {lockfd}<&-
	wait "$reader" || fail "audit failed: $(cat "$BATS_TEST_TMPDIR/err")"
	run jq -r -s '[.[].comm] | join(" ")' "$BATS_TEST_TMPDIR/out"
	assert_output "A A2 B C"
}
