#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
#
# The Debian package (make deb) installed on this machine for real, with
# `apt-get install ./ocibpf_*.deb`: the stock Podman (no --hooks-dir) runs the hook of the
# package's hooks.d file for an annotated container, a runc container runs the installed
# hook, both are monitored with the host's own configuration (/etc/ocibpf/config.json:
# /run/ocibpf, /var/log/ocibpf, /sys/fs/bpf/ocibpf); then `apt-get purge` leaves nothing
# behind and the engines still work.
#
# The package uses the host's paths, which no other test file uses (they all have an
# OCIBPF_CONFIG of their own). The test refuses to run over an ocibpf already installed or
# any of those paths already there, and its teardown purges the package and stops what it
# started whatever happened.
#
# systemd is not PID 1 on these VMs: the unit's maintainer scripts skip start/stop (they
# look for /run/systemd/system) but still enable/disable it (symlinks that purge removes).
# The unit's own commands (ExecStartPre=ocibpf load --no-collector, ExecStart=ocibpfd --foreground) are
# run here as systemd would run them, read from the installed unit.
#
# OCIBPF_DEB=FILE uses a package built already; else `make deb` builds one into
# $OCIBPF_BUILD/deb (a few minutes).

load helpers
load engines-helpers

HOST_PATHS=(/etc/ocibpf /run/ocibpf /var/log/ocibpf /sys/fs/bpf/ocibpf)
UNIT_LINK=/etc/systemd/system/multi-user.target.wants/ocibpfd.service

setup_file() {
	ocibpf_setup_file
	note_preexisting
	[ -d "$ROOTFS_TEMPLATE" ] && make_rootfs_tar "$BATS_FILE_TMPDIR/rootfs.tar"
	return 0
}

teardown_file() {
	local rc=0
	ocibpf_teardown_file || rc=1
	engines_teardown_file
	return $rc
}

setup() {
	ocibpf_setup
}

teardown() {
	local rc=0
	podman_teardown || rc=1
	deb_teardown || rc=1
	ocibpf_teardown || rc=1
	return $rc
}

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' ocibpf 2>/dev/null)" = installed ]
}

# The package's collector (the unit's or one a hook started), from its pid file.
package_collector() {
	local pid
	pid=$(cat /run/ocibpf/ocibpfd.pid 2>/dev/null | tr -dc 0-9)
	[ -n "$pid" ] && [ -d "/proc/$pid" ] && ! is_zombie "$pid" &&
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = ocibpfd ] && echo "$pid"
}

no_package_collector() {
	[ -z "$(package_collector)" ] && [ -z "$(pgrep -x -f '/usr/bin/ocibpfd.*' 2>/dev/null)" ]
}

deb_teardown() {
	[ -f "$BATS_TEST_TMPDIR/deb-owned" ] || return 0
	local rc=0 pid id
	for id in $(ls "$RUNC_ROOT" 2>/dev/null); do
		__runc delete -f "$id" >/dev/null 2>&1 || rc=1
	done
	if installed || [ "$(dpkg-query -W -f='${db:Status-Status}' ocibpf 2>/dev/null)" = config-files ]; then
		echo "# teardown: purging ocibpf" >&2
		apt_get purge ocibpf >&2 || rc=1
	fi
	for pid in $(package_collector) $(pgrep -x -f '/usr/bin/ocibpfd.*' 2>/dev/null); do
		kill "$pid" 2>/dev/null
		rc=1
	done
	wait_for 50 0.1 no_package_collector 2>/dev/null || rc=1
	local p
	for p in "${HOST_PATHS[@]}" "$UNIT_LINK"; do
		if [ -e "$p" ] || [ -L "$p" ]; then
			echo "# teardown: $p left behind: removed" >&2
			rm -rf "$p"
			rc=1
		fi
	done
	rm -f "$BATS_TEST_TMPDIR/deb-owned"
	return $rc
}

