#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Run every test of ocibpf: the unit test binaries (build/unit/test-*, TAP) and the
# integration suites (bats --tap tests/integration/*.bats). Their output is
# streamed as it comes; the last line is the tally:
#
#   N passed, N failed, N skipped
#
# Exit status 1 when any test failed, or when no test ran at all.
#
# Environment: BUILD (default build), BATS (default bats), BATS_FLAGS (extra flags
# for bats, e.g. "-f runc"), UNIT_ONLY=1 / INTEGRATION_ONLY=1.

set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
BATS=${BATS:-bats}
export OCIBPF_BUILD=${OCIBPF_BUILD:-$PWD/$BUILD}

passed=0
failed=0
skipped=0
skips=()
failures=()

# tally SUITE: read TAP on stdin, echo it, count the top-level result lines.
tally() {
	local suite=$1 line
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case $line in
		"not ok "*)
			if [[ $line =~ \#[[:space:]]*[Tt][Oo][Dd][Oo] ]]; then
				skipped=$((skipped + 1))
				skips+=("$suite: ${line#not ok }")
			else
				failed=$((failed + 1))
				failures+=("$suite: ${line#not ok }")
			fi
			;;
		"ok "*)
			if [[ $line =~ \#[[:space:]]*[Ss][Kk][Ii][Pp] ]]; then
				skipped=$((skipped + 1))
				skips+=("$suite: ${line#ok }")
			else
				passed=$((passed + 1))
			fi
			;;
		esac
	done
}

# run_suite NAME CMD...: run CMD, tally its TAP; a non-zero exit with no failed
# test line (crash, sanitizer abort, bats error) counts as one failure.
run_suite() {
	local name=$1 rcfile
	shift
	rcfile=$(mktemp)
	local failed_before=$failed count_before=$((passed + failed + skipped))
	echo "# === $name"
	tally "$name" < <("$@" 2>&1; echo $? >"$rcfile")
	local rc= i
	for i in $(seq 50); do
		rc=$(cat "$rcfile")
		[ -z "$rc" ] || break
		sleep 0.1
	done
	rm -f "$rcfile"
	if [ "${rc:-1}" -ne 0 ] && [ "$failed" -eq "$failed_before" ]; then
		echo "not ok - $name exited with status ${rc:-?} without reporting a failed test"
		failed=$((failed + 1))
		failures+=("$name: exited with status ${rc:-?}")
	elif [ "${rc:-1}" -eq 0 ] && [ $((passed + failed + skipped)) -eq "$count_before" ]; then
		echo "# $name ran no test"
	fi
}

if [ -z "${INTEGRATION_ONLY:-}" ]; then
	shopt -s nullglob
	units=("$BUILD"/unit/test-*)
	shopt -u nullglob
	if [ ${#units[@]} -eq 0 ]; then
		echo "# no unit test binaries in $BUILD/unit (run: make unit)"
	fi
	for t in "${units[@]}"; do
		[ -x "$t" ] && [ -f "$t" ] || continue
		run_suite "unit/$(basename "$t")" "$t"
	done
	# libFuzzer targets (make fuzz-build), each run briefly: one TAP line per target.
	if compgen -G "$BUILD/fuzz/fuzz-*" >/dev/null; then
		run_suite fuzz env BUILD="$BUILD" tests/fuzz/run.sh --check
	else
		echo "# no fuzz targets in $BUILD/fuzz (run: make fuzz-build)"
	fi
fi

if [ -z "${UNIT_ONLY:-}" ]; then
	shopt -s nullglob
	bats_files=(tests/integration/*.bats)
	shopt -u nullglob
	if [ ${#bats_files[@]} -eq 0 ]; then
		echo "# no integration tests in tests/integration"
	elif ! command -v "$BATS" >/dev/null; then
		echo "not ok - integration: $BATS is not installed (run: make deps)"
		failed=$((failed + 1))
		failures+=("integration: bats is not installed")
	else
		if [ "$EUID" -ne 0 ]; then
			echo "# not root: integration tests that need root will be skipped"
		fi
		# shellcheck disable=SC2086
		run_suite integration "$BATS" --tap ${BATS_FLAGS:-} "${bats_files[@]}"
	fi
fi

echo "#"
if [ ${#skips[@]} -gt 0 ]; then
	echo "# skipped (not run on this machine):"
	printf '#   %s\n' "${skips[@]}"
fi
if [ ${#failures[@]} -gt 0 ]; then
	echo "# failed:"
	printf '#   %s\n' "${failures[@]}"
fi
ran=$((passed + failed))
if [ "$ran" -eq 0 ]; then
	echo "# no test ran"
fi
echo "$passed passed, $failed failed, $skipped skipped"

[ "$failed" -eq 0 ] && [ "$ran" -gt 0 ]
