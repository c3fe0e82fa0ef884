#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
#
# Metrics people can use (issue 14): `metrics_listen` in the host configuration makes the
# collector the hook starts serve /metrics, scraped here by a real Prometheus server and
# queried through its HTTP API; the engine's names as labels; working set, OOM kills and
# CFS throttling; the collector's own health.

load helpers
load telemetry-helpers

# 16 MiB that dd allocates as its buffer.
MEMORY_WORK='dd if=/dev/zero of=/dev/null bs=16M count=1 2>/dev/null'

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
	setup_busybox_bundle
}

teardown() {
	telemetry_teardown
	ocibpf_teardown
}

# audited_reading FILE: a container audited on openat reads FILE; its log has the record.
audited_reading() {
	write_policy audited '{"audit": {"syscalls": ["openat"]}}'
	set_policy audited
	set_cmd sh -c ": <$1"
	[ "$(jq '.hooks.poststop | length' "$BUNDLE/config.json" 2>/dev/null)" -gt 0 ] || add_hooks
	runc_run "$CID"
	assert_success
	assert_stopped "$CID"
	records "$CID" syscall | jq -e -s --arg f "$1" 'any(.[]; .path == $f)' >/dev/null ||
		fail "not audited: $(records "$CID")"
}

@test "metrics_listen: the collector the hook starts serves /metrics, Prometheus scrapes it with the engine's labels" {
	command -v prometheus >/dev/null || skip "test requires prometheus (Debian package prometheus)"
	local port
	port=$(free_port)
	update_host_config --arg l "127.0.0.1:$port" '.metrics_listen = $l'
	# containerd's CRI plugin's annotations (CRI-O's are the same idea, other keys)
	update_config '.annotations += {
		"io.kubernetes.cri.container-name": "web",
		"io.kubernetes.cri.sandbox-name": "web-7d4b9c-x2x",
		"io.kubernetes.cri.sandbox-namespace": "shop",
		"io.kubernetes.cri.image-name": "docker.io/library/busybox:1.36"}'
	no_collector || fail "a collector runs before the container: $(collector_pids)"
	phased_container runc "$MEMORY_WORK; /bin/busybox true; /bin/busybox true" ":"
	phase 1

	# no ocibpfd --metrics-listen: the collector the hook started serves them
	local pid
	pid=$(collector_pids)
	[ -n "$pid" ] || fail "no collector"
	! grep -q -- --metrics-listen "/proc/$pid/cmdline" || fail "started with --metrics-listen"
	wait_for 50 0.1 curl -sf -o /dev/null "http://127.0.0.1:$port/metrics" ||
		fail "the collector does not serve 127.0.0.1:$port: $(cat "$STATE_DIR/ocibpfd.log" 2>/dev/null)"

	start_prometheus "127.0.0.1:$port"
	local sel="container_id=\"$CID\",name=\"web\",pod=\"web-7d4b9c-x2x\",namespace=\"shop\",image=\"docker.io/library/busybox:1.36\",policy=\"telemetry\""
	wait_for 300 0.1 prom_has "ocibpf_container_execs_total{$sel}" ||
		fail "Prometheus has no ocibpf series: $(prom_query "{job=\"ocibpf\"}") targets: $(curl -s "$PROM_URL/api/v1/targets")"
	[ "$(prom_value 'up{job="ocibpf"}')" = 1 ]
	# what Prometheus stored is what ocibpf stats says
	local s
	s=$(stats_json "$CID")
	echo "stats: $s" >&2
	[ "$(prom_value "ocibpf_container_execs_total{$sel}")" = "$(jq .execs <<<"$s")" ]
	[ "$(jq .execs <<<"$s")" -ge 3 ]
	local ws mem
	ws=$(prom_value "ocibpf_container_memory_working_set_bytes{$sel}")
	mem=$(prom_value "ocibpf_container_memory_usage_bytes{$sel}")
	echo "working set $ws, usage $mem" >&2
	[ "$ws" -gt 0 ] && [ "$ws" -le "$mem" ]
	[ "$(prom_value "ocibpf_container_oom_events_total{$sel}")" = 0 ]
	prom_has "ocibpf_container_cpu_cfs_throttled_periods_total{$sel}"
	prom_has "ocibpf_container_ringbuf_drops_total{$sel}"
	# the collector's health
	[ "$(prom_value 'ocibpf_build_info{job="ocibpf"}')" = 1 ]
	prom_value 'ocibpf_build_info' >/dev/null
	[ "$(prom_query 'ocibpf_build_info' | jq -r '.[0].metric.version')" = "$("$OCIBPF_CLI" version --json | jq -r .version)" ]
	prom_has 'ocibpf_collector_records_written_total{job="ocibpf"}'
	prom_has 'ocibpf_collector_records_lost_total{job="ocibpf"}'
	# and the CLI says the same families
	ocibpf metrics
	assert_success
	promtool check metrics <<<"$output" || fail "promtool rejects: $output"
	assert_line --regexp "^ocibpf_container_memory_working_set_bytes\{container_id=\"$CID\",policy=\"telemetry\",name=\"web\",image=\"docker.io/library/busybox:1.36\",pod=\"web-7d4b9c-x2x\",namespace=\"shop\"\} [0-9]+\$"

	# the container goes, the set is unloaded: the collector goes (and with it the
	# listener; while the set is pinned it stays, see ocibpfd(8))
	go
	wait_stopped runc "$CID"
	runc_cmd delete "$CID"
	assert_success
	ocibpf gc --unload
	assert_success
	wait_for 100 0.1 no_collector || fail "the collector stays: $(collector_pids)"
	run curl -sf -o /dev/null "http://127.0.0.1:$port/metrics"
	assert_failure
}

