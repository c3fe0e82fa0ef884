#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
#
# Resource telemetry (issue 5): `ocibpf stats`, the `stop` record's stats, `ocibpf
# metrics`, `ocibpfd --metrics-listen`, under runc and crun, on cgroup v2 files or the
# v1 controllers of hybrid hosts.

load helpers
load telemetry-helpers

setup_file() {
	ocibpf_setup_file
}

teardown_file() {
	ocibpf_teardown_file
}

setup() {
	requires root cgroup2 bpf bpftool jq busybox
	ocibpf_setup
	for bin in "$OCIBPF_HOOK" "$OCIBPF_CLI" "$OCIBPFD"; do
		[ -x "$bin" ] || fail "$bin is not built (run make)"
	done
	setup_busybox_bundle
}

teardown() {
	telemetry_teardown
	ocibpf_teardown
}

# traffic N: N downloads of the blob, each by an exec of busybox.
traffic() {
	echo "i=0; while [ \$i -lt $1 ]; do /bin/busybox wget -q -O /dev/null $BLOB_URL; i=\$((i + 1)); done"
}

# 16 MiB that dd allocates as its buffer: a memory peak of at least that.
MEMORY_WORK='dd if=/dev/zero of=/dev/null bs=16M count=1 2>/dev/null'

# running_stats_test RT: stats of a running container with traffic, in two phases.
running_stats_test() {
	local rt=$1 s0 s1 s2
	start_blob_server
	phased_container "$rt" "$(traffic 3); $MEMORY_WORK" "$(traffic 3)"

	s0=$(stats_json "$CID")
	check_stats "$s0" '.id == $id and .syscalls == null and .egress_denied == 0
		and .ingress_denied == 0 and .pids >= 1 and .memory_bytes > 0' --arg id "$CID"

	phase 1
	s1=$(stats_json "$CID")
	echo "phase 1: $s1" >&2
	# 3 downloads: the blob three times plus headers, a handful of requests out
	check_stats "$s1" '.rx_bytes >= 3 * $b and .rx_bytes < 3 * $b * 1.5 + 65536
		and .rx_packets >= 3 and .tx_packets >= 3 and .tx_bytes > 300 and .tx_bytes < 1048576
		and .execs == 1 + 3
		and .memory_peak_bytes >= 16 * 1048576 and .memory_peak_bytes >= .memory_bytes
		and .memory_bytes > 0 and .pids >= 1 and .pids < 64 and .cpu_ns > 0
		and .cpu_ns < 60 * 1000000000' --argjson b "$BLOB_SIZE"

	phase 2
	s2=$(stats_json "$CID")
	echo "phase 2: $s2" >&2
	# monotonic, and phase 2's work is in there
	jq -e -n --argjson a "$s0" --argjson b "$s1" --argjson c "$s2" --argjson blob "$BLOB_SIZE" '
		[ "cpu_ns", "rx_bytes", "rx_packets", "tx_bytes", "tx_packets", "execs",
		  "memory_peak_bytes", "io_read_bytes", "io_write_bytes" ] as $k
		| all($k[]; $a[.] <= $b[.] and $b[.] <= $c[.])
		and $c.rx_bytes - $b.rx_bytes >= 3 * $blob
		and $c.execs - $b.execs == 3' >/dev/null ||
		fail "not monotonic: $s0 / $s1 / $s2"

	# the table, like podman stats
	ocibpf stats "$CID"
	assert_success
	assert_line --index 0 --regexp '^ID +NAME +CPU % +MEM USAGE / PEAK +PIDS +NET RX / TX +BLOCK I/O +DENIED EG / IN +EXECS$'
	assert_line --index 1 --regexp "^$CID +- +[0-9]+\.[0-9]{2}% +[0-9.]+[KMG]?i?B / [0-9.]+[KMG]i?B +[0-9]+ +[0-9.]+[kMG]?B / [0-9.]+[kMG]?B "
	[ "${#lines[@]}" -eq 2 ]

	# after its last phase the container exits
	wait_stopped "$rt" "$CID"
	"${rt}_cmd" delete "$CID"
	assert_success
	assert_stopped "$CID"
	[ ! -e "$STATE_DIR/stats/$CID.json" ] || fail "stats file left: $STATE_DIR/stats/$CID.json"
}

@test "runc: stats of a running container with traffic are plausible and monotonic" {
	requires runc
	running_stats_test runc
}