apt_get() {
	DEBIAN_FRONTEND=noninteractive timeout 600 apt-get -y -q -o DPkg::Lock::Timeout=300 \
		--no-install-recommends "$@" 3>&-
}

# The .deb: OCIBPF_DEB, else built now by make deb.
the_deb() {
	if [ -n "${OCIBPF_DEB:-}" ]; then
		[ -f "$OCIBPF_DEB" ] || fail "OCIBPF_DEB=$OCIBPF_DEB: no such file"
		DEB=$(readlink -f "$OCIBPF_DEB")
		return 0
	fi
	run make -C "$PROJECT_ROOT" BUILD="$OCIBPF_BUILD" deb 3>&-
	[ "$status" -eq 0 ] || fail "make deb failed: $(tail -n 40 <<<"$output")"
	DEB=$(ls "$OCIBPF_BUILD"/deb/ocibpf_*.deb)
	[ -f "$DEB" ] || fail "make deb made no ocibpf_*.deb in $OCIBPF_BUILD/deb"
}

# The installed CLI with the host's configuration.
host_ocibpf() {
	run --separate-stderr env -u OCIBPF_CONFIG timeout "$HOOK_TIMEOUT" /usr/bin/ocibpf "$@"
	log_run_stderr "/usr/bin/ocibpf $*"
}

# A value of the installed unit, as systemd reads it (the first such line).
unit_value() {
	sed -n "s/^$1=//p" /lib/systemd/system/ocibpfd.service | head -n 1
}

# A denied connection (policy "full" denies tcp 127.0.0.1:9): EPERM in the container, a
# net record in the log.
DENIED_CONNECT='nc -w 1 127.0.0.1 9 </dev/null; echo nc=$?'

assert_denied_connect() {
	local id=$1 log=/var/log/ocibpf/$1.jsonl
	wait_for 50 0.1 grep -q '"type":"net"' "$log" || fail "no net record in $log: $(cat "$log")"
	run jq -e -s --arg id "$id" 'map(select(.type == "net")) | length >= 1 and
		all(.[]; .action == "deny" and .direction == "egress" and .addr == "127.0.0.1"
		    and .port == 9 and .container == $id)' "$log"
	[ "$status" -eq 0 ] || fail "net records of $id: $(grep '"net"' "$log")"
}