@test "metrics_listen: bad values refuse the configuration; a port in use costs the collector its listener, not its records" {
	local bad
	for bad in '"nonsense"' '"127.0.0.1"' '"127.0.0.1:0"' '"[::1]"' '"::1:9100"' '9100' '"127.0.0.1:x"'; do
		update_host_config --argjson l "$bad" '.metrics_listen = $l'
		run --separate-stderr "$OCIBPF_CLI" ps
		[ "$status" -eq 1 ] || fail "metrics_listen $bad: status $status"
		[[ "$stderr" == *"\"metrics_listen\""* ]] || fail "metrics_listen $bad: $stderr"
	done

	# taken by another process: the container is audited all the same
	start_blob_server
	update_host_config --arg l "127.0.0.1:$BLOB_PORT" '.metrics_listen = $l'
	audited_reading /etc/group
	grep -q "metrics_listen: cannot serve metrics on 127.0.0.1:$BLOB_PORT" "$STATE_DIR/ocibpfd.log" ||
		fail "not said: $(cat "$STATE_DIR/ocibpfd.log" 2>/dev/null)"
}

@test "metrics_listen \":9100\" (node_exporter's spelling) or \"[]:9100\": refused saying the address is missing, not the port" {
	local bad
	for bad in ':9100' '[]:9100'; do
		update_host_config --arg l "$bad" '.metrics_listen = $l'
		run --separate-stderr "$OCIBPF_CLI" ps
		[ "$status" -eq 1 ] || fail "metrics_listen $bad: status $status"
		[[ "$stderr" == *'"metrics_listen"'*"no ADDR"*"0.0.0.0:9100"* ]] || fail "metrics_listen $bad: $stderr"
		[[ "$stderr" != *"port 1-65535"* ]] || fail "metrics_listen $bad: blames the port: $stderr"
	done
}