@test "crun: stats of a running container with traffic are plausible and monotonic" {
	requires crun
	running_stats_test crun
}

# stop_equals_live_test RT: the stop record carries the last live values.
stop_equals_live_test() {
	local rt=$1 live fin
	start_blob_server
	phased_container "$rt" "$(traffic 2); $MEMORY_WORK" ":"
	phase 1
	sleep 0.5   # the last ACKs of the downloads
	live=$(stats_json "$CID")
	echo "live: $live" >&2

	# the collector persists them while the container lives
	local sf=$STATE_DIR/stats/$CID.json
	wait_for 30 0.1 test -e "$sf"
	jq -e --argjson cg "$(jq .cgroup_id "$(state_file "$CID")")" '.cgroup_id == $cg' "$sf" >/dev/null

	# phase 2 does nothing: the container exits
	go
	wait_stopped "$rt" "$CID"
	"${rt}_cmd" delete "$CID"
	assert_success
	assert_stopped "$CID"
	[ ! -e "$sf" ] || fail "stats file left: $sf"

	fin=$(stop_stats "$CID")
	echo "stop: $fin" >&2
	jq -e -n --argjson l "$live" --argjson f "$fin" '
		# nothing was sent, received or run in between
		all("rx_bytes", "rx_packets", "tx_bytes", "tx_packets", "execs", "egress_denied",
		    "ingress_denied"; $f[.] == $l[.])
		# a little CPU (a shell loop noticing the file), no new memory peak
		and $f.cpu_ns >= $l.cpu_ns and $f.cpu_ns - $l.cpu_ns < 2000000000
		and $f.memory_peak_bytes >= $l.memory_peak_bytes
		and $f.memory_peak_bytes - $l.memory_peak_bytes < 4194304
		and $f.io_read_bytes >= $l.io_read_bytes and $f.io_write_bytes >= $l.io_write_bytes
		and $f.pids <= $l.pids and $f.id == $l.id and $f.syscalls == null' >/dev/null ||
		fail "stop record stats differ from the last live ones: live $live, stop $fin"
}

@test "runc: the stop record's stats equal the last live values" {
	requires runc
	stop_equals_live_test runc
}

@test "crun: the stop record's stats equal the last live values" {
	requires crun
	stop_equals_live_test crun
}

# foreground_run_test RT: the runtime removes the cgroup before poststop; the stop
# record still has the cgroup's totals (the collector's persisted values).
foreground_run_test() {
	local rt=$1 fin
	start_blob_server
	write_policy telemetry "$TELEMETRY_POLICY"
	set_policy telemetry
	use_host_network
	set_cmd sh -c "$(traffic 2); $MEMORY_WORK; sleep 1.5; exit 0"
	add_hooks
	"${rt}_run" "$CID"
	assert_success
	assert_stopped "$CID"
	fin=$(stop_stats "$CID")
	echo "stop: $fin" >&2
	check_stats "$fin" '.cpu_ns > 0 and .memory_peak_bytes >= 16 * 1048576
		and .rx_bytes >= 2 * $b and .execs >= 3' --argjson b "$BLOB_SIZE"
	[ ! -e "$STATE_DIR/stats/$CID.json" ]
}

@test "runc: a foreground container's stop record keeps its cgroup totals" {
	requires runc
	foreground_run_test runc
}

@test "crun: a foreground container's stop record keeps its cgroup totals" {
	requires crun
	foreground_run_test crun
}

