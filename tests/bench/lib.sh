# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shared by the benchmark scripts: a configuration of their own (temp dirs, a bpffs_dir
# of their own), busybox bundles, medians, and cleanup of everything at exit.

set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${OCIBPF_BUILD:-$PWD/build}
HOOK=$BUILD/ocibpf-hook
CLI=$BUILD/ocibpf
DAEMON=$BUILD/ocibpfd
BUSYBOX=${BUSYBOX:-/bin/busybox}

die() { echo "${0##*/}: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root"
for b in "$HOOK" "$CLI" "$DAEMON"; do [ -x "$b" ] || die "$b is not built (make)"; done
for t in runc jq awk; do command -v "$t" >/dev/null || die "needs $t"; done

BENCH_TMP=$(mktemp -d "/tmp/ocibpf-bench-${0##*/}.XXXXXX")
BENCH_BPFFS=/sys/fs/bpf/ocibpf-bench-$$
RUNC_ROOT=$BENCH_TMP/runc
export OCIBPF_CONFIG=$BENCH_TMP/config.json
mkdir -p "$BENCH_TMP/policies" "$RUNC_ROOT" "$BENCH_TMP/run"
# state_dir on a tmpfs, as /run is wherever systemd runs (ocibpf's default /run/ocibpf).
# Not on this disk: on an ext4 without a journal, every file created in a directory where
# files were just deleted scans the recently deleted inodes (ext4 recently_deleted()), a
# cost of the bench's /tmp that no systemd host has. log_dir stays on disk (/var/log).
mount -t tmpfs -o mode=0700 ocibpf-bench "$BENCH_TMP/run" || die "cannot mount a tmpfs"
chmod 0755 "$BENCH_TMP/policies"
jq -n --arg t "$BENCH_TMP" --arg b "$BENCH_BPFFS" \
	'{log_dir: ($t + "/log"), state_dir: ($t + "/run"), bpffs_dir: $b, policy_dir: ($t + "/policies")}' \
	>"$OCIBPF_CONFIG"
chmod 0644 "$OCIBPF_CONFIG"

bench_cleanup() {
	set +e
	local id
	for id in $(runc --root "$RUNC_ROOT" list -q 2>/dev/null); do
		runc --root "$RUNC_ROOT" delete -f "$id" >/dev/null 2>&1
	done
	"$CLI" gc --unload >/dev/null 2>&1 || echo "gc --unload failed: $("$CLI" gc --unload 2>&1)" >&2
	local p
	p=$(cat "$BENCH_TMP/run/ocibpfd.pid" 2>/dev/null) && kill "$p" 2>/dev/null
	sleep 0.3
	rm -rf "$BENCH_BPFFS"
	# A collector still exiting keeps its log (state_dir/ocibpfd.log) open, and the tmpfs
	# busy: the mount would be left behind (seen on a loaded machine).
	for _ in $(seq 50); do
		mountpoint -q "$BENCH_TMP/run" && ! umount "$BENCH_TMP/run" 2>/dev/null || break
		sleep 0.1
	done
	rm -rf "$BENCH_TMP"
}
trap bench_cleanup EXIT

# write_policy NAME JSON
write_policy() {
	printf '%s\n' "$2" >"$BENCH_TMP/policies/$1.json"
	chmod 0644 "$BENCH_TMP/policies/$1.json"
}

# make_bundle DIR POLICY|"" [ARGS...]: busybox bundle; with POLICY, the ocibpf hooks.
make_bundle() {
	local dir=$1 policy=$2
	shift 2
	mkdir -p "$dir/rootfs/bin" "$dir/rootfs/proc" "$dir/rootfs/dev" "$dir/rootfs/tmp"
	cp "$BUSYBOX" "$dir/rootfs/bin/busybox"
	[ -e "$dir/rootfs/bin/sh" ] || chroot "$dir/rootfs" /bin/busybox --install -s /bin
	runc spec --bundle "$dir"
	local args
	args=$(jq -cn '$ARGS.positional' --args -- "$@")
	jq --argjson a "$args" '.process.terminal = false | .process.args = $a' \
		"$dir/config.json" >"$dir/c" && mv "$dir/c" "$dir/config.json"
	[ -n "$policy" ] || return 0
	jq --arg h "$HOOK" --arg c "$OCIBPF_CONFIG" --arg p "$policy" '
		.annotations["io.ocibpf.policy"] = $p |
		.hooks = { createRuntime: [{path: $h, args: ["ocibpf-hook", "createRuntime"], env: ["OCIBPF_CONFIG=" + $c]}],
			   poststop: [{path: $h, args: ["ocibpf-hook", "poststop"], env: ["OCIBPF_CONFIG=" + $c]}] }' \
		"$dir/config.json" >"$dir/c" && mv "$dir/c" "$dir/config.json"
}

# ms_of CMD...: wall time of CMD in ms (its output discarded).
ms_of() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1 </dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))e-3 | awk '{ printf "%.2f\n", $1 }'
}

# median: of the numbers on stdin.
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B: A / B with 3 decimals.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", a / b }'
}
