# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Helpers for faults.bats, load.bats and security.bats (issue 7), on top of
# helpers.bash: what this file's bpffs_dir holds (links of its programs, entries of
# its maps), the collector's resources, waiting for runtimes.
#
# Other suites may run on the same machine at the same time: every count here is
# scoped to this file's bpffs_dir (its programs, its maps, its pins), never global.

# set_prog_ids: ids of the programs pinned in this file's BPF set(s), one a line.
set_prog_ids() {
	local p
	for p in "$BPFFS_DIR"/sets/*/progs/*; do
		[ -e "$p" ] && bpftool -j prog show pinned "$p" | jq -r .id
	done | sort -n
}

# our_cgroup_links: number of cgroup bpf_links running this file's programs on
# containers' cgroups (not on the set's anchor cgroup, which holds one link a program
# while the set is loaded: src/core/anchor.h).
our_cgroup_links() {
	local ids anchor anchor_id=0
	ids=$(set_prog_ids | jq -R 'tonumber' | jq -sc .)
	anchor=$(anchor_cgroup "$BPFFS_DIR")
	[ -d "$anchor" ] && anchor_id=$(stat -c %i "$anchor")
	bpftool -j link list | jq --argjson ids "$ids" --argjson anchor "$anchor_id" \
		'[.[] | select(.type == "cgroup" and .cgroup_id != $anchor
			and (.prog_id as $p | $ids | index($p)))] | length'
}

# cgroup_links_of CGID: cgroup bpf_links (any program) attached to cgroup id CGID.
cgroup_links_of() {
	bpftool -j link list | jq --argjson cg "$1" '[.[] | select(.type == "cgroup" and .cgroup_id == $cg)] | length'
}

# map_keys MAP: keys of a pinned map of this file's set(s) (decimal), one a line.
map_keys() {
	local m
	for m in "$BPFFS_DIR"/sets/*/maps/"$1"; do
		[ -e "$m" ] || continue
		bpftool -j map dump pinned "$m" | jq -r '.[] | if .formatted then
			(.formatted.key | if type == "object" then (.container_cgid // .) else . end)
			else (.key | map(ltrimstr("0x")) | reverse | join("")) end' 2>/dev/null
	done | sort
}

# cgroup_map_has CGID: the ocibpf_cgroups map has an entry for CGID.
cgroup_map_has() {
	map_keys ocibpf_cgroups | grep -qx "$1"
}

# map_entries MAP: number of entries in a pinned map of this file's set(s).
map_entries() {
	local m n=0 c
	for m in "$BPFFS_DIR"/sets/*/maps/"$1"; do
		[ -e "$m" ] || continue
		c=$(bpftool -j map dump pinned "$m" | jq length)
		n=$((n + c))
	done
	echo "$n"
}

# pin_count: files pinned under this file's bpffs_dir/containers.
pin_count() {
	find "$BPFFS_DIR/containers" -mindepth 1 2>/dev/null | wc -l
}

# state_count: container records in state_dir.
state_count() {
	find "$STATE_DIR/containers" -mindepth 1 2>/dev/null | wc -l
}

# cgid_of ID: the container's cgroup id, from its state record.
cgid_of() {
	jq -r .cgroup_id "$(state_file "$1")"
}

# collector_pid: pid of this file's collector (from its pid file), or nothing.
collector_pid() {
	local pid
	pid=$(head -n 1 "$STATE_DIR/ocibpfd.pid" 2>/dev/null | tr -dc 0-9)
	[ -n "$pid" ] && [ -d "/proc/$pid" ] && ! is_zombie "$pid" && echo "$pid"
}

# collector_fds PID / collector_rss_kb PID: open descriptors and resident memory.
collector_fds() {
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

collector_rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# start_collector_foreground ERRFILE: a supervised collector (ocibpfd --foreground)
# for this test's configuration, its stderr in ERRFILE; sets FG_COLLECTOR. The hook
# uses it instead of starting one; the test stops it (stop_collector_foreground).
start_collector_foreground() {
	"$OCIBPFD" --foreground --config "$OCIBPF_CONFIG" </dev/null >/dev/null 2>"$1" 3>&- &
	FG_COLLECTOR=$!
	wait_for 50 0.1 test -S "$STATE_DIR/ocibpfd.sock"
}

stop_collector_foreground() {
	[ -n "${FG_COLLECTOR:-}" ] || return 0
	kill "$FG_COLLECTOR" 2>/dev/null
	wait "$FG_COLLECTOR" 2>/dev/null
	FG_COLLECTOR=
}

# wait_stopped ID: wait (up to 20 s) until the runc container has exited.
wait_stopped() {
	wait_for 200 0.1 sh -c "[ \"\$(timeout 5 $RUNC --root $RUNC_ROOT state $1 2>/dev/null | jq -r .status)\" = stopped ]"
}