# policed_transfer_test RT: downloads between two containers of one network policy. The
# packets of an allowed connection need no check: the client's socket (connect4 checked
# it) and the server's accepted ones (their listener's mark) are counted by the
# container their socket's storage names, without a look-up of their cgroup. Every byte
# is counted, and each side's to its own container: what one sent is what the other
# received, but for the few segments a socket sends once it is no longer the process's
# (the last ACK, from TIME_WAIT), and the headers of the segments a large send is cut
# into after the sender counted it (one packet at egress, a few at ingress: < 0.1 %).
policed_transfer_test() {
	local rt=$1 p n=3 blob=$((4 * 1024 * 1024)) srv cli
	p=$(free_port)
	write_policy policed "{\"telemetry\": true, \"network\": {
		\"egress\": {\"default\": \"deny\", \"rules\": [{\"action\": \"allow\",
			\"cidr\": \"127.0.0.1/32\", \"protocol\": \"tcp\", \"ports\": \"$p\"}]},
		\"ingress\": {\"default\": \"deny\", \"rules\": [{\"action\": \"allow\",
			\"cidr\": \"127.0.0.1/32\", \"protocol\": \"tcp\", \"ports\": \"$p\"}]}}}"
	mkdir "$BUNDLE/rootfs/www"
	head -c "$blob" /dev/urandom >"$BUNDLE/rootfs/www/blob"
	set_policy policed
	use_host_network
	set_cmd httpd -f -p "127.0.0.1:$p" -h /www
	add_hooks
	"${rt}_run" -d "$CID-srv"
	assert_success
	wait_for 50 0.1 sh -c "ss -Htln 'sport = :$p' | grep -q ." || fail "the server does not listen"

	setup_busybox_bundle "$BATS_TEST_TMPDIR/bundle-cli"
	set_policy policed
	use_host_network
	set_cmd sh -c "i=0; while [ \$i -lt $n ]; do
		wget -q -O /dev/null http://127.0.0.1:$p/blob || exit 1; i=\$((i + 1)); done
		wget -q -O /dev/null http://127.0.0.2:$p/blob && exit 2; exit 0"
	add_hooks
	"${rt}_run" "$CID-cli"
	assert_success
	sleep 0.5	# the server's last segments
	srv=$(stats_json "$CID-srv")
	cli=$(stop_stats "$CID-cli")
	echo "server: $srv" >&2
	echo "client: $cli" >&2
	"${rt}_cmd" delete -f "$CID-srv"
	assert_success
	assert_stopped "$CID-srv"
	assert_stopped "$CID-cli"

	# the policy held (the download from 127.0.0.2 was denied), and every byte counted
	check_stats "$cli" '.egress_denied >= 1 and .rx_bytes >= $n * $b and .tx_bytes < $n * 65536
		and .rx_packets >= $n * 3 and .tx_packets >= $n * 3' --argjson n "$n" --argjson b "$blob"
	check_stats "$srv" '.egress_denied == 0 and .ingress_denied == 0
		and .tx_bytes >= $n * $b and .rx_bytes < $n * 65536' --argjson n "$n" --argjson b "$blob"
	jq -e -n --argjson s "$srv" --argjson c "$cli" --argjson n "$n" '
		def near(a; b; most): (a - b) as $d | ($d < 0 and -$d <= most) or ($d >= 0 and $d <= most);
		near($s.rx_packets; $c.tx_packets; 4 * $n) and near($s.rx_bytes; $c.tx_bytes; 4 * $n * 100)
		and $c.rx_packets >= $s.tx_packets - 4 * $n
		and near($s.tx_bytes; $c.rx_bytes; $s.tx_bytes / 100 + 4 * $n * 100)' >/dev/null ||
		fail "what one container sent is not what the other received: server $srv, client $cli"
}

@test "runc: a download between two containers under a network policy is counted in full, each side to its own container" {
	requires runc
	policed_transfer_test runc
}

@test "crun: a download between two containers under a network policy is counted in full, each side to its own container" {
	requires crun
	policed_transfer_test crun
}

