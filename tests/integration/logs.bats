#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Logs over time (issue 14): `ocibpf audit` reads what the real logrotate makes of a log
# (rotated generations, gzip, dateext) in order as one log and follows it across a
# rotation; damaged generations are said, not shown as garbage; `ocibpf audit --all`
# shows every container, one line an event; log_retention lets `ocibpf gc` remove old
# logs of containers that are gone, and nothing else.

load helpers

setup_file() {
	ocibpf_setup_file
}

teardown_file() {
	ocibpf_teardown_file
}

setup() {
	requires root cgroup2 bpf runc busybox jq
	command -v logrotate >/dev/null || fail "logrotate is not installed (tests/install-deps.sh)"
	ocibpf_setup
	setup_busybox_bundle
	add_hooks
	write_policy logged '{"audit": {"syscalls": ["execve"]}, "telemetry": true}'
	set_policy logged
	use_host_network
}

teardown() {
	local rc=0
	ocibpf_teardown || rc=1
	# every test starts with an empty log_dir (--all reads all of it)
	rm -rf "${LOG_DIR:?}"/* "${LOG_DIR:?}"/.[!.]* 2>/dev/null || true
	return $rc
}

# contrib/logrotate/ocibpf pointed at this test's directories (and at ID's log only, when
# given), with a state file of its own.
LOGROTATE() {
	local conf=$BATS_TEST_TMPDIR/logrotate.conf
	sed -e "s|/var/log/ocibpf|$LOG_DIR|g" -e "s|/run/ocibpf|$STATE_DIR|g" \
		-e "s|/\\*\\.jsonl {|/${1:-*}.jsonl {|" \
		"$PROJECT_ROOT/contrib/logrotate/ocibpf" >"$conf"
	chmod 0644 "$conf"
	run logrotate -f -s "$BATS_TEST_TMPDIR/logrotate.state" "$conf"
	log_run logrotate
	assert_success
}

# rotate [ID]: logrotate -f, in another second than the last one (dateext -%Y%m%d-%s
# names by the second).
rotate() {
	local last
	last=$(cat "$BATS_TEST_TMPDIR/rotated-at" 2>/dev/null) || last=
	while [ "$(date +%s)" = "$last" ]; do sleep 0.1; done
	LOGROTATE "$@"
	date +%s >"$BATS_TEST_TMPDIR/rotated-at"
}

# run_logged ID ARG...: run a container with the logged policy to its end.
run_logged() {
	local id=$1
	shift
	set_cmd "$@"
	runc_run "$id"
	assert_success
}

# The records of every file of ID's log, in the order they were written (the oldest
# rotated generation first: dateext suffixes sort by name; .gz decompressed).
all_written() {
	local f
	for f in $(ls "$LOG_DIR" | grep -E "^$1\\.jsonl-[0-9-]+(\\.gz)?\$" | sed 's/\.gz$//' | sort -u); do
		if [ -f "$LOG_DIR/$f" ]; then cat "$LOG_DIR/$f"; else zcat "$LOG_DIR/$f.gz"; fi
	done
	cat "$LOG_DIR/$1.jsonl" 2>/dev/null || true
}

@test "audit ID: three runs of one id across logrotate's generations (.gz, plain, live) as one log, odd bytes intact" {
	# bytes that are not UTF-8 in an argument (made in the container: config.json is JSON)
	run_logged "$CID" sh -c '/bin/echo "$(printf "\377\376odd")" >/dev/null'
	rotate
	run_logged "$CID" sh -c '/bin/echo "$(printf "\377\376odd")" >/dev/null'
	rotate
	run_logged "$CID" sh -c '/bin/true'
	# logrotate made one .gz (compress after delaycompress), one plain generation, and
	# the writers a new live file
	ls "$LOG_DIR" >&2
	[ "$(ls "$LOG_DIR" | grep -c "^$CID\\.jsonl-[0-9]*-[0-9]*\\.gz\$")" = 1 ] || fail "no .gz generation"
	[ "$(ls "$LOG_DIR" | grep -c "^$CID\\.jsonl-[0-9]*-[0-9]*\$")" = 1 ] || fail "no plain generation"

	ocibpf audit --json "$CID"
	assert_success
	[ "$output" = "$(all_written "$CID")" ] || fail "audit --json is not the generations in order"
	# every run: start first, stop last; the previous runs are shown (SPEC: one id, one log)
	jq -s -e '[.[] | select(.type == "start" or .type == "stop") | .type] ==
		["start", "stop", "start", "stop", "start", "stop"]' <<<"$output"
	# the odd bytes of both earlier runs, exact
	[ "$(jq -r 'select(.type == "exec") | .argv_hex // [] | .[] | select(. != null)' <<<"$output" | grep -c fffe6f6464)" = 2 ]

	ocibpf audit "$CID"
	assert_success
	[ "$(grep -c ' start ' <<<"$output")" = 3 ] || fail "not three runs in the table"
	[ "$(grep -c '\\xff\\xfeodd' <<<"$output")" = 2 ] || fail "odd bytes not escaped in the table"
	# filters apply across generations
	ocibpf audit --type start --json "$CID"
	assert_success
	[ "${#lines[@]}" = 3 ]
	# a prefix finds a log that has only rotated generations left
	mv "$LOG_DIR/$CID.jsonl" "$BATS_TEST_TMPDIR/live"
	ocibpf audit --type stop --json "${CID%?}"
	assert_success
	[ "${#lines[@]}" = 2 ]
	mv "$BATS_TEST_TMPDIR/live" "$LOG_DIR/$CID.jsonl"
}

@test "audit --follow survives logrotate renaming the live file (tail -F), nothing lost or repeated" {
	set_cmd sh -c 'i=0; while [ $i -lt 60 ]; do /bin/true; i=$((i + 1)); sleep 0.05; done'
	runc_run -d "$CID"
	assert_success
	local log out=$BATS_TEST_TMPDIR/follow.out
	log=$(audit_log "$CID")
	timeout 60 "$OCIBPF_CLI" audit --follow --json "$CID" >"$out" 2>"$out.err" &
	local pid=$!
	wait_for 100 0.1 eval '[ "$(grep -c "\"type\":\"exec\"" "$out")" -ge 5 ]'
	rotate
	wait_for 100 0.1 test -s "$log"
	wait_for 100 0.1 eval '[ "$(grep -c "\"type\":\"exec\"" "$log")" -ge 5 ]'
	runc_cmd kill "$CID" KILL
	wait_status runc "$CID" stopped
	runc_cmd delete "$CID"
	assert_success
	# the follower ends with the stop record, having shown both files, once each
	wait "$pid" || fail "audit --follow: exit $?: $(cat "$out.err")"
	[ "$(tail -n 1 "$out" | jq -r .type)" = stop ] || fail "last line: $(tail -n 1 "$out")"
	[ "$(cat "$out")" = "$(all_written "$CID")" ] || fail "follow output is not the two files in order"
}

@test "audit: a truncated .gz and a torn last line of a generation are said, the rest is shown" {
	run_logged "$CID" sh -c 'i=0; while [ $i -lt 40 ]; do /bin/true; i=$((i + 1)); done'
	rotate
	run_logged "$CID" sh -c '/bin/true'
	rotate
	run_logged "$CID" sh -c '/bin/true'
	local gz plain
	gz=$(ls "$LOG_DIR"/"$CID".jsonl-*.gz)
	plain=$(ls "$LOG_DIR"/"$CID".jsonl-* | grep -v '\.gz$')
	# cut the .gz in the middle; end the plain generation with half a record
	head -c $(($(stat -c %s "$gz") / 2)) "$gz" >"$gz.cut" && mv "$gz.cut" "$gz"
	printf '{"seq":99,"ts":"2026-' >>"$plain"
	local n
	n=$(wc -l <"$plain")

	ocibpf audit "$CID"
	assert_failure 1
	[[ "$stderr" == *"$(basename "$gz"): truncated compressed data"* ]] || fail "stderr: $stderr"
	[[ "$stderr" == *"1 line of $plain is not an audit record (line $((n + 1)))"* ]] || fail "stderr: $stderr"
	assert_line --regexp "unreadable $(basename "$plain") line $((n + 1)): \\{\"seq\":99,\"ts\":\"2026-\$"
	# what the .gz still had (whole records only), then the later generations, whole
	[ "$(grep -c ' start ' <<<"$output")" -ge 2 ]
	ocibpf audit --json "$CID"
	assert_failure 1
	jq -e -s 'all(.[]; (.type | type) == "string" or .unreadable == true)' <<<"$output"
	# the torn line, and the last line the cut .gz still had part of
	[ "$(jq -s '[.[] | select(.unreadable)] | length' <<<"$output")" = 2 ]
}

@test "audit and gc leave unrelated files in log_dir alone: names that aren't logs, links, directories" {
	run_logged "$CID" sh -c '/bin/true'
	echo 'not a log' >"$LOG_DIR/notes.txt"
	echo '{"seq":1,"type":"start"}' >"$LOG_DIR/$CID.jsonl.bak"
	echo '{"seq":1,"type":"start"}' >"$LOG_DIR/$CID.jsonl-old"
	mkdir "$LOG_DIR/$CID.jsonl-20200101-1577836800"
	ln -s /etc/passwd "$LOG_DIR/$CID.jsonl-20200102-1577923200"
	ln -s "$(audit_log "$CID")" "$LOG_DIR/other.jsonl"
	touch -d '400 days ago' "$LOG_DIR/notes.txt" "$LOG_DIR/$CID.jsonl.bak" "$LOG_DIR/$CID.jsonl-old"

	ocibpf audit --json "$CID"
	assert_success
	[ "$output" = "$(cat "$(audit_log "$CID")")" ]
	ocibpf audit --all --json
	assert_success
	[ "$(jq -r .container <<<"$output" | sort -u)" = "$CID" ]

	update_host_config '.log_retention = {max_age: "1d", max_bytes: 1}'
	touch -d '10 days ago' "$(audit_log "$CID")"
	ocibpf gc --json
	assert_success
	# the log of the gone container went; nothing else did
	[ ! -e "$(audit_log "$CID")" ]
	for f in notes.txt "$CID.jsonl.bak" "$CID.jsonl-old" "$CID.jsonl-20200101-1577836800" \
		"$CID.jsonl-20200102-1577923200" other.jsonl; do
		[ -e "$LOG_DIR/$f" ] || [ -L "$LOG_DIR/$f" ] || fail "gc removed $f"
	done
	rm -rf "$LOG_DIR"/notes.txt "$LOG_DIR/$CID".jsonl* "$LOG_DIR/other.jsonl"
}

@test "log_retention: gc removes old generations of gone containers oldest first, never a running container's or one logrotate is compressing" {
	local gone=$CID-gone young=$CID-young live=$CID-live
	# a gone container with three generations, made by logrotate
	run_logged "$gone" sh -c '/bin/true'
	rotate "$gone"
	run_logged "$gone" sh -c '/bin/true'
	rotate "$gone"
	run_logged "$gone" sh -c '/bin/true'
	local gens
	gens=$(ls "$LOG_DIR" | grep "^$gone\\.jsonl")
	[ "$(wc -l <<<"$gens")" = 3 ] || fail "generations: $gens"
	# a gone container with recent logs (one plain generation), and a running one with
	# an old log
	run_logged "$young" sh -c '/bin/true'
	rotate "$young"
	run_logged "$young" sh -c '/bin/true'
	set_cmd sleep 30
	runc_run -d "$live"
	assert_success
	touch -d '40 days ago' "$LOG_DIR/$gone".jsonl* "$(audit_log "$live")"
	touch -d '20 days ago' "$(audit_log "$gone")"   # the newest generation: younger

	# default: everything is kept
	ocibpf gc
	assert_success
	[ "$(ls "$LOG_DIR" | grep -c "^$gone\\.jsonl")" = 3 ]

	update_host_config '.log_retention = {max_age: "30d"}'
	ocibpf gc --json
	assert_success
	# the two old generations went, oldest (the .gz) first; the younger live file stays
	jq -e --arg g "$gone" '[.[] | select(.removed == "log") | .id] | length == 2 and
		(.[0] | test("^" + $g + "\\.jsonl-[0-9]+-[0-9]+\\.gz$")) and
		(.[1] | test("^" + $g + "\\.jsonl-[0-9]+-[0-9]+$"))' <<<"$output" || fail "removed: $output"
	[ -f "$(audit_log "$gone")" ] && [ -f "$(audit_log "$young")" ] && [ -f "$(audit_log "$live")" ]
	ocibpf audit --type start --json "$gone"
	assert_success
	[ "${#lines[@]}" = 1 ]

	# max_bytes: the gone containers' logs go oldest first (by their last write), the
	# running container's never; a generation being compressed (plain and .gz) stays,
	# and so does what is newer than it
	local plain
	plain=$(ls "$LOG_DIR"/"$young".jsonl-*)
	gzip -k "$plain"
	touch -d '5 days ago' "$(audit_log "$gone")"
	update_host_config '.log_retention = {max_bytes: 1}'
	ocibpf gc --json
	assert_success
	jq -e --arg g "$gone" '[.[] | select(.removed == "log") | .id] == [$g + ".jsonl"]' <<<"$output" ||
		fail "removed: $output"
	[ -f "$plain" ] && [ -f "$plain.gz" ] && [ -f "$(audit_log "$young")" ] && [ -f "$(audit_log "$live")" ]
	# once compressed (the plain one gone), that generation is the oldest: it goes first
	rm "$plain"
	ocibpf gc --json
	assert_success
	jq -e --arg p "$(basename "$plain").gz" --arg y "$young.jsonl" \
		'[.[] | select(.removed == "log") | .id] == [$p, $y]' <<<"$output" || fail "removed: $output"
	[ -f "$(audit_log "$live")" ]

	runc_cmd delete -f "$live"
	assert_success
	rm -f "$LOG_DIR"/*.jsonl*
}

@test "log_retention.compress: gc gzips the generation logrotate left plain of a gone container, never a running one's" {
	local gone=$CID-gone live=$CID-live
	run_logged "$gone" sh -c '/bin/true'
	rotate "$gone"
	set_cmd sleep 30
	runc_run -d "$live"
	assert_success
	rotate "$live"
	local plain lplain before mtime
	plain=$(ls "$LOG_DIR"/"$gone".jsonl-*)
	lplain=$(ls "$LOG_DIR"/"$live".jsonl-*)
	touch -d '3 days ago' "$plain"
	mtime=$(stat -c %Y "$plain")
	before=$(cat "$plain")
	# delaycompress: logrotate left it plain, and never rotates a gone container's log again
	[ ! -e "$(audit_log "$gone")" ] && [ ! -e "$plain.gz" ]

	ocibpf gc --json
	assert_success
	[ -f "$plain" ] && [ ! -e "$plain.gz" ]   # not asked for: kept as it is

	update_host_config '.log_retention = {compress: true}'
	ocibpf gc --json
	assert_success
	jq -e --arg p "$(basename "$plain")" '[.[] | select(.compressed)] == [{compressed: "log", id: $p, reason: "log_retention.compress"}]' <<<"$output" ||
		fail "gc: $output"
	[ ! -e "$plain" ] && [ -f "$plain.gz" ] && [ "$(zcat "$plain.gz")" = "$before" ]
	[ "$(stat -c %Y "$plain.gz")" = "$mtime" ] || fail "mtime not kept"
	[ "$(stat -c %a "$plain.gz")" = 640 ]
	[ -f "$lplain" ] && [ ! -e "$lplain.gz" ]   # the running container's: logrotate's job
	ocibpf audit --json "$gone"
	assert_success
	[ "$output" = "$before" ]
	# nothing left aside
	[ -z "$(ls -A "$LOG_DIR" | grep '\.tmp$')" ]

	runc_cmd delete -f "$live"
	assert_success
}

@test "audit --all: every container, one line an event, merged by time; --json has the container" {
	run_logged "$CID-a" sh -c '/bin/true; sleep 0.2; /bin/echo a >/dev/null'
	run_logged "$CID-b" sh -c '/bin/true'
	ocibpf audit --all
	assert_success
	# no header; time, container, type, who, gist
	assert_line --regexp "^[0-9-]+ [0-9:.]+ +$CID-a +start +"
	assert_line --regexp "^[0-9-]+ [0-9:.]+ +$CID-a +exec +echo\\[[0-9]+\\] /bin/echo \\[exe /bin/busybox\\]: /bin/echo a\$"
	assert_line --regexp "^[0-9-]+ [0-9:.]+ +$CID-b +stop +"
	# merged by time: a's records all came before b's start
	local la lb
	la=$(grep -n "$CID-a .*stop" <<<"$output" | cut -d: -f1)
	lb=$(grep -n "$CID-b .*start" <<<"$output" | cut -d: -f1)
	[ "$la" -lt "$lb" ]
	ocibpf audit --all --json --type exec
	assert_success
	jq -e -s --arg a "$CID-a" --arg b "$CID-b" '(map(.container) | unique) == [$a, $b] and
		all(.[]; .type == "exec")' <<<"$output"
	ocibpf audit --all --type start --since 1h
	assert_success
	[ "${#lines[@]}" = 2 ]
	ocibpf audit --all "$CID-a" --type start
	assert_success
	assert_line --regexp " start +policy logged"
}

@test "audit --all --follow: picks up containers that start after it; ends cleanly on SIGINT and on a closed pipe" {
	run_logged "$CID-old" sh -c '/bin/true'
	local out=$BATS_TEST_TMPDIR/all.out
	timeout 60 "$OCIBPF_CLI" audit --all --follow >"$out" 2>"$out.err" &
	local pid=$!
	sleep 0.3
	run_logged "$CID-new" sh -c '/bin/true'
	wait_for 50 0.1 grep -q "$CID-new .*stop" "$out"
	# what was there before it started is not shown again
	! grep -q "$CID-old" "$out" || fail "old records shown: $(cat "$out")"
	kill -INT "$pid"
	wait "$pid" || fail "audit --all --follow after SIGINT: exit $?: $(cat "$out.err")"
	[ ! -s "$out.err" ] || fail "stderr: $(cat "$out.err")"

	# a reader that goes away (head) ends it too, quietly
	( timeout 60 "$OCIBPF_CLI" audit --all --follow 2>"$out.err2"; echo "rc=$?" >"$out.rc" ) | head -n 1 >"$out.head" &
	sleep 0.3
	run_logged "$CID-more" sh -c 'i=0; while [ $i -lt 20 ]; do /bin/true; sleep 0.05; i=$((i + 1)); done'
	wait_for 100 0.1 test -s "$out.rc"
	[ "$(cat "$out.rc")" = rc=0 ] || fail "$(cat "$out.rc"): $(cat "$out.err2")"
	grep -q "$CID-more" "$out.head"
	[ ! -s "$out.err2" ] || fail "stderr: $(cat "$out.err2")"
}

@test "log_retention in the host configuration: invalid values are refused, naming the key" {
	update_host_config '.log_retention = {max_age: "30x"}'
	ocibpf gc
	assert_failure 1
	[[ "$stderr" == *'"log_retention.max_age" must be a duration'* ]] || fail "stderr: $stderr"
	update_host_config '.log_retention = {max_bytes: "-1"}'
	ocibpf gc
	assert_failure 1
	[[ "$stderr" == *'"log_retention.max_bytes" must be a size'* ]] || fail "stderr: $stderr"
	update_host_config '.log_retention = {max_size: "1G"}'
	ocibpf gc
	assert_failure 1
	[[ "$stderr" == *'unknown key "max_size"'* ]] || fail "stderr: $stderr"
	update_host_config '.log_retention = {compress: "yes"}'
	ocibpf gc
	assert_failure 1
	[[ "$stderr" == *'"log_retention.compress" must be true or false'* ]] || fail "stderr: $stderr"
	update_host_config '.log_retention = {max_age: "30d", max_bytes: "10G", compress: false}'
	ocibpf gc
	assert_success
}
