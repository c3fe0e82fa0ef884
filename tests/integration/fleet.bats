#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
#
# Fleet (issue 15): what many nodes need, tested on loopback.
# - The audit logs shipped by a real rsyslog (contrib/rsyslog/ocibpf-node.conf: imfile, RELP)
#   to a second rsyslog (contrib/rsyslog/ocibpf-central.conf) that writes them out: every
#   record of several audited runc containers arrives once, in order, across a logrotate
#   rotation (contrib/logrotate/ocibpf), restarts of the shipper and one of the central side.
# - Two collectors of two host configurations (two "nodes") scraped by one Prometheus with a
#   `node` label per target, with contrib/prometheus/ocibpf.rules.yml loaded.
# Both rsyslog instances and Prometheus run with configuration, state and storage in the
# test's temp dir: the host's syslog and /etc are not touched.

load helpers
load telemetry-helpers

setup_file() {
	ocibpf_setup_file
}

teardown_file() {
	ocibpf_teardown_file
}

setup() {
	requires root cgroup2 bpf bpftool jq busybox runc
	command -v curl >/dev/null || skip "test requires curl"
	ocibpf_setup
}

teardown() {
	telemetry_teardown
	ocibpf_teardown
}

# The policy of the fleet tests' containers: execs, opens and connects audited, TCP to
# 127.0.0.1:9 denied (a net record and a counter each time).
FLEET_POLICY='{
  "audit": { "syscalls": ["execve", "openat", "connect"] },
  "network": {
    "egress":  { "default": "allow",
                 "rules": [ { "action": "deny", "cidr": "127.0.0.1/32", "protocol": "tcp", "ports": "9" } ] },
    "ingress": { "default": "allow" }
  },
  "telemetry": true
}'

# busy_container ID [CONFIG]: a detached runc container (bundle of its own, host network,
# policy "fleet", the hooks of CONFIG, default $OCIBPF_CONFIG) that opens a file and makes
# a denied connection ten times a second until /tmp/stop exists in its rootfs; first it
# runs a program whose argument is 1,100 control characters (an exec record of over 5 kB).
busy_container() {
	local id=$1 conf=${2:-$OCIBPF_CONFIG}
	setup_busybox_bundle "$BATS_TEST_TMPDIR/bundle-$id"
	set_policy fleet
	use_host_network
	update_config '.root.readonly = false'
	set_cmd sh -c '/bin/true "$(printf "\001%.0s" $(seq 1100))"
		while [ ! -e /tmp/stop ]; do cat /etc/passwd >/dev/null; nc 127.0.0.1 9 </dev/null 2>/dev/null; sleep 0.1; done'
	OCIBPF_CONFIG=$conf add_hooks
	runc_run -d "$id"
	assert_success
}

# stop_busy_container ID: let it end, and delete it (poststop writes the stop record).
stop_busy_container() {
	: >"$BATS_TEST_TMPDIR/bundle-$1/rootfs/tmp/stop"
	wait_stopped runc "$1" || fail "$1 does not stop"
	runc_cmd delete "$1"
	assert_success
}

# --- rsyslog ----------------------------------------------------------------------------

rsyslog_requires() {
	command -v rsyslogd >/dev/null || skip "test requires rsyslogd (Debian packages rsyslog, rsyslog-relp)"
	local m
	for m in imfile omrelp imrelp; do
		compgen -G "/usr/lib/*/rsyslog/$m.so" >/dev/null ||
			skip "test requires the rsyslog module $m (Debian packages rsyslog, rsyslog-relp)"
	done
	command -v logrotate >/dev/null || skip "test requires logrotate"
}

# rsyslog_conf NAME CONTRIB-FILE [GLOBALS] (sed script on stdin): the contrib file with the
# test's paths and port (the sed script), included from a main file that says what Debian's
# /etc/rsyslog.conf says (a work directory, here the test's own; a larger message size) and
# nothing else: no input of the host's syslog. Checked with rsyslogd -N1.
rsyslog_conf() {
	local name=$1 contrib=$2 globals=${3:-} dir=$BATS_TEST_TMPDIR/rsyslog-$1
	mkdir -p "$dir/work"
	sed -f - "$PROJECT_ROOT/contrib/rsyslog/$contrib" >"$dir/ocibpf.conf"
	printf 'global(workDirectory="%s" maxMessageSize="64k"%s)\ninclude(file="%s")\n' \
		"$dir/work" "$globals" "$dir/ocibpf.conf" >"$dir/rsyslog.conf"
	run rsyslogd -N1 -f "$dir/rsyslog.conf"
	log_run rsyslogd -N1 "$name"
	assert_success
}