@test "hybrid: memory, pids and block I/O come from the v1 controllers" {
	requires runc cgroup2_hybrid
	local disk
	disk=$(whole_disk_of "$BUNDLE/rootfs") || skip "no block device under $BUNDLE"
	phased_container runc \
		"$MEMORY_WORK; dd if=/dev/zero of=/tmp/io bs=1M count=8 oflag=direct 2>/dev/null; dd if=/tmp/io of=/dev/null bs=1M iflag=direct 2>/dev/null" \
		":"
	local cg2 mem pids blkio cpuacct
	cg2=$(cgroup2_of "$CT_PID")
	# hybrid: the container's cgroup2 directory has none of these controllers' files
	[ ! -e "$cg2/memory.current" ] && [ ! -e "$cg2/pids.current" ] && [ ! -e "$cg2/io.stat" ]
	mem=$(v1_dir memory "$CT_PID")
	pids=$(v1_dir pids "$CT_PID")
	blkio=$(v1_dir blkio "$CT_PID")
	cpuacct=$(v1_dir cpuacct "$CT_PID")
	[ -d "$mem" ] && [ -d "$pids" ] && [ -d "$blkio" ] && [ -d "$cpuacct" ]
	jq -e '.cgroup_v1_memory != null and .cgroup_v1_pids != null' "$(state_file "$CID")"
	# Linux 6.x counts v1 block I/O only on queues where blk-throttle is configured:
	# a limit nobody reaches turns the accounting on.
	echo "$disk 107374182400" >"$blkio/blkio.throttle.write_bps_device"

	phase 1
	local s v1_peak v1_usage v1_pids v1_read v1_write v1_cpu
	s=$(stats_json "$CID")
	v1_peak=$(cat "$mem/memory.max_usage_in_bytes")
	v1_usage=$(cat "$mem/memory.usage_in_bytes")
	v1_pids=$(cat "$pids/pids.current")
	v1_read=$(awk '$2 == "Read" { n += $3 } END { print n + 0 }' "$blkio/blkio.throttle.io_service_bytes_recursive")
	v1_write=$(awk '$2 == "Write" { n += $3 } END { print n + 0 }' "$blkio/blkio.throttle.io_service_bytes_recursive")
	v1_cpu=$(cat "$cpuacct/cpuacct.usage")
	echo "ocibpf: $s" >&2
	echo "v1: peak $v1_peak usage $v1_usage pids $v1_pids read $v1_read write $v1_write cpu $v1_cpu" >&2
	check_stats "$s" '.memory_peak_bytes == $peak and .pids == $pids
		and (.memory_bytes - $usage | fabs) <= $usage * 0.1 + 65536
		and .io_write_bytes >= 8 * 1048576 and .io_read_bytes >= 8 * 1048576
		and .io_write_bytes <= $write and .io_read_bytes <= $read
		and .cpu_ns > 0 and .cpu_ns >= $cpu * 0.8 and .cpu_ns <= $cpu * 1.2 + 10000000' \
		--argjson peak "$v1_peak" --argjson usage "$v1_usage" --argjson pids "$v1_pids" \
		--argjson read "$v1_read" --argjson write "$v1_write" --argjson cpu "$v1_cpu"

	# and they survive the v1 cgroups
	go
	wait_stopped runc "$CID"
	runc_cmd delete "$CID"
	assert_success
	assert_stopped "$CID"
	check_stats "$(stop_stats "$CID")" '.memory_peak_bytes >= $peak and .io_write_bytes >= 8 * 1048576' \
		--argjson peak "$v1_peak"
}

@test "hybrid: a container whose init exited but is not reaped yet (a zombie: its v1 paths read /) never gets the host's block I/O" {
	requires runc cgroup2_hybrid
	command -v python3 >/dev/null || skip "test requires python3 (a subreaper that does not reap)"
	write_policy telemetry "$TELEMETRY_POLICY"
	set_policy telemetry
	set_cmd sleep 300
	add_hooks
	# runc run -d under a child subreaper that never reaps: the container's init, once
	# killed, stays a zombie, as under a shim or conmon that has not got to it yet.
	python3 -c 'import ctypes, os, subprocess, sys, time
ctypes.CDLL(None).prctl(36, 1)   # PR_SET_CHILD_SUBREAPER
subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
open(os.environ["BATS_TEST_TMPDIR"] + "/started", "w").close()
time.sleep(600)' timeout 60 "$RUNC" --root "$RUNC_ROOT" run -d -b "$BUNDLE" "$CID" 3>&- &
	track_pid $!
	wait_for 300 0.05 test -e "$BATS_TEST_TMPDIR/started" || fail "runc run -d did not start $CID"
	local pid blkio
	pid=$(runtime_state runc "$CID" pid)
	blkio=$(v1_dir blkio "$pid")
	[ -d "$blkio" ] && [ "$blkio" != "$(v1_dir blkio $$)" ] || fail "no blkio cgroup of its own: $blkio"
	# the host's totals, which the container's must never be taken for
	local host_read
	host_read=$(awk '$2 == "Read" { n += $3 } END { printf "%d\n", n }' \
		"$(v1_dir blkio 1)/blkio.throttle.io_service_bytes_recursive" 2>/dev/null || echo 0)
	[ "${host_read:-0}" -gt 1048576 ] || skip "the root blkio cgroup counts no reads (nothing to mistake)"

	__runc kill "$CID" KILL
	wait_for 100 0.05 sh -c "grep -q '^State:.*Z' /proc/$pid/status" ||
		fail "$pid is not a zombie: $(grep ^State /proc/$pid/status)"
	# the zombie's v1 paths are the root's; its cgroup2 path is still the container's
	grep -q '^[0-9]*:blkio:/$' "/proc/$pid/cgroup" || fail "$(cat /proc/$pid/cgroup)"
	local s
	s=$(stats_json "$CID")
	echo "stats of the zombie's container: $s (host read $host_read)" >&2
	check_stats "$s" '.io_read_bytes < 1048576 and .io_write_bytes < 1048576'

	telemetry_teardown   # the subreaper: the zombie goes to init, which reaps it
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
	check_stats "$(stop_stats "$CID")" '.io_read_bytes < 1048576 and .io_write_bytes < 1048576'
}

