# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Helpers of telemetry.bats (issue 5), on top of helpers.bash: a loopback HTTP
# server to make traffic with, containers that work in phases the test drives, and
# a collector serving metrics over HTTP.

TELEMETRY_POLICY='{"telemetry": true}'
BLOB_SIZE=$((256 * 1024))

# free_port: a TCP port nothing listens on (loopback).
free_port() {
	local p i
	for i in $(seq 50); do
		p=$((20000 + RANDOM % 20000))
		if [ -z "$(ss -Htln "sport = :$p" 2>/dev/null)" ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# track_pid PID: a background process of this test, killed in telemetry_teardown.
track_pid() {
	echo "$1" >>"$BATS_TEST_TMPDIR/tracked-pids"
}

# start_blob_server: busybox httpd on 127.0.0.1:$BLOB_PORT serving /blob
# ($BLOB_SIZE bytes). Sets BLOB_PORT and BLOB_URL.
start_blob_server() {
	local dir=$BATS_TEST_TMPDIR/www
	mkdir -p "$dir"
	head -c "$BLOB_SIZE" /dev/urandom >"$dir/blob"
	BLOB_PORT=$(free_port)
	BLOB_URL=http://127.0.0.1:$BLOB_PORT/blob
	"$BUSYBOX" httpd -f -p "127.0.0.1:$BLOB_PORT" -h "$dir" </dev/null >/dev/null 2>&1 3>&- &
	track_pid $!
	wait_for 50 0.1 curl -sf -o /dev/null "$BLOB_URL"
}

# start_metrics_collector ADDR:PORT: ocibpfd --foreground --metrics-listen, for
# this test's configuration, until the test ends. Sets METRICS_PID.
start_metrics_collector() {
	"$OCIBPFD" --foreground --metrics-listen "$1" </dev/null >"$BATS_TEST_TMPDIR/ocibpfd.log" 2>&1 3>&- &
	METRICS_PID=$!
	track_pid "$METRICS_PID"
	local url=http://$1/metrics
	wait_for 50 0.1 curl -gsf -o /dev/null "$url" ||
		fail "ocibpfd --metrics-listen $1 does not answer: $(cat "$BATS_TEST_TMPDIR/ocibpfd.log")"
}

# telemetry_teardown: stop what this test started in the background (before the
# leak check, which wants no collector left).
telemetry_teardown() {
	local pid
	[ -f "$BATS_TEST_TMPDIR/tracked-pids" ] || return 0
	while read -r pid; do
		kill "$pid" 2>/dev/null
	done <"$BATS_TEST_TMPDIR/tracked-pids"
	while read -r pid; do
		wait_for 50 0.1 test ! -d "/proc/$pid" 2>/dev/null || kill -9 "$pid" 2>/dev/null
	done <"$BATS_TEST_TMPDIR/tracked-pids"
	rm -f "$BATS_TEST_TMPDIR/tracked-pids"
}

# phased_container RT SCRIPT...: a detached container under RT, on the host network,
# with policy $TELEMETRY_POLICY, that runs SCRIPT[i] when the test calls `phase i`
# (i from 1), and exits after the last phase. It waits on a fifo, with shell builtins
# only: no exec, no CPU while it waits. Sets CT_PID.
phased_container() {
	local rt=$1 i=1 body=
	shift
	for step in "$@"; do
		body+="read x </tmp/ctl; $step; : >/tmp/done$i; "
		i=$((i + 1))
	done
	mkfifo "$BUNDLE/rootfs/tmp/ctl"
	write_policy telemetry "$TELEMETRY_POLICY"
	set_policy telemetry
	use_host_network
	update_config '.root.readonly = false'
	set_cmd sh -c "$body exit 0"
	add_hooks
	"${rt}_run" -d "$CID"
	assert_success
	CT_RT=$rt
	CT_PID=$(runtime_state "$rt" "$CID" pid)
	[ -n "$CT_PID" ] && [ "$CT_PID" -gt 0 ] || fail "no pid for $CID"
}

# go: let the container start its next phase.
go() {
	timeout 10 sh -c 'echo go >"$1"' sh "$BUNDLE/rootfs/tmp/ctl" || fail "the container does not read its fifo"
}

# phase I: let the container run its phase I, and wait until it is done.
phase() {
	go
	wait_for 300 0.05 test -e "$BUNDLE/rootfs/tmp/done$1" ||
		fail "phase $1 did not finish: $(cat "$BATS_TEST_TMPDIR/$CID.stdio" 2>/dev/null)"
}

# stats_json ID: the object of `ocibpf stats --json ID`, compact.
stats_json() {
	local out
	out=$(timeout "$HOOK_TIMEOUT" "$OCIBPF_CLI" stats --json "$1") || return 1
	jq -ce '.[0] // error("no stats")' <<<"$out"
}

# stop_stats ID: the stats of ID's stop record.
stop_stats() {
	records "$1" stop | tail -n 1 | jq -c .stats
}

# check_stats JSON JQ-EXPR [JQ-ARGS...]: JQ-EXPR holds of the stats object.
check_stats() {
	local json=$1 expr=$2
	shift 2
	jq -e "$@" "$expr" <<<"$json" >/dev/null ||
		fail "stats don't satisfy: $expr ($*)
stats: $json"
}

is_stopped() {
	[ "$(runtime_state "$1" "$2" status)" = stopped ]
}

# wait_stopped RT ID: the container's process has exited.
wait_stopped() {
	wait_for 200 0.05 is_stopped "$1" "$2"
}

# v1_dir CONTROLLER PID: the v1 cgroup directory of PID for CONTROLLER.
v1_dir() {
	local rel
	rel=$(awk -F: -v c="$1" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' \
		"/proc/$2/cgroup")
	[ -n "$rel" ] && echo "/sys/fs/cgroup/$1${rel%/}"
}

# whole_disk_of PATH: MAJ:MIN of the disk holding PATH (its parent when on a partition).
whole_disk_of() {
	local dev maj min sys
	dev=$(stat -c %d "$1")
	maj=$((dev >> 8 & 0xfff))
	min=$(((dev & 0xff) | (dev >> 12 & 0xfff00)))
	sys=/sys/dev/block/$maj:$min
	[ -e "$sys" ] || return 1
	if [ -e "$sys/partition" ]; then
		cat "$(readlink -f "$sys")/../dev"
	else
		echo "$maj:$min"
	fi
}

# start_prometheus TARGET: a Prometheus server on a free loopback port scraping TARGET
# (ADDR:PORT) every second, with its config and storage in the test's temp dir, until
# the test ends. Sets PROM_URL.
start_prometheus() {
	start_prometheus_config <<-EOF2
		global:
		  scrape_interval: 1s
		  scrape_timeout: 1s
		scrape_configs:
		  - job_name: ocibpf
		    static_configs:
		      - targets: ["$1"]
	EOF2
}

# start_prometheus_config: the same with the configuration on stdin (rule files, several
# targets, labels). Sets PROM_URL, PROM_DIR.
start_prometheus_config() {
	local dir=$BATS_TEST_TMPDIR/prometheus port
	PROM_DIR=$dir
	mkdir -p "$dir/data"
	cat >"$dir/prometheus.yml"
	port=$(free_port)
	PROM_URL=http://127.0.0.1:$port
	prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
		--web.listen-address="127.0.0.1:$port" </dev/null >"$dir/log" 2>&1 3>&- &
	track_pid $!
	wait_for 300 0.1 curl -sf -o /dev/null "$PROM_URL/-/ready" ||
		fail "prometheus did not start: $(tail -20 "$dir/log")"
}

# prom_query PROMQL: the result vector of an instant query, as JSON.
prom_query() {
	curl -sf --get --data-urlencode "query=$1" "$PROM_URL/api/v1/query" |
		jq -ce 'select(.status == "success") | .data.result'
}

# prom_value PROMQL: the value of the query's single series (fails without exactly one).
prom_value() {
	prom_query "$1" | jq -re 'if length == 1 then .[0].value[1] else error("want 1 series, got \(length)") end'
}

# prom_has PROMQL: the query returns at least one series.
prom_has() {
	local r
	r=$(prom_query "$1") && [ "$(jq length <<<"$r")" -ge 1 ]
}
