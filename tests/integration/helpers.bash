# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Helpers for the ocibpf integration tests, in the style of runc's
# tests/integration/helpers.bash.
#
# Every test file calls ocibpf_setup_file / ocibpf_teardown_file from its
# setup_file / teardown_file, and ocibpf_setup / ocibpf_teardown from its
# setup / teardown. That gives each file its own host configuration (log, state
# and policy directories in the file's temp dir, a bpffs_dir of its own), each
# test its own copy of that configuration ($OCIBPF_CONFIG, changed with
# update_host_config), its own container id prefix ($CID) and its own runtime
# roots, and a leak check after every test.

bats_require_minimum_version 1.5.0

bats_load_library bats-support
bats_load_library bats-assert

INTEGRATION_ROOT=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
PROJECT_ROOT=$(cd "$INTEGRATION_ROOT/../.." && pwd)
OCIBPF_BUILD=${OCIBPF_BUILD:-$PROJECT_ROOT/build}

OCIBPF_HOOK=$OCIBPF_BUILD/ocibpf-hook
OCIBPF_CLI=$OCIBPF_BUILD/ocibpf
OCIBPFD=$OCIBPF_BUILD/ocibpfd

RUNC=${RUNC:-$(command -v runc || true)}
CRUN=${CRUN:-$(command -v crun || true)}
BUSYBOX=${BUSYBOX:-/bin/busybox}

# Upper bounds, so that a hung runtime, hook or collector fails a test instead of
# hanging the suite.
RUNTIME_TIMEOUT=${RUNTIME_TIMEOUT:-60}
HOOK_TIMEOUT=${HOOK_TIMEOUT:-30}

POLICY_ANNOTATION=io.ocibpf.policy

# The cgroup2 mount point, from /proc/self/mountinfo (field 5 is the mount point,
# the file system type follows the " - " separator).
cgroup2_mount() {
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break;
	       if ($(i + 1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo
}
CGROUP2=$(cgroup2_mount)

# anchor_cgroup BPFFS_DIR: the empty cgroup to which the sets of BPFFS_DIR attach their
# programs once (src/core/anchor.h; named as path_anchor_cgroup names it).
anchor_cgroup() {
	echo "$CGROUP2/ocibpf-anchor-$(printf '%s' "$1" | sha256sum | cut -c1-16)"
}

# Hybrid mode: cgroup2 is mounted, but not at /sys/fs/cgroup (v1 controllers are).
is_cgroup2_hybrid() {
	[ -n "$CGROUP2" ] && [ "$CGROUP2" != /sys/fs/cgroup ]
}

is_bpffs() {
	[ "$(stat -f -c %T "$1" 2>/dev/null)" = bpf_fs ]
}

# requires WORD... : skip the test unless every WORD holds on this machine; an
# unknown WORD fails the test (a typo must not silently skip a test).
requires() {
	local word
	for word in "$@"; do
		local skip_me=
		case $word in
		root)
			[ "$EUID" -eq 0 ] || skip_me="test requires root"
			;;
		cgroup2)
			[ -n "$CGROUP2" ] || skip_me="test requires a cgroup2 mount"
			;;
		cgroup2_hybrid)
			is_cgroup2_hybrid || skip_me="test requires cgroup hybrid mode"
			;;
		cgroup2_pure)
			[ "$CGROUP2" = /sys/fs/cgroup ] || skip_me="test requires a pure cgroup v2 host"
			;;
		bpf)
			if ! is_bpffs /sys/fs/bpf; then
				skip_me="test requires bpffs mounted at /sys/fs/bpf"
			elif ! command -v bpftool >/dev/null || ! bpftool prog show >/dev/null 2>&1; then
				skip_me="test requires the bpf() syscall (bpftool prog show failed)"
			fi
			;;
		bpftool | jq | nc | ip | unshare | timeout | strace)
			command -v "$word" >/dev/null || skip_me="test requires $word"
			;;
		runc)
			[ -n "$RUNC" ] && "$RUNC" --version >/dev/null 2>&1 || skip_me="test requires runc"
			;;
		crun)
			if [ -z "$CRUN" ] || ! "$CRUN" --version >/dev/null 2>&1; then
				skip_me="test requires crun"
			elif is_cgroup2_hybrid && ! command -v unshare >/dev/null; then
				skip_me="test requires unshare (crun hybrid-mode workaround)"
			fi
			;;
		busybox)
			[ -x "$BUSYBOX" ] && file_is_static "$BUSYBOX" ||
				skip_me="test requires a static busybox at $BUSYBOX (busybox-static)"
			;;
		netns)
			command -v ip >/dev/null && ip netns list >/dev/null 2>&1 ||
				skip_me="test requires network namespaces (ip netns)"
			;;
		*)
			fail "requires: unknown word '$word'"
			;;
		esac
		if [ -n "$skip_me" ]; then
			skip "$skip_me"
		fi
	done
}

file_is_static() {
	# No program interpreter: statically linked.
	! LC_ALL=C readelf -l "$1" 2>/dev/null | grep -q 'Requesting program interpreter'
}

# --- per file / per test set-up ----------------------------------------------------

