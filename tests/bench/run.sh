#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# `make bench`: every benchmark script of ocibpf, one after the other (a list: add
# yours). Each prints its own numbers; the exit status is 1 when any of them failed.

cd "$(dirname "$0")" || exit 1
rc=0
for script in \
	./hook.sh \
	./audit.sh \
	./telemetry.sh \
	./net.sh \
	./bpf-ops.sh \
	./volume.sh \
	; do
	echo "### $script"
	"$script" || { echo "### $script failed"; rc=1; }
	echo
done
exit $rc