@test "ocibpf stats --watch refreshes every second until interrupted" {
	requires runc
	write_policy telemetry "$TELEMETRY_POLICY"
	set_policy telemetry
	set_cmd sleep 300
	add_hooks
	runc_run -d "$CID"
	assert_success

	run --separate-stderr timeout --preserve-status -s INT 3.5 "$OCIBPF_CLI" stats --watch "$CID"
	echo "$output" >&2
	assert_success   # interrupted is the normal end
	local frames
	frames=$(grep -c '^ID ' <<<"$output")
	[ "$frames" -ge 3 ] && [ "$frames" -le 5 ] || fail "want 3 to 5 frames in 3.5 s, got $frames"
	# after the first frame CPU % is known
	[ "$(grep -c "^$CID .*[0-9]%" <<<"$output")" -ge 2 ]

	run --separate-stderr timeout --preserve-status -s INT 2.5 "$OCIBPF_CLI" stats --watch --json "$CID"
	assert_success
	[ "${#lines[@]}" -ge 2 ]
	for l in "${lines[@]}"; do
		jq -e --arg id "$CID" 'length == 1 and .[0].id == $id' <<<"$l" >/dev/null
	done

	runc_cmd delete -f "$CID"
	assert_success
}

@test "ocibpf stats: every container, usage errors, unknown ids" {
	requires runc
	write_policy telemetry "$TELEMETRY_POLICY"
	set_policy telemetry
	set_cmd sleep 300
	add_hooks
	runc_run -d "$CID"
	assert_success

	ocibpf stats --json
	assert_success
	jq -e --arg id "$CID" 'length == 1 and .[0].id == $id
		and (.[0] | has("cpu_ns", "memory_bytes", "pids", "rx_bytes", "rx_packets", "tx_bytes",
				"tx_packets", "egress_denied", "ingress_denied", "execs", "syscalls",
				"memory_peak_bytes", "io_read_bytes", "io_write_bytes"))' <<<"$output"

	ocibpf stats --json "$CID" nosuch
	[ "$status" -eq 1 ]
	jq -e --arg id "$CID" 'length == 1 and .[0].id == $id' <<<"$output"
	[[ "$stderr" == "ocibpf: nosuch: "* ]] || fail "stderr: $stderr"

	ocibpf stats --bogus
	[ "$status" -eq 2 ]

	runc_cmd delete -f "$CID"
	assert_success
	ocibpf stats --json
	assert_success
	[ "$output" = "[]" ]
}

@test "syscalls are counted only when the policy asks" {
	requires runc
	write_policy counted '{"telemetry": {"syscalls": true}}'
	set_policy counted
	set_cmd sh -c 'i=0; while [ $i -lt 50 ]; do cat /proc/self/stat >/dev/null; i=$((i + 1)); done; sleep 300'
	add_hooks
	runc_run -d "$CID"
	assert_success
	local s
	wait_for 50 0.1 eval 's=$(stats_json "$CID") && jq -e ".syscalls > 200" <<<"$s" >/dev/null' ||
		fail "syscalls not counted: $s"
	"$OCIBPF_CLI" metrics | grep -q "^ocibpf_container_syscalls_total{container_id=\"$CID\",policy=\"counted\"} [1-9]"
	runc_cmd delete -f "$CID"
	assert_success
	check_stats "$(stop_stats "$CID")" '.syscalls > 200'
}

