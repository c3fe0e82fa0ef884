#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
#
# Upgrades (docs/fleet.md "## Upgrades"): a node's package is upgraded (or downgraded)
# while containers run. Two builds whose BPF set versions differ: this tree's build and
# "the other", the same sources with the ring buffer at half its size (a different
# object, so a different set version), built once for the file (or OCIBPF_OTHER_BUILD).
# As dpkg does, the binaries are files at one path ($PKG_BIN) replaced in place
# (a rename over the old file); the containers' hooks name that path, so a container
# started by the old package is stopped by the new package's poststop. The collector
# runs as the systemd unit runs it: `ocibpf load --no-collector`, then
# `ocibpfd --foreground`, restarted with the package.

load helpers
load net-helpers
load reliability-helpers

setup_file() {
	ocibpf_setup_file
	net_setup_file
	export PKG_BIN=$BATS_FILE_TMPDIR/pkg-bin
	mkdir -p "$PKG_BIN"
	export THIS_BUILD=$OCIBPF_BUILD
	if [ -n "${OCIBPF_OTHER_BUILD:-}" ]; then
		export OTHER_BUILD=$OCIBPF_OTHER_BUILD
		return 0
	fi
	# The other version: this tree's sources, the ring buffer at 8 MiB instead of 16.
	local src=$BATS_FILE_TMPDIR/other-src
	mkdir -p "$src"
	(cd "$PROJECT_ROOT" && tar -c --exclude=./build --exclude=./.git .) | tar -x -C "$src"
	sed -i 's/__uint(max_entries, 16 << 20);/__uint(max_entries, 8 << 20);/' "$src/bpf/maps.bpf.h"
	grep -q '8 << 20' "$src/bpf/maps.bpf.h" || {
		echo "# upgrade.bats: cannot make the other version (bpf/maps.bpf.h changed?)" >&3
		return 1
	}
	if ! make -C "$src" -j2 all >"$BATS_FILE_TMPDIR/other-build.log" 2>&1; then
		echo "# upgrade.bats: the other build failed: $(tail -n 5 "$BATS_FILE_TMPDIR/other-build.log")" >&3
		return 1
	fi
	export OTHER_BUILD=$src/build
}

teardown_file() {
	OCIBPF_CLI=$THIS_BUILD/ocibpf
	ocibpf_teardown_file
}

setup() {
	requires root cgroup2 bpf bpftool runc busybox jq
	# The package's binaries, named by the hooks and the unit.
	OCIBPF_HOOK=$PKG_BIN/ocibpf-hook
	OCIBPF_CLI=$PKG_BIN/ocibpf
	OCIBPFD=$PKG_BIN/ocibpfd
	ocibpf_setup
	net_setup
	net_requires_nettool
	FG_COLLECTOR=
}

