#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
#
# Load and leaks (issue 7): 50 containers started at once through the hook, and
# create/delete cycles after which links, pins, map entries, state, the collector's
# descriptors and its memory are back where they started. `make check` runs 100
# cycles; `make stress` (OCIBPF_STRESS=1) runs 1,000.

load helpers
load reliability-helpers

setup_file() {
	ocibpf_setup_file
}

teardown_file() {
	ocibpf_teardown_file
}

setup() {
	requires root cgroup2 bpf bpftool runc busybox jq
	ocibpf_setup
	setup_busybox_bundle
	write_policy base "$BASE_POLICY"
	write_policy full "$FULL_POLICY"
	write_policy execs '{
	  "audit": { "syscalls": [] },
	  "network": { "egress": { "default": "allow",
	               "rules": [ { "action": "deny", "cidr": "127.0.0.1/32", "protocol": "tcp", "ports": "9" } ] } },
	  "telemetry": true
	}'
	add_hooks
}

teardown() {
	ocibpf_teardown
}

PARALLEL=${OCIBPF_PARALLEL:-50}
if [ -n "${OCIBPF_STRESS:-}" ]; then
	CYCLES=${OCIBPF_CYCLES:-1000}
else
	CYCLES=${OCIBPF_CYCLES:-100}
fi
# RSS the collector may gain over the cycles (allocator noise, not a leak).
RSS_SLACK_KB=${OCIBPF_RSS_SLACK_KB:-2048}

