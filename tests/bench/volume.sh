#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Audit log and metric volume (issue 15), to size a log shipper, a central store and
# Prometheus (docs/fleet.md quotes a run):
#  1. One workload (a busybox shell loop: exec cat to read a file, exec nc to make a TCP
#     connection that the policy denies, write a file, exec sleep 0.01) run for RUN_SECONDS
#     (default 10; the loop also execs date) under each audited syscall mix: none (telemetry only), execve, execve +
#     openat + connect (+ the deny), all. Records and bytes per second, and gzip's ratio
#     on the log (what a compressing shipper or store takes). Meanwhile: the collector's
#     CPU (% of one core) and RSS.
#  2. `lost` records: the collector stopped (SIGSTOP) while a container opens a file
#     N_OPEN (default 300,000) times under an openat audit; the kernel ring buffer (16 MiB)
#     overflows; SIGCONT.
#  3. Bytes per record by type (and per syscall name), over every log of 1 and 2.
#  4. The collector idle with IDLE (default 20) sleeping containers (full policy): CPU and
#     RSS over RUN_SECONDS; Prometheus series and bytes per container in `ocibpf metrics`.

. "$(dirname "$0")/lib.sh"
SECONDS_RUN=${RUN_SECONDS:-10}
N_OPEN=${N_OPEN:-300000}
IDLE=${IDLE:-20}
command -v python3 >/dev/null || die "needs python3"
command -v gzip >/dev/null || die "needs gzip"

LOOP=$BENCH_TMP/syscall-loop
gcc -O2 -static -o "$LOOP" tests/bench/syscall-loop.c || die "cannot build syscall-loop (static)"

DENY='"network": { "egress": { "default": "allow",
	"rules": [ { "action": "deny", "cidr": "127.0.0.1/32", "protocol": "tcp", "ports": "9" } ] } }'
write_policy none "{ $DENY, \"telemetry\": true }"
write_policy execve "{ \"audit\": { \"syscalls\": [\"execve\"] }, $DENY, \"telemetry\": true }"
write_policy eoc "{ \"audit\": { \"syscalls\": [\"execve\", \"openat\", \"connect\"] }, $DENY, \"telemetry\": true }"
write_policy all "{ \"audit\": { \"syscalls\": [\"all\"] }, $DENY, \"telemetry\": true }"
write_policy opens '{ "audit": { "syscalls": ["openat"] } }'

# host_net DIR: the bundle shares the host's network namespace (the denied connection
# is refused by the policy either way; this keeps nc's error the policy's).
host_net() {
	jq '.linux.namespaces |= map(select(.type != "network")) | .root.readonly = false' \
		"$1/config.json" >"$1/c" && mv "$1/c" "$1/config.json"
}

# A collector that runs the whole time (as systemd or the DaemonSet runs it).
"$DAEMON" --foreground </dev/null >"$BENCH_TMP/ocibpfd.out" 2>&1 &
DPID=$!
for _ in $(seq 100); do [ -S "$BENCH_TMP/run/ocibpfd.sock" ] || [ -f "$BENCH_TMP/run/ocibpfd.pid" ] && break; sleep 0.05; done
sleep 0.5
kill -0 "$DPID" 2>/dev/null || die "ocibpfd did not start: $(cat "$BENCH_TMP/ocibpfd.out")"
HZ=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$DPID/stat"; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$DPID/status"; }
is_stopped() { [ "$(runc --root "$RUNC_ROOT" state "$1" 2>/dev/null | jq -r .status)" = stopped ]; }

# --- 1. the workload under each mix -----------------------------------------------------
WORK="end=\$((\$(date +%s) + $SECONDS_RUN)); i=0
while [ \$(date +%s) -lt \$end ]; do
	cat /etc/passwd >/dev/null; nc 127.0.0.1 9 </dev/null 2>/dev/null; echo \$i >/tmp/f
	sleep 0.01; i=\$((i + 1))
done; echo \$i >/tmp/iterations"
echo "one workload for ${SECONDS_RUN} s (a shell loop: cat a file, a denied TCP connect, write a file, sleep 0.01), by audited syscalls:"
printf '  %-26s %9s %8s %10s %9s %8s %7s %9s\n' mix loops/s recs/s bytes/s gzip-B/s B/loop "cpu%" "rss-KiB"
for mix in none execve eoc all; do
	make_bundle "$BENCH_TMP/w-$mix" "$mix" sh -c "$WORK"
	host_net "$BENCH_TMP/w-$mix"
	c0=$(cpu_ticks)
	t0=$(date +%s%N)
	runc --root "$RUNC_ROOT" run -d -b "$BENCH_TMP/w-$mix" "vol-$mix" </dev/null >/dev/null 2>&1 ||
		die "runc run vol-$mix failed"
	rss=0
	while ! is_stopped "vol-$mix"; do
		r=$(rss_kb)
		[ "$r" -gt "$rss" ] && rss=$r
		sleep 0.2
	done
	t1=$(date +%s%N)
	c1=$(cpu_ticks)
	runc --root "$RUNC_ROOT" delete "vol-$mix" >/dev/null
	log=$BENCH_TMP/log/vol-$mix.jsonl
	loops=$(cat "$BENCH_TMP/w-$mix/rootfs/tmp/iterations")
	recs=$(wc -l <"$log")
	bytes=$(wc -c <"$log")
	gz=$(gzip -c "$log" | wc -c)
	awk -v m="$mix" -v l="$loops" -v r="$recs" -v b="$bytes" -v g="$gz" -v t="$(((t1 - t0) / 1000000))" \
		-v c="$((c1 - c0))" -v hz="$HZ" -v rss="$rss" -v s="$SECONDS_RUN" 'BEGIN {
		name = (m == "eoc") ? "execve+openat+connect" : m
		printf "  %-26s %9.0f %8.0f %10.0f %9.0f %8.0f %7.1f %9d\n", name, l / s, r / s, b / s, g / s,
			(l ? b / l : 0), 100 * c / hz / (t / 1000), rss }'