# rsyslog_start NAME: rsyslogd -n on the configuration of rsyslog_conf NAME, in the
# background (pid file and output in its directory), until its pid file is written.
# Sets RSYSLOG_PID_<NAME>.
rsyslog_start() {
	local dir=$BATS_TEST_TMPDIR/rsyslog-$1
	rsyslogd -n -f "$dir/rsyslog.conf" -i "$dir/rsyslogd.pid" </dev/null >>"$dir/out" 2>&1 3>&- &
	track_pid $!
	printf -v "RSYSLOG_PID_$1" %s $!
	wait_for 100 0.1 test -s "$dir/rsyslogd.pid" || fail "rsyslogd $1 did not start: $(cat "$dir/out")"
}

# rsyslog_stop NAME: SIGTERM, and wait for it to exit (it saves its state and queue).
rsyslog_stop() {
	local var=RSYSLOG_PID_$1
	kill "${!var}"
	wait "${!var}" || true
	[ ! -e "$BATS_TEST_TMPDIR/rsyslog-$1/rsyslogd.pid" ] ||
		fail "rsyslogd $1 left its pid file: $(cat "$BATS_TEST_TMPDIR/rsyslog-$1/out")"
}

# The contrib pair as the tests run it: the central rsyslog listening on 127.0.0.1:PORT,
# writing under $STORE, then the node's, shipping $LOG_DIR to it.
rsyslog_pair() {
	local port=$1
	rsyslog_conf central ocibpf-central.conf <<-EOF
		s|/var/log/ocibpf-central/|$STORE/|
		s|port="2514"|port="$port" address="127.0.0.1"|
	EOF
	rsyslog_conf node ocibpf-node.conf ' localHostName="node-a"' <<-EOF
		s|/var/log/ocibpf/|$LOG_DIR/|
		s|logs.example.internal|127.0.0.1|
		s|port="2514"|port="$port"|
	EOF
	rsyslog_start central
	wait_for 100 0.1 eval '[ -n "$(ss -Htln "sport = :$port")" ]' ||
		fail "the central rsyslog does not listen: $(cat "$BATS_TEST_TMPDIR/rsyslog-central/out")"
	rsyslog_start node
}

# use_own_log_dir: this test's audit logs in a log_dir of its own (what its shipper reads
# and its logrotate rotates).
use_own_log_dir() {
	LOG_DIR=$BATS_TEST_TMPDIR/log
	update_host_config '.log_dir = $l' --arg l "$LOG_DIR"
}

# count_lines FILE: its number of lines (0 when missing).
count_lines() {
	if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi
}

# shipped_all ID...: the central copy of every ID's log is, byte for byte, its rotated
# file then its current file on the node.
shipped_all() {
	local id
	for id in "$@"; do
		cat "$LOG_DIR/$id".jsonl-* "$LOG_DIR/$id.jsonl" | cmp -s - "$STORE/node-a/$id.jsonl" || return 1
	done
}