# ocibpf_setup_file: the host configuration of this test file.
ocibpf_setup_file() {
	local name
	name=$(basename "$BATS_TEST_FILENAME" .bats)

	export OCIBPF_TEST_ROOT=$BATS_FILE_TMPDIR
	export LOG_DIR=$OCIBPF_TEST_ROOT/log
	export STATE_DIR=$OCIBPF_TEST_ROOT/run
	export POLICY_DIR=$OCIBPF_TEST_ROOT/policies
	export BPFFS_DIR=/sys/fs/bpf/ocibpf-test-$name-$$
	export OCIBPF_BASE_CONFIG=$OCIBPF_TEST_ROOT/config.json
	export ROOTFS_TEMPLATE=$OCIBPF_TEST_ROOT/rootfs
	export EMPTY_FILE=$OCIBPF_TEST_ROOT/empty

	mkdir -p "$POLICY_DIR" "$OCIBPF_TEST_ROOT/configs"
	chmod 0755 "$POLICY_DIR"
	: >"$EMPTY_FILE"
	jq -n --arg log "$LOG_DIR" --arg state "$STATE_DIR" --arg bpffs "$BPFFS_DIR" \
		--arg pol "$POLICY_DIR" \
		'{log_dir: $log, state_dir: $state, bpffs_dir: $bpffs, policy_dir: $pol}' \
		>"$OCIBPF_BASE_CONFIG"
	chmod 0644 "$OCIBPF_BASE_CONFIG"

	# bpffs is the system default at /sys/fs/bpf; mount it when missing and leave
	# it mounted (note it for whoever reads the log).
	if [ "$EUID" -eq 0 ] && ! is_bpffs /sys/fs/bpf; then
		mount -t bpf bpf /sys/fs/bpf
		echo "# helpers.bash: mounted bpffs at /sys/fs/bpf (it was not mounted)" >&3
	fi

	if [ -x "$BUSYBOX" ]; then
		make_busybox_rootfs "$ROOTFS_TEMPLATE"
	fi
	all_anchor_cgroups >"$OCIBPF_TEST_ROOT/anchors-before"
}

# Every anchor cgroup on the machine, sorted.
all_anchor_cgroups() {
	[ -n "$CGROUP2" ] || return 0
	find "$CGROUP2" -mindepth 1 -maxdepth 1 -name 'ocibpf-anchor-*' 2>/dev/null | sort
}

ocibpf_teardown_file() {
	local rc=0
	kill_collectors
	if [ "$EUID" -eq 0 ] && [ -x "$OCIBPF_CLI" ] && [ -e "$BPFFS_DIR" ]; then
		local out
		if ! out=$(OCIBPF_CONFIG=$OCIBPF_BASE_CONFIG timeout "$HOOK_TIMEOUT" \
			"$OCIBPF_CLI" gc --unload 2>&1); then
			echo "# ocibpf gc --unload failed: $out" >&3
			rc=1
		fi
		if [ -e "$BPFFS_DIR" ]; then
			echo "# leak: $BPFFS_DIR still exists after 'ocibpf gc --unload':" >&3
			find "$BPFFS_DIR" | sed 's/^/#   /' >&3
			rc=1
		fi
		if [ -e "$(anchor_cgroup "$BPFFS_DIR")" ]; then
			echo "# leak: the anchor cgroup $(anchor_cgroup "$BPFFS_DIR") after 'ocibpf gc --unload'" >&3
			rc=1
		fi
	fi
	# Never leave pins behind, whatever happened.
	[ -e "$BPFFS_DIR" ] && rm -rf "$BPFFS_DIR"
	[ -n "$CGROUP2" ] && rmdir "$(anchor_cgroup "$BPFFS_DIR")" 2>/dev/null
	# Anchors of bpffs_dirs no test registered (a full run left some behind, from a file
	# not found yet): named here, not failed, since another suite running at the same
	# time on a developer's machine makes its own.
	local a
	if [ -f "$OCIBPF_TEST_ROOT/anchors-before" ]; then
		for a in $(all_anchor_cgroups | comm -13 "$OCIBPF_TEST_ROOT/anchors-before" -); do
			echo "# leak? $(basename "$BATS_TEST_FILENAME") left the anchor cgroup $a" >&3
		done
	fi
	return $rc
}

ocibpf_setup() {
	# Unique per test (and per run): every container, sandbox and cgroup this
	# test makes is named "$CID" or "$CID-something"; the leak check looks for it.
	CID=ocibpf-test-$BATS_TEST_NUMBER-$$
	RUNC_ROOT=$BATS_TEST_TMPDIR/runc-root
	CRUN_ROOT=$BATS_TEST_TMPDIR/crun-root
	BUNDLE=$BATS_TEST_TMPDIR/bundle
	export OCIBPF_CONFIG=$OCIBPF_TEST_ROOT/configs/$BATS_TEST_NUMBER.json
	cp "$OCIBPF_BASE_CONFIG" "$OCIBPF_CONFIG"
	chmod 0644 "$OCIBPF_CONFIG"
	: >"$BATS_TEST_TMPDIR/sandboxes"
	: >"$BATS_TEST_TMPDIR/extra-bpffs"
	bpffs_root_pins >"$BATS_TEST_TMPDIR/bpffs-root"
}

