#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Telemetry benchmarks (issue 5):
#
#  1. hook latency: `runc run` of /bin/true with the ocibpf hooks and a telemetry-only
#     policy vs without hooks, interleaved, RUNS each (default 21); medians and their
#     ratio (goal <= 1.10);
#  2. the collector with N_CONTAINERS (default 100) monitored containers: its CPU over
#     SAMPLE_S seconds (default 20) and its RSS (goal <= 10 MB), with and without
#     --metrics-listen scrapes;
#  3. `ocibpf metrics`, `ocibpf stats --json` and a /metrics scrape with those containers.
#
# The 100 containers are cheap stand-ins: a sleeping process in a cgroup2 directory of
# its own each, attached by calling the hook directly with an OCI state (what runc would
# pass), so the collector has exactly the work of 100 real containers. Everything lives
# in a configuration of its own (temp dirs, bpffs_dir /sys/fs/bpf/ocibpf-bench-PID) and
# is removed at the end; state_dir is a tmpfs of its own, like /run. Needs root, runc, busybox-static, jq, curl; run from `make bench`.

set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD=${OCIBPF_BUILD:-$PWD/build}
HOOK=$BUILD/ocibpf-hook
CLI=$BUILD/ocibpf
DAEMON=$BUILD/ocibpfd
RUNS=${RUNS:-21}
N_CONTAINERS=${N_CONTAINERS:-100}
SAMPLE_S=${SAMPLE_S:-20}
BUSYBOX=${BUSYBOX:-/bin/busybox}