@test "rsyslog ships every audit record of several containers once and in order, across a rotation and restarts of both sides" {
	rsyslog_requires
	local port ids=("$CID-1" "$CID-2" "$CID-3") id
	port=$(free_port)
	STORE=$BATS_TEST_TMPDIR/central-store
	use_own_log_dir
	write_policy fleet "$FLEET_POLICY"

	rsyslog_pair "$port"

	for id in "${ids[@]}"; do
		busy_container "$id"
	done
	# live: records arrive while the containers run
	for id in "${ids[@]}"; do
		wait_for 100 0.1 eval '[ "$(count_lines "$STORE/node-a/$id.jsonl")" -ge 20 ]' ||
			fail "nothing of $id shipped: $(ls -R "$STORE"; cat "$BATS_TEST_TMPDIR"/rsyslog-*/out)"
	done

	# the shipper stops for a second while the containers write, then goes on
	rsyslog_stop node
	local before
	before=$(count_lines "$STORE/node-a/$CID-1.jsonl")
	sleep 1
	[ "$(count_lines "$STORE/node-a/$CID-1.jsonl")" = "$before" ] || fail "records shipped by a stopped shipper"
	rsyslog_start node
	wait_for 100 0.1 eval '[ "$(count_lines "$STORE/node-a/$CID-1.jsonl")" -gt "$before" ]' ||
		fail "the restarted shipper sends nothing: $(cat "$BATS_TEST_TMPDIR/rsyslog-node/out")"

	# the central side goes away for a second: the shipper keeps what was not acknowledged
	rsyslog_stop central
	before=$(count_lines "$STORE/node-a/$CID-2.jsonl")
	sleep 1
	rsyslog_start central
	wait_for 200 0.1 eval '[ "$(count_lines "$STORE/node-a/$CID-2.jsonl")" -gt "$before" ]' ||
		fail "nothing sent after the central side came back: $(cat "$BATS_TEST_TMPDIR"/rsyslog-*/out)"

	# rotation by contrib/logrotate/ocibpf: renamed, the collector reopens on SIGHUP
	sed -e "s|/var/log/ocibpf|$LOG_DIR|g" -e "s|/run/ocibpf|$STATE_DIR|g" \
		"$PROJECT_ROOT/contrib/logrotate/ocibpf" >"$BATS_TEST_TMPDIR/logrotate.conf"
	chmod 0644 "$BATS_TEST_TMPDIR/logrotate.conf"
	run logrotate -f -s "$BATS_TEST_TMPDIR/logrotate.state" "$BATS_TEST_TMPDIR/logrotate.conf"
	log_run logrotate
	assert_success
	for id in "${ids[@]}"; do
		compgen -G "$LOG_DIR/$id.jsonl-*" >/dev/null || fail "$id: not rotated: $(ls "$LOG_DIR")"
		wait_for 100 0.1 eval '[ "$(count_lines "$LOG_DIR/$id.jsonl")" -ge 10 ]' ||
			fail "$id: no records in the new log"
	done

	# and the shipper restarts once more, while the new files grow
	rsyslog_stop node
	sleep 0.5
	rsyslog_start node

	for id in "${ids[@]}"; do
		stop_busy_container "$id"
		assert_stopped "$id"
	done
	wait_for 150 0.1 shipped_all "${ids[@]}" || {
		for id in "${ids[@]}"; do
			echo "$id: node $(cat "$LOG_DIR/$id".jsonl-* "$LOG_DIR/$id.jsonl" | wc -l) lines, central $(count_lines "$STORE/node-a/$id.jsonl")" >&2
			diff <(cat "$LOG_DIR/$id".jsonl-* "$LOG_DIR/$id.jsonl") "$STORE/node-a/$id.jsonl" | head -20 >&2
		done
		fail "the central copies are not the node's logs: $(cat "$BATS_TEST_TMPDIR"/rsyslog-*/out)"
	}
	# what was shipped: both files of each container, seq 1..n in each, every record type
	# the policy makes, nothing lost on the node
	for id in "${ids[@]}"; do
		run jq -s -e '[.[].seq] == [range(1; length + 1)] and .[0].type == "start"' "$LOG_DIR/$id".jsonl-*
		assert_success
		run jq -s -e '[.[].seq] == [range(1; length + 1)] and .[-1].type == "stop"' "$LOG_DIR/$id.jsonl"
		assert_success
		run jq -s -e '(map(.type) | unique) == ["exec", "net", "start", "stop", "syscall"]' "$STORE/node-a/$id.jsonl"
		assert_success
		# the long record went through whole
		awk 'length($0) > 5000 { n++ } END { exit n != 1 }' "$STORE/node-a/$id.jsonl" ||
			fail "$id: no record over 5 kB shipped: $(awk '{ print length($0) }' "$STORE/node-a/$id.jsonl" | sort -n | tail -3)"
		echo "$id: $(count_lines "$STORE/node-a/$id.jsonl") records shipped" >&2
	done

	rsyslog_stop node
	rsyslog_stop central
}