# Anchor cgroups of the bpffs_dirs this test's configurations name, other than its
# file's (loaded between tests), still there: every bpffs_dir loaded has one until
# `gc --unload`, even where a test removed its pins by hand.
left_anchor_cgroups() {
	[ -n "$CGROUP2" ] || return 0
	local d
	jq -r '.bpffs_dir // empty' "$OCIBPF_TEST_ROOT/configs/$BATS_TEST_NUMBER".json \
		"$OCIBPF_TEST_ROOT/configs/$BATS_TEST_NUMBER"-*.json 2>/dev/null | sort -u |
		while read -r d; do
			[ "$d" != "$BPFFS_DIR" ] && [ -e "$(anchor_cgroup "$d")" ] && anchor_cgroup "$d"
		done
}

# Files (pins, not directories) at the root of /sys/fs/bpf: ocibpf must pin only
# under its bpffs_dir (a map pinned by name without a pin root path lands here).
bpffs_root_pins() {
	find /sys/fs/bpf -mindepth 1 -maxdepth 1 ! -type d -printf '%f\n' 2>/dev/null | sort
}

ocibpf_teardown() {
	local rc=0
	# The sandboxes are the harness's own: gone before the leak check.
	stop_sandboxes
	# Leak check only when the test passed: after a failure it would only repeat
	# the failure. Clean up in every case so that one test can't break the next.
	if [ -n "${BATS_TEST_COMPLETED:-}" ] && [ -z "${BATS_TEST_SKIPPED:-}" ]; then
		check_audit_logs || rc=1
		if check_no_leaks; then
			# A collector may stay while the file's set is pinned (ocibpfd(8)):
			# stopped, so that every test starts without one.
			no_collector || kill_collectors
			return $rc # nothing else to clean up
		fi
		rc=1
	fi
	cleanup_leftovers
	return $rc
}

# --- configuration and policies ----------------------------------------------------

# update_host_config JQ-EXPR [JQ-ARGS...]: edit this test's host configuration.
update_host_config() {
	local expr=$1
	shift
	jq "$expr" "$@" <"$OCIBPF_CONFIG" >"$OCIBPF_CONFIG.tmp" &&
		mv "$OCIBPF_CONFIG.tmp" "$OCIBPF_CONFIG" && chmod 0644 "$OCIBPF_CONFIG"
}

# write_policy NAME [JSON]: write $POLICY_DIR/NAME.json (JSON from stdin when not
# given; written as is, so that tests can write invalid ones), root-owned, 0644.
write_policy() {
	local file=$POLICY_DIR/$1.json
	if [ $# -ge 2 ]; then
		printf '%s\n' "$2" >"$file"
	else
		cat >"$file"
	fi
	chmod 0644 "$file"
}

# Network and telemetry, no audit: the programs every policy with a network
# section attaches.
BASE_POLICY='{
  "network": {
    "egress":  { "default": "allow",
                 "rules": [ { "action": "deny", "cidr": "127.0.0.1/32", "protocol": "tcp", "ports": "9" } ] },
    "ingress": { "default": "allow" }
  },
  "telemetry": true
}'

# A policy using every section: audit, network (egress and ingress) and telemetry.
FULL_POLICY='{
  "audit": { "syscalls": ["execve", "openat", "connect"] },
  "network": {
    "egress":  { "default": "allow",
                 "rules": [ { "action": "deny", "cidr": "127.0.0.1/32", "protocol": "tcp", "ports": "9" } ] },
    "ingress": { "default": "allow",
                 "rules": [ { "action": "deny", "cidr": "10.0.0.0/8", "protocol": "tcp", "ports": "22,6000-6100" } ] }
  },
  "telemetry": true
}'

# --- bundles ----------------------------------------------------------------------

# make_busybox_rootfs DIR: /bin/busybox and a symlink per applet.
make_busybox_rootfs() {
	local dir=$1 applet
	mkdir -p "$dir/bin" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/tmp" "$dir/etc"
	cp "$BUSYBOX" "$dir/bin/busybox"
	# One process instead of one ln per applet (busybox --list) when we can
	# chroot: the links point to /bin/busybox, which is right inside the rootfs.
	if [ "$EUID" -ne 0 ] || ! chroot "$dir" /bin/busybox --install -s /bin 2>/dev/null; then
		for applet in $("$BUSYBOX" --list); do
			[ "$applet" = busybox ] || ln -sf busybox "$dir/bin/$applet"
		done
	fi
	echo 'root:x:0:0:root:/:/bin/sh' >"$dir/etc/passwd"
	echo 'root:x:0:' >"$dir/etc/group"
}

# setup_busybox_bundle [DIR]: a bundle with a busybox rootfs and the config.json of
# `runc spec` (no terminal, entrypoint `true`). Sets BUNDLE.
setup_busybox_bundle() {
	BUNDLE=${1:-$BATS_TEST_TMPDIR/bundle}
	mkdir -p "$BUNDLE"
	[ -d "$ROOTFS_TEMPLATE" ] || make_busybox_rootfs "$ROOTFS_TEMPLATE"
	cp -a "$ROOTFS_TEMPLATE" "$BUNDLE/rootfs"
	if [ -n "$RUNC" ]; then
		"$RUNC" spec --bundle "$BUNDLE"
	else
		(cd "$BUNDLE" && "$CRUN" spec)
	fi
	update_config '.process.terminal = false | .process.args = ["true"]
		| .hostname = "ocibpf-test"'
}