teardown() {
	stop_collector_foreground
	net_teardown
	ocibpf_teardown
	# what a failed test left: gone, by this tree's build
	"$THIS_BUILD/ocibpf" gc --unload >/dev/null 2>&1 || true
	rm -f "$PKG_BIN"/*
}

set_version_of() {
	sed -n 's/^#define OCIBPF_BPF_VERSION "\(.*\)"$/\1/p' "$1/bpf_version.h"
}

# install_pkg BUILD: the package's files replaced as dpkg replaces them (a new file
# renamed over the old one: a running process keeps the old one).
install_pkg() {
	local f
	for f in ocibpf ocibpf-hook ocibpfd; do
		cp "$1/$f" "$PKG_BIN/.$f.dpkg-new"
		mv -f "$PKG_BIN/.$f.dpkg-new" "$PKG_BIN/$f"
	done
}

# unit_start: the systemd unit's start: load, then the supervised collector. Without
# the unit (UPGRADE_MODE=hook), nothing: the hooks load the set and start the collector,
# which stays while a container runs (the old one serves the new package's containers).
unit_start() {
	[ "$UPGRADE_MODE" = unit ] || return 0
	run "$PKG_BIN/ocibpf" load --no-collector
	log_run
	[ "$status" -eq 0 ] || fail "ocibpf load failed: $output"
	start_collector_foreground "$BATS_TEST_TMPDIR/ocibpfd-$RANDOM.err" ||
		fail "the collector did not start"
}

unit_stop() {
	stop_collector_foreground
}

# long_bundle DIR PORT: a container (host network) that, each time /go appears, tries
# 127.0.0.1:PORT (allowed) and PORT+1 (denied), opens /etc/passwd, and appends
# "N: <allowed> / <denied>" to /out; it exits when /stop appears.
long_bundle() {
	setup_busybox_bundle "$1"
	add_nettool
	update_config '.root.readonly = false'
	use_host_network
	set_policy upg
	set_cmd sh -c "n=0; while [ ! -e /stop ]; do if [ -e /go ]; then rm -f /go; n=\$((n + 1));
		a=\$(nettool tcp 127.0.0.1 $2 2000); d=\$(nettool tcp 127.0.0.1 $(($2 + 1)) 2000);
		cat /etc/passwd >/dev/null; echo \"\$n: \$a / \$d\" >>/out; fi; sleep 0.2; done"
	add_hooks
}

# poke BUNDLE N: one round of the container's traffic; its result line N must say the
# allowed port connected and the denied one failed with EPERM.
poke() {
	touch "$1/rootfs/go"
	wait_for 200 0.05 grep -q "^$2: " "$1/rootfs/out" ||
		fail "round $2 did not run: $(cat "$1/rootfs/out" 2>&1)"
	local line
	line=$(grep "^$2: " "$1/rootfs/out")
	echo "round $2: $line" >&2
	[[ "$line" =~ ^$2:\ ok\ [0-9]+ms\ /\ EPERM\ [0-9]+ms$ ]] ||
		fail "round $2: policy not in force: $line"
}

# stop_long RUNTIME ID BUNDLE: a long_bundle container told to exit, deleted (poststop),
# and checked stopped.
stop_long() {
	local srt=$1 sid=$2
	touch "$3/rootfs/stop"
	wait_for 200 0.1 eval '[ "$(runtime_state "$srt" "$sid" status)" = stopped ]' ||
		fail "$sid did not stop: $(runtime_state "$srt" "$sid" status)"
	"${srt}_cmd" delete "$sid"
	assert_success
	assert_stopped "$sid"
}

# passwd_opens ID: the container's openat records of /etc/passwd.
passwd_opens() {
	jq -s '[.[] | select(.type == "syscall" and .syscall == "openat"
		and .path == "/etc/passwd")] | length' "$(audit_log "$1")"
}

# upgrade_test [--hook] RUNTIME FROM-BUILD TO-BUILD
upgrade_test() {
	UPGRADE_MODE=unit
	if [ "$1" = --hook ]; then
		UPGRADE_MODE=hook
		shift
	fi
	local rt=$1 from=$2 to=$3 vfrom vto
	vfrom=$(set_version_of "$from")
	vto=$(set_version_of "$to")
	[ -n "$vfrom" ] && [ -n "$vto" ] && [ "$vfrom" != "$vto" ] ||
		fail "the two builds have the same set version ($vfrom, $vto)"
	local p
	p=$(free_ports 2)
	host_listen tcp 127.0.0.1 "$p"
	write_policy upg "{
	  \"audit\": { \"syscalls\": [\"openat\"] },
	  \"network\": { \"egress\": { \"default\": \"allow\", \"rules\": [
	      { \"action\": \"deny\", \"cidr\": \"127.0.0.1/32\", \"protocol\": \"tcp\", \"ports\": \"$((p + 1))\" } ] } },
	  \"telemetry\": true
	}"
	# (a policy file younger than 2 s is not cached: policycache.c RACY_NS)
	sleep 2.1

	# The old package: A starts.
	install_pkg "$from"
	unit_start
	local a=$CID-a abundle=$BATS_TEST_TMPDIR/a
	long_bundle "$abundle" "$p"
	"${rt}_run" -d "$a"
	assert_success
	[ "$(jq -r .set "$(state_file "$a")")" = "$vfrom" ] || fail "A not on $vfrom: $(cat "$(state_file "$a")")"
	poke "$abundle" 1
	wait_for 100 0.1 eval '[ "$(passwd_opens "$a")" -ge 1 ]' ||
		fail "A not audited under the old package: $(cat "$(audit_log "$a")")"

	# The upgrade: files replaced, the unit restarted.
	unit_stop
	install_pkg "$to"
	unit_start
	[ -d "$BPFFS_DIR/sets/$vfrom" ] || fail "the old set is gone after the load"
	[ "$UPGRADE_MODE" = hook ] || [ -d "$BPFFS_DIR/sets/$vto" ] || fail "the new set is not loaded"

	# A: still held to its policy, still audited, its stats readable.
	poke "$abundle" 2
	poke "$abundle" 3
	wait_for 100 0.1 eval '[ "$(passwd_opens "$a")" -ge 3 ]' ||
		fail "A's audit records stop at the upgrade: $(passwd_opens "$a") opens of /etc/passwd logged for 3 rounds: $(jq -c 'select(.type != "exec") | [.seq, .type, .syscall // .count // null, .path // null]' "$(audit_log "$a")" | tr '\n' ' ')"
	run "$PKG_BIN/ocibpf" stats --json "$a"
	log_run
	assert_success
	jq -e --arg id "$a" '.. | objects | select(.id? == $id or .container? == $id)' <<<"$output" >/dev/null ||
		fail "ocibpf stats has no A: $output"

	# The policy cache A's start wrote (policycache.h): another build's, so the new
	# package's hook must not take it (it reads the policy in full and stores its own).
	local cache=$STATE_DIR/policies/upg.cache
	[ -f "$cache" ] || fail "no policy cache after A's start: $(ls -la "$STATE_DIR/policies" 2>&1)"
	cp "$cache" "$BATS_TEST_TMPDIR/old.cache"

	# B, started by the new package: on the new set, held to the policy, audited.
	local b=$CID-b bbundle=$BATS_TEST_TMPDIR/b
	long_bundle "$bbundle" "$p"
	"${rt}_run" -d "$b"
	assert_success
	[ "$(jq -r .set "$(state_file "$b")")" = "$vto" ] || fail "B not on $vto: $(cat "$(state_file "$b")")"
	[ -d "$BPFFS_DIR/sets/$vto" ] || fail "the new set is not loaded"
	poke "$bbundle" 1
	[ -f "$cache" ] && ! cmp -s "$cache" "$BATS_TEST_TMPDIR/old.cache" ||
		fail "the new package's hook kept the old build's policy cache (taken for its own)"
	wait_for 100 0.1 eval '[ "$(passwd_opens "$b")" -ge 1 ]' || fail "B not audited: $(cat "$(audit_log "$b")")"
	# The new package's CLI on both: listed alive, A's log read.
	run "$PKG_BIN/ocibpf" ps --json
	log_run
	assert_success
	jq -e --arg a "$a" --arg b "$b" '[.[] | select((.id == $a or .id == $b) and .alive)] | length == 2' \
		<<<"$output" >/dev/null || fail "ocibpf ps does not list A and B alive"
	run "$PKG_BIN/ocibpf" audit "$a"
	assert_success
	assert_output --partial /etc/passwd

	# gc by the new package while A runs: the old set stays, A stays held.
	run "$PKG_BIN/ocibpf" gc
	log_run
	assert_success
	[ -d "$BPFFS_DIR/sets/$vfrom" ] || fail "gc removed the old set under a running container"
	[ -d "$(pins_dir "$a")" ] || fail "gc removed A's pins"
	poke "$abundle" 4

	# A stops; its poststop is the new package's hook.
	local acg
	acg=$(cgid_of "$a")
	stop_long "$rt" "$a" "$abundle"
	! cgroup_map_has "$acg" || fail "A's entry left in the old set's ocibpf_cgroups"
	[ "$(cgroup_links_of "$acg")" -eq 0 ] || fail "links left on A's cgroup: $(cgroup_links_of "$acg")"
	stop_long "$rt" "$b" "$bbundle"
	wait_for 100 0.1 eval '[ "$(passwd_opens "$a")" -ge 4 ]' ||
		fail "A's log lacks records of the rounds after the upgrade: $(passwd_opens "$a") opens of 4"
	jq -e -s '.[-1].stats.egress_denied >= 4' "$(audit_log "$a")" >/dev/null ||
		fail "A's stop record does not count its 4 denied connects: $(tail -n 1 "$(audit_log "$a")")"
	# lost records, if any, are explained (contiguous seq is checked by assert_stopped)
	jq -c 'select(.type == "lost")' "$(audit_log "$a")" >&2

	# No container of the old set: gc removes it; unload leaves nothing.
	run "$PKG_BIN/ocibpf" gc
	log_run
	assert_success
	[ ! -e "$BPFFS_DIR/sets/$vfrom" ] || fail "gc kept the old set with no container on it: $(ls "$BPFFS_DIR/sets")"
	[ -d "$BPFFS_DIR/sets/$vto" ] || fail "gc removed the current set"
	[ "$(our_cgroup_links)" -eq 0 ] || fail "cgroup links left: $(our_cgroup_links)"
	unit_stop
	run "$PKG_BIN/ocibpf" gc --unload
	log_run
	assert_success
	[ ! -e "$BPFFS_DIR" ] || fail "left after gc --unload: $(find "$BPFFS_DIR")"
}

@test "upgrade under runc: a running container keeps its policy and audit, B gets the new set, poststop by the new hook, gc removes the old set" {
	upgrade_test runc "$OTHER_BUILD" "$THIS_BUILD"
}

@test "upgrade under crun: a running container keeps its policy and audit, B gets the new set, poststop by the new hook, gc removes the old set" {
	requires crun
	upgrade_test crun "$OTHER_BUILD" "$THIS_BUILD"
}

@test "downgrade under runc: the same, new package to old" {
	upgrade_test runc "$THIS_BUILD" "$OTHER_BUILD"
}

@test "downgrade under crun: the same, new package to old" {
	requires crun
	upgrade_test crun "$THIS_BUILD" "$OTHER_BUILD"
}

@test "upgrade without the unit under runc: the old collector, started by the old hook, serves the new package's containers" {
	upgrade_test --hook runc "$OTHER_BUILD" "$THIS_BUILD"
}

@test "downgrade without the unit under runc: the same, new package to old" {
	upgrade_test --hook runc "$THIS_BUILD" "$OTHER_BUILD"
}
