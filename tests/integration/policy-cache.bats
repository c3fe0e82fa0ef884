#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The policy cache (src/core/policycache.h): a container whose network policy file is
# unchanged and whose compiled entries are kept starts without reading the rules; any
# change of the file (in place, same size, mtime put back, renamed over), a damaged
# cache or kept entries that are gone: the rules are read in full, and held to. Real
# containers (runc, host network) connecting to listeners on 127.0.0.1.

load helpers
load net-helpers

setup_file() {
	ocibpf_setup_file
	net_setup_file
}

teardown_file() {
	ocibpf_teardown_file
}

setup() {
	requires root cgroup2 bpf runc busybox jq bpftool strace
	ocibpf_setup
	net_setup
	net_requires_nettool
	setup_busybox_bundle
	add_nettool
	add_hooks
	use_host_network
	P1=$(free_ports 2)
	P2=$((P1 + 1))
	host_listen tcp 127.0.0.1 "$P1"
	host_listen tcp 127.0.0.1 "$P2"
	N_HOOK=0
}

teardown() {
	[ -z "${CACHE_MOUNT:-}" ] || umount "$CACHE_MOUNT" 2>/dev/null || true
	net_teardown
	ocibpf_teardown
}

# settle: the policy files written so far get older than the cache's racy window (2 s): a
# policy file changed within it is not cached.
settle() {
	sleep 2.5
}

cache_of() {
	echo "$STATE_DIR/policies/$1.cache"
}

# deny_port NAME PORT: egress allowed but tcp to 127.0.0.1:PORT. P1 and P2 have as many
# digits: the policies of either are of one size.
deny_port() {
	write_policy "$1" "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"deny\", \"cidr\": \"127.0.0.1/32\", \"protocol\": \"tcp\", \"ports\": \"$2\"}]}}}"
}

# edit_in_place NAME PORT: the policy rewritten to deny PORT over its own bytes (same
# inode, same size), as an editor that writes in place would.
edit_in_place() {
	local file=$POLICY_DIR/$1.json ino size
	ino=$(stat -c %i "$file")
	size=$(stat -c %s "$file")
	printf '%s\n' "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"deny\", \"cidr\": \"127.0.0.1/32\", \"protocol\": \"tcp\", \"ports\": \"$2\"}]}}}" |
		dd of="$file" conv=notrunc status=none
	[ "$(stat -c %i "$file")" = "$ino" ] && [ "$(stat -c %s "$file")" = "$size" ] ||
		fail "the edit changed the inode or the size of $file"
}

# expect_denied N PORT: container $CID-N (the policy set) connects to P1 and P2: only
# PORT is denied.
expect_denied() {
	set_cmd sh -c "for port in $P1 $P2; do echo \"\$port: \$(nettool tcp 127.0.0.1 \$port 5000)\"; done"
	runc_run "$CID-$1"
	assert_success
	local q
	for q in "$P1" "$P2"; do
		if [ "$q" = "$2" ]; then
			assert_line --regexp "^$q: EPERM [0-9]+ms\$"
		else
			assert_line --regexp "^$q: ok [0-9]+ms\$"
		fi
	done
	assert_stopped "$CID-$1"
}

# hook_run NAME: createRuntime run directly, under strace (the hook's own reads: no -f,
# the collector it may start is not followed), for a sandbox process with policy NAME,
# then its poststop. policy_read tells whether it read the policy file.
hook_run() {
	local id=$CID-h$((++N_HOOK))
	TRACE=$BATS_TEST_TMPDIR/trace-$N_HOOK
	spawn_sandbox "$id"
	run --separate-stderr timeout "$HOOK_TIMEOUT" strace -y -e trace=read,pread64 -o "$TRACE" \
		"$OCIBPF_HOOK" createRuntime <<<"$(make_state "$id" "$SANDBOX_PID" "$BUNDLE" "$1")"
	log_run_stderr "strace ocibpf-hook createRuntime ($1)"
	assert_success
	# strace -y names the files read: the policy's or its cache's at least
	grep -q "/policies/$1\.\(json\|cache\)>" "$TRACE" ||
		fail "no read of the policy or its cache in the trace: $(cat "$TRACE")"
	run_hook poststop "$(jq -cn --arg id "$id" --arg b "$BUNDLE" \
		'{ociVersion: "1.0.2", id: $id, status: "stopped", bundle: $b}')"
	assert_success
	stop_sandboxes || true
}

# policy_read NAME: the last hook_run read the policy file.
policy_read() {
	grep -q "^read([0-9]*<[^>]*/policies/$1\.json>" "$TRACE"
}