@test "rsyslog: with docs/fleet.md's prerotate guard, logrotate waits for a stopped shipper and nothing is lost" {
	rsyslog_requires
	local port pidfile=$BATS_TEST_TMPDIR/rsyslog-node/rsyslogd.pid
	port=$(free_port)
	STORE=$BATS_TEST_TMPDIR/central-store
	use_own_log_dir
	write_policy fleet "$FLEET_POLICY"
	rsyslog_pair "$port"
	busy_container "$CID"
	wait_for 100 0.1 eval '[ "$(count_lines "$STORE/node-a/$CID.jsonl")" -ge 10 ]' ||
		fail "nothing shipped: $(cat "$BATS_TEST_TMPDIR"/rsyslog-*/out)"

	# contrib/logrotate/ocibpf with the guard (systemctl is-active rsyslog, here: is the
	# test's shipper running)
	sed -e "s|/var/log/ocibpf|$LOG_DIR|g" -e "s|/run/ocibpf|$STATE_DIR|g" \
		-e "/^\tpostrotate/i\\
	prerotate\\
		[ -s $pidfile ] \\&\\& kill -0 \"\$(cat $pidfile)\" || exit 1\\
	endscript" \
		"$PROJECT_ROOT/contrib/logrotate/ocibpf" >"$BATS_TEST_TMPDIR/logrotate.conf"
	chmod 0644 "$BATS_TEST_TMPDIR/logrotate.conf"
	grep -q prerotate "$BATS_TEST_TMPDIR/logrotate.conf"

	# the shipper is down: logrotate leaves the log where it is
	rsyslog_stop node
	run logrotate -f -s "$BATS_TEST_TMPDIR/logrotate.state" "$BATS_TEST_TMPDIR/logrotate.conf"
	log_run logrotate
	assert_failure
	! compgen -G "$LOG_DIR/$CID.jsonl-*" >/dev/null || fail "rotated while the shipper was down"

	# it is back: the rotation goes ahead
	rsyslog_start node
	run logrotate -f -s "$BATS_TEST_TMPDIR/logrotate.state" "$BATS_TEST_TMPDIR/logrotate.conf"
	log_run logrotate
	assert_success
	compgen -G "$LOG_DIR/$CID.jsonl-*" >/dev/null || fail "not rotated: $(ls "$LOG_DIR")"
	wait_for 100 0.1 eval '[ "$(count_lines "$LOG_DIR/$CID.jsonl")" -ge 5 ]' ||
		fail "no records in the new log"

	stop_busy_container "$CID"
	assert_stopped "$CID"
	wait_for 150 0.1 shipped_all "$CID" || {
		diff <(cat "$LOG_DIR/$CID".jsonl-* "$LOG_DIR/$CID.jsonl") "$STORE/node-a/$CID.jsonl" | head -20 >&2
		fail "the central copy is not the node's log"
	}
	rsyslog_stop node
	rsyslog_stop central
}

# --- Prometheus -------------------------------------------------------------------------

@test "contrib/prometheus: promtool accepts the rules and the scrape configuration" {
	command -v promtool >/dev/null || skip "test requires promtool (Debian package prometheus)"
	run promtool check rules "$PROJECT_ROOT/contrib/prometheus/ocibpf.rules.yml"
	log_run promtool check rules
	assert_success
	run promtool check config "$PROJECT_ROOT/contrib/prometheus/scrape.yml"
	log_run promtool check config
	assert_success
}

