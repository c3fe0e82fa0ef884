#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# load-ab.sh [BUILD_DIR...]: CPU of `ocibpf load --no-collector` after `ocibpf gc --unload`,
# for one or more builds (each a directory holding an `ocibpf`, e.g. a copy of build/ from
# before and after a change; default: build), ROUNDS rounds (default 15), each loading every build once in
# a shuffled order. Medians and minimums of CPU (user + system, what the load costs on a
# loaded machine) and wall. Issue 13: <= 60 ms of CPU.
#
# The kernel keeps a cache of CO-RE candidates across loads (see tests/bench/core-cands.py):
# builds with other BPF objects evict each other's entries, so each measured load follows
# an unmeasured one of the same build (WARM=0 to skip it).
#   cp -a build /tmp/before; <change>; make; tests/bench/load-ab.sh /tmp/before build
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-15}
WARM=${WARM:-1}
[ $# -ge 1 ] || set -- "${OCIBPF_BUILD:-$PWD/build}"
[ "$(id -u)" -eq 0 ] || { echo "${0##*/}: must run as root" >&2; exit 1; }
TMP=$(mktemp -d /tmp/ocibpf-load-ab.XXXXXX)
BPFFS=/sys/fs/bpf/ocibpf-load-ab-$$
cleanup() {
	set +e
	"$1/ocibpf" gc --unload >/dev/null 2>&1
	rm -rf "$BPFFS" "$TMP"
}
trap 'cleanup "$1"' EXIT
mkdir -p "$TMP/run" "$TMP/policies"
export OCIBPF_CONFIG=$TMP/config.json
jq -n --arg t "$TMP" --arg b "$BPFFS" \
	'{log_dir: ($t + "/log"), state_dir: ($t + "/run"), bpffs_dir: $b, policy_dir: ($t + "/policies")}' \
	>"$OCIBPF_CONFIG"
gcc -O2 -o "$TMP/cputime" tests/bench/cputime.c
for i in $(seq "$#"); do : >"$TMP/$i.ms"; done
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for ((r = 0; r < ROUNDS; r++)); do
	for i in $(seq "$#" | shuf); do
		b=${!i}
		"$b/ocibpf" gc --unload >/dev/null
		if [ "$WARM" = 1 ]; then
			"$b/ocibpf" load --no-collector >/dev/null
			"$b/ocibpf" gc --unload >/dev/null
		fi
		sleep 0.5	# the unloaded set's teardown (RCU, workqueues) out of the way
		"$TMP/cputime" "$b/ocibpf" load --no-collector 3>&1 >/dev/null |
			awk '{ printf "%.2f %.2f\n", $1 / 1000, $2 / 1000 }' >>"$TMP/$i.ms"
	done
done
echo "ocibpf load --no-collector after gc --unload, $ROUNDS shuffled rounds (goal: cpu <= 60 ms):"
for i in $(seq "$#"); do
	printf '  %-32s cpu median %6.2f ms  min %6.2f   wall median %7.2f ms\n' "${!i}" \
		"$(cut -d' ' -f2 <"$TMP/$i.ms" | median)" "$(cut -d' ' -f2 <"$TMP/$i.ms" | sort -n | head -1)" \
		"$(cut -d' ' -f1 <"$TMP/$i.ms" | median)"
done