# update_config JQ-EXPR [JQ-ARGS...]: edit $BUNDLE/config.json.
update_config() {
	local expr=$1
	shift
	jq "$expr" "$@" <"$BUNDLE/config.json" >"$BUNDLE/config.json.tmp" &&
		mv "$BUNDLE/config.json.tmp" "$BUNDLE/config.json"
}

# set_cmd ARG...: the container's entrypoint.
set_cmd() {
	# (not jq --args: jq would take an argument like "-c" for its own option)
	local json='[]' a
	for a in "$@"; do
		json=$(jq -c --arg a "$a" '. + [$a]' <<<"$json")
	done
	update_config '.process.args = $a' --argjson a "$json"
}

# set_policy NAME: the container selects policy NAME (annotation).
set_policy() {
	update_config '.annotations[$k] = $v' --arg k "$POLICY_ANNOTATION" --arg v "$1"
}

# use_host_network: drop the network namespace (the container shares the host's).
use_host_network() {
	update_config '.linux.namespaces |= map(select(.type != "network"))'
}

# add_hooks [STAGE...]: add ocibpf-hook entries for STAGE (default: createRuntime
# and poststop), carrying this test's OCIBPF_CONFIG.
add_hooks() {
	local stages=("$@") stage
	[ ${#stages[@]} -gt 0 ] || stages=(createRuntime poststop)
	for stage in "${stages[@]}"; do
		update_config '.hooks[$s] += [{path: $p, args: ["ocibpf-hook", $s],
			env: ["OCIBPF_CONFIG=" + $c], timeout: ($t | tonumber)}]' \
			--arg s "$stage" --arg p "$OCIBPF_HOOK" --arg c "$OCIBPF_CONFIG" \
			--arg t "$HOOK_TIMEOUT"
	done
}

# --- runtimes ---------------------------------------------------------------------

# __runc ARGS: runc with this test's root.
__runc() {
	timeout --kill-after=10 "$RUNTIME_TIMEOUT" "$RUNC" --root "$RUNC_ROOT" "$@" 3>&-
}

# __crun ARGS: crun with this test's root. On a hybrid-mode host crun refuses to
# run because cgroup2's root lists controllers ("cgroups in hybrid mode not
# supported"); ENVIRONMENT.md's workaround: in a private mount namespace, hide
# cgroup.controllers behind an empty file. crun then runs in v1 mode and still
# puts the container in the cgroup2 hierarchy. Hooks run inside that namespace.
__crun() {
	if is_cgroup2_hybrid; then
		timeout --kill-after=10 "$RUNTIME_TIMEOUT" \
			unshare -m --propagation private \
			sh -c 'mount --bind "$0" "$1/cgroup.controllers" && shift && exec "$@"' \
			"$EMPTY_FILE" "$CGROUP2" "$CRUN" --root "$CRUN_ROOT" "$@" 3>&-
	else
		timeout --kill-after=10 "$RUNTIME_TIMEOUT" "$CRUN" --root "$CRUN_ROOT" "$@" 3>&-
	fi
}

__detached() {
	local out=$1 rc=0
	shift
	"$@" </dev/null >"$out" 2>&1 || rc=$?
	cat "$out"
	return $rc
}

log_run() {
	echo "\$ $* (status=$status)" >&2
	[ -z "$output" ] || printf '%s\n' "$output" >&2
}

# log_run_stderr WHAT: log_run, then the stderr that `run --separate-stderr` kept apart.
log_run_stderr() {
	log_run "$@"
	[ -z "$stderr" ] || printf 'stderr: %s\n' "$stderr" >&2
}

# runc_run [-d] ID [RUN-FLAGS...]: `runc run` the bundle $BUNDLE as ID, through
# bats' run (status, output). -d: detached, with the container's stdio in a file,
# so that nothing holds bats' pipes.
runc_run() {
	__runtime_run runc "$@"
}

# crun_run [-d] ID [RUN-FLAGS...]: the same with crun.
crun_run() {
	__runtime_run crun "$@"
}

