#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
#
# Engines: Podman with the hooks.d file of `ocibpf install podman`, containerd with
# ocibpf-runtime as its runc binary, the runtime shim called the way containerd's shim
# calls runc (under runc and crun), `ocibpf install` for every engine into a temp root,
# the collector's SIGHUP under logrotate, contrib/ and the man pages.

load helpers
load engines-helpers

setup_file() {
	ocibpf_setup_file
	note_preexisting
	if [ -d "$ROOTFS_TEMPLATE" ]; then
		make_rootfs_tar "$BATS_FILE_TMPDIR/rootfs.tar"
		make_oci_image_tar "$BATS_FILE_TMPDIR/image.tar" "$CTR_IMAGE"
	fi
}

teardown_file() {
	local rc=0
	ocibpf_teardown_file || rc=1
	engines_teardown_file
	return $rc
}

setup() {
	ocibpf_setup
	# Install targets of this test (--root); nothing of the host's is touched.
	INSTALL_ROOT=$BATS_TEST_TMPDIR/root
	mkdir -p "$INSTALL_ROOT"
	write_policy full "$FULL_POLICY"
}

teardown() {
	local rc=0
	# The engines first (their containers' poststop hooks run), then the leak check.
	podman_teardown || rc=1
	containerd_teardown || rc=1
	docker_teardown || rc=1
	host_restore || rc=1
	ocibpf_teardown || rc=1
	return $rc
}

requires_built() {
	local bin
	for bin in "$@"; do
		[ -x "$bin" ] || fail "$bin is not built (run make)"
	done
}

# --- ocibpf install, into a temp root ----------------------------------------------------