done
echo "  (recs/s and bytes/s: of this one container; gzip-B/s: the same log gzip -6'd;"
echo "   cpu%: the collector's, of one core, over the container's run, which includes runc's start and stop)"

# --- 2. lost records ----------------------------------------------------------------------
echo
# (the hooks talk to the collector: it is stopped only while the container's loop runs)
make_bundle "$BENCH_TMP/opens" opens sh -c "while [ ! -e /tmp/go ]; do sleep 0.05; done
	/syscall-loop openat $N_OPEN /target >/dev/null; : >/tmp/done
	while [ ! -e /tmp/end ]; do sleep 0.05; done"
host_net "$BENCH_TMP/opens"
cp "$LOOP" "$BENCH_TMP/opens/rootfs/syscall-loop"
echo target >"$BENCH_TMP/opens/rootfs/target"
runc --root "$RUNC_ROOT" run -d -b "$BENCH_TMP/opens" vol-lost </dev/null >/dev/null 2>&1 || die "runc run vol-lost failed"
sleep 0.5
kill -STOP "$DPID"
: >"$BENCH_TMP/opens/rootfs/tmp/go"
for _ in $(seq 600); do [ -e "$BENCH_TMP/opens/rootfs/tmp/done" ] && break; sleep 0.1; done
kill -CONT "$DPID"
: >"$BENCH_TMP/opens/rootfs/tmp/end"
for _ in $(seq 600); do is_stopped vol-lost && break; sleep 0.1; done
runc --root "$RUNC_ROOT" delete vol-lost >/dev/null
log=$BENCH_TMP/log/vol-lost.jsonl
echo "collector stopped while a container opened a file $N_OPEN times (openat audited):"
jq -s '{records: length, opens_recorded: (map(select(.type == "syscall")) | length),
	lost_records: (map(select(.type == "lost")) | length),
	lost_count: (map(select(.type == "lost") | .count // 0) | add)}' -c "$log" | sed 's/^/  /'

# --- 3. bytes per record -------------------------------------------------------------------
echo
echo "bytes per record (with its newline), every log above:"
python3 - "$BENCH_TMP"/log/*.jsonl <<'EOF'
import json, sys
by = {}
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        for line in f:
            r = json.loads(line)
            keys = [r["type"]]
            if r["type"] == "syscall":
                keys.append("syscall " + r.get("syscall", "?"))
            for k in keys:
                by.setdefault(k, []).append(len(line))
print("  %-22s %8s %7s %7s %7s" % ("type", "records", "mean", "median", "max"))
order = ["start", "exec", "syscall", "net", "lost", "stop"]
for k in sorted(by, key=lambda k: (order.index(k.split()[0]) if k.split()[0] in order else 9, k)):
    v = sorted(by[k])
    if k.startswith("syscall ") and len(v) < 40:
        continue
    print("  %-22s %8d %7.0f %7d %7d" % (k, len(v), sum(v) / len(v), v[len(v) // 2], v[-1]))
EOF

# --- 4. idle, and metrics -------------------------------------------------------------------
echo
make_bundle "$BENCH_TMP/idle" eoc sleep 3600
for ((i = 0; i < IDLE; i++)); do
	runc --root "$RUNC_ROOT" run -d -b "$BENCH_TMP/idle" "vol-idle-$i" </dev/null >/dev/null 2>&1 ||
		die "runc run vol-idle-$i failed"
done
sleep 2
c0=$(cpu_ticks)
sleep "$SECONDS_RUN"
c1=$(cpu_ticks)
awk -v n="$IDLE" -v c="$((c1 - c0))" -v hz="$HZ" -v s="$SECONDS_RUN" -v rss="$(rss_kb)" 'BEGIN {
	printf "collector with %d idle containers (execve+openat+connect audited, telemetry): cpu %.2f%% of one core over %d s, rss %d KiB\n",
		n, 100 * c / hz / s, s, rss }'
"$CLI" metrics >"$BENCH_TMP/metrics.txt"
series=$(grep -c '^ocibpf_container_[a-z_]*{container_id="vol-idle-0"' "$BENCH_TMP/metrics.txt" || true)
bytes=$(grep '^ocibpf_container_[a-z_]*{container_id="vol-idle-0"' "$BENCH_TMP/metrics.txt" | wc -c)
total=$(grep -vc '^#' "$BENCH_TMP/metrics.txt" || true)
echo "Prometheus: $series series per container (${bytes} bytes of exposition text each scrape, without engine labels);"
echo "  $total series in all with $IDLE containers; a scrape is $(wc -c <"$BENCH_TMP/metrics.txt") bytes"
for ((i = 0; i < IDLE; i++)); do
	runc --root "$RUNC_ROOT" delete -f "vol-idle-$i" >/dev/null 2>&1
done
kill "$DPID"
wait "$DPID" 2>/dev/null || true