__runtime_run() {
	local rt=$1 detach=()
	shift
	if [ "$1" = -d ]; then
		detach=(-d)
		shift
	fi
	local id=$1
	shift
	if [ ${#detach[@]} -gt 0 ]; then
		run __detached "$BATS_TEST_TMPDIR/$id.stdio" "__$rt" run -d -b "$BUNDLE" "$@" "$id"
	else
		run "__$rt" run -b "$BUNDLE" "$@" "$id"
	fi
	log_run "$rt run ${detach[*]} $id"
}

# runc_cmd ARGS / crun_cmd ARGS: any other runtime command, through bats' run.
runc_cmd() {
	run __runc "$@"
	log_run runc "$@"
}

crun_cmd() {
	run __crun "$@"
	log_run crun "$@"
}

# runtime_state RT ID FIELD: a field of `RT state ID`.
runtime_state() {
	"__$1" state "$2" 2>/dev/null | jq -r ".$3"
}

# wait_status RT ID STATUS: wait (up to 5 s) until `RT state ID` says STATUS.
wait_status() {
	local i
	for i in $(seq 50); do
		[ "$(runtime_state "$1" "$2" status)" = "$3" ] && return 0
		sleep 0.1
	done
	echo "$1 container $2: status '$(runtime_state "$1" "$2" status)', want '$3'" >&2
	return 1
}

# --- ocibpf ------------------------------------------------------------------------

# ocibpf ARGS: the CLI through bats' run, stderr apart ($stderr).
ocibpf() {
	run --separate-stderr timeout "$HOOK_TIMEOUT" "$OCIBPF_CLI" "$@"
	log_run_stderr "ocibpf $*"
}

# run_hook STAGE STATE-JSON: call the hook directly, through bats' run, stderr
# apart ($stderr, $stderr_lines).
run_hook() {
	local stage=$1 state=$2
	run --separate-stderr timeout "$HOOK_TIMEOUT" "$OCIBPF_HOOK" "$stage" <<<"$state"
	log_run_stderr "ocibpf-hook $stage <<< $state"
}

# make_state ID PID BUNDLE [POLICY]: an OCI state as runc passes it to
# createRuntime (POLICY "": no annotations).
make_state() {
	jq -cn --arg id "$1" --argjson pid "$2" --arg b "$3" --arg pol "${4:-}" \
		--arg k "$POLICY_ANNOTATION" \
		'{ociVersion: "1.0.2-dev", id: $id, status: "creating", pid: $pid, bundle: $b}
		 + (if $pol == "" then {} else {annotations: {($k): $pol}} end)'
}

# spawn_sandbox [NAME]: a process in a cgroup2 directory of its own, to stand for a
# container when the hook is called directly (never point the hook at a pid in
# the test runner's cgroup). Sets SANDBOX_PID, SANDBOX_CGROUP.
spawn_sandbox() {
	local name=${1:-$CID-sandbox}
	SANDBOX_CGROUP=$CGROUP2/$name
	mkdir "$SANDBOX_CGROUP"
	# shellcheck disable=SC2016
	sh -c 'echo $$ > "$1/cgroup.procs" && exec sleep 300' sh "$SANDBOX_CGROUP" \
		</dev/null >/dev/null 2>&1 3>&- &
	SANDBOX_PID=$!
	echo "$SANDBOX_PID $SANDBOX_CGROUP" >>"$BATS_TEST_TMPDIR/sandboxes"
	local i
	for i in $(seq 50); do
		grep -qx "$SANDBOX_PID" "$SANDBOX_CGROUP/cgroup.procs" && return 0
		sleep 0.02
	done
	echo "sandbox $SANDBOX_PID did not enter $SANDBOX_CGROUP" >&2
	return 1
}

stop_sandboxes() {
	local pid cg
	while read -r pid cg; do
		[ -n "$pid" ] || continue
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		if [ -d "$cg" ]; then
			wait_for 20 0.05 test ! -s "$cg/cgroup.procs" 2>/dev/null
			rmdir "$cg" 2>/dev/null
		fi
	done <"$BATS_TEST_TMPDIR/sandboxes"
	: >"$BATS_TEST_TMPDIR/sandboxes"
}

# a pid that is not alive
dead_pid() {
	sh -c 'echo $$' </dev/null 3>&-
}

audit_log() { echo "$LOG_DIR/$1.jsonl"; }
state_file() { echo "$STATE_DIR/containers/$1.json"; }
# pins_dir ID: the link pins of ID's run. Pins are named by the run (a token in the state
# record), not by the id; the run seen last is remembered for checks made after the stop.
pins_dir() {
	local run cache=$BATS_TEST_TMPDIR/run-of-$1
	run=$(jq -r '.run // empty' "$(state_file "$1")" 2>/dev/null)
	if [ -n "$run" ]; then
		echo "$run" >"$cache"
	else
		run=$(cat "$cache" 2>/dev/null)
	fi
	echo "$BPFFS_DIR/containers/${run:-no-run-of-$1}"
}

# orphan_pins: pin directories whose run no state record names.
orphan_pins() {
	local d run
	for d in "$BPFFS_DIR"/containers/*; do
		[ -e "$d" ] || continue
		run=$(basename "$d")
		grep -qs "\"run\":\"$run\"" "$STATE_DIR"/containers/*.json || echo "$d"
	done
}

# records ID [TYPE]: the audit log's records (compact JSON, one a line).
records() {
	if [ -n "${2:-}" ]; then
		jq -c --arg t "$2" 'select(.type == $t)' "$(audit_log "$1")"
	else
		jq -c . "$(audit_log "$1")"
	fi
}

# cgroup2_of PID: absolute cgroup2 directory of PID.
cgroup2_of() {
	local rel
	rel=$(sed -n 's/^0:://p' "/proc/$1/cgroup")
	echo "$CGROUP2${rel%/}"
}

# attach_types CGROUP-DIR: attach types of the programs attached to the cgroup
# itself (not inherited), sorted, one a line, in bpftool's short names (ingress,
# egress, connect4, sendmsg6, ...) whichever names this bpftool prints.
attach_types() {
	bpftool -j cgroup show "$1" | jq -r '.[].attach_type' |
		sed -E 's/^cgroup_inet_(ingress|egress)$/\1/;
			s/^cgroup_inet([46])_(connect|bind|getpeername|getsockname|post_bind)$/\2\1/;
			s/^cgroup_udp([46])_(sendmsg|recvmsg)$/\2\1/;
			s/^cgroup_inet_sock_create$/sock_create/;
			s/^cgroup_inet_sock_release$/sock_release/' | sort
}

attached_prog_ids() {
	bpftool -j cgroup show "$1" | jq -r '.[].id' | sort -n
}

# wait_for TRIES DELAY CMD...: retry CMD until it succeeds.
wait_for() {
	local tries=$1 delay=$2 i
	shift 2
	for ((i = 0; i < tries; i++)); do
		"$@" && return 0
		sleep "$delay"
	done
	echo "wait_for: '$*' still false after $tries tries" >&2
	return 1
}

RFC3339_NS='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'

# assert_monitored ID PID POLICY: what a successful createRuntime leaves: the
# state file, the pins, programs attached to the container's cgroup, and the
# start record (first record) of the audit log.
assert_monitored() {
	local id=$1 pid=$2 policy=$3 cg rel
	cg=$(cgroup2_of "$pid")
	rel=${cg#"$CGROUP2"}
	[ -n "$rel" ] && [ "$rel" != / ] || fail "$id: container is in the root cgroup2"

	# state
	local sf
	sf=$(state_file "$id")
	[ -f "$sf" ] || fail "no state file $sf"
	run jq -e --arg id "$id" --arg pol "$policy" --argjson pid "$pid" \
		'.id == $id and .policy == $pol and .pid == $pid and
		 (.cgroup | type) == "string" and has("started") and has("set")' "$sf"
	[ "$status" -eq 0 ] || fail "state file $sf: $(cat "$sf")"

	# pins
	local pd
	pd=$(pins_dir "$id")
	[ -d "$pd" ] || fail "no pins dir $pd"
	[ -n "$(ls -A "$pd")" ] || fail "pins dir $pd is empty"

	# programs in force on the container's cgroup
	run attach_types "$cg"
	echo "attached to $cg: ${lines[*]}" >&2
	assert_line ingress
	assert_line egress

	# audit log: start record first
	local log
	log=$(audit_log "$id")
	[ -f "$log" ] || fail "no audit log $log"
	[ "$(stat -c %a "$log")" = 640 ] || fail "$log: mode $(stat -c %a "$log"), want 640"
	[ "$(stat -c %a "$LOG_DIR")" = 750 ] || fail "$LOG_DIR: mode $(stat -c %a "$LOG_DIR"), want 750"
	local first
	first=$(head -n 1 "$log")
	echo "first record: $first" >&2
	run jq -e --arg id "$id" --arg pol "$policy" --argjson pid "$pid" --arg rel "$rel" \
		--arg re "$RFC3339_NS" \
		'.seq >= 1 and (.ts | test($re)) and .container == $id and .type == "start"
		 and .policy == $pol and .pid == $pid and (.cgroup | endswith($rel))' <<<"$first"
	[ "$status" -eq 0 ] || fail "bad start record: $first"
}

# assert_stopped ID: what poststop leaves: a stop record last (with stats), no
# pins, no state.
assert_stopped() {
	local id=$1 log last
	log=$(audit_log "$id")
	[ -f "$log" ] || fail "no audit log $log"
	last=$(tail -n 1 "$log")
	echo "last record: $last" >&2
	run jq -e --arg id "$id" --arg re "$RFC3339_NS" \
		'.type == "stop" and .container == $id and (.stats | type) == "object"
		 and (.ts | test($re))' <<<"$last"
	[ "$status" -eq 0 ] || fail "bad stop record: $last"
	assert_seq_contiguous "$id"
	assert_not_monitored "$id"
}

# assert_seq_contiguous ID: seq is 1, 2, 3, ... (no lost records expected).
assert_seq_contiguous() {
	run jq -s -e '[.[].seq] == [range(1; length + 1)]' "$(audit_log "$1")"
	[ "$status" -eq 0 ] || fail "seq not 1..n in $(audit_log "$1"): $(jq -c .seq "$(audit_log "$1")" | tr '\n' ' ')"
}

# assert_not_monitored ID: no state and no pins for ID.
assert_not_monitored() {
	local id=$1
	[ ! -e "$(state_file "$id")" ] || fail "state file left: $(state_file "$id")"
	[ ! -e "$(pins_dir "$id")" ] || fail "pins left: $(ls -A "$(pins_dir "$id")" | tr '\n' ' ')"
	[ -z "$(orphan_pins)" ] || fail "pins of no recorded run left: $(orphan_pins | tr '\n' ' ')"
}

# assert_nothing_left ID [CGROUP]: after a refused setup: no state, no pins, no
# audit record, nothing attached to CGROUP.
assert_nothing_left() {
	local id=$1 cg=${2:-}
	assert_not_monitored "$id"
	[ ! -s "$(audit_log "$id")" ] || fail "audit log written for a refused container: $(cat "$(audit_log "$id")")"
	if [ -n "$cg" ] && [ -d "$cg" ]; then
		local att
		att=$(bpftool cgroup show "$cg")
		[ -z "$att" ] || fail "programs left attached to $cg: $att"
	fi
}

# assert_hook_error [--id ID] [WORD...]: the hook failed (status 1) with exactly
# one stderr line "ocibpf-hook: ..." ("ocibpf-hook: ID: ..." with --id) that
# mentions every WORD (case-insensitive).
assert_hook_error() {
	local prefix="ocibpf-hook: "
	if [ "${1:-}" = --id ]; then
		prefix="ocibpf-hook: $2: "
		shift 2
	fi
	[ "$status" -eq 1 ] || fail "want exit status 1, got $status"
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "want one line on stderr, got ${#stderr_lines[@]}: $stderr"
	[[ "$stderr" == "$prefix"?* ]] || fail "stderr does not start with '$prefix': $stderr"
	local w
	for w in "$@"; do
		grep -qiF -- "$w" <<<"$stderr" || fail "error does not mention '$w': $stderr"
	done
}

# --- audit logs: strict UTF-8 JSON ------------------------------------------------------

# check_audit_logs: every line of every audit log this test file wrote (in $LOG_DIR and
# in the log_dir of this test's configuration) is strict UTF-8, ends with a newline and
# is one JSON object (SPEC.md "Audit log"). Run after every test; lines a test planted
# on purpose are excused with allow_unreadable_lines.
check_audit_logs() {
	local dirs=("$LOG_DIR") d
	d=$(jq -r '.log_dir // empty' "$OCIBPF_CONFIG" 2>/dev/null) || d=
	[ -n "$d" ] && [ "$d" != "$LOG_DIR" ] && dirs+=("$d")
	local logs=()
	for d in "${dirs[@]}"; do
		[ -d "$d" ] || continue
		for x in "$d"/*.jsonl; do
			[ -f "$x" ] && logs+=("$x")
		done
	done
	[ ${#logs[@]} -gt 0 ] || return 0
	python3 - "$OCIBPF_TEST_ROOT/unreadable-ok" "${logs[@]}" <<-'EOF'
	import json, sys
	allowed = set()
	try:
	    with open(sys.argv[1]) as f:
	        allowed = {l.rstrip("\n") for l in f}
	except FileNotFoundError:
	    pass
	bad = 0
	for path in sys.argv[2:]:
	    with open(path, "rb") as f:
	        for n, line in enumerate(f, 1):
	            if f"{path}:{n}" in allowed:
	                continue
	            try:
	                if not line.endswith(b"\n"):
	                    raise ValueError("no newline at the end")
	                v = json.loads(line.decode("utf-8", "strict"))
	                if not isinstance(v, dict):
	                    raise ValueError("not a JSON object")
	            except ValueError as e:
	                bad += 1
	                if bad <= 10:
	                    print(f"check_audit_logs: {path}:{n}: {e}: {line[:300]!r}", file=sys.stderr)
	sys.exit(1 if bad else 0)
	EOF
}

# allow_unreadable_lines ID LINE...: lines of ID's audit log a test made unreadable on
# purpose (check_audit_logs excuses them).
allow_unreadable_lines() {
	local log n
	log=$(audit_log "$1")
	shift
	for n in "$@"; do
		echo "$log:$n" >>"$OCIBPF_TEST_ROOT/unreadable-ok"
	done
}

# --- leak check and cleanup ------------------------------------------------------------

# pids of collectors belonging to this test file (by pid file, by command line or
# by their OCIBPF_CONFIG being one of this file's configurations).
collector_pids() {
	__collector_pids | sort -u
}

__collector_pids() {
	local pid exe
	if [ -f "$STATE_DIR/ocibpfd.pid" ]; then
		pid=$(head -n 1 "$STATE_DIR/ocibpfd.pid" | tr -dc 0-9)
		[ -n "$pid" ] && [ -d "/proc/$pid" ] && ! is_zombie "$pid" &&
			[[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == "$OCIBPFD"* ]] && echo "$pid"
	fi
	# (a rebuilt binary shows as "PATH (deleted)")
	for exe in $(find /proc -mindepth 2 -maxdepth 2 -name exe -lname "$OCIBPFD*" 2>/dev/null); do
		pid=${exe#/proc/}
		pid=${pid%/exe}
		is_zombie "$pid" && continue
		if tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ" |
			grep -q "^OCIBPF_CONFIG=$OCIBPF_TEST_ROOT/" ||
			tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF "$OCIBPF_TEST_ROOT/"; then
			echo "$pid"
		fi
	done
}

# (a zombie has exited: only its parent has not reaped it yet; on these VMs
# PID 1 is slow to reap the orphans it inherits)
is_zombie() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	stat=${stat##*) }
	[ "${stat%% *}" = Z ]
}

no_collector() {
	[ -z "$(collector_pids)" ]
}

# collector_may_stay PID: an idle collector started on demand stays while a BPF set of
# its configuration is pinned (ocibpfd(8)); a supervised one (--foreground) is the
# test's to stop.
collector_may_stay() {
	local args conf bpffs
	args=$(tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null) || return 1
	! grep -qx -- --foreground <<<"$args" || return 1
	conf=$(sed -n '/^--config$/{n;p;q}' <<<"$args")
	[ -n "$conf" ] || return 1
	bpffs=$(jq -r .bpffs_dir "$conf" 2>/dev/null) || return 1
	[ -n "$bpffs" ] && [ -n "$(ls -A "$bpffs/sets" 2>/dev/null)" ]
}

# stray_collectors: collectors of this file that should have exited.
stray_collectors() {
	local pid
	for pid in $(collector_pids); do
		collector_may_stay "$pid" || echo "$pid"
	done
}

no_stray_collector() {
	[ -z "$(stray_collectors)" ]
}

# leftover_cgroups: cgroup directories (v2 and v1) named after this test's ids.
leftover_cgroups() {
	local roots=("$CGROUP2")
	is_cgroup2_hybrid && roots+=(/sys/fs/cgroup/*/)
	find "${roots[@]}" -maxdepth 5 -type d -name "$CID*" 2>/dev/null | sort -u
}

# check_no_leaks: nothing of this test left behind.
check_no_leaks() {
	local leaks=() x

	local rt root
	for rt in runc crun; do
		root=${rt^^}_ROOT
		root=${!root}
		[ -d "$root" ] || continue
		for x in "$root"/*; do
			[ -e "$x" ] && leaks+=("$rt container: $(basename "$x")")
		done
	done

	for x in "$STATE_DIR"/containers/*; do
		[ -e "$x" ] && leaks+=("state file: $x")
	done
	for x in "$BPFFS_DIR"/containers/*; do
		[ -e "$x" ] && leaks+=("pins: $x")
	done
	while read -r x; do
		[ -n "$x" ] && [ -e "$x" ] && leaks+=("bpffs dir of this test: $x")
		[ -n "$x" ] && [ -e "$(anchor_cgroup "$x")" ] &&
			leaks+=("anchor cgroup of $x: $(anchor_cgroup "$x")")
	done <"$BATS_TEST_TMPDIR/extra-bpffs"

	while read -r x; do
		[ -n "$x" ] && leaks+=("anchor cgroup of a bpffs_dir of a config of this test: $x")
	done < <(left_anchor_cgroups)

	while read -r x; do
		[ -n "$x" ] && leaks+=("pinned outside bpffs_dir: /sys/fs/bpf/$x")
	done < <(bpffs_root_pins | comm -13 "$BATS_TEST_TMPDIR/bpffs-root" -)

	if ! wait_for 50 0.1 no_stray_collector 2>/dev/null; then
		for x in $(stray_collectors); do
			leaks+=("ocibpfd still running: pid $x: $(tr '\0' ' ' <"/proc/$x/cmdline")")
		done
	fi

	while read -r x; do
		[ -n "$x" ] && leaks+=("cgroup: $x")
	done < <(leftover_cgroups)

	if [ ${#leaks[@]} -gt 0 ]; then
		echo "check_no_leaks: ${#leaks[@]} leak(s):" >&2
		printf '  %s\n' "${leaks[@]}" >&2
		return 1
	fi
}

kill_collectors() {
	local pid
	for pid in $(collector_pids); do
		kill "$pid" 2>/dev/null
	done
	wait_for 30 0.1 no_collector 2>/dev/null || for pid in $(collector_pids); do
		kill -9 "$pid" 2>/dev/null
	done
}

cleanup_leftovers() {
	local rt root x id

	# containers, through the runtime (runs poststop hooks)
	for rt in runc crun; do
		root=${rt^^}_ROOT
		root=${!root}
		[ -d "$root" ] || continue
		for x in "$root"/*; do
			[ -e "$x" ] || continue
			id=$(basename "$x")
			"__$rt" delete -f "$id" >/dev/null 2>&1 ||
				{ "__$rt" kill "$id" KILL >/dev/null 2>&1; sleep 0.2;
				  "__$rt" delete -f "$id" >/dev/null 2>&1; } || true
		done
		rm -rf "$root"
	done

	stop_sandboxes

	# monitoring leftovers
	rm -f "$STATE_DIR"/containers/*
	rm -rf "$BPFFS_DIR"/containers/*
	while read -r x; do
		[ -n "$x" ] && [[ "$x" == /sys/fs/bpf/ocibpf-test-* ]] && rm -rf "$x"
		[ -n "$x" ] && rmdir "$(anchor_cgroup "$x")" 2>/dev/null
	done <"$BATS_TEST_TMPDIR/extra-bpffs"
	left_anchor_cgroups | xargs -r rmdir 2>/dev/null

	# cgroups (deepest first)
	leftover_cgroups | sort -r | while read -r x; do
		rmdir "$x" 2>/dev/null
	done

	no_collector || kill_collectors
}

# new_bpffs_dir: a fresh bpffs_dir for this test only (removed in teardown, leak
# checked). Prints its path.
new_bpffs_dir() {
	local d=/sys/fs/bpf/ocibpf-test-$BATS_TEST_NUMBER-$$-$RANDOM
	echo "$d" >>"$BATS_TEST_TMPDIR/extra-bpffs"
	echo "$d"
}