@test "install podman: one hooks.d 1.0.0 file (createRuntime and poststop) for annotated containers, atomic and idempotent" {
	requires jq
	requires_built "$OCIBPF_CLI" "$OCIBPF_HOOK"
	# no containers.conf under the root: Podman 4's default hooks directory
	local d=$INSTALL_ROOT/usr/share/containers/oci/hooks.d f
	f=$d/ocibpf.json

	# --dry-run writes nothing and prints the file as it is (its path on stderr)
	run --separate-stderr "$OCIBPF_CLI" install podman --dry-run --root "$INSTALL_ROOT"
	assert_success
	jq -e . <<<"$output" >/dev/null || fail "--dry-run did not print JSON: $output"
	[[ "$stderr" == *"$f"* ]] || fail "no path on stderr: $stderr"
	[ -z "$(ls -A "$INSTALL_ROOT")" ] || fail "--dry-run wrote $(find "$INSTALL_ROOT" -type f)"
	local printed=$output

	ocibpf install podman --root "$INSTALL_ROOT"
	assert_success
	assert_line "$f: written"
	[ "$(ls "$d" | tr '\n' ' ')" = "ocibpf.json " ] || fail "unexpected files in $d: $(ls -A "$d")"
	[ "$(cat "$f")" = "$printed" ] || fail "--dry-run printed another file than install wrote"
	[ "$(stat -c %a "$f")" = 644 ] || fail "$f: mode $(stat -c %a "$f")"
	run jq -e --arg hook "$OCIBPF_HOOK" --arg cfg "$OCIBPF_CONFIG" '
		.version == "1.0.0" and .hook.path == $hook
		and .hook.args == ["ocibpf-hook"]
		and .hook.env == ["OCIBPF_CONFIG=" + $cfg]
		and .hook.timeout > 0
		and .when == {annotations: {"^io\\.ocibpf\\.policy$": ".*"}}
		and .stages == ["createRuntime", "poststop"]
		and (keys == ["hook", "stages", "version", "when"])' "$f"
	[ "$status" -eq 0 ] || fail "$f: $(cat "$f")"

	# idempotent: a second run changes nothing
	local before
	before=$(stat -c '%i %y' "$d"/*)
	ocibpf install podman --root "$INSTALL_ROOT"
	assert_success
	assert_line "$f: unchanged"
	[ "$(stat -c '%i %y' "$d"/*)" = "$before" ] || fail "files were rewritten"
	[ -z "$(find "$INSTALL_ROOT" -name '*.tmp*')" ] || fail "temporary files left"

	# --json: path, changed (and the content with --dry-run)
	ocibpf install podman --root "$INSTALL_ROOT" --dry-run --json
	assert_success
	run jq -e --arg f "$f" 'length == 1 and .[0].changed == false and .[0].path == $f
		and (.[0].content | fromjson | .stages) == ["createRuntime", "poststop"]' <<<"$output"
	assert_success
}

@test "install --root, run from inside the root (packages, images): the files name the binaries where they will be, and the configuration under the root decides" {
	requires jq
	requires_built "$OCIBPF_CLI" "$OCIBPF_HOOK" "$OCIBPF_BUILD/ocibpf-runtime"
	local r=$INSTALL_ROOT b
	mkdir -p "$r/opt/ob/bin" "$r/etc/ocibpf"
	for b in "$OCIBPF_CLI" "$OCIBPF_HOOK" "$OCIBPF_BUILD/ocibpf-runtime"; do cp "$b" "$r/opt/ob/bin/"; done
	# the root's own configuration: a default policy, so every container (when.always)
	echo '{"default_policy": "full"}' >"$r/etc/ocibpf/config.json"
	run --separate-stderr env -u OCIBPF_CONFIG -u CONTAINERS_CONF "$r/opt/ob/bin/ocibpf" \
		install podman --root "$r" --dry-run
	assert_success
	run jq -e '.hook.path == "/opt/ob/bin/ocibpf-hook" and .when == {always: true}
		and (.hook | has("env") | not)' <<<"$output"
	assert_success
	run --separate-stderr env -u OCIBPF_CONFIG "$r/opt/ob/bin/ocibpf" install containerd --root "$r" --dry-run
	assert_success
	assert_line 'BinaryName = "/opt/ob/bin/ocibpf-runtime"'
	# a binary missing in the root is missing, whatever the build directory has
	rm "$r/opt/ob/bin/ocibpf-hook"
	run --separate-stderr env -u OCIBPF_CONFIG "$r/opt/ob/bin/ocibpf" install crio --root "$r" --dry-run
	assert_failure 1
	[[ "$stderr" == *"$r/opt/ob/bin/ocibpf-hook (installed beside ocibpf)"* ]] || fail "$stderr"
	# no configuration under the root: the defaults (annotated containers only)
	rm "$r/etc/ocibpf/config.json"
	cp "$OCIBPF_HOOK" "$r/opt/ob/bin/"
	run --separate-stderr env -u OCIBPF_CONFIG "$r/opt/ob/bin/ocibpf" install podman --root "$r" --dry-run
	assert_success
	run jq -e '.when == {annotations: {"^io\\.ocibpf\\.policy$": ".*"}}' <<<"$output"
	assert_success
}

@test "install podman: the hooks directory is the one containers.conf names (hooks_dir: /usr/share, /etc, containers.conf.d in order; the last directory)" {
	requires jq
	requires_built "$OCIBPF_CLI" "$OCIBPF_HOOK"
	local r=$INSTALL_ROOT
	mkdir -p "$r/usr/share/containers" "$r/etc/containers/containers.conf.d"
	# the package's file, with its commented-out default
	printf '[engine]\n#hooks_dir = [\n#  "/usr/share/containers/oci/hooks.d",\n#]\n' \
		>"$r/usr/share/containers/containers.conf"
	cat >"$r/etc/containers/containers.conf" <<-'EOF'
		[containers]
		hooks_dir = ["/not/the/engine/table"]
		[engine]
		# a multi-line array, comments inside
		hooks_dir = [
		  "/etc/a/hooks.d", # first
		  '/etc/b/hooks.d',
		]
		[engine.runtimes]
		hooks_dir = ["/not/engine/either"]
	EOF
	ocibpf install podman --root "$r"
	assert_success
	assert_line "$r/etc/b/hooks.d/ocibpf.json: written"
	[[ "$stderr" == *"hooks_dir in /etc/containers/containers.conf"* ]] || fail "no note: $stderr"
	[[ "$stderr" == *"--root: not checked"* ]] || fail "no note on the check: $stderr"

	# a drop-in replaces it (files in name order, the last one wins)
	printf '[engine]\nhooks_dir = ["/d1"]\n' >"$r/etc/containers/containers.conf.d/10-a.conf"
	printf '[engine]\nhooks_dir = ["/d2", "/d3"]\n' >"$r/etc/containers/containers.conf.d/20-b.conf"
	printf '[engine]\nhooks_dir = ["/ignored"]\n' >"$r/etc/containers/containers.conf.d/30-c.conf.bak"
	ocibpf install podman --root "$r"
	assert_success
	assert_line "$r/d3/ocibpf.json: written"

	# $CONTAINERS_CONF alone, as podman reads it
	printf '[engine]\nhooks_dir = ["/only/this"]\n' >"$r/cc.conf"
	run --separate-stderr env CONTAINERS_CONF=/cc.conf "$OCIBPF_CLI" install podman --root "$r"
	assert_success
	assert_line "$r/only/this/ocibpf.json: written"

	# a hooks_dir that is not an array of strings: exit 1, nothing written
	printf '[engine]\nhooks_dir = "/x"\n' >"$r/etc/containers/containers.conf.d/40-bad.conf"
	ocibpf install podman --root "$r" --dry-run
	assert_failure 1
	[[ "$stderr" == *"40-bad.conf: hooks_dir in [engine] is not an array of strings"* ]] || fail "$stderr"
}

@test "ocibpf-hook without a stage tells it from the state's status; refuses a status it can't place" {
	requires jq
	requires_built "$OCIBPF_HOOK"
	# stopped: poststop of a container that isn't ours does nothing, successfully
	run "$OCIBPF_HOOK" <<<'{"ociVersion": "1.0.2", "id": "c1", "status": "stopped", "bundle": "/nonexistent"}'
	assert_success
	# creating/created: set up, so the pid and bundle are checked
	local status
	for status in creating created; do
		run "$OCIBPF_HOOK" <<<"{\"ociVersion\": \"1.0.2\", \"id\": \"c1\", \"status\": \"$status\", \"bundle\": \"/nonexistent\"}"
		assert_failure
		assert_output --partial '"pid" is missing'
	done
	run "$OCIBPF_HOOK" <<<'{"ociVersion": "1.0.2", "id": "c1", "status": "running", "pid": 1, "bundle": "/"}'
	assert_failure
	assert_output --partial 'cannot tell the hook'"'"'s stage from the status "running"'
	run "$OCIBPF_HOOK" createRuntime poststop </dev/null
	[ "$status" -eq 2 ]
	assert_output --partial usage
}

@test "install podman: with default_policy the hook runs for every container; no OCIBPF_CONFIG: no env" {
	requires jq
	requires_built "$OCIBPF_CLI" "$OCIBPF_HOOK"
	write_policy base "$BASE_POLICY"
	update_host_config '.default_policy = "base"'
	local d=$INSTALL_ROOT/usr/share/containers/oci/hooks.d
	ocibpf install podman --root "$INSTALL_ROOT"
	assert_success
	run jq -e '.when == {always: true}' "$d/ocibpf.json"
	assert_success

	# the configuration given with --config (relative: made absolute)
	cp "$OCIBPF_CONFIG" "$BATS_TEST_TMPDIR/rel.json"
	run --separate-stderr env -u OCIBPF_CONFIG sh -c 'cd "$1" && "$2" --config rel.json install podman --dry-run --json' \
		sh "$BATS_TEST_TMPDIR" "$OCIBPF_CLI"
	assert_success
	run jq -e --arg c "OCIBPF_CONFIG=$BATS_TEST_TMPDIR/rel.json" \
		'all(.[]; .content | fromjson | .hook.env == [$c])' <<<"$output"
	assert_success

	# the default configuration: no env (the hook reads /etc/ocibpf/config.json itself)
	if [ ! -e /etc/ocibpf/config.json ]; then
		run --separate-stderr env -u OCIBPF_CONFIG "$OCIBPF_CLI" install podman --dry-run --json
		assert_success
		run jq -e 'all(.[]; .content | fromjson | has("hook") and (.hook | has("env") | not))' <<<"$output"
		assert_success
	fi
}

@test "install crio: the hooks.d file and a crio.conf.d drop-in naming both hooks directories (TOML parsed)" {
	requires jq
	engine_requires tomllib
	requires_built "$OCIBPF_CLI" "$OCIBPF_HOOK"
	ocibpf install crio --root "$INSTALL_ROOT"
	assert_success
	local conf=$INSTALL_ROOT/etc/crio/crio.conf.d/50-ocibpf.conf
	[ -f "$INSTALL_ROOT/etc/containers/oci/hooks.d/ocibpf.json" ]
	run python3 -c 'import sys, tomllib, json; print(json.dumps(tomllib.load(open(sys.argv[1], "rb"))))' "$conf"
	assert_success
	run jq -e '. == {crio: {runtime: {hooks_dir: ["/usr/share/containers/oci/hooks.d",
		"/etc/containers/oci/hooks.d"]}}}' <<<"$output"
	assert_success
	ocibpf install crio --root "$INSTALL_ROOT"
	assert_success
	refute_line --partial ": written"
}

@test "install containerd: a conf.d drop-in that containerd 1.6 imports (TOML parsed, config dump), idempotent" {
	requires jq
	engine_requires tomllib containerd
	requires_built "$OCIBPF_CLI" "$OCIBPF_BUILD/ocibpf-runtime"
	local dropin=$INSTALL_ROOT/etc/containerd/conf.d/ocibpf.toml
	ocibpf install containerd --root "$INSTALL_ROOT"
	assert_success
	assert_line "$dropin: written"
	# no main config: the note says what it needs
	[[ "$stderr" == *"imports = [\"/etc/containerd/conf.d/*.toml\"]"* ]] || fail "no note on imports: $stderr"

	run python3 -c 'import sys, tomllib, json; print(json.dumps(tomllib.load(open(sys.argv[1], "rb"))))' "$dropin"
	assert_success
	run jq -e --arg rt "$OCIBPF_BUILD/ocibpf-runtime" '
		.version == 2 and
		.plugins["io.containerd.grpc.v1.cri"].containerd.runtimes == {
		  runc: {runtime_type: "io.containerd.runc.v2"},
		  ocibpf: {runtime_type: "io.containerd.runc.v2",
		           pod_annotations: ["io.ocibpf.policy"],
		           container_annotations: ["io.ocibpf.policy"],
		           options: {BinaryName: $rt}}}' <<<"$output"
	assert_success

	# containerd itself reads it through imports, and keeps the default runtime
	printf 'version = 2\nimports = ["%s/etc/containerd/conf.d/*.toml"]\n' "$INSTALL_ROOT" \
		>"$INSTALL_ROOT/etc/containerd/config.toml"
	run containerd --config "$INSTALL_ROOT/etc/containerd/config.toml" config dump
	assert_success
	assert_line --regexp '^ *default_runtime_name = "runc"$'
	assert_line --regexp '^ *\[plugins\."io\.containerd\.grpc\.v1\.cri"\.containerd\.runtimes\.runc\]$'
	assert_line --regexp '^ *\[plugins\."io\.containerd\.grpc\.v1\.cri"\.containerd\.runtimes\.ocibpf\.options\]$'
	assert_line --regexp "^ *BinaryName = \"$OCIBPF_BUILD/ocibpf-runtime\"\$"
	assert_line --regexp '^ *pod_annotations = \["io\.ocibpf\.policy"\]$'

	local before
	before=$(stat -c '%i %y' "$dropin")
	ocibpf install containerd --root "$INSTALL_ROOT"
	assert_success
	assert_line "$dropin: unchanged"
	[ "$(stat -c '%i %y' "$dropin")" = "$before" ]
}

# containerd_dump_runtimes CONFIG: the CRI runtimes that containerd reads from CONFIG, one
# a line, and its default runtime.
containerd_dump_runtimes() {
	containerd --config "$1" config dump |
		sed -nE 's/^ *\[plugins\."io\.containerd\.grpc\.v1\.cri"\.containerd\.runtimes\.([a-z]+)\]$/runtime \1/p;
			s/^ *default_runtime_name = "(.*)"$/default \1/p; s/^ *BinaryName = "(.+)"$/binary \1/p' | sort
}

@test "install containerd: Debian's stock config.toml (CRI cni section) gets the runtime merged in; runc stays; idempotent; --dry-run prints the whole file" {
	requires jq
	engine_requires tomllib containerd
	requires_built "$OCIBPF_CLI" "$OCIBPF_BUILD/ocibpf-runtime"
	# the file the containerd package ships, as shipped (dpkg knows its checksum)
	local stock=/etc/containerd/config.toml sum
	sum=$(dpkg-query -W -f='${Conffiles}\n' containerd | awk -v f="$stock" '$1 == f { print $2 }')
	[ -n "$sum" ] || fail "$stock is not a conffile of the containerd package"
	[ "$(md5sum <"$stock" | cut -d' ' -f1)" = "$sum" ] || fail "$stock is not the file the package ships"
	local main=$INSTALL_ROOT/etc/containerd/config.toml rt=$OCIBPF_BUILD/ocibpf-runtime
	mkdir -p "$INSTALL_ROOT/etc/containerd"
	cp "$stock" "$main"
	chmod 0600 "$main"
	run containerd_dump_runtimes "$main"
	assert_output "$(printf 'default runc\nruntime runc')"

	ocibpf install containerd --root "$INSTALL_ROOT"
	assert_success
	assert_line "$main: written"
	assert_line "containerd reads the ocibpf runtime from $main: checked (containerd config dump)"
	[ ! -e "$INSTALL_ROOT/etc/containerd/conf.d" ] || fail "a drop-in was written"
	cmp "$main.bak" "$stock" || fail "config.toml.bak is not the old file"
	[ "$(stat -c %a "$main")" = 600 ] || fail "mode not kept: $(stat -c %a "$main")"
	# every line of the stock file is still there, in order, and the rest is our block
	diff <(head -n "$(wc -l <"$stock")" "$main") "$stock" || fail "the stock lines changed"
	# containerd reads it: runc still the default and declared, ocibpf beside it
	run containerd_dump_runtimes "$main"
	assert_output "$(printf 'binary %s\ndefault runc\nruntime ocibpf\nruntime runc' "$rt")"
	# one version key, at the top (no stray version = 2 in a table)
	run python3 -c 'import sys, tomllib, json; print(json.dumps(tomllib.load(open(sys.argv[1], "rb"))))' "$main"
	assert_success
	run jq -e --arg rt "$rt" '.version == 2 and
		.plugins["io.containerd.grpc.v1.cri"].cni.bin_dir == "/usr/lib/cni" and
		.plugins["io.containerd.grpc.v1.cri"].containerd.runtimes == {
		  runc: {runtime_type: "io.containerd.runc.v2"},
		  ocibpf: {runtime_type: "io.containerd.runc.v2",
		           pod_annotations: ["io.ocibpf.policy"],
		           container_annotations: ["io.ocibpf.policy"],
		           options: {BinaryName: $rt}}}' <<<"$output"
	assert_success
	[ "$(grep -c '^ *version *=' "$main")" = 1 ] || fail "more than one version key: $(cat "$main")"

	# idempotent
	local before
	before=$(stat -c '%i %y' "$main")
	ocibpf install containerd --root "$INSTALL_ROOT"
	assert_success
	assert_line "$main: unchanged"
	[ "$(stat -c '%i %y' "$main")" = "$before" ]

	# the block is replaced in place when the runtime moves; lines after it are kept
	printf '[plugins."io.containerd.internal.v1.restart"]\n  interval = "10s"\n' >>"$main"
	cp "$main" "$BATS_TEST_TMPDIR/with-tail.toml"
	sed -i "s|$rt|/old/ocibpf-runtime|" "$main"
	ocibpf install containerd --root "$INSTALL_ROOT"
	assert_success
	cmp "$main" "$BATS_TEST_TMPDIR/with-tail.toml" || fail "the block was not replaced in place: $(diff "$main" "$BATS_TEST_TMPDIR/with-tail.toml")"

	# --dry-run: the whole merged file on stdout (what it says on stderr), nothing written;
	# redirected into place as told, containerd reads it
	cp "$stock" "$main"
	run --separate-stderr "$OCIBPF_CLI" install containerd --dry-run --root "$INSTALL_ROOT"
	assert_success
	cmp "$main" "$stock" || fail "--dry-run wrote"
	[[ "$stderr" == *"the whole of /etc/containerd/config.toml"* ]] || fail "$stderr"
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/new.toml"
	mv "$BATS_TEST_TMPDIR/new.toml" "$main"
	run containerd_dump_runtimes "$main"
	assert_output "$(printf 'binary %s\ndefault runc\nruntime ocibpf\nruntime runc' "$rt")"
}

@test "install containerd: a config.toml with its own runc options keeps them; one defining ocibpf itself, or of version 1, is left alone (exit 1)" {
	engine_requires containerd
	requires_built "$OCIBPF_CLI" "$OCIBPF_BUILD/ocibpf-runtime"
	local main=$INSTALL_ROOT/etc/containerd/config.toml rt=$OCIBPF_BUILD/ocibpf-runtime
	mkdir -p "$INSTALL_ROOT/etc/containerd"
	cat >"$main" <<-'EOF'
		version = 2
		imports = ["/etc/containerd/conf.d/*.toml"]
		# [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.ocibpf] in a comment does not count
		[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
		  SystemdCgroup = true
	EOF
	ocibpf install containerd --root "$INSTALL_ROOT"
	assert_success
	[ ! -e "$INSTALL_ROOT/etc/containerd/conf.d" ] || fail "a drop-in was written"
	run containerd_dump_runtimes "$main"
	assert_output "$(printf 'binary %s\ndefault runc\nruntime ocibpf\nruntime runc' "$rt")"
	run containerd --config "$main" config dump
	assert_line --regexp '^ *SystemdCgroup = true$'
	rm "$main.bak"

	local bad
	for bad in 'version = 2
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.ocibpf]
  runtime_type = "io.containerd.runc.v2"' '[plugins.cri]
  sandbox_image = "pause"'; do
		printf '%s\n' "$bad" >"$main"
		ocibpf install containerd --root "$INSTALL_ROOT"
		assert_failure 1
		[ "${#stderr_lines[@]}" -eq 1 ] || fail "want one line on stderr: $stderr"
		[[ "$stderr" == "ocibpf: cannot install for containerd: $main "* ]] || fail "unexpected error: $stderr"
		[ "$(cat "$main")" = "$bad" ] || fail "config.toml changed"
		[ ! -e "$main.bak" ]
	done
}

@test "install docker: runtimes.ocibpf merged into daemon.json, other keys kept, backup, idempotent" {
	requires jq
	requires_built "$OCIBPF_CLI" "$OCIBPF_BUILD/ocibpf-runtime"
	local dj=$INSTALL_ROOT/etc/docker/daemon.json rt=$OCIBPF_BUILD/ocibpf-runtime

	# no daemon.json yet
	ocibpf install docker --root "$INSTALL_ROOT"
	assert_success
	run jq -e --arg rt "$rt" '. == {runtimes: {ocibpf: {path: $rt}}}' "$dj"
	assert_success
	[ ! -e "$dj.bak" ] || fail "a backup of nothing"
	rm "$dj"

	# an existing daemon.json: every key and other runtimes stay, in their order
	cat >"$dj" <<-'EOF'
		{
		  "log-driver": "journald",
		  "default-ulimits": { "nofile": { "Name": "nofile", "Hard": 64000, "Soft": 64000 } },
		  "runtimes": { "kata": { "path": "/usr/bin/kata-runtime", "runtimeArgs": ["--debug"] } },
		  "max-concurrent-downloads": 3,
		  "debug": false,
		  "storage-opts": [ "overlay2.size=10G" ],
		  "exec-opts": [],
		  "registry-mirrors": [ "https://mirror.example.internal" ],
		  "mtu": 1.5e3
		}
	EOF
	chmod 0600 "$dj"
	cp "$dj" "$BATS_TEST_TMPDIR/orig.json"
	ocibpf install docker --root "$INSTALL_ROOT"
	assert_success
	assert_line "$dj: written"
	cmp "$dj.bak" "$BATS_TEST_TMPDIR/orig.json" || fail "daemon.json.bak is not the old file"
	[ "$(stat -c %a "$dj")" = 600 ] || fail "mode not kept: $(stat -c %a "$dj")"
	run jq -e --arg rt "$rt" --slurpfile o "$BATS_TEST_TMPDIR/orig.json" '
		(keys_unsorted == ($o[0] | keys_unsorted))
		and (del(.runtimes.ocibpf) == $o[0])
		and .runtimes.ocibpf == {path: $rt}
		and (.runtimes | keys_unsorted) == ["kata", "ocibpf"]' "$dj"
	[ "$status" -eq 0 ] || fail "daemon.json: $(cat "$dj")"
	grep -q '"mtu": 1.5e3' "$dj" || fail "numbers not kept as written: $(cat "$dj")"

	# idempotent: unchanged, no new backup
	cp "$dj" "$BATS_TEST_TMPDIR/merged.json"
	rm "$dj.bak"
	ocibpf install docker --root "$INSTALL_ROOT"
	assert_success
	assert_line "$dj: unchanged"
	cmp "$dj" "$BATS_TEST_TMPDIR/merged.json"
	[ ! -e "$dj.bak" ] || fail "backup written for an unchanged file"

	# an ocibpf entry with another path is updated, its other members kept
	jq '.runtimes.ocibpf = {path: "/old/ocibpf-runtime", runtimeArgs: ["--x"]}' \
		"$BATS_TEST_TMPDIR/merged.json" >"$dj"
	ocibpf install docker --root "$INSTALL_ROOT"
	assert_success
	run jq -e --arg rt "$rt" '.runtimes.ocibpf == {path: $rt, runtimeArgs: ["--x"]}' "$dj"
	assert_success
}

@test "install docker: a daemon.json that is not valid JSON, or whose runtimes is not an object, is left alone (exit 1)" {
	requires_built "$OCIBPF_CLI" "$OCIBPF_BUILD/ocibpf-runtime"
	local dj=$INSTALL_ROOT/etc/docker/daemon.json
	mkdir -p "$(dirname "$dj")"
	local bad
	for bad in '{"debug": true,' '["not", "an", "object"]' '{"runtimes": ["x"]}' '{"runtimes": {"ocibpf": "x"}}'; do
		printf '%s\n' "$bad" >"$dj"
		ocibpf install docker --root "$INSTALL_ROOT"
		assert_failure 1
		[ "${#stderr_lines[@]}" -eq 1 ] || fail "want one line on stderr: $stderr"
		[[ "$stderr" == "ocibpf: cannot install for docker: $dj"* ]] || fail "unexpected error: $stderr"
		[ "$(cat "$dj")" = "$bad" ] || fail "daemon.json changed"
		[ ! -e "$dj.bak" ]
	done
}

@test "install: bad usage exits 2" {
	requires_built "$OCIBPF_CLI"
	ocibpf install
	assert_failure 2
	ocibpf install lxc
	assert_failure 2
	[[ "$stderr" == *'unknown engine "lxc"'* ]] || fail "$stderr"
	ocibpf install podman --bogus
	assert_failure 2
	ocibpf install podman docker
	assert_failure 2
	ocibpf install podman --root
	assert_failure 2
	ocibpf install --help
	assert_success
	assert_output --partial "usage: ocibpf install"
}

# --- Podman --------------------------------------------------------------------------------

@test "podman: with the hooks.d file of 'ocibpf install podman --dry-run', an annotated container is audited and policed" {
	requires root cgroup2 bpf bpftool jq busybox runc
	engine_requires podman
	requires_built "$OCIBPF_CLI" "$OCIBPF_HOOK" "$OCIBPFD"
	podman_setup
	# what a user does: the printed file, redirected into place
	"$OCIBPF_CLI" install podman --dry-run >"$HOOKS_DIR/ocibpf.json" 2>/dev/null
	jq -e . "$HOOKS_DIR/ocibpf.json" >/dev/null

	podman_run -d --name "$CID" --annotation io.ocibpf.policy=full "$ENGINES_IMAGE" \
		sh -c 'sleep 0.5; cat /etc/passwd >/dev/null; nc -w 1 127.0.0.1 9 </dev/null; echo nc=$?; exec sleep 300'
	assert_success
	local id=${lines[-1]} pid
	[[ "$id" =~ ^[0-9a-f]{64}$ ]] || fail "no container id: $output"
	pid=$(__podman inspect -f '{{.State.Pid}}' "$CID")
	[ "$pid" -gt 0 ]
	assert_monitored "$id" "$pid" full
	run attach_types "$(cgroup2_of "$pid")"
	assert_line connect4
	assert_line sendmsg4

	# policed: the denied connect fails with EPERM in the container
	wait_for 50 0.1 podman_logs_have 'nc=' || fail "container output: $(__podman logs "$CID" 2>&1)"
	podman_cmd logs "$CID"
	assert_output --partial "Operation not permitted"
	# audited: the entrypoint, the exec of cat, its openat, the denial
	wait_for 50 0.1 eval '[ -n "$(records "$id" net)" ]'
	run records "$id" exec
	assert_line --index 0 --partial '"filename":"/bin/sh"'
	assert_line --partial '"argv":["cat","/etc/passwd"]'
	run records "$id" syscall
	assert_line --partial '"path":"/etc/passwd"'
	run records "$id" net
	assert_line --partial '"action":"deny","direction":"egress","protocol":"tcp","addr":"127.0.0.1","port":9'

	# removed: poststop ran (stop record), nothing left
	podman_cmd rm -f -t 0 "$CID"
	assert_success
	assert_stopped "$id"
}

# podman_monitored_run: an annotated container under the Podman of this test, monitored;
# then removed: stopped, nothing left.
podman_monitored_run() {
	podman_run -d --name "$CID" --annotation io.ocibpf.policy=full "$ENGINES_IMAGE" \
		sh -c 'cat /etc/passwd >/dev/null; exec sleep 300'
	assert_success
	local id=${lines[-1]} pid
	[[ "$id" =~ ^[0-9a-f]{64}$ ]] || fail "no container id: $output"
	pid=$(__podman inspect -f '{{.State.Pid}}' "$CID")
	assert_monitored "$id" "$pid" full
	# found the way podman ps shows it: by its name, by the 12-character id
	ocibpf ps --no-trunc "$CID"
	assert_success
	assert_line --index 1 --regexp "^$id +$CID +full "
	ocibpf audit --type start "${id:0:12}"
	assert_success
	assert_line --partial "policy full"
	podman_cmd rm -f -t 0 "$CID"
	assert_success
	assert_stopped "$id"
	ocibpf audit --type stop "${id:0:12}"
	assert_success
	assert_line --partial " stop "
}

@test "podman as installed: 'ocibpf install podman' writes where the stock Podman reads (no --hooks-dir), says it checked; and where a containers.conf.d drop-in points" {
	requires root cgroup2 bpf bpftool jq busybox runc
	engine_requires podman
	requires_built "$OCIBPF_CLI" "$OCIBPF_HOOK" "$OCIBPFD"
	local stock_dir=/usr/share/containers/oci/hooks.d
	host_save /usr/share/containers/oci /etc/containers/oci /etc/containers/containers.conf.d
	# a file left where Podman 4 does not look must not count
	rm -rf /etc/containers/oci /usr/share/containers/oci
	podman_setup_stock
	run podman --help
	assert_line --regexp "--hooks-dir .*\\(default \\[$stock_dir\\]\\)"

	# the README's command, as root, with this test's configuration in the environment
	ocibpf install podman
	assert_success
	assert_line "$stock_dir/ocibpf.json: written"
	assert_line "podman reads hooks from $stock_dir: checked (podman --help)"
	[ ! -e /etc/containers/oci/hooks.d/ocibpf.json ] || fail "written where Podman 4 does not read"
	podman_monitored_run

	# hooks_dir set by an administrator's drop-in: the file goes there, Podman runs it
	rm -rf /usr/share/containers/oci
	local mine=$BATS_TEST_TMPDIR/admin-hooks.d
	mkdir -p /etc/containers/containers.conf.d
	printf '[engine]\nhooks_dir = ["%s"]\n' "$mine" >/etc/containers/containers.conf.d/50-ocibpf-test.conf
	ocibpf install podman
	assert_success
	assert_line "$mine/ocibpf.json: written"
	assert_line "podman reads hooks from $mine: checked (podman --help)"
	[[ "$stderr" == *"hooks_dir in /etc/containers/containers.conf.d/50-ocibpf-test.conf"* ]] || fail "$stderr"
	[ ! -e "$stock_dir/ocibpf.json" ]
	podman_monitored_run
}

@test "podman: a container without the annotation is not touched" {
	requires root cgroup2 bpf bpftool jq busybox runc
	engine_requires podman
	requires_built "$OCIBPF_CLI" "$OCIBPF_HOOK"
	podman_setup
	"$OCIBPF_CLI" install podman --dry-run >"$HOOKS_DIR/ocibpf.json" 2>/dev/null
	ls -A "$LOG_DIR" >"$BATS_TEST_TMPDIR/logs-before" 2>/dev/null || true

	podman_run -d --name "$CID" --annotation other=1 "$ENGINES_IMAGE" \
		sh -c 'nc -w 1 127.0.0.1 9 </dev/null; echo nc=$?; exec sleep 300'
	assert_success
	local id=${lines[-1]} pid cg
	pid=$(__podman inspect -f '{{.State.Pid}}' "$CID")
	cg=$(cgroup2_of "$pid")
	[ -d "$cg" ]
	[ -z "$(bpftool cgroup show "$cg")" ] || fail "programs attached to $cg: $(bpftool cgroup show "$cg")"
	wait_for 50 0.1 podman_logs_have 'nc=' || fail "container output: $(__podman logs "$CID" 2>&1)"
	podman_cmd logs "$CID"
	assert_output --partial "Connection refused"
	podman_cmd rm -f -t 0 "$CID"
	assert_success
	[ ! -e "$(audit_log "$id")" ] || fail "an audit log for a plain container"
	assert_not_monitored "$id"
	[ "$(ls -A "$LOG_DIR" 2>/dev/null)" = "$(cat "$BATS_TEST_TMPDIR/logs-before")" ] ||
		fail "new audit logs: $(ls -A "$LOG_DIR")"
}

# --- containerd ----------------------------------------------------------------------------

@test "containerd: ctr run --runc-binary ocibpf-runtime with the annotation: audited, policed, cleaned up; without it: untouched" {
	requires root cgroup2 bpf bpftool jq busybox runc
	engine_requires containerd
	requires_built "$OCIBPF_CLI" "$OCIBPF_HOOK" "$OCIBPFD" "$OCIBPF_BUILD/ocibpf-runtime"
	containerd_start

	# host network: the loopback where the denied port is
	ctr_run "$CID" --net-host --annotation io.ocibpf.policy=full "$CTR_IMAGE" "$CID" \
		sh -c 'cat /proc/self/cgroup; nc -w 1 127.0.0.1 9 </dev/null; echo nc=$?'
	assert_success
	assert_line --regexp "^0::/$CID\$"
	assert_output --partial "Operation not permitted"
	assert_line "nc=1"

	# audited from the first exec to the stop record, and nothing left (ctr run --rm
	# deleted the container: poststop ran)
	run records "$CID" start
	assert_line --partial '"policy":"full"'
	run records "$CID" exec
	assert_line --index 0 --partial '"argv":["sh","-c",'
	assert_line --partial '"argv":["nc","-w","1","127.0.0.1","9"]'
	run records "$CID" net
	assert_line --partial '"action":"deny","direction":"egress","protocol":"tcp","addr":"127.0.0.1","port":9'
	assert_stopped "$CID"
	ctr_cmd containers ls -q
	assert_output ""

	# the same without the annotation: runs, nothing attached, no log
	ctr_run "$CID-plain" --net-host "$CTR_IMAGE" "$CID-plain" \
		sh -c 'nc -w 1 127.0.0.1 9 </dev/null; echo nc=$?'
	assert_success
	assert_output --partial "Connection refused"
	[ ! -e "$(audit_log "$CID-plain")" ] || fail "an audit log for a plain container"
	assert_not_monitored "$CID-plain"
}

# --- rootless ------------------------------------------------------------------------------

# Rootless Podman needs newuidmap (uidmap) and a user with subordinate ids, which this
# machine does not have: the hook is run the two ways a rootless engine runs it, as a
# non-root user, and as root of a user namespace that maps only one id.
@test "rootless: the hook says plainly that rootless containers are not supported, and why; one without a policy is left alone; fail_open lets it run" {
	requires root jq busybox
	requires_built "$OCIBPF_HOOK"
	command -v setpriv >/dev/null && command -v unshare >/dev/null || fail "setpriv and unshare (util-linux) are needed"
	setup_busybox_bundle
	set_policy full
	local state as
	# the annotations in the state, as runc and crun pass them
	state=$(make_state "$CID" $$ "$BUNDLE" full)
	# shellcheck disable=SC2034 # (used through local -n)
	local -a nonroot=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	local -a userns=(unshare --user --map-root-user)
	for as in nonroot userns; do
		local -n wrap=$as
		run --separate-stderr "${wrap[@]}" env OCIBPF_CONFIG="$OCIBPF_CONFIG" "$OCIBPF_HOOK" createRuntime <<<"$state"
		log_run "$as" ocibpf-hook createRuntime
		assert_hook_error --id "$CID" "rootless containers are not supported" \
			"CAP_BPF and CAP_SYS_ADMIN in the host user namespace"
		if [ "$as" = nonroot ]; then
			[[ "$stderr" == *"runs as uid 65534, not root"* ]] || fail "$stderr"
		else
			[[ "$stderr" == *'runs in a user namespace that maps uids "0 0 1"'* ]] || fail "$stderr"
		fi
		assert_nothing_left "$CID"
		# poststop of such a container: nothing to do
		run --separate-stderr "${wrap[@]}" env OCIBPF_CONFIG="$OCIBPF_CONFIG" "$OCIBPF_HOOK" poststop \
			<<<"$(jq -c '.status = "stopped" | del(.pid)' <<<"$state")"
		assert_success
	done

	# no policy asked for (none in the state, none in config.json): left alone, silently
	update_config 'del(.annotations)'
	state=$(make_state "$CID" $$ "$BUNDLE")
	run --separate-stderr "${userns[@]}" env OCIBPF_CONFIG="$OCIBPF_CONFIG" "$OCIBPF_HOOK" createRuntime <<<"$state"
	assert_success
	[ -z "$stderr" ] || fail "$stderr"
	# fail_open: runs unmonitored, with the reason
	update_host_config '.fail_open = true'
	state=$(make_state "$CID" $$ "$BUNDLE" full)
	run --separate-stderr "${userns[@]}" env OCIBPF_CONFIG="$OCIBPF_CONFIG" "$OCIBPF_HOOK" createRuntime <<<"$state"
	assert_success
	[[ "$stderr" == *"rootless containers are not supported"*"fail_open: the container runs unmonitored"* ]] || fail "$stderr"
	assert_nothing_left "$CID"
}

# --- Docker --------------------------------------------------------------------------------

@test "docker (Debian's 20.10): --runtime ocibpf -e OCIBPF_POLICY=NAME picks the policy per container: audited, policed, cleaned up; without it: untouched" {
	requires root cgroup2 bpf bpftool jq busybox runc
	engine_requires docker
	requires_built "$OCIBPF_CLI" "$OCIBPF_HOOK" "$OCIBPFD" "$OCIBPF_BUILD/ocibpf-runtime"
	# audit logs of this test alone
	LOG_DIR=$BATS_TEST_TMPDIR/log
	update_host_config '.log_dir = $d' --arg d "$LOG_DIR"
	docker_start
	# Docker 20.10 has no --annotation, and passes no label to config.json
	docker_cmd run --rm --runtime ocibpf --annotation io.ocibpf.policy=full "$ENGINES_IMAGE" true
	assert_failure
	assert_output --partial "unknown flag: --annotation"

	# the README's command (policy and image of this test): monitored from start to stop
	docker_cmd run --rm --runtime ocibpf -e OCIBPF_POLICY=full "$ENGINES_IMAGE" id
	assert_success
	assert_output --partial "uid=0(root)"
	local log
	log=$(ls "$LOG_DIR"/*.jsonl)
	[ "$(wc -l <<<"$log")" = 1 ] || fail "want one audit log: $log"
	run jq -s -e '.[0].type == "start" and .[0].policy == "full" and .[-1].type == "stop"
		and any(.[]; .type == "exec" and .argv == ["id"])' "$log"
	assert_success
	rm "$log"

	docker_cmd run -d --runtime ocibpf -e OCIBPF_POLICY=full --network host \
		--name "$CID" "$ENGINES_IMAGE" \
		sh -c 'cat /etc/passwd >/dev/null; nc -w 1 127.0.0.1 9 </dev/null; echo nc=$?; exec sleep 300'
	assert_success
	local id=${lines[-1]} pid
	[[ "$id" =~ ^[0-9a-f]{64}$ ]] || fail "no container id: $output"
	pid=$(__docker inspect -f '{{.State.Pid}}' "$CID")
	assert_monitored "$id" "$pid" full
	wait_for 50 0.1 eval '__docker logs "$CID" 2>&1 | grep -q nc=' || fail "output: $(__docker logs "$CID" 2>&1)"
	docker_cmd logs "$CID"
	assert_output --partial "Operation not permitted"
	assert_line "nc=1"
	wait_for 50 0.1 eval '[ -n "$(records "$id" net)" ]'
	run records "$id" exec
	assert_line --index 0 --partial '"filename":"/bin/sh"'
	run records "$id" net
	assert_line --partial '"action":"deny","direction":"egress","protocol":"tcp","addr":"127.0.0.1","port":9'
	# the variable is the container's, as set (nothing hidden)
	docker_cmd exec "$CID" sh -c 'echo $OCIBPF_POLICY'
	assert_output full
	docker_cmd rm -f "$CID"
	assert_success
	wait_for 50 0.1 eval '[ "$(records "$id" stop)" ]' || fail "no stop record"
	assert_stopped "$id"

	# the same runtime without the variable: runs, nothing attached, no log
	docker_cmd run --rm --runtime ocibpf --network host "$ENGINES_IMAGE" \
		sh -c 'nc -w 1 127.0.0.1 9 </dev/null; echo nc=$?'
	assert_success
	assert_output --partial "Connection refused"
	[ -z "$(ls -A "$STATE_DIR/containers" 2>/dev/null)" ] || fail "monitored: $(ls "$STATE_DIR/containers")"
	[ "$(ls "$LOG_DIR" | wc -l)" = 1 ] || fail "another audit log: $(ls "$LOG_DIR")"

	# a policy that does not exist refuses the container, with the hook's message
	docker_cmd run --rm --runtime ocibpf -e OCIBPF_POLICY=nope "$ENGINES_IMAGE" true
	assert_failure
	assert_output --partial "ocibpf-hook:"
	assert_output --partial "policy nope"
}

# --- ocibpf-runtime the way containerd's shim runs runc ------------------------------------

# shim_cmd ARGS: ocibpf-runtime with containerd-shim-runc-v2's global flags, through
# bats' run. OCIBPF_RUNTIME picks the runtime; SHIM_WRAP (an array) runs it inside a
# wrapper (crun's hybrid-mode namespace).
# The output goes through a file: the container inherits create's stdio, and bats' run
# would wait for a pipe that the container holds open.
shim_cmd() {
	run __detached "$BATS_TEST_TMPDIR/shim.out" timeout --kill-after=10 "$RUNTIME_TIMEOUT" \
		"${SHIM_WRAP[@]}" "$OCIBPF_BUILD/ocibpf-runtime" \
		--root "$SHIM_ROOT" --log "$BATS_TEST_TMPDIR/runtime-log.json" --log-format json "$@" 3>&-
	log_run ocibpf-runtime "$@"
}

# shim_lifecycle: create (--bundle, --pid-file, as containerd's shim), start, state, kill,
# delete; monitored in between, the hooks in config.json once each, nothing left after.
shim_lifecycle() {
	set_policy full
	set_cmd sleep 300
	shim_cmd create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/init.pid" "$CID"
	assert_success
	local pid
	pid=$(cat "$BATS_TEST_TMPDIR/init.pid")
	[ "$pid" -gt 0 ]
	run jq -e --arg hook "$OCIBPF_HOOK" --arg cfg "OCIBPF_CONFIG=$OCIBPF_CONFIG" '
		[.hooks.createRuntime[] | select(.path == $hook)] == [{path: $hook, args: ["ocibpf-hook", "createRuntime"], env: [$cfg]}]
		and [.hooks.poststop[] | select(.path == $hook)] == [{path: $hook, args: ["ocibpf-hook", "poststop"], env: [$cfg]}]' \
		"$BUNDLE/config.json"
	[ "$status" -eq 0 ] || fail "hooks in config.json: $(jq -c .hooks "$BUNDLE/config.json")"
	assert_monitored "$CID" "$pid" full

	shim_cmd start "$CID"
	assert_success
	shim_cmd state "$CID"
	assert_success
	[ "$(jq -r .status <<<"$output")" = running ]
	wait_for 50 0.1 eval '[ -n "$(records "$CID" exec)" ]'
	run records "$CID" exec
	assert_line --index 0 --partial '"argv":["sleep","300"]'

	shim_cmd kill "$CID" KILL
	assert_success
	wait_for 50 0.1 eval '[ "$(shim_state_status)" = stopped ]'
	shim_cmd delete "$CID"
	assert_success
	assert_stopped "$CID"
	[ "$(jq -s 'map(select(.type == "start")) | length' "$(audit_log "$CID")")" = 1 ] ||
		fail "more than one start record"
	[ ! -s "$BATS_TEST_TMPDIR/runtime-log.json" ] ||
		! grep -q '"level":"error"' "$BATS_TEST_TMPDIR/runtime-log.json" ||
		fail "errors in the runtime log: $(cat "$BATS_TEST_TMPDIR/runtime-log.json")"
}

shim_state_status() {
	timeout 10 "${SHIM_WRAP[@]}" "$OCIBPF_BUILD/ocibpf-runtime" --root "$SHIM_ROOT" state "$CID" 2>/dev/null |
		jq -r .status
}

@test "ocibpf-runtime under runc, called like containerd's shim (global flags, create --bundle --pid-file, start, kill, delete)" {
	requires root cgroup2 bpf bpftool jq busybox runc
	requires_built "$OCIBPF_HOOK" "$OCIBPF_BUILD/ocibpf-runtime"
	setup_busybox_bundle
	SHIM_ROOT=$RUNC_ROOT
	SHIM_WRAP=(env OCIBPF_RUNTIME="$RUNC")
	shim_lifecycle
}

@test "ocibpf-runtime: hooks already in config.json are kept and not added twice" {
	requires root cgroup2 bpf bpftool jq busybox runc
	requires_built "$OCIBPF_HOOK" "$OCIBPF_BUILD/ocibpf-runtime"
	setup_busybox_bundle
	# ours (as the harness adds them, with a timeout) and someone else's
	add_hooks
	update_config '.hooks.createRuntime = [{path: "/bin/true", args: ["true"]}] + .hooks.createRuntime'
	SHIM_ROOT=$RUNC_ROOT
	SHIM_WRAP=(env OCIBPF_RUNTIME="$RUNC")
	set_policy full
	set_cmd sleep 300
	cp "$BUNDLE/config.json" "$BATS_TEST_TMPDIR/before.json"
	shim_cmd create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/init.pid" "$CID"
	assert_success
	cmp "$BUNDLE/config.json" "$BATS_TEST_TMPDIR/before.json" || fail "config.json was rewritten"
	run jq -e --arg hook "$OCIBPF_HOOK" '
		(.hooks.createRuntime | map(.path)) == ["/bin/true", $hook]
		and (.hooks.poststop | map(.path)) == [$hook]' "$BUNDLE/config.json"
	assert_success
	assert_monitored "$CID" "$(cat "$BATS_TEST_TMPDIR/init.pid")" full
	shim_cmd delete -f "$CID"
	assert_success
	assert_stopped "$CID"
	[ "$(jq -s 'map(select(.type == "start")) | length' "$(audit_log "$CID")")" = 1 ]
}

@test "ocibpf-runtime under crun (OCIBPF_RUNTIME=crun), called like containerd's shim" {
	requires root cgroup2 bpf bpftool jq busybox crun
	requires_built "$OCIBPF_HOOK" "$OCIBPF_BUILD/ocibpf-runtime"
	setup_busybox_bundle
	SHIM_ROOT=$CRUN_ROOT
	if is_cgroup2_hybrid; then
		# ENVIRONMENT.md: crun runs here only with cgroup.controllers hidden
		SHIM_WRAP=(env OCIBPF_RUNTIME=crun unshare -m --propagation private
			sh -c 'mount --bind "$0" "$1/cgroup.controllers" && shift && exec "$@"'
			"$EMPTY_FILE" "$CGROUP2")
	else
		SHIM_WRAP=(env OCIBPF_RUNTIME=crun)
	fi
	shim_lifecycle
}

# --- the collector and logrotate ------------------------------------------------------------

@test "logrotate with contrib/logrotate/ocibpf: the collector reopens the audit log on SIGHUP, nothing lost" {
	requires root cgroup2 bpf bpftool jq busybox runc
	engine_requires logrotate
	requires_built "$OCIBPF_HOOK" "$OCIBPFD"
	setup_busybox_bundle
	set_policy full
	add_hooks
	set_cmd sh -c 'i=0; while [ $i -lt 600 ]; do cat /etc/passwd >/dev/null; i=$((i + 1)); sleep 0.05; done'
	runc_run -d "$CID"
	assert_success
	local log
	log=$(audit_log "$CID")
	wait_for 100 0.1 eval '[ "$(grep -c "\"type\":\"exec\"" "$log")" -ge 5 ]'

	# the contrib configuration, pointed at this test's directories
	sed -e "s|/var/log/ocibpf|$LOG_DIR|g" -e "s|/run/ocibpf|$STATE_DIR|g" \
		"$PROJECT_ROOT/contrib/logrotate/ocibpf" >"$BATS_TEST_TMPDIR/logrotate.conf"
	chmod 0644 "$BATS_TEST_TMPDIR/logrotate.conf"
	run logrotate -f -s "$BATS_TEST_TMPDIR/logrotate.state" "$BATS_TEST_TMPDIR/logrotate.conf"
	log_run logrotate
	assert_success
	local rotated
	rotated=$(ls "$LOG_DIR"/"$CID".jsonl-* 2>/dev/null)
	[ -n "$rotated" ] && [ -f "$rotated" ] || fail "no rotated file: $(ls "$LOG_DIR")"

	# new records go to a new file at the old name
	wait_for 50 0.1 test -s "$log" || fail "the collector kept writing to the rotated file"
	local n_old
	n_old=$(wc -l <"$rotated")
	wait_for 100 0.1 eval '[ "$(grep -c "\"type\":\"exec\"" "$log")" -ge 3 ]'
	[ "$(wc -l <"$rotated")" = "$n_old" ] || fail "the rotated file still grows"

	runc_cmd delete -f "$CID"
	assert_success
	# the new file counts from 1 and ends with the stop record; the two files together
	# have every record: seq 1..n in each, no lost record
	assert_stopped "$CID"
	run jq -s -e '[.[].seq] == [range(1; length + 1)] and .[0].type == "start"' "$rotated"
	assert_success
	run jq -s -e 'map(select(.type == "lost")) == []' "$rotated" "$log"
	assert_success
}

# --- contrib/ and the man pages -------------------------------------------------------------

@test "contrib: the Kubernetes manifests and the Vector config are valid YAML" {
	engine_requires python3-yaml
	run python3 - "$PROJECT_ROOT/contrib/kubernetes/ocibpf.yaml" "$PROJECT_ROOT/contrib/vector/ocibpf.yaml" <<-'EOF'
		import sys, yaml
		docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]
		kinds = sorted(d["kind"] for d in docs)
		assert kinds == ["ConfigMap", "DaemonSet", "Namespace", "Pod", "RuntimeClass"], kinds
		for d in docs:
		    assert d["apiVersion"] and d["metadata"]["name"], d
		ds = next(d for d in docs if d["kind"] == "DaemonSet")
		spec = ds["spec"]["template"]["spec"]
		assert ds["spec"]["selector"]["matchLabels"].items() <= ds["spec"]["template"]["metadata"]["labels"].items()
		assert spec["hostPID"] is True
		# the node install is the image's node-setup (ocibpf install run on the node): no
		# engine configuration written out in the manifest
		init, = spec["initContainers"]
		assert init["command"] == ["/opt/ocibpf/node-setup", "install"], init["command"]
		assert "plugins." not in open(sys.argv[1]).read() and "hooks_dir" not in open(sys.argv[1]).read()
		mounts = {m["name"] for c in spec["containers"] + spec["initContainers"] for m in c["volumeMounts"]}
		assert mounts <= {v["name"] for v in spec["volumes"]}, mounts
		rc = next(d for d in docs if d["kind"] == "RuntimeClass")
		pod = next(d for d in docs if d["kind"] == "Pod")
		assert pod["spec"]["runtimeClassName"] == rc["metadata"]["name"] == rc["handler"] == "ocibpf"
		assert "io.ocibpf.policy" in pod["metadata"]["annotations"]
		cm = next(d for d in docs if d["kind"] == "ConfigMap")
		import json
		for k, v in cm["data"].items():
		    json.loads(v)
		v = yaml.safe_load(open(sys.argv[2]))
		assert v["sources"]["ocibpf_audit"]["include"] == ["/var/log/ocibpf/*.jsonl"]
		for name, t in list(v["transforms"].items()) + list(v["sinks"].items()):
		    for i in t["inputs"]:
		        assert i.split(".")[0] in v["sources"] or i.split(".")[0] in v["transforms"], i
		print("ok")
	EOF
	log_run python3
	assert_success
	assert_output ok
}

@test "contrib: the configs in the ConfigMap and the containerd drop-in are what ocibpf reads and writes" {
	requires jq
	engine_requires python3-yaml
	requires_built "$OCIBPF_CLI" "$OCIBPF_BUILD/ocibpf-runtime"
	# the ConfigMap's policy passes `ocibpf policy check`
	python3 -c 'import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "ConfigMap":
        open(sys.argv[2], "w").write(d["data"]["baseline.json"])
        open(sys.argv[3], "w").write(d["data"]["config.json"])' \
		"$PROJECT_ROOT/contrib/kubernetes/ocibpf.yaml" "$BATS_TEST_TMPDIR/baseline.json" \
		"$BATS_TEST_TMPDIR/k8s-config.json"
	ocibpf policy check "$BATS_TEST_TMPDIR/baseline.json"
	assert_success
	ocibpf --config "$BATS_TEST_TMPDIR/k8s-config.json" ps
	assert_success

	# contrib/containerd/ocibpf.toml is install's drop-in for /usr/local/bin
	ocibpf install containerd --dry-run --root "$INSTALL_ROOT"
	assert_success
	diff <(grep -v '^# ' <<<"$output" | sed "s|$OCIBPF_BUILD/|/usr/local/bin/|") \
		<(grep -v '^#' "$PROJECT_ROOT/contrib/containerd/ocibpf.toml") ||
		fail "contrib/containerd/ocibpf.toml differs from what ocibpf install containerd writes"
}

@test "contrib: the systemd unit verifies, tmpfiles.d makes the directories with their modes" {
	engine_requires systemd-analyze systemd-tmpfiles
	requires_built "$OCIBPFD"
	sed -e "s|/usr/local/bin/ocibpfd|$OCIBPFD|" -e "s|/usr/local/bin/ocibpf |$OCIBPF_CLI |" \
		"$PROJECT_ROOT/contrib/systemd/ocibpfd.service" >"$BATS_TEST_TMPDIR/ocibpfd.service"
	run systemd-analyze verify --man=no "$BATS_TEST_TMPDIR/ocibpfd.service"
	log_run systemd-analyze verify
	assert_success
	grep -qx 'ExecStart=/usr/local/bin/ocibpfd --foreground' "$PROJECT_ROOT/contrib/systemd/ocibpfd.service"
	grep -qx 'ExecStartPre=/usr/local/bin/ocibpf load --no-collector' "$PROJECT_ROOT/contrib/systemd/ocibpfd.service"
	grep -qx 'Restart=on-failure' "$PROJECT_ROOT/contrib/systemd/ocibpfd.service"

	run systemd-tmpfiles --create --root="$INSTALL_ROOT" "$PROJECT_ROOT/contrib/tmpfiles.d/ocibpf.conf"
	log_run systemd-tmpfiles
	assert_success
	[ "$(stat -c '%a %U %G' "$INSTALL_ROOT/run/ocibpf")" = "700 root root" ]
	[ "$(stat -c '%a %U %G' "$INSTALL_ROOT/var/log/ocibpf")" = "750 root root" ]
}

@test "contrib: bash completion completes commands, engines, options and record types" {
	requires_built "$OCIBPF_CLI"
	run bash -c '
		source "$1"
		comp() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _ocibpf; echo "${COMPREPLY[*]}"; }
		comp "$2" ""
		comp "$2" in
		comp "$2" install ""
		comp "$2" install podman --d
		comp "$2" --json audit --type ""
		comp "$2" policy ""
		comp "$2" gc --u
	' bash "$PROJECT_ROOT/contrib/bash-completion/ocibpf" "$OCIBPF_CLI"
	assert_success
	assert_line --index 0 "ps stats metrics audit policy seccomp load gc install version help"
	assert_line --index 1 "install"
	assert_line --index 2 "podman crio containerd docker"
	assert_line --index 3 "--dry-run"
	assert_line --index 4 "start exec syscall net lost stop"
	assert_line --index 5 "check"
	assert_line --index 6 "--unload"
}

@test "man pages: every page is built and renders with man -l without warnings" {
	engine_requires man
	local pages=(ocibpf.8 ocibpf-hook.8 ocibpfd.8 ocibpf-runtime.8 ocibpf-policy.5 ocibpf.conf.5)
	local p name
	for p in "${pages[@]}"; do
		[ -f "$OCIBPF_BUILD/man/$p" ] || fail "$OCIBPF_BUILD/man/$p is not built (make with scdoc installed)"
		run --separate-stderr env MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$OCIBPF_BUILD/man/$p"
		assert_success
		[ -z "$stderr" ] || fail "$p: warnings: $stderr"
		name=${p%.*}
		assert_line --regexp "^$name\\(${p##*.}\\) "
		assert_line NAME
		assert_line --regexp "^ +$name - "
		assert_line "SEE ALSO"
	done
	# every page the others refer to exists
	run grep -ohE '\*ocibpf[a-z.-]*\*\([58]\)' "$PROJECT_ROOT"/contrib/man/*.scd
	local ref
	for ref in $(printf '%s\n' "${lines[@]}" | tr -d '*' | sort -u); do
		p=${ref%(*}.${ref//[^0-9]/}
		[ -f "$OCIBPF_BUILD/man/$p" ] || fail "reference to $ref, no such page"
	done
}