@test "$PARALLEL containers started at once through the hook: all monitored, every log complete" {
	set_policy execs
	# Each waits for /go (at most 300 s), so that all run at the same time.
	set_cmd sh -c 'i=0; while [ ! -e /go ] && [ $i -lt 3000 ]; do sleep 0.1; i=$((i + 1)); done; exec /bin/true'
	local i pids=() failed=0 t0=$SECONDS
	for i in $(seq "$PARALLEL"); do
		__runc run -d -b "$BUNDLE" "$CID-$i" </dev/null >"$BATS_TEST_TMPDIR/run-$i.out" 2>&1 &
		pids+=($!)
	done
	for i in $(seq "$PARALLEL"); do
		if ! wait "${pids[$((i - 1))]}"; then
			echo "runc run $CID-$i failed: $(cat "$BATS_TEST_TMPDIR/run-$i.out")" >&2
			failed=$((failed + 1))
		fi
	done
	[ "$failed" -eq 0 ] || fail "$failed of $PARALLEL containers failed to start"
	echo "# $PARALLEL started in $((SECONDS - t0)) s" >&3

	# All running at once, all monitored.
	local running
	running=$(__runc list -f json | jq '[.[] | select(.status == "running")] | length')
	[ "$running" -eq "$PARALLEL" ] || fail "$running of $PARALLEL running"
	[ "$(state_count)" -eq "$PARALLEL" ] || fail "$(state_count) records for $PARALLEL containers"
	local dirs keys ids missing
	dirs=$(for r in $(jq -r .run "$STATE_DIR"/containers/"$CID"-*.json); do
		[ -d "$BPFFS_DIR/containers/$r" ] && echo "$r"; done | wc -l)
	[ "$dirs" -eq "$PARALLEL" ] || fail "$dirs pin directories for $PARALLEL containers"
	keys=$(map_keys ocibpf_cgroups)
	ids=$(jq -r .cgroup_id "$STATE_DIR"/containers/*.json | sort)
	missing=$(comm -23 <(echo "$ids") <(echo "$keys"))
	[ -z "$missing" ] || fail "cgroups not in the map: $missing"
	[ -n "$(collector_pid)" ] || fail "no collector: $(cat "$STATE_DIR/ocibpfd.log" 2>&1)"
	ocibpf ps --json
	assert_success
	[ "$(jq length <<<"$output")" -eq "$PARALLEL" ]

	echo "# checked in $((SECONDS - t0)) s" >&3
	touch "$BUNDLE/rootfs/go"
	wait_for 300 0.2 all_stopped "$PARALLEL" || fail "not all stopped: $(__runc list)"
	pids=()
	for i in $(seq "$PARALLEL"); do
		__runc delete "$CID-$i" </dev/null >"$BATS_TEST_TMPDIR/delete-$i.out" 2>&1 &
		pids+=($!)
	done
	for i in $(seq "$PARALLEL"); do
		wait "${pids[$((i - 1))]}" || fail "runc delete $CID-$i: $(cat "$BATS_TEST_TMPDIR/delete-$i.out")"
	done

	echo "# stopped and deleted in $((SECONDS - t0)) s" >&3
	# Every log: start, the entrypoint's exec (and the wait loop's), stop; seq 1..n, no loss.
	for i in $(seq "$PARALLEL"); do
		local id=$CID-$i
		jq -e -s --arg id "$id" '.[0].type == "start" and .[-1].type == "stop"
			and (.[-1].stats | type) == "object"
			and [.[].seq] == [range(1; length + 1)]
			and ([.[] | select(.type == "exec")] | length >= 2
			     and .[0].filename == "/bin/sh" and .[-1].filename == "/bin/true")
			and all(.[]; .container == $id and .type != "lost")' "$(audit_log "$id")" >/dev/null ||
			fail "$id: incomplete log: $(jq -c '[.seq, .type, .filename]' "$(audit_log "$id")" | tr '\n' ' ')"
	done
	[ "$(state_count)" -eq 0 ]
	[ "$(pin_count)" -eq 0 ]
	[ "$(map_entries ocibpf_cgroups)" -eq 0 ]
	[ "$(our_cgroup_links)" -eq 0 ]
}

# all_stopped N: N containers in this test's runc root, all stopped.
all_stopped() {
	[ "$(__runc list -f json | jq '[.[] | select(.status == "stopped")] | length')" -eq "$1" ]
}

# snapshot: what must come back to where it was after the cycles.
snapshot() {
	local pid
	pid=$(collector_pid)
	echo "links=$(our_cgroup_links) pins=$(pin_count) records=$(state_count)" \
		"cgroups=$(map_entries ocibpf_cgroups) stats=$(map_entries ocibpf_stats)" \
		"audit_sel=$(map_entries ocibpf_audit_sel) fds=$(collector_fds "$pid")"
}

@test "$CYCLES create/delete cycles: links, pins, map entries, state, collector descriptors and RSS come back" {
	# A long-running container keeps the collector up (it exits when none runs), with
	# a policy without audit, so that every cycle attaches and releases the audit
	# tracepoints the cycled containers need.
	set_policy base
	set_cmd sh -c 'i=0; while [ ! -e /stop ] && [ $i -lt 36000 ]; do sleep 0.1; i=$((i + 1)); done'
	runc_run -d "$CID-anchor"
	assert_success
	local anchor_bundle=$BUNDLE
	setup_busybox_bundle "$BATS_TEST_TMPDIR/cycle"
	set_policy full
	set_cmd sh -c ': </etc/passwd; nc -w 1 127.0.0.1 9 </dev/null 2>/dev/null; true'
	add_hooks

	local i pid
	# Warm-up: the set's maps, the collector's caches and tracepoint links.
	for i in 1 2 3 4 5; do
		runc_run "$CID-warm-$i"
		assert_success
	done
	pid=$(collector_pid)
	[ -n "$pid" ] || fail "no collector"
	sleep 1
	local before rss0
	before=$(snapshot)
	rss0=$(collector_rss_kb "$pid")
	echo "# before: $before rss=${rss0}kB" >&3

	local t0=$SECONDS
	for i in $(seq "$CYCLES"); do
		if ! __runc run -b "$BUNDLE" "$CID-c$i" </dev/null >"$BATS_TEST_TMPDIR/cycle.out" 2>&1; then
			fail "cycle $i: $(cat "$BATS_TEST_TMPDIR/cycle.out")"
		fi
		# every tenth log checked whole
		if [ $((i % 10)) -eq 0 ]; then
			assert_stopped "$CID-c$i"
		fi
	done
	echo "# $CYCLES cycles in $((SECONDS - t0)) s" >&3
	[ "$(collector_pid)" = "$pid" ] || fail "the collector changed: $pid -> $(collector_pid)"

	# The collector drops a gone container's log at its next tick.
	local after rss1 i
	for i in $(seq 25); do
		after=$(snapshot)
		[ "$after" = "$before" ] && break
		sleep 0.2
	done
	rss1=$(collector_rss_kb "$pid")
	echo "# after:  $after rss=${rss1}kB" >&3
	[ "$after" = "$before" ] || fail "not back: before: $before; after: $after"
	[ "$rss1" -le $((rss0 + RSS_SLACK_KB)) ] ||
		fail "collector RSS grew from ${rss0} kB to ${rss1} kB over $CYCLES cycles"

	touch "$anchor_bundle/rootfs/stop"
	wait_stopped "$CID-anchor"
	runc_cmd delete "$CID-anchor"
	assert_success
	assert_stopped "$CID-anchor"
}

# fill_map MAP N FIRST: N entries with keys FIRST, FIRST+1, ... (ids no cgroup has) in a
# pinned map of this file's set, zero values, in one bpftool batch; "del" as MAP's
# fourth argument removes them.
fill_map() {
	local m=("$BPFFS_DIR"/sets/*/maps/"$1") n=$2 first=$3 op=${4:-update} vsize i k
	[ -e "${m[0]}" ] || fail "no pinned map $1"
	vsize=$(bpftool -j map show pinned "${m[0]}" | jq .bytes_value)
	local zero
	zero=$(printf '0 %.0s' $(seq "$vsize"))
	for ((i = 0; i < n; i++)); do
		k=$((first + i))
		printf -v k '%d %d %d %d %d %d %d %d' $((k & 255)) $((k >> 8 & 255)) $((k >> 16 & 255)) \
			$((k >> 24 & 255)) $((k >> 32 & 255)) $((k >> 40 & 255)) $((k >> 48 & 255)) $((k >> 56 & 255))
		if [ "$op" = del ]; then
			echo "map delete pinned ${m[0]} key $k"
		else
			echo "map update pinned ${m[0]} key $k value $zero"
		fi
	done >"$BATS_TEST_TMPDIR/batch"
	bpftool batch file "$BATS_TEST_TMPDIR/batch" >/dev/null || fail "bpftool batch ($op $1) failed"
}