@test "the collector loads libmicrohttpd only to serve metrics; where it is missing it says so and collects" {
	# A collector starts whenever a container needs one: without metrics_listen it loads
	# no HTTP or TLS library (libmicrohttpd brings gnutls and ten more, ~10 ms of CPU).
	audited_reading /etc/group
	local pid
	pid=$(collector_pids)   # (it stays while the set is pinned)
	[ -n "$pid" ] || fail "no collector"
	run grep -E 'libmicrohttpd|libgnutls' "/proc/$pid/maps"
	assert_failure
	kill "$pid"
	wait_for 100 0.1 no_collector || fail "the collector stays: $(collector_pids)"

	# with metrics_listen it loads the library
	local port lib err=$BATS_TEST_TMPDIR/ocibpfd.err
	port=$(free_port)
	update_host_config --arg l "127.0.0.1:$port" '.metrics_listen = $l'
	"$OCIBPFD" --foreground --config "$OCIBPF_CONFIG" </dev/null >/dev/null 2>"$err" 3>&- &
	FG_COLLECTOR=$!
	wait_for 50 0.1 curl -sf -o /dev/null "http://127.0.0.1:$port/metrics" ||
		fail "no metrics on 127.0.0.1:$port: $(cat "$err")"
	lib=$(grep -o '/[^ ]*libmicrohttpd[^ ]*' "/proc/$FG_COLLECTOR/maps" | head -n 1)
	[ -n "$lib" ] || fail "metrics served without libmicrohttpd mapped"
	kill "$FG_COLLECTOR"
	wait "$FG_COLLECTOR" || true

	# on a host without it (here: hidden in a mount namespace of the collector's own), the
	# collector says what is missing and goes on collecting records
	unshare -m sh -c 'mount --bind /dev/null "$1" && exec "$2" --foreground --config "$3"' \
		sh "$lib" "$OCIBPFD" "$OCIBPF_CONFIG" </dev/null >/dev/null 2>"$err" 3>&- &
	FG_COLLECTOR=$!
	wait_for 50 0.1 test -S "$STATE_DIR/ocibpfd.sock" || fail "no collector: $(cat "$err")"
	wait_for 50 0.1 grep -qs "cannot serve metrics on 127.0.0.1:$port: .*(install libmicrohttpd)" \
		"$err" "$STATE_DIR/ocibpfd.log" || fail "not said: $(cat "$err" "$STATE_DIR/ocibpfd.log" 2>/dev/null)"
	run curl -sf -o /dev/null "http://127.0.0.1:$port/metrics"
	assert_failure
	audited_reading /etc/passwd
	kill "$FG_COLLECTOR"
	wait "$FG_COLLECTOR" || true
	FG_COLLECTOR=
}

@test "OOM kills, working set and CFS throttling are counted from the cgroup" {
	# 32 MiB of memory, dd asks for a 64 MiB buffer: the OOM killer takes it; a tenth of a
	# CPU and a busy loop: throttled.
	update_config '.linux.resources.memory = {"limit": 33554432}
		| .linux.resources.cpu = {"quota": 10000, "period": 100000}'
	phased_container runc \
		'dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; i=0; while [ $i -lt 20000 ]; do i=$((i + 1)); done' \
		":"
	phase 1
	local s
	wait_for 50 0.1 eval 's=$(stats_json "$CID") && jq -e ".oom_kills >= 1 and .cpu_throttled_periods >= 1" <<<"$s" >/dev/null' ||
		fail "not counted: $s"
	echo "stats: $s" >&2
	check_stats "$s" '.oom_kills >= 1 and .cpu_periods >= .cpu_throttled_periods
		and .cpu_throttled_ns > 0 and .memory_working_set_bytes <= .memory_bytes
		and .memory_working_set_bytes > 0'
	ocibpf metrics
	assert_success
	assert_line --regexp "^ocibpf_container_oom_events_total\{container_id=\"$CID\",policy=\"telemetry\"\} [1-9][0-9]*\$"
	assert_line --regexp "^ocibpf_container_cpu_cfs_throttled_periods_total\{container_id=\"$CID\",policy=\"telemetry\"\} [1-9][0-9]*\$"
	assert_line --regexp "^ocibpf_container_cpu_cfs_throttled_seconds_total\{container_id=\"$CID\",policy=\"telemetry\"\} [0-9]+\.[0-9]{9}\$"
	go
	wait_stopped runc "$CID"
	runc_cmd delete "$CID"
	assert_success
	# kept in the stop record
	check_stats "$(stop_stats "$CID")" '.oom_kills >= 1 and .cpu_throttled_periods >= 1'
}

