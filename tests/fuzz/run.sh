#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Run the libFuzzer targets built by `make fuzz-build` (build/fuzz/fuzz-*), printing TAP:
# one "ok" / "not ok" line per target, with its execution count.
#
#   tests/fuzz/run.sh [--check | --long] [TARGET...]
#
# --check (the default; tests/run.sh): each target for FUZZ_CHECK_SECONDS (10), on its
#   seed corpus, with what it finds kept in a temporary directory only.
# --long (make fuzz): each target for FUZZ_SECONDS (60), keeping what it finds in
#   build/fuzz/corpus/TARGET for the next run.
#
# A crash, a sanitizer report, a leak, a broken invariant or an input that runs longer
# than 10 s fails the target; the input is kept in build/fuzz/artifacts/ and the tail of
# the fuzzer's log is shown as TAP comments.

set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
FUZZ_DIR=$BUILD/fuzz
SEEDS=tests/fuzz/corpus
DICT=tests/fuzz/json.dict

mode=check
case ${1:-} in
--check) shift ;;
--long) mode=long; shift ;;
esac
if [ "$mode" = long ]; then
	seconds=${FUZZ_SECONDS:-60}
else
	seconds=${FUZZ_CHECK_SECONDS:-10}
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for t in tests/fuzz/fuzz-*.c; do
		t=$(basename "$t" .c)
		targets+=("$t")
	done
fi

echo "1..${#targets[@]}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$FUZZ_DIR/artifacts"

n=0
failed=0
for t in "${targets[@]}"; do
	n=$((n + 1))
	bin=$FUZZ_DIR/$t
	if [ ! -x "$bin" ]; then
		echo "not ok $n - $t: $bin is not built (make fuzz-build)"
		failed=$((failed + 1))
		continue
	fi
	if [ "$mode" = long ]; then
		work=$FUZZ_DIR/corpus/$t
	else
		work=$tmp/corpus-$t
	fi
	mkdir -p "$work" "$SEEDS/$t"
	log=$tmp/$t.log
	dict=()
	[ -f "$DICT" ] && dict=(-dict="$DICT")
	# The runtime bound: libFuzzer's own, and a hard one above it in case it hangs.
	timeout --kill-after=10 $((seconds + 60)) "$bin" "${dict[@]}" \
		-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
		-print_final_stats=1 -artifact_prefix="$FUZZ_DIR/artifacts/$t-" \
		"$work" "$SEEDS/$t" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ] && [ -n "$execs" ]; then
		echo "ok $n - $t: $execs executions in ${seconds}s, no crash, leak or hang"
	else
		echo "not ok $n - $t: fuzzer exited with status $rc after ${execs:-?} executions"
		grep -E 'ERROR|SUMMARY|invariant|Test unit written|leak' "$log" | head -n 20 | sed 's/^/# /'
		tail -n 30 "$log" | sed 's/^/# /'
		failed=$((failed + 1))
	fi
done

[ "$failed" -eq 0 ]