@test "map full: a container beyond what the stats map holds is refused, naming the limit; one gone makes room" {
	ocibpf load --no-collector
	assert_success
	local m max first=$((1 << 62))
	m=$(echo "$BPFFS_DIR"/sets/*/maps/ocibpf_stats)
	max=$(bpftool -j map show pinned "$m" | jq .max_entries)
	# the stats map full of other "containers"
	fill_map ocibpf_stats "$max" "$first"
	[ "$(map_entries ocibpf_stats)" -eq "$max" ] || fail "stats map not full: $(map_entries ocibpf_stats) of $max"
	set_policy base
	set_cmd sh -c 'echo CONTAINER-STARTED'
	runc_run "$CID"
	assert_failure
	refute_line CONTAINER-STARTED
	assert_output --partial "ocibpf-hook: $CID: too many monitored containers: the stats map is full (at most $max containers at once)"
	assert_nothing_left "$CID"
	[ "$(map_entries ocibpf_stats)" -eq "$max" ] || fail "the refused start changed the stats map"
	# one goes: the next container runs, monitored, and its entries go with it
	fill_map ocibpf_stats 1 "$first" del
	runc_run "$CID"
	assert_success
	assert_line CONTAINER-STARTED
	assert_stopped "$CID"
	[ "$(map_entries ocibpf_stats)" -eq $((max - 1)) ] || fail "stats map: $(map_entries ocibpf_stats) entries"
	fill_map ocibpf_stats $((max - 1)) $((first + 1)) del
	[ "$(map_entries ocibpf_stats)" -eq 0 ]
}

# set_pins: the files a load pins in this file's BPF set(s), relative to their set
# directory, sorted (not netpolicy/: the key lists of the network policies that earlier
# containers used, kept after them, are not the load's).
set_pins() {
	local s
	for s in "$BPFFS_DIR"/sets/*/; do
		[ ! -d "$s" ] || (cd "$s" && find . ! -type d ! -path './netpolicy/*' | sort)
	done
}

# set_link_ids: ids of the links pinned in this file's set(s) (global and anchor links).
set_link_ids() {
	local l
	for l in "$BPFFS_DIR"/sets/*/links/* "$BPFFS_DIR"/sets/*/anchor/*; do
		[ ! -e "$l" ] || bpftool -j link show pinned "$l" 2>/dev/null | jq -r .id
	done
}

@test "ocibpf load racing ocibpf gc --unload: a whole set or none, no leaked link, no collector on a gone set; a container after it is monitored" {
	# What a whole set holds.
	ocibpf load --no-collector
	assert_success
	local whole
	whole=$(set_pins)
	[ -n "$whole" ] || fail "nothing pinned by ocibpf load"
	ocibpf gc --unload
	assert_success
	# Both in loops at once; the links every load pinned are noted as it goes.
	: >"$BATS_TEST_TMPDIR/links"
	(for _ in $(seq 40); do
		"$OCIBPF_CLI" load >/dev/null 2>>"$BATS_TEST_TMPDIR/load.err"
		set_link_ids >>"$BATS_TEST_TMPDIR/links"
	done) &
	local loader=$!
	(for _ in $(seq 40); do "$OCIBPF_CLI" gc --unload >/dev/null 2>>"$BATS_TEST_TMPDIR/gc.err"; done) &
	local unloader=$!
	wait "$loader" "$unloader"
	echo "load: $(sort "$BATS_TEST_TMPDIR/load.err" | uniq -c | head -n 5)" >&2
	echo "gc: $(sort "$BATS_TEST_TMPDIR/gc.err" | uniq -c | head -n 5)" >&2
	[ ! -s "$BATS_TEST_TMPDIR/gc.err" ] || fail "gc --unload failed: $(head -n 3 "$BATS_TEST_TMPDIR/gc.err")"
	# A load is idempotent: an unload at the same time makes it neither fail nor warn.
	[ ! -s "$BATS_TEST_TMPDIR/load.err" ] || fail "ocibpf load failed: $(head -n 3 "$BATS_TEST_TMPDIR/load.err")"

	# A whole set or none: never one with pins missing.
	local now
	now=$(set_pins)
	if [ -n "$now" ]; then
		[ "$now" = "$whole" ] || fail "half a set: $(diff <(echo "$whole") <(echo "$now"))"
	fi
	# A container started now is monitored with its policy (the hook loads what is missing).
	set_policy full
	set_cmd sh -c 'cat /etc/passwd >/dev/null'
	runc_run "$CID"
	assert_success
	assert_stopped "$CID"
	log_has_type() { jq -s -e --arg t "$1" 'any(.[]; .type == $t)' "$(audit_log "$CID")" >/dev/null; }
	log_has_type syscall || fail "not audited: $(cat "$(audit_log "$CID")")"

	# No link outlives its set: unloaded, every link a load pinned is gone; so is the
	# collector (it stays only while a set is pinned).
	ocibpf gc --unload
	assert_success
	[ ! -e "$BPFFS_DIR" ] || fail "left: $(find "$BPFFS_DIR")"
	local id leaked=
	for id in $(sort -un "$BATS_TEST_TMPDIR/links"); do
		bpftool link show id "$id" >/dev/null 2>&1 && leaked="$leaked $id"
	done
	[ -z "$leaked" ] || fail "links of unloaded sets still in the kernel:$leaked: $(for id in $leaked; do bpftool link show id "$id"; done)"
	wait_for 100 0.1 eval '[ -z "$(collector_pid)" ]' || fail "a collector stays with no set pinned: $(collector_pid)"
}
