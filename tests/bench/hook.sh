#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Hook latency (issue 2): `runc run` of /bin/true with the ocibpf hooks and a policy that
# uses audit, network and telemetry, against the same bundle without hooks.
#  - warm: the programs are pinned already; RUNS runs of each (default 21), interleaved;
#  - cold: the first container of a bpffs_dir (programs loaded and verified); COLD runs
#    (default 7), each after `ocibpf gc --unload`, interleaved with runs without hooks.
# Prints the medians and their ratios (goal: warm ratio <= 1.10). A third bundle whose two
# hooks are /bin/true shows what runc itself spends on running two hooks, which no hook can
# go below.

. "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-21}
COLD=${COLD:-7}

write_policy full '{
  "audit": { "syscalls": ["execve", "openat", "connect"] },
  "network": {
    "egress":  { "default": "allow",
                 "rules": [ { "action": "deny", "cidr": "10.0.0.0/8", "protocol": "tcp", "ports": "22,6000-6100" } ] },
    "ingress": { "default": "deny",
                 "rules": [ { "action": "allow", "cidr": "0.0.0.0/0", "protocol": "tcp", "ports": "8080" } ] }
  },
  "telemetry": true
}'
make_bundle "$BENCH_TMP/plain" "" /bin/true
make_bundle "$BENCH_TMP/hooked" full /bin/true
make_bundle "$BENCH_TMP/noop" full /bin/true
jq '.hooks.createRuntime[0].path = "/bin/true" | .hooks.poststop[0].path = "/bin/true"' \
	"$BENCH_TMP/noop/config.json" >"$BENCH_TMP/c" && mv "$BENCH_TMP/c" "$BENCH_TMP/noop/config.json"

run_once() { runc --root "$RUNC_ROOT" run -b "$BENCH_TMP/$1" "bench-$1"; }

# one of each first: page cache, runc's own first-run costs
run_once plain >/dev/null 2>&1 || die "runc run without hooks failed"
run_once hooked >/dev/null 2>&1 || die "runc run with hooks failed: $(run_once hooked 2>&1)"

: >"$BENCH_TMP/plain.ms"
: >"$BENCH_TMP/hooked.ms"
: >"$BENCH_TMP/noop.ms"
for ((i = 0; i < RUNS; i++)); do
	ms_of run_once plain >>"$BENCH_TMP/plain.ms"
	ms_of run_once hooked >>"$BENCH_TMP/hooked.ms"
	ms_of run_once noop >>"$BENCH_TMP/noop.ms"
done
plain=$(median <"$BENCH_TMP/plain.ms")
hooked=$(median <"$BENCH_TMP/hooked.ms")
noop=$(median <"$BENCH_TMP/noop.ms")

: >"$BENCH_TMP/cold.ms"
: >"$BENCH_TMP/cold-plain.ms"
for ((i = 0; i < COLD; i++)); do
	"$CLI" gc --unload >/dev/null
	ms_of run_once hooked >>"$BENCH_TMP/cold.ms"
	ms_of run_once plain >>"$BENCH_TMP/cold-plain.ms"
done
cold=$(median <"$BENCH_TMP/cold.ms")
cold_plain=$(median <"$BENCH_TMP/cold-plain.ms")

echo "runc run /bin/true, medians in ms (audit + network + telemetry policy):"
printf '  %-38s %8s ms\n' "warm, no hooks ($RUNS runs)" "$plain" \
	"warm, two /bin/true hooks ($RUNS runs)" "$noop" \
	"warm, ocibpf hooks ($RUNS runs)" "$hooked" \
	"cold, no hooks ($COLD runs)" "$cold_plain" \
	"cold, ocibpf hooks ($COLD runs)" "$cold"
echo "  warm ratio: $(ratio "$hooked" "$plain") (goal <= 1.10)"
echo "  runc's own cost of two hooks (/bin/true): $(ratio "$noop" "$plain"); ocibpf over it: $(ratio "$hooked" "$noop")"
echo "  cold ratio: $(ratio "$cold" "$cold_plain")"