@test "two nodes' collectors, one Prometheus: queries by node and by container, the recording rules" {
	command -v prometheus >/dev/null || skip "test requires prometheus (Debian package prometheus)"
	write_policy fleet "$FLEET_POLICY"
	local pa pb conf_b bpffs_b
	pa=$(free_port)
	pb=$(free_port)
	[ "$pa" != "$pb" ] || pb=$(free_port)
	update_host_config --arg l "127.0.0.1:$pa" '.metrics_listen = $l'
	# node b: a configuration of its own (state, log and bpffs directories, port)
	conf_b=$OCIBPF_TEST_ROOT/configs/$BATS_TEST_NUMBER-b.json
	bpffs_b=$(new_bpffs_dir)
	jq --arg b "$bpffs_b" --arg s "$OCIBPF_TEST_ROOT/run-$BATS_TEST_NUMBER-b" \
		--arg l "$OCIBPF_TEST_ROOT/log-$BATS_TEST_NUMBER-b" --arg m "127.0.0.1:$pb" \
		'.bpffs_dir = $b | .state_dir = $s | .log_dir = $l | .metrics_listen = $m' \
		"$OCIBPF_CONFIG" >"$conf_b"
	chmod 0644 "$conf_b"

	# each node's collector supervised, as systemd or the DaemonSet runs it
	local c
	for c in "$OCIBPF_CONFIG" "$conf_b"; do
		OCIBPF_CONFIG=$c "$OCIBPFD" --foreground </dev/null >>"$BATS_TEST_TMPDIR/ocibpfd.log" 2>&1 3>&- &
		track_pid $!
	done
	local pid_b=$!
	wait_for 100 0.1 curl -sf -o /dev/null "http://127.0.0.1:$pa/metrics" ||
		fail "node a's collector does not serve: $(cat "$BATS_TEST_TMPDIR/ocibpfd.log")"
	wait_for 100 0.1 curl -sf -o /dev/null "http://127.0.0.1:$pb/metrics" ||
		fail "node b's collector does not serve: $(cat "$BATS_TEST_TMPDIR/ocibpfd.log")"

	busy_container "$CID-a"
	busy_container "$CID-b" "$conf_b"

	start_prometheus_config <<-EOF
		global:
		  scrape_interval: 1s
		  scrape_timeout: 1s
		  evaluation_interval: 1s
		rule_files:
		  - $PROJECT_ROOT/contrib/prometheus/ocibpf.rules.yml
		scrape_configs:
		  - job_name: ocibpf
		    static_configs:
		      - targets: ["127.0.0.1:$pa"]
		        labels: {node: node-a}
		      - targets: ["127.0.0.1:$pb"]
		        labels: {node: node-b}
	EOF
	wait_for 300 0.1 eval '[ "$(prom_query "up{job=\"ocibpf\"} == 1" | jq length)" = 2 ]' ||
		fail "both targets are not up: $(curl -s "$PROM_URL/api/v1/targets")"

	# by node: each node's containers only
	wait_for 100 0.1 prom_has "ocibpf_container_execs_total{node=\"node-b\"}" ||
		fail "no series of node b: $(prom_query '{job="ocibpf"}' | head -c 2000)"
	run prom_query 'ocibpf_container_execs_total{node="node-a"}'
	assert_success
	jq -e --arg id "$CID-a" 'length == 1 and .[0].metric.container_id == $id and .[0].metric.policy == "fleet"' <<<"$output"
	run prom_query 'ocibpf_container_execs_total{node="node-b"}'
	assert_success
	jq -e --arg id "$CID-b" 'length == 1 and .[0].metric.container_id == $id' <<<"$output"
	# by container: which node it is on
	run prom_query "ocibpf_container_network_egress_denied_total{container_id=\"$CID-b\"}"
	assert_success
	jq -e 'length == 1 and .[0].metric.node == "node-b"' <<<"$output"
	run prom_query 'sum by (node) (ocibpf_containers)'
	assert_success
	jq -e '(map({(.metric.node): .value[1]}) | add) == {"node-a": "1", "node-b": "1"}' <<<"$output"

	# the recording rules: evaluated, with the node and the container
	local q
	for q in "workload:ocibpf_network_denied:rate5m{node=\"node-a\",container_id=\"$CID-a\",policy=\"fleet\"} > 0" \
		"workload:ocibpf_network_denied:rate5m{node=\"node-b\",container_id=\"$CID-b\"} > 0" \
		"workload:ocibpf_execs:rate5m{node=\"node-a\",container_id=\"$CID-a\"} > 0" \
		'node:ocibpf_records_written:rate5m{node="node-b"} > 0' \
		'node:ocibpf_records_lost:rate5m{node="node-a"} == 0' \
		'node_policy:ocibpf_containers:count{node="node-a",policy="fleet"} == 1' \
		'namespace_policy:ocibpf_network_denied:rate5m{policy="fleet"} > 0'; do
		wait_for 100 0.1 prom_has "$q" || fail "no recorded series: $q: $(prom_query "${q%% *}")"
	done
	run curl -sf "$PROM_URL/api/v1/rules"
	assert_success
	jq -e '[.data.groups[].rules[]] | length == 9 and all(.health == "ok")' <<<"$output" ||
		fail "rules not all loaded and healthy: $output"

	stop_busy_container "$CID-a"
	stop_busy_container "$CID-b"
	assert_stopped "$CID-a"
	kill "$pid_b"
	wait "$pid_b" || true
	OCIBPF_CONFIG=$conf_b ocibpf gc --unload
	assert_success
	[ ! -e "$bpffs_b" ] || fail "$bpffs_b left after gc --unload: $(find "$bpffs_b")"
}