@test "a policy written less than 2 s ago is not cached; the next start after that caches it" {
	deny_port fresh "$P1"
	set_policy fresh
	expect_denied 1 "$P1"
	[ ! -e "$(cache_of fresh)" ] || fail "a policy file changed 2 s ago or less was cached"
	settle
	expect_denied 2 "$P1"
	[ -f "$(cache_of fresh)" ] || fail "no cache after a start of the settled policy"
	[ "$(stat -c %a "$(cache_of fresh)")" = 600 ] || fail "cache mode $(stat -c %a "$(cache_of fresh)")"
	[ "$(stat -c %a "$STATE_DIR/policies")" = 700 ] || fail "cache dir mode $(stat -c %a "$STATE_DIR/policies")"
}

@test "the next container of an unchanged policy takes its kept entries without reading the rules, and is held to them" {
	deny_port same "$P1"
	set_policy same
	settle
	# no cache: the hook reads the rules (what the checks below tell apart)
	hook_run same
	policy_read same || fail "the hook did not read the policy file, without a cache"
	[ -f "$(cache_of same)" ] || fail "no cache after a start"
	# cached and kept: not read, and the container is held to the policy
	hook_run same
	! policy_read same || fail "the hook read the policy file although cached and kept"
	expect_denied 1 "$P1"
	expect_denied 2 "$P1"
	hook_run same
	! policy_read same || fail "the hook read the policy file although cached and kept"
}