@test "the .deb: apt-get install, an annotated Podman container (stock hooks directory) and a runc one monitored, apt-get purge leaves nothing, the engines still work" {
	requires root cgroup2 bpf bpftool jq busybox runc
	engine_requires podman systemd-tmpfiles
	command -v apt-get >/dev/null && command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null ||
		fail "make deb needs dpkg-dev and debhelper (tests/install-deps.sh installs them)"
	# Nothing of the host's may be in the way: this test owns these paths while it runs.
	! installed || fail "ocibpf is installed on this machine already: not touching it"
	local p
	for p in "${HOST_PATHS[@]}"; do
		[ ! -e "$p" ] || fail "$p exists already: not installing over it"
	done
	[ ! -e /usr/share/containers/oci/hooks.d/ocibpf.json ] ||
		fail "/usr/share/containers/oci/hooks.d/ocibpf.json exists already (not the package's)"
	the_deb

	: >"$BATS_TEST_TMPDIR/deb-owned"
	run apt_get install "$DEB"
	[ "$status" -eq 0 ] || fail "apt-get install $DEB: $output"
	installed

	# what it installed, where
	local f
	for f in /usr/bin/ocibpf /usr/bin/ocibpf-hook /usr/bin/ocibpfd /usr/bin/ocibpf-runtime \
		/lib/systemd/system/ocibpfd.service /usr/lib/tmpfiles.d/ocibpf.conf \
		/etc/logrotate.d/ocibpf /usr/share/bash-completion/completions/ocibpf \
		/usr/share/man/man8/ocibpf.8.gz /usr/share/man/man5/ocibpf-policy.5.gz \
		/usr/share/containers/oci/hooks.d/ocibpf.json; do
		[ -f "$f" ] || fail "$f not installed: $(dpkg -L ocibpf)"
	done
	[[ "$(unit_value ExecStartPre)" == "/usr/bin/ocibpf load --no-collector" ]] || fail "ExecStartPre=$(unit_value ExecStartPre)"
	[[ "$(unit_value ExecStart)" == "/usr/bin/ocibpfd --foreground"* ]] || fail "ExecStart=$(unit_value ExecStart)"
	# enabled by the maintainer scripts (started only where systemd runs)
	[ -L "$UNIT_LINK" ] || fail "ocibpfd.service not enabled: no $UNIT_LINK"
	if command -v systemd-analyze >/dev/null; then
		run systemd-analyze verify /lib/systemd/system/ocibpfd.service
		assert_success
	fi
	# tmpfiles.d made the directories with their modes
	[ "$(stat -c %a /run/ocibpf)" = 700 ] || fail "/run/ocibpf: $(stat -c %a /run/ocibpf 2>&1)"
	[ "$(stat -c %a /var/log/ocibpf)" = 750 ] || fail "/var/log/ocibpf: $(stat -c %a /var/log/ocibpf 2>&1)"
	# the hooks.d file is what the installed `ocibpf install podman` writes, and where
	# the stock Podman reads it
	host_ocibpf install podman
	assert_success
	assert_line "/usr/share/containers/oci/hooks.d/ocibpf.json: unchanged"
	assert_line "podman reads hooks from /usr/share/containers/oci/hooks.d: checked (podman --help)"
	run jq -e '.hook.path == "/usr/bin/ocibpf-hook" and (.hook | has("env") | not)' \
		/usr/share/containers/oci/hooks.d/ocibpf.json
	assert_success

	# The unit: started by the package where systemd runs; else its commands run here as
	# systemd runs them: ocibpf load, then the collector.
	if [ -d /run/systemd/system ]; then
		wait_for 100 0.1 systemctl -q is-active ocibpfd || fail "ocibpfd.service: $(systemctl status ocibpfd)"
	else
		local load start
		load=$(unit_value ExecStartPre)
		start=$(unit_value ExecStart)
		run env -u OCIBPF_CONFIG $load
		assert_success
		env -u OCIBPF_CONFIG setsid $start </dev/null >"$BATS_TEST_TMPDIR/ocibpfd.out" 2>&1 3>&- &
	fi
	wait_for 100 0.1 package_collector >/dev/null ||
		fail "the unit's collector did not start: $(cat "$BATS_TEST_TMPDIR/ocibpfd.out" 2>&1)"
	[ -d /sys/fs/bpf/ocibpf ] && [ -n "$(ls -A /sys/fs/bpf/ocibpf)" ] || fail "ocibpf load pinned nothing"
	local collector
	collector=$(package_collector)

	# the host's configuration and a policy, as an administrator writes them
	mkdir -p /etc/ocibpf/policies
	printf '%s\n' "$FULL_POLICY" >/etc/ocibpf/policies/full.json
	STATE_DIR=/run/ocibpf LOG_DIR=/var/log/ocibpf BPFFS_DIR=/sys/fs/bpf/ocibpf
	# (runc runs a hook with no env of its own in runc's environment)
	unset OCIBPF_CONFIG

	# Podman as installed: no --hooks-dir, no CONTAINERS_CONF
	podman_setup_stock
	podman_run -d --name "$CID" --annotation io.ocibpf.policy=full "$ENGINES_IMAGE" \
		sh -c "$DENIED_CONNECT; exec sleep 300"
	assert_success
	local pid id=${lines[-1]}
	[[ "$id" =~ ^[0-9a-f]{64}$ ]] || fail "no container id: $output"
	pid=$(__podman inspect -f '{{.State.Pid}}' "$CID")
	assert_monitored "$id" "$pid" full
	wait_for 50 0.1 podman_logs_have 'nc=' || fail "container output: $(__podman logs "$CID" 2>&1)"
	podman_cmd logs "$CID"
	assert_output --partial "nc=1"
	assert_denied_connect "$id"
	host_ocibpf ps --json
	assert_success
	run jq -e --arg id "$id" 'map(select(.id == $id and .policy == "full")) | length == 1' <<<"$output"
	assert_success

	# runc with the installed hook and the host's configuration (no OCIBPF_CONFIG)
	setup_busybox_bundle
	update_config '.hooks = {createRuntime: [{path: "/usr/bin/ocibpf-hook", args: ["ocibpf-hook"]}],
		poststop: [{path: "/usr/bin/ocibpf-hook", args: ["ocibpf-hook"]}]}
		| .annotations["io.ocibpf.policy"] = "full" | .process.args = ["sh", "-c", $c]' \
		--arg c "$DENIED_CONNECT; exec sleep 300"
	runc_run -d "$CID-runc"
	assert_success
	pid=$(runtime_state runc "$CID-runc" pid)
	assert_monitored "$CID-runc" "$pid" full
	assert_denied_connect "$CID-runc"
	host_ocibpf ps
	assert_success
	assert_line --partial "$CID-runc"

	# one collector served both: the unit's
	[ "$(package_collector)" = "$collector" ] || fail "collector $collector replaced by $(package_collector)"

	runc_cmd delete -f "$CID-runc"
	assert_success
	assert_stopped "$CID-runc"
	podman_cmd rm -f -t 0 "$CID"
	assert_success
	assert_stopped "$id"

	# purge: nothing left, the collector stopped, the unit disabled
	local listed=$BATS_TEST_TMPDIR/listed
	dpkg -L ocibpf | while read -r f; do
		[ -d "$f" ] && echo "d $f" || echo "f $f"
	done >"$listed"
	run apt_get purge ocibpf
	[ "$status" -eq 0 ] || fail "apt-get purge: $output"
	! installed
	[ -z "$(dpkg-query -W -f='${db:Status-Status}' ocibpf 2>/dev/null)" ] ||
		[ "$(dpkg-query -W -f='${db:Status-Status}' ocibpf)" = not-installed ] ||
		fail "dpkg still knows ocibpf: $(dpkg-query -W -f='${db:Status-Status}' ocibpf)"
	# every file gone; every directory too, unless another package has it
	local kind
	while read -r kind f; do
		[ -e "$f" ] || continue
		[ "$kind" = d ] && dpkg -S "$f" >/dev/null 2>&1 && continue
		[ "$f" = /. ] && continue
		fail "$f left by purge"
	done <"$listed"
	for p in "${HOST_PATHS[@]}" "$UNIT_LINK"; do
		[ ! -e "$p" ] && [ ! -L "$p" ] || fail "$p left by purge: $(ls -la "$p")"
	done
	[ -z "$(ls /var/lib/systemd/deb-systemd-helper-enabled 2>/dev/null | grep ocibpfd)" ] ||
		fail "deb-systemd-helper still has ocibpfd"
	wait_for 50 0.1 no_package_collector || fail "the collector survived the purge: $(package_collector)"
	! kill -0 "$collector" 2>/dev/null || is_zombie "$collector" || fail "collector $collector still runs"
	rm -f "$BATS_TEST_TMPDIR/deb-owned"

	# the engines still work: an annotated Podman container starts unmonitored, runc runs
	podman_run --rm --annotation io.ocibpf.policy=full "$ENGINES_IMAGE" echo still-works
	assert_success
	assert_output --partial still-works
	update_config '.hooks = {} | .process.args = ["true"]'
	runc_run "$CID-after"
	assert_success
	[ ! -e /var/log/ocibpf ] && [ ! -e /run/ocibpf ] && [ ! -e /sys/fs/bpf/ocibpf ] ||
		fail "something made ocibpf's paths again after the purge"
}