die() { echo "telemetry.sh: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root"
for b in "$HOOK" "$CLI" "$DAEMON"; do [ -x "$b" ] || die "$b is not built (make)"; done
for t in runc jq curl awk; do command -v "$t" >/dev/null || die "needs $t"; done
[ -x "$BUSYBOX" ] || die "needs a static busybox at $BUSYBOX (busybox-static)"

CGROUP2=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break;
	if ($(i + 1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo)
[ -n "$CGROUP2" ] || die "no cgroup2 mount"

TMP=$(mktemp -d /tmp/ocibpf-bench-telemetry.XXXXXX)
BPFFS=/sys/fs/bpf/ocibpf-bench-$$
export OCIBPF_CONFIG=$TMP/config.json
mkdir -p "$TMP/policies" "$TMP/runc" "$TMP/run"
chmod 0755 "$TMP/policies"
# state_dir on tmpfs, as /run is where it lives by default
mount -t tmpfs -o size=64m,mode=0700 ocibpf-bench "$TMP/run"
jq -n --arg t "$TMP" --arg b "$BPFFS" \
	'{log_dir: ($t + "/log"), state_dir: ($t + "/run"), bpffs_dir: $b, policy_dir: ($t + "/policies")}' \
	>"$OCIBPF_CONFIG"
chmod 0644 "$OCIBPF_CONFIG"
echo '{"telemetry": true}' >"$TMP/policies/telemetry.json"
chmod 0644 "$TMP/policies/telemetry.json"

SLEEPERS=()
IDS=()
COLLECTOR=

cleanup() {
	set +e
	local i
	for i in "${!IDS[@]}"; do
		jq -cn --arg id "${IDS[$i]}" --arg b "$TMP/bundle" \
			'{ociVersion: "1.0.2", id: $id, status: "stopped", bundle: $b}' |
			"$HOOK" poststop >/dev/null 2>&1
	done
	for i in "${SLEEPERS[@]}"; do kill -9 "$i" 2>/dev/null; done
	for i in "${SLEEPERS[@]}"; do wait "$i" 2>/dev/null; done   # not the collector's
	local cg p try
	for i in $(seq "$N_CONTAINERS"); do
		cg=$CGROUP2/ocibpf-bench-$$-$i
		for try in $(seq 20); do
			[ -d "$cg" ] || break
			for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
			rmdir "$cg" 2>/dev/null && break
			sleep 0.1
		done
	done
	local pid
	pid=$(cat "$TMP/run/ocibpfd.pid" 2>/dev/null) && kill "$pid" 2>/dev/null
	[ -z "$COLLECTOR" ] || { kill "$COLLECTOR" 2>/dev/null; wait "$COLLECTOR" 2>/dev/null; }
	for i in $(seq 50); do [ -e "$TMP/run/ocibpfd.pid" ] || break; sleep 0.1; done
	"$CLI" gc --unload >/dev/null 2>&1
	umount "$TMP/run"
	rm -rf "$BPFFS" "$TMP"
}
trap cleanup EXIT
trap "exit 130" INT TERM

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now_ns() { date +%s%N; }

# --- 1. hook latency --------------------------------------------------------------------
make_bundle() {
	local dir=$1
	mkdir -p "$dir/rootfs/bin" "$dir/rootfs/proc" "$dir/rootfs/sys" "$dir/rootfs/dev"
	cp "$BUSYBOX" "$dir/rootfs/bin/busybox"
	ln -sf busybox "$dir/rootfs/bin/true"
	(cd "$dir" && runc spec)
	jq '.process.terminal = false | .process.args = ["/bin/true"]' "$dir/config.json" >"$dir/c" &&
		mv "$dir/c" "$dir/config.json"
}
make_bundle "$TMP/plain"
make_bundle "$TMP/hooked"
jq --arg h "$HOOK" --arg c "$OCIBPF_CONFIG" '.annotations["io.ocibpf.policy"] = "telemetry"
	| .hooks = { createRuntime: [{path: $h, args: ["ocibpf-hook", "createRuntime"], env: ["OCIBPF_CONFIG=" + $c]}],
		     poststop: [{path: $h, args: ["ocibpf-hook", "poststop"], env: ["OCIBPF_CONFIG=" + $c]}] }' \
	"$TMP/hooked/config.json" >"$TMP/c" && mv "$TMP/c" "$TMP/hooked/config.json"

run_once() {
	local bundle=$1 id=$2 t0 t1
	t0=$(now_ns)
	runc --root "$TMP/runc" run -b "$bundle" "$id" </dev/null >/dev/null 2>&1 || die "runc run ($bundle) failed"
	t1=$(now_ns)
	echo $(((t1 - t0) / 1000))
}

echo "# 1. hook latency: runc run /bin/true, telemetry-only hooks vs none ($RUNS runs each, interleaved)"
# warm-up: load and pin the BPF set, start the collector, fill the page cache
for i in 1 2 3; do run_once "$TMP/hooked" "warm-h-$i" >/dev/null; run_once "$TMP/plain" "warm-p-$i" >/dev/null; done
: >"$TMP/plain.us"
: >"$TMP/hooked.us"
for i in $(seq "$RUNS"); do
	if [ $((i % 2)) -eq 0 ]; then
		run_once "$TMP/plain" "p-$i" >>"$TMP/plain.us"
		run_once "$TMP/hooked" "h-$i" >>"$TMP/hooked.us"
	else
		run_once "$TMP/hooked" "h-$i" >>"$TMP/hooked.us"
		run_once "$TMP/plain" "p-$i" >>"$TMP/plain.us"
	fi
done
plain=$(median <"$TMP/plain.us")
hooked=$(median <"$TMP/hooked.us")
ratio=$(awk -v a="$hooked" -v b="$plain" 'BEGIN { printf "%.3f", a / b }')
printf 'no hooks:        median %7.2f ms\n' "$(awk -v v="$plain" 'BEGIN { print v / 1000 }')"
printf 'telemetry hooks: median %7.2f ms\n' "$(awk -v v="$hooked" 'BEGIN { print v / 1000 }')"
echo "ratio: $ratio (goal <= 1.10)"
[ -z "$(ls -A "$TMP/run/containers" 2>/dev/null)" ] || die "containers left monitored after the runs"

# --- 2. the collector with N containers ---------------------------------------------------
echo
echo "# 2. collector with $N_CONTAINERS monitored containers"
# Wait for the hook-started collector to go (idle), then run our own, serving metrics.
for i in $(seq 50); do [ -e "$TMP/run/ocibpfd.pid" ] || break; sleep 0.1; done
PORT=$((20000 + RANDOM % 20000))
"$DAEMON" --foreground --metrics-listen "127.0.0.1:$PORT" </dev/null >"$TMP/ocibpfd.log" 2>&1 &
COLLECTOR=$!
for i in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/metrics" && break; sleep 0.1; done
curl -sf -o /dev/null "http://127.0.0.1:$PORT/metrics" || die "collector does not serve: $(cat "$TMP/ocibpfd.log")"

mkdir -p "$TMP/bundle"
t0=$(now_ns)
for i in $(seq "$N_CONTAINERS"); do
	cg=$CGROUP2/ocibpf-bench-$$-$i
	mkdir "$cg"
	# shellcheck disable=SC2016
	sh -c 'echo $$ >"$1/cgroup.procs" && exec sleep 3600' sh "$cg" </dev/null >/dev/null 2>&1 &
	SLEEPERS+=($!)
	pid=$!
	for _ in $(seq 100); do grep -qx "$pid" "$cg/cgroup.procs" 2>/dev/null && break; sleep 0.01; done
	id=bench-$$-$i
	jq -cn --arg id "$id" --argjson pid "$pid" --arg b "$TMP/bundle" \
		'{ociVersion: "1.0.2", id: $id, status: "creating", pid: $pid, bundle: $b,
		  annotations: {"io.ocibpf.policy": "telemetry"}}' |
		"$HOOK" createRuntime || die "hook createRuntime failed for $id"
	IDS+=("$id")
done
t1=$(now_ns)
echo "attached $N_CONTAINERS containers in $(((t1 - t0) / 1000000)) ms (hook, direct)"
n=$("$CLI" ps --json | jq length)
[ "$n" -eq "$N_CONTAINERS" ] || die "ocibpf ps shows $n containers"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
sampler_tid() { grep -lx ocibpf-sampler /proc/"$1"/task/*/comm 2>/dev/null | head -n 1 | cut -d/ -f5; }
# RSS of the bpf map mappings (the event ring buffers: kernel memory, charged to the
# memory cgroup once whether mapped or not) and of the rest.
rss_split() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / { bpf = ($6 == "anon_inode:bpf-map") }
	     /^Rss:/ { if (bpf) b += $2; else o += $2 }
	     END { printf "%d kB without the bpf map mappings (%d kB of those)", o, b }' "/proc/$1/smaps"
}
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)

sleep 2   # every container sampled at least once, its stats file written
pct() { awk -v c="$1" -v hz="$hz" -v t="$2" 'BEGIN { printf "%.2f", 100 * c / hz / (t / 1e9) }'; }
tid=$(sampler_tid "$COLLECTOR")
# cpu_window WHAT: the collector's and its sampler thread's CPU over SAMPLE_S seconds
cpu_window() {
	local c0 s0 t0 c1 s1 t1
	c0=$(cpu_ticks "$COLLECTOR")
	s0=$(cpu_ticks "$COLLECTOR/task/$tid")
	t0=$(now_ns)
	sleep "$SAMPLE_S"
	c1=$(cpu_ticks "$COLLECTOR")
	s1=$(cpu_ticks "$COLLECTOR/task/$tid")
	t1=$(now_ns)
	echo "collector CPU, $1, ${SAMPLE_S}s: $(pct $((c1 - c0)) $((t1 - t0))) % of one core" \
		"(sampler thread: $(pct $((s1 - s0)) $((t1 - t0))) %)"
}
cpu_window "idle containers"
echo "collector RSS: $(rss_kb "$COLLECTOR") kB (peak $(hwm_kb "$COLLECTOR") kB; goal <= 10240 kB)"
echo "collector RSS: $(rss_split "$COLLECTOR")"
n=$(find "$TMP/run/stats" -name '*.json' | wc -l)
echo "persisted stats files: $n"

# every container active (a process waking up each second): read in full every second
for i in $(seq "$N_CONTAINERS"); do
	# shellcheck disable=SC2016
	sh -c 'echo $$ >"$1/cgroup.procs" && exec sh -c "while sleep 1; do :; done"' sh \
		"$CGROUP2/ocibpf-bench-$$-$i" </dev/null >/dev/null 2>&1 &
	SLEEPERS+=($!)
done
sleep 2
cpu_window "every container active"

# the same while Prometheus scrapes every second
c0=$(cpu_ticks "$COLLECTOR")
t0=$(now_ns)
end=$(($(date +%s) + SAMPLE_S))
while [ "$(date +%s)" -lt "$end" ]; do
	curl -sf -o /dev/null "http://127.0.0.1:$PORT/metrics"
	sleep 1
done
c1=$(cpu_ticks "$COLLECTOR")
t1=$(now_ns)
echo "collector CPU, scraped every second: $(pct $((c1 - c0)) $((t1 - t0))) % of one core"
echo "collector RSS after scrapes: $(rss_kb "$COLLECTOR") kB (peak $(hwm_kb "$COLLECTOR") kB)"

# --- 3. the CLI and a scrape with N containers --------------------------------------------
echo
echo "# 3. with $N_CONTAINERS containers (median of 15)"
time_cmd() {
	local label=$1 i t0 t1
	shift
	for i in $(seq 15); do
		t0=$(now_ns)
		"$@" >/dev/null
		t1=$(now_ns)
		echo $(((t1 - t0) / 1000))
	done | median | awk -v l="$label" '{ printf "%-28s %7.2f ms\n", l, $1 / 1000 }'
}
time_cmd "ocibpf metrics" "$CLI" metrics
time_cmd "ocibpf stats --json" "$CLI" stats --json
time_cmd "GET /metrics (ocibpfd)" curl -sf "http://127.0.0.1:$PORT/metrics"
lines=$("$CLI" metrics | wc -l)
bytes=$("$CLI" metrics | wc -c)
echo "exposition: $lines lines, $bytes bytes"
if command -v promtool >/dev/null; then
	"$CLI" metrics | promtool check metrics && echo "promtool check metrics: ok"
fi