# hostile_scraper PORT N: from 127.0.0.2, keep N connections to 127.0.0.1:PORT busy until
# killed, reconnecting whatever is closed: every other one a slowloris (a request's headers
# one line every second, never ended), the others 64 pipelined GET /metrics whose answers
# are never read (a 1 KiB receive buffer). Prints how many it holds, every second.
hostile_scraper() {
	exec python3 - "$1" "$2" <<-'EOF2'
	import socket, sys, time
	port, n = int(sys.argv[1]), int(sys.argv[2])
	def conn(i):
	    s = socket.socket()
	    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
	    s.bind(("127.0.0.2", 0))
	    s.settimeout(1)
	    s.connect(("127.0.0.1", port))
	    s.setblocking(False)
	    if i % 2:
	        s.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 64)
	    else:
	        s.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
	    return s
	socks = [None] * n
	while True:
	    for i in range(n):
	        try:
	            if socks[i] is None:
	                socks[i] = conn(i)
	            elif i % 2 == 0:
	                socks[i].send(b"X-Slow: %d\r\n" % time.monotonic_ns())
	            elif socks[i].recv(1, socket.MSG_PEEK) == b"":
	                raise OSError("closed")
	        except BlockingIOError:
	            pass
	        except OSError:
	            if socks[i] is not None:
	                socks[i].close()
	            socks[i] = None
	    print(sum(s is not None for s in socks), flush=True)
	    time.sleep(1)
	EOF2
}

@test "metrics_listen: a scraper holding all the connections it can from one address (slowloris, answers never read) leaves /metrics to others, and the records and stats of a busy container whole" {
	local port
	port=$(free_port)
	update_host_config --arg l "127.0.0.1:$port" '.metrics_listen = $l'
	echo tick >"$BUNDLE/rootfs/tick"
	write_policy audited '{"audit": {"syscalls": ["openat"]}, "telemetry": true}'
	set_policy audited
	use_host_network
	update_config '.root.readonly = false'
	set_cmd sh -c 'while [ ! -e /go ]; do sleep 0.1; done
		i=0; while [ $i -lt 20000 ]; do : </tick; i=$((i + 1)); done; : >/done; sleep 1000'
	add_hooks
	runc_run -d "$CID"
	assert_success
	wait_for 50 0.1 curl -sf -o /dev/null "http://127.0.0.1:$port/metrics" ||
		fail "no metrics on 127.0.0.1:$port: $(cat "$STATE_DIR/ocibpfd.log" 2>/dev/null)"

	hostile_scraper "$port" 200 >"$BATS_TEST_TMPDIR/hostile" 2>&1 3>&- &
	track_pid $!
	wait_for 100 0.1 eval '[ "$(tail -n 1 "$BATS_TEST_TMPDIR/hostile")" -ge 8 ] 2>/dev/null' ||
		fail "the hostile scraper holds no connection: $(cat "$BATS_TEST_TMPDIR/hostile")"
	touch "$BUNDLE/rootfs/go"

	# for longer than the 15 s idle timeout: Prometheus (another address) is answered
	# every time, within 5 s, and ocibpf stats follows the container
	local t0=$SECONDS i s
	for i in $(seq 10); do
		curl -sf --max-time 5 -o "$BATS_TEST_TMPDIR/scrape" "http://127.0.0.1:$port/metrics" ||
			fail "scrape $i (after $((SECONDS - t0)) s) failed while the hostile scraper holds $(tail -n 1 "$BATS_TEST_TMPDIR/hostile") connections"
		grep -q "^ocibpf_container_start_time_seconds{container_id=\"$CID\"" "$BATS_TEST_TMPDIR/scrape" ||
			fail "scrape $i: no series of $CID"
		s=$(stats_json "$CID") || fail "ocibpf stats $CID failed"
		sleep 2
	done
	[ $((SECONDS - t0)) -ge 20 ] || fail "over in $((SECONDS - t0)) s"
	wait_for 600 0.1 test -e "$BUNDLE/rootfs/done" || fail "the container did not finish"
	echo "the hostile scraper held: $(sort -n "$BATS_TEST_TMPDIR/hostile" | tail -n 1) connections at most" >&2

	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
	local n
	n=$(records "$CID" syscall | jq -s '[.[] | select(.path == "/tick")] | length')
	[ "$n" -eq 20000 ] || fail "want 20000 openat records of /tick, got $n; lost: $(records "$CID" lost)"
}