@test "a cached policy's other sections come from the cache as they were: audited syscalls, execs" {
	write_policy audited "{\"audit\": {\"syscalls\": [\"openat\", \"connect\"]},
		\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
		{\"action\": \"deny\", \"cidr\": \"127.0.0.1/32\", \"protocol\": \"tcp\", \"ports\": \"$P1\"}]}}}"
	set_policy audited
	settle
	expect_denied 1 "$P1"
	hook_run audited
	! policy_read audited || fail "the hook read the policy file although cached and kept"
	set_cmd sh -c ": </etc/passwd; nettool tcp 127.0.0.1 $P1 5000; true"
	runc_run "$CID-2"
	assert_success
	assert_output --regexp '^EPERM'
	assert_stopped "$CID-2"
	records "$CID-2" syscall | jq -e -s '
		any(.[]; .syscall == "openat" and .path == "/etc/passwd")
		and any(.[]; .syscall == "connect" and .port == '"$P1"')
		and all(.[]; .syscall == "openat" or .syscall == "connect")' >/dev/null ||
		fail "syscall records of the cached policy: $(records "$CID-2" syscall | head -c 2000)"
	[ -n "$(records "$CID-2" exec)" ] || fail "no exec records (audit section lost?)"
}

@test "a cached policy file made writable by others or given to another owner is refused, as without a cache" {
	deny_port unsafe "$P1"
	set_policy unsafe
	settle
	expect_denied 1 "$P1"
	[ -f "$(cache_of unsafe)" ] || fail "no cache after a start"
	local file=$POLICY_DIR/unsafe.json
	chmod 0664 "$file"
	set_cmd true
	runc_run "$CID-2"
	assert_failure
	assert_output --partial "is writable by group or others"
	assert_nothing_left "$CID-2"
	chmod 0644 "$file"
	chown 65534 "$file"
	runc_run "$CID-3"
	assert_failure
	assert_output --partial "is not owned by root"
	assert_nothing_left "$CID-3"
	chown 0 "$file"
	expect_denied 4 "$P1"
}

@test "a policy edited in place (same inode, same size) right after a container started: the next one is held to the new rules" {
	deny_port inplace "$P1"
	set_policy inplace
	settle
	expect_denied 1 "$P1"
	[ -f "$(cache_of inplace)" ] || fail "no cache after a start"
	expect_denied 2 "$P1"
	edit_in_place inplace "$P2"
	expect_denied 3 "$P2"
	hook_run inplace
	policy_read inplace || fail "the edited policy was not read"
}

@test "new content of the same size with the old mtime put back (cp -p, tar, rsync): ctime tells, the new rules apply" {
	deny_port mtime "$P1"
	set_policy mtime
	settle
	expect_denied 1 "$P1"
	[ -f "$(cache_of mtime)" ] || fail "no cache after a start"
	local file=$POLICY_DIR/mtime.json old
	old=$(stat -c %y "$file")
	edit_in_place mtime "$P2"
	touch -m -d "$old" "$file"
	[ "$(stat -c %y "$file")" = "$old" ] || fail "mtime not put back: $(stat -c %y "$file") != $old"
	expect_denied 2 "$P2"
	# and the same once the file settled again (cached anew) and after a second edit
	settle
	expect_denied 3 "$P2"
	old=$(stat -c %y "$file")
	edit_in_place mtime "$P1"
	touch -m -d "$old" "$file"
	expect_denied 4 "$P1"
}

@test "a policy replaced by rename (new inode, same size, old mtime): the new rules apply" {
	deny_port renamed "$P1"
	set_policy renamed
	settle
	expect_denied 1 "$P1"
	[ -f "$(cache_of renamed)" ] || fail "no cache after a start"
	local file=$POLICY_DIR/renamed.json
	deny_port renamed-new "$P2"
	touch -m -r "$file" "$POLICY_DIR/renamed-new.json"
	mv "$POLICY_DIR/renamed-new.json" "$file"
	expect_denied 2 "$P2"
}

@test "a damaged, truncated, foreign or symlinked cache: the rules are read, no error, and the cache written again" {
	deny_port damaged "$P1"
	deny_port other "$P2"
	settle
	set_policy other
	expect_denied 0 "$P2"
	set_policy damaged
	expect_denied 1 "$P1"
	local cache size
	cache=$(cache_of damaged)
	size=$(stat -c %s "$cache")

	truncate -s $((size / 2)) "$cache"
	expect_denied 2 "$P1"
	[ "$(stat -c %s "$cache")" = "$size" ] || fail "the truncated cache was not written again"

	: >"$cache"
	expect_denied 3 "$P1"
	head -c "$size" /dev/urandom >"$cache"
	expect_denied 4 "$P1"
	# one byte of each flipped in turn: every one is caught (the checksum), never a wrong policy
	local good i
	good=$BATS_TEST_TMPDIR/good.cache
	cp "$cache" "$good"
	for i in $(seq 0 16 $((size - 1))); do
		cp "$good" "$cache"
		printf '\xff' | dd of="$cache" bs=1 seek="$i" conv=notrunc status=none
		cmp -s "$cache" "$good" && printf '\x00' | dd of="$cache" bs=1 seek="$i" conv=notrunc status=none
		hook_run damaged
		policy_read damaged || fail "a cache with byte $i changed was used"
	done
	# another policy's cache (valid, but of another file)
	cp "$(cache_of other)" "$cache"
	hook_run damaged
	policy_read damaged || fail "another policy's cache was used"
	cp "$(cache_of other)" "$cache"
	expect_denied 5 "$P1"

	# a symlink: not followed to read, not written through
	local target=$BATS_TEST_TMPDIR/target
	cp "$(cache_of other)" "$target"
	rm "$cache"
	ln -s "$target" "$cache"
	expect_denied 6 "$P1"
	cmp -s "$target" "$(cache_of other)" || fail "the cache was written through a symlink"
	[ -f "$cache" ] && [ ! -L "$cache" ] || fail "the symlink was not replaced by a cache"
	hook_run damaged
	! policy_read damaged || fail "the rewritten cache was not used"
}

@test "cached, but the kept entries are gone (gc --unload, evicted): the rules are read in full and held to" {
	update_host_config '.bpffs_dir = $d' --arg d "$(new_bpffs_dir)"
	local bpffs
	bpffs=$(jq -r .bpffs_dir "$OCIBPF_CONFIG")
	deny_port unloaded "$P1"
	set_policy unloaded
	settle
	expect_denied 1 "$P1"
	local cache saved=$BATS_TEST_TMPDIR/saved.cache
	cache=$(cache_of unloaded)
	cp -p "$cache" "$saved"
	ocibpf gc --unload
	assert_success
	[ ! -e "$bpffs" ] || fail "$bpffs left after gc --unload"
	[ ! -e "$cache" ] || fail "gc --unload left the cache"
	# the cache as it was: it names entries no longer in the kernel
	mkdir -m 0700 "$STATE_DIR/policies"
	cp -p "$saved" "$cache"
	hook_run unloaded
	policy_read unloaded || fail "the hook did not read the policy whose entries are gone"
	cmp -s "$saved" "$cache" || fail "the cache changed, the policy file did not"
	hook_run unloaded
	! policy_read unloaded || fail "the hook read the policy again: its entries are kept now"
	cp -p "$saved" "$cache"
	ocibpf gc --unload
	assert_success
	mkdir -m 0700 "$STATE_DIR/policies"
	cp -p "$saved" "$cache"
	expect_denied 2 "$P1"
	expect_denied 3 "$P1"

	# evicted: 16 other policies kept after it
	local i
	for i in $(seq 1 16); do
		write_policy "evict-$i" "{\"network\": {\"egress\": {\"default\": \"allow\", \"rules\": [
			{\"action\": \"deny\", \"cidr\": \"10.$i.0.0/16\", \"protocol\": \"tcp\"}]}}}"
	done
	for i in $(seq 1 16); do
		set_policy "evict-$i"
		set_cmd true
		runc_run "$CID-e$i"
		assert_success
		assert_stopped "$CID-e$i"
	done
	set_policy unloaded
	[ -f "$cache" ] || fail "no cache of the evicted policy"
	hook_run unloaded
	policy_read unloaded || fail "the hook did not read the policy whose entries were evicted"
	expect_denied 4 "$P1"
	ocibpf gc --unload
	assert_success
}

@test "ocibpf gc removes the caches of policy files removed or changed, and keeps the others" {
	deny_port kept "$P1"
	deny_port removed "$P1"
	deny_port changed "$P1"
	settle
	local n
	for n in kept removed changed; do
		set_policy "$n"
		expect_denied "$n" "$P1"
		[ -f "$(cache_of "$n")" ] || fail "no cache of $n"
	done
	rm "$POLICY_DIR/removed.json"
	edit_in_place changed "$P2"
	: >"$STATE_DIR/policies/changed.cache.tmp.999999"
	touch -d '-2 min' "$STATE_DIR/policies/changed.cache.tmp.999999"
	ocibpf gc --json
	assert_success
	jq -e 'map(select(.removed == "policy-cache") | .id) | sort ==
		["changed", "changed.cache.tmp.999999", "removed"]' <<<"$output" >/dev/null ||
		fail "gc: $output"
	[ -f "$(cache_of kept)" ] || fail "gc removed the cache of an unchanged policy"
	[ ! -e "$(cache_of removed)" ] && [ ! -e "$(cache_of changed)" ] ||
		fail "gc left stale caches: $(ls "$STATE_DIR/policies")"
}

# quiet_start NAME: createRuntime run directly for a sandbox process with policy NAME: it
# must succeed and say nothing; then its poststop.
quiet_start() {
	local id=$CID-q$((++N_HOOK))
	spawn_sandbox "$id"
	run_hook createRuntime "$(make_state "$id" "$SANDBOX_PID" "$BUNDLE" "$1")"
	assert_success
	[ -z "$stderr" ] || fail "the hook said something: $stderr"
	run_hook poststop "$(jq -cn --arg id "$id" --arg b "$BUNDLE" \
		'{ociVersion: "1.0.2-dev", id: $id, status: "stopped", bundle: $b}')"
	assert_success
	stop_sandboxes || true
}

@test "no room for the cache (its directory a full tmpfs), or a file where its directory goes: containers start, held to the rules, nothing said, nothing left; the cache comes once it can" {
	deny_port full "$P1"
	set_policy full
	settle
	local dir=$STATE_DIR/policies
	mkdir -p -m 0700 "$dir"
	mount -t tmpfs -o size=4k,mode=0700 ocibpf-test-cache "$dir"
	CACHE_MOUNT=$dir
	dd if=/dev/zero of="$dir/fill" bs=1k count=64 status=none 2>/dev/null || true
	quiet_start full
	expect_denied 1 "$P1"
	quiet_start full
	[ "$(ls -A "$dir")" = fill ] || fail "the cache or a temporary file in a full directory: $(ls -A "$dir")"
	umount "$dir"
	CACHE_MOUNT=
	rm -rf "$dir"	# (with the caches of earlier tests under the mount)
	# an operator's mistake: a file where the directory goes
	: >"$dir"
	quiet_start full
	expect_denied 2 "$P1"
	ocibpf gc
	assert_success
	[ -f "$dir" ] && [ ! -s "$dir" ] || fail "$dir changed"
	rm "$dir"
	quiet_start full
	[ -f "$(cache_of full)" ] || fail "no cache once there is room"
	expect_denied 3 "$P1"
}

@test "a container id reused with another policy, both cached and kept: each run of the id is held to its own policy" {
	deny_port pa "$P1"
	deny_port pb "$P2"
	settle
	local i
	for i in 1 2 3; do
		set_policy pa
		expect_denied same "$P1"
		set_policy pb
		expect_denied same "$P2"
	done
	[ -f "$(cache_of pa)" ] && [ -f "$(cache_of pb)" ] || fail "not both cached: $(ls "$STATE_DIR/policies")"
	run jq -s -r '[.[] | select(.type == "start") | .policy] | join(" ")' "$(audit_log "$CID-same")"
	assert_output "pa pb pa pb pa pb"
}
