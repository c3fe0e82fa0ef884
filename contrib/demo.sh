#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# ocibpf demo (`sudo make demo`): a busybox container under runc with the ocibpf
# hooks and a demo policy that audits execve/openat/connect, denies TCP to one
# loopback port and keeps telemetry. Shows the container's output, its live
# stats, and its audit log. Everything lives in a temp dir and a bpffs dir of its
# own, and is removed on exit.
#
# Environment: BUILD (default build), RUNC (default runc), BUSYBOX (/bin/busybox).

set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BUILD=$(cd "$BUILD" && pwd)
RUNC=${RUNC:-runc}
BUSYBOX=${BUSYBOX:-/bin/busybox}
HOOK=$BUILD/ocibpf-hook
OCIBPF=$BUILD/ocibpf

ALLOW_PORT=7008
DENY_PORT=7009

section() {
	printf '\n\033[1m==> %s\033[0m\n' "$*"
}

die() {
	echo "demo: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root (sudo make demo)"
for f in "$HOOK" "$OCIBPF" "$BUILD/ocibpfd"; do
	[ -x "$f" ] || die "$f is not built (make)"
done
command -v "$RUNC" >/dev/null || die "runc is not installed (make deps)"
command -v jq >/dev/null || die "jq is not installed (make deps)"
[ -x "$BUSYBOX" ] || die "$BUSYBOX is missing (apt-get install busybox-static)"
[ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" = bpf_fs ] || mount -t bpf bpf /sys/fs/bpf

DIR=$(mktemp -d /tmp/ocibpf-demo.XXXXXX)
ID=ocibpf-demo-$$
BUNDLE=$DIR/bundle
RUNC_ROOT=$DIR/runc
export OCIBPF_CONFIG=$DIR/config.json
BPFFS_DIR=/sys/fs/bpf/ocibpf-demo-$$
LISTENERS=()

cleanup() {
	set +e
	"$RUNC" --root "$RUNC_ROOT" delete -f "$ID" >/dev/null 2>&1
	for pid in "${LISTENERS[@]}"; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	"$OCIBPF" gc --unload >/dev/null 2>&1
	[ -e "$BPFFS_DIR" ] && rm -rf "$BPFFS_DIR"
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

has_command() {
	"$OCIBPF" help 2>&1 | grep -Eq "^[[:space:]]+$1([[:space:]]|\$)"
}

section "Host configuration ($OCIBPF_CONFIG)"
mkdir -p "$DIR/policies"
jq -n --arg d "$DIR" --arg b "$BPFFS_DIR" \
	'{log_dir: ($d + "/log"), state_dir: ($d + "/run"), bpffs_dir: $b,
	  policy_dir: ($d + "/policies")}' >"$OCIBPF_CONFIG"
chmod 0644 "$OCIBPF_CONFIG"
jq . "$OCIBPF_CONFIG"

section "Policy \"demo\" ($DIR/policies/demo.json)"
cat >"$DIR/policies/demo.json" <<EOF
{
  "audit": { "syscalls": ["execve", "openat", "connect"] },
  "network": {
    "egress": { "default": "allow",
                "rules": [ { "action": "deny", "cidr": "127.0.0.1/32", "protocol": "tcp", "ports": "$DENY_PORT" } ] }
  },
  "telemetry": true
}
EOF
chmod 0644 "$DIR/policies/demo.json"
cat "$DIR/policies/demo.json"
"$OCIBPF" policy check "$DIR/policies/demo.json"

section "Bundle: busybox rootfs, runc spec, hooks, annotation"
mkdir -p "$BUNDLE/rootfs/bin" "$BUNDLE/rootfs/etc"
cp "$BUSYBOX" "$BUNDLE/rootfs/bin/busybox"
chroot "$BUNDLE/rootfs" /bin/busybox --install -s /bin
echo 'root:x:0:0:root:/:/bin/sh' >"$BUNDLE/rootfs/etc/passwd"
"$RUNC" spec --bundle "$BUNDLE"
# The container shares the host's network namespace, so that it can reach the
# listeners below on 127.0.0.1.
cat >"$BUNDLE/rootfs/demo.sh" <<EOF
echo "hello from \$(hostname)"
ls / | head -n 3
cat /etc/passwd >/dev/null
echo "connect 127.0.0.1:$ALLOW_PORT (allowed): \$(timeout 5 nc 127.0.0.1 $ALLOW_PORT </dev/null 2>&1)"
echo "connect 127.0.0.1:$DENY_PORT (denied):  \$(timeout 5 nc 127.0.0.1 $DENY_PORT </dev/null 2>&1)"
echo demo-done
exec sleep 60
EOF
jq --arg hook "$HOOK" --arg conf "$OCIBPF_CONFIG" '
	.process.terminal = false
	| .process.args = ["sh", "/demo.sh"]
	| .hostname = "ocibpf-demo"
	| .linux.namespaces |= map(select(.type != "network"))
	| .annotations["io.ocibpf.policy"] = "demo"
	| .hooks = {
		createRuntime: [{path: $hook, args: ["ocibpf-hook", "createRuntime"], env: ["OCIBPF_CONFIG=" + $conf]}],
		poststop:      [{path: $hook, args: ["ocibpf-hook", "poststop"],      env: ["OCIBPF_CONFIG=" + $conf]}]
	  }' "$BUNDLE/config.json" >"$BUNDLE/config.json.tmp"
mv "$BUNDLE/config.json.tmp" "$BUNDLE/config.json"
jq '{args: .process.args, annotations, hooks}' "$BUNDLE/config.json"
echo "/demo.sh:"
sed 's/^/    /' "$BUNDLE/rootfs/demo.sh"

section "Host listeners on 127.0.0.1:$ALLOW_PORT and 127.0.0.1:$DENY_PORT (both would answer)"
for port in "$ALLOW_PORT" "$DENY_PORT"; do
	"$BUSYBOX" nc -ll -p "$port" -e /bin/echo "hello from the host listener on port $port" \
		</dev/null >/dev/null 2>&1 &
	LISTENERS+=($!)
done
sleep 0.3
echo "listening: $(ss -ltn 2>/dev/null | grep -cE ":($ALLOW_PORT|$DENY_PORT)\b" || true) port(s)"

section "runc run -d $ID"
"$RUNC" --root "$RUNC_ROOT" run -d -b "$BUNDLE" "$ID" </dev/null >"$DIR/container.out" 2>&1 || {
	cat "$DIR/container.out"
	die "runc run failed"
}
for _ in $(seq 100); do
	grep -q demo-done "$DIR/container.out" && break
	sleep 0.1
done

section "Container output"
grep -v demo-done "$DIR/container.out" || true

section "ocibpf ps"
"$OCIBPF" ps || true

section "ocibpf stats --json $ID (live)"
if has_command stats; then
	"$OCIBPF" stats --json "$ID" | jq . || true
else
	echo "(ocibpf stats is not implemented yet)"
fi

section "runc delete -f $ID (poststop hook: stop record, cleanup)"
"$RUNC" --root "$RUNC_ROOT" delete -f "$ID"
echo "deleted"

section "Audit log of $ID"
if has_command audit; then
	"$OCIBPF" audit "$ID" || true
else
	echo "(ocibpf audit is not implemented yet: the raw records of $DIR/log/$ID.jsonl)"
	jq -c . "$DIR/log/$ID.jsonl" || true
fi

section "Denied connections"
if [ -f "$DIR/log/$ID.jsonl" ]; then
	denied=$(jq -c 'select(.type == "net" and .action == "deny")' "$DIR/log/$ID.jsonl")
	if [ -n "$denied" ]; then
		echo "$denied"
	else
		echo "(no net deny record in the audit log yet)"
	fi
	echo "egress_denied in the stop record: $(jq -r 'select(.type == "stop") | .stats.egress_denied // "n/a"' "$DIR/log/$ID.jsonl" | tail -n 1)"
fi

section "Clean up"
cleanup
trap - EXIT
echo "removed $DIR and $BPFFS_DIR"