# count_entries MAP CGID: entries of the container in a pinned map of the set, by their
# container_cgid (ocibpf_syscall_counts) or their key (ocibpf_syscall_seen); syscall
# numbers for the counts, one a line.
count_entries() {
	local m
	m=$(echo "$BPFFS_DIR"/sets/*/maps/"$1")
	bpftool -j map dump pinned "$m" | jq -r --argjson c "$2" '.[].formatted |
		if (.key | type) == "object" then select(.key.container_cgid == $c) | .key.nr
		else select(.key == $c) | "seen" end'
}

cgid_of() {
	jq -r .cgroup_id "$(state_file "$1")"
}

@test "syscall counts: stopping one container leaves another's whole; each container's entries go with its poststop" {
	requires runc
	write_policy counted '{"telemetry": {"syscalls": true}}'
	set_policy counted
	set_cmd sh -c 'i=0; while [ $i -lt 50 ]; do cat /proc/self/stat >/dev/null; i=$((i + 1)); done; sleep 300'
	add_hooks
	runc_run -d "$CID-a"
	assert_success
	runc_run -d "$CID-b"
	assert_success
	local a b s id
	a=$(cgid_of "$CID-a")
	b=$(cgid_of "$CID-b")
	for id in "$CID-a" "$CID-b"; do
		wait_for 50 0.1 eval 's=$(stats_json "$id") && jq -e ".syscalls > 200" <<<"$s" >/dev/null' ||
			fail "syscalls of $id not counted: $s"
	done
	local before
	before=$(count_entries ocibpf_syscall_counts "$b" | sort -n)
	[ "$(wc -l <<<"$before")" -ge 10 ] || fail "few count entries for $CID-b: $before"
	[ "$(count_entries ocibpf_syscall_seen "$b")" = seen ]
	ocibpf seccomp "$CID-b"
	assert_success
	local live=$output

	runc_cmd delete -f "$CID-a"
	assert_success
	[ -z "$(count_entries ocibpf_syscall_counts "$a")" ] || fail "count entries of $CID-a left after its poststop"
	[ -z "$(count_entries ocibpf_syscall_seen "$a")" ] || fail "seen set of $CID-a left after its poststop"
	# b's entries are all there, and its profile is the same
	comm -23 <(echo "$before") <(count_entries ocibpf_syscall_counts "$b" | sort -n) >"$BATS_TEST_TMPDIR/missing"
	[ ! -s "$BATS_TEST_TMPDIR/missing" ] || fail "count entries of $CID-b gone with $CID-a: $(cat "$BATS_TEST_TMPDIR/missing")"
	ocibpf seccomp "$CID-b"
	assert_success
	[ "$(jq -c '.syscalls[0].names | sort' <<<"$output")" = "$(jq -c '.syscalls[0].names | sort' <<<"$live")" ]

	runc_cmd delete -f "$CID-b"
	assert_success
	[ -z "$(count_entries ocibpf_syscall_counts "$b")" ] || fail "count entries of $CID-b left after its poststop"
	[ -z "$(count_entries ocibpf_syscall_seen "$b")" ] || fail "seen set of $CID-b left after its poststop"
	# its stop record has a count for each entry it had
	local n
	n=$(stop_stats "$CID-b" | jq '.syscall_counts | length')
	[ "$n" -ge "$(wc -l <<<"$before")" ] || fail "stop record of $CID-b counts $n syscalls, it had $(wc -l <<<"$before") entries"
	check_stats "$(stop_stats "$CID-b")" '.syscall_counts.execve >= 1 and .syscalls > 200'
}

@test "syscall counts: a flood of numbers that are no syscall neither fills the count map nor hides another container's syscalls" {
	requires runc
	local tool=$BATS_TEST_TMPDIR/rectool
	gcc -O2 -static -o "$tool" "$INTEGRATION_ROOT/rectool.c" || fail "cannot build rectool (gcc -static)"
	cp "$tool" "$BUNDLE/rootfs/bin/rectool"
	write_policy counted '{"telemetry": {"syscalls": true}}'
	set_policy counted
	add_hooks
	# 70,000 distinct numbers: more than the count map holds (65,536)
	update_config '.root.readonly = false'
	set_cmd sh -c 'rectool nosys 1024 70000; touch /tmp/flooded; sleep 300'
	runc_run -d "$CID-flood"
	assert_success
	wait_for 100 0.1 test -e "$BUNDLE/rootfs/tmp/flooded" || fail "the flood did not finish"
	local f
	f=$(cgid_of "$CID-flood")
	[ "$(count_entries ocibpf_syscall_counts "$f" | wc -l)" -lt 1024 ] || fail "the flood made an entry per number"

	set_cmd sh -c 'cat /proc/self/stat >/dev/null; chroot / /bin/true 2>/dev/null; true'
	runc_run "$CID-other"
	assert_success
	check_stats "$(stop_stats "$CID-other")" '.syscall_counts.execve >= 1 and .syscall_counts.chroot >= 1'
	runc_cmd delete -f "$CID-flood"
	assert_success
	# every number it made is in its total
	check_stats "$(stop_stats "$CID-flood")" '.syscalls >= 70000'
}

@test "metrics: promtool accepts ocibpf metrics; ocibpfd serves the same over HTTP" {
	requires runc
	command -v promtool >/dev/null || skip "test requires promtool (Debian package prometheus)"
	command -v curl >/dev/null || skip "test requires curl"
	local port
	port=$(free_port)
	start_metrics_collector "127.0.0.1:$port"
	start_blob_server
	phased_container runc "$(traffic 2)" ":"
	phase 1

	ocibpf metrics
	assert_success
	local cli=$output
	promtool check metrics <<<"$cli" || fail "promtool rejects ocibpf metrics:
$cli"
	assert_line "ocibpf_containers 1"
	local name
	for name in start_time_seconds cpu_usage_seconds_total memory_usage_bytes \
		memory_max_usage_bytes pids fs_reads_bytes_total fs_writes_bytes_total \
		network_receive_bytes_total network_receive_packets_total \
		network_transmit_bytes_total network_transmit_packets_total \
		network_egress_denied_total network_ingress_denied_total execs_total; do
		assert_line "# TYPE ocibpf_container_$name $([[ $name == *_total ]] && echo counter || echo gauge)"
		assert_line --regexp "^ocibpf_container_$name\{container_id=\"$CID\",policy=\"telemetry\"\} [0-9.e+]+\$"
	done
	# not counted: no series
	refute_line --partial "ocibpf_container_syscalls_total{"

	# the same numbers as ocibpf stats (the container is idle)
	local s rx
	s=$(stats_json "$CID")
	rx=$(sed -n "s/^ocibpf_container_network_receive_bytes_total{container_id=\"$CID\",policy=\"telemetry\"} //p" <<<"$cli")
	[ "$rx" = "$(jq .rx_bytes <<<"$s")" ] || fail "metrics rx $rx, stats $(jq .rx_bytes <<<"$s")"
	[ "$rx" -ge $((2 * BLOB_SIZE)) ]

	# scraped over HTTP: same families, promtool-clean, the right content type
	local hdr=$BATS_TEST_TMPDIR/headers body
	body=$(curl -sf -D "$hdr" "http://127.0.0.1:$port/metrics")
	promtool check metrics <<<"$body" || fail "promtool rejects /metrics:
$body"
	grep -qi '^content-type: text/plain; version=0.0.4' "$hdr" || fail "headers: $(cat "$hdr")"
	diff <(grep '^#' <<<"$cli") <(grep '^#' <<<"$body")
	grep -q "^ocibpf_container_network_receive_bytes_total{container_id=\"$CID\",policy=\"telemetry\"} $rx\$" <<<"$body"
	# HEAD, other paths, other methods
	[ "$(curl -s -o /dev/null -w '%{http_code}' -I "http://127.0.0.1:$port/metrics")" = 200 ]
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nope")" = 404 ]
	[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/metrics")" = 405 ]

	runc_cmd delete -f "$CID"
	assert_success
	body=$(curl -sf "http://127.0.0.1:$port/metrics")
	grep -qx 'ocibpf_containers 0' <<<"$body"
}

@test "metrics: IPv6 listen address, bad addresses refused" {
	command -v curl >/dev/null || skip "test requires curl"
	[ -e /proc/net/if_inet6 ] && ip -6 addr show dev lo | grep -q '::1' || skip "no IPv6 on lo"
	local port
	port=$(free_port)
	start_metrics_collector "[::1]:$port"
	run curl -gsf "http://[::1]:$port/metrics"
	assert_success
	assert_line 'ocibpf_containers 0'
	kill "$METRICS_PID"
	wait_for 50 0.1 test ! -d "/proc/$METRICS_PID"

	local bad
	for bad in nonsense 127.0.0.1 127.0.0.1:0 127.0.0.1:70000 '[::1]' '::1:9100' ':9100'; do
		run --separate-stderr "$OCIBPFD" --foreground --metrics-listen "$bad"
		[ "$status" -eq 2 ] || fail "--metrics-listen $bad: status $status"
		[[ "$stderr" == "ocibpfd: "*"--metrics-listen"* ]] || fail "--metrics-listen $bad: $stderr"
	done
	# a port in use: the collector says so and exits 1
	start_blob_server
	run --separate-stderr "$OCIBPFD" --foreground --metrics-listen "127.0.0.1:$BLOB_PORT"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"cannot serve metrics on 127.0.0.1:$BLOB_PORT"* ]] || fail "$stderr"
}

@test "metrics: label values are escaped (promtool agrees)" {
	command -v promtool >/dev/null || skip "test requires promtool (Debian package prometheus)"
	# A record as a hook writes it, for a cgroup that is gone, with a policy name no
	# hook would accept: the exposition must stay valid whatever is in the label.
	mkdir -p "$STATE_DIR/containers"
	# (printf, not jq: jq 1.6 would print started_ns as 1.7e+18)
	printf '{"id": "%s", "policy": "we\\"ird\\\\po\\nlicy", "pid": 0, "pid_start": 0,
		"cgroup": "/gone", "cgroup_dir": "/sys/fs/cgroup/nonexistent-ocibpf", "cgroup_id": 1,
		"flags": 1, "set": "none", "bundle": "/nonexistent", "started_ns": 1700000000000000000}\n' \
		"$CID" >"$(state_file "$CID")"
	jq -e '.policy == "we\"ird\\po\nlicy"' "$(state_file "$CID")"
	ocibpf metrics
	rm -f "$(state_file "$CID")"
	assert_success
	promtool check metrics <<<"$output" || fail "promtool rejects: $output"
	assert_line "ocibpf_container_cpu_usage_seconds_total{container_id=\"$CID\",policy=\"we\\\"ird\\\\po\\nlicy\"} 0.000000000"
	assert_line "ocibpf_container_start_time_seconds{container_id=\"$CID\",policy=\"we\\\"ird\\\\po\\nlicy\"} 1700000000.000000000"
}

@test "telemetry false adds no programs; true adds the packet counters" {
	requires runc
	write_policy off '{"telemetry": false}'
	set_policy off
	set_cmd sleep 300
	add_hooks
	runc_run -d "$CID"
	assert_success
	local cg
	cg=$(cgroup2_of "$(runtime_state runc "$CID" pid)")
	run bpftool cgroup show "$cg"
	assert_success
	[ -z "$output" ] || fail "programs attached with telemetry false: $output"
	# still recorded: the cgroup's own numbers cost no program
	check_stats "$(stats_json "$CID")" '.rx_bytes == 0 and .tx_bytes == 0 and .memory_bytes > 0'
	runc_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"

	write_policy on '{"telemetry": true}'
	set_policy on
	runc_run -d "$CID-on"
	assert_success
	cg=$(cgroup2_of "$(runtime_state runc "$CID-on" pid)")
	run attach_types "$cg"
	assert_output "egress
ingress"
	runc_cmd delete -f "$CID-on"
	assert_success
}

@test "ocibpf seccomp: the profile of a container run under crun is one crun enforces (the workload runs, a syscall it never made is refused)" {
	requires crun
	write_policy counted '{"telemetry": {"syscalls": true}}'
	set_policy counted
	use_host_network
	add_hooks
	set_cmd sh -c 'echo hi; cat /etc/passwd >/dev/null; trap "echo caught" USR1; kill -USR1 $$'
	crun_run "$CID"
	assert_success
	assert_stopped "$CID"
	ocibpf seccomp "$CID"
	assert_success
	local profile=$BATS_TEST_TMPDIR/profile.json
	printf '%s\n' "$output" >"$profile"
	update_config 'del(.hooks) | del(.annotations) | .linux.seccomp = $p[0]' --slurpfile p "$profile"
	crun_run "$CID-again"
	assert_success
	assert_output --partial hi
	assert_output --partial caught
	set_cmd sh -c 'chroot / /bin/true; echo "chroot status $?"'
	crun_run "$CID-again"
	refute_output --partial "chroot status 0"
	crun_cmd delete -f "$CID-again"
}
