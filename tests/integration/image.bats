#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
#
# The DaemonSet's image (make image) run the closest way this machine allows: no
# Kubernetes here, so its pod spec is read from contrib/kubernetes/ocibpf.yaml and its
# containers are run under Podman as the kubelet would run them: the init container,
# then the collector, each with its command, env, privileges (privileged, hostPID) and
# volumes from the YAML. The node is this machine, with a node root of the test's own
# where it can be:
# - hostPath / (the init container's /host) is $NODE, a directory of the test, which
#   has /etc/containerd and /etc/crio, so that both engines get configured;
# - hostPath /etc/ocibpf is $NODE/etc/ocibpf; the state and log directories are
#   $NODE/run/ocibpf and $NODE/var/log/ocibpf, mounted at those same paths (the
#   ConfigMap's config.json, written to the node, names them; the kubelet mounts them
#   at the same paths as on the node, as the YAML does);
# - bpffs (/sys/fs/bpf, a bpffs_dir of the test's) and /sys/fs/cgroup are the machine's.
# A plain runc container on the machine then runs with the hooks of the hooks.d file
# that the node install wrote (`ocibpf install crio`), in a mount namespace where /opt
# and /etc are the node root's (so that /opt/ocibpf/bin/ocibpf-hook and
# /etc/ocibpf/config.json are what the install put there; nothing of the machine's /opt
# or /etc is changed), and must be monitored by the collector of the image. Then the
# image's `node-setup uninstall` must leave the node root as it was, but for the logs.
#
# OCIBPF_IMAGE=FILE uses an image archive built already; else `make image` (seconds).

load helpers
load engines-helpers

IMAGE_NAME=localhost/ocibpf:test

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
	NODE=$BATS_TEST_TMPDIR/node
	NODE_BPFFS=$BPFFS_DIR-node
	echo "$NODE_BPFFS" >>"$BATS_TEST_TMPDIR/extra-bpffs"
}

teardown() {
	local rc=0
	if [ -d "${RUNC_ROOT:-}" ]; then
		local id
		for id in $(ls "$RUNC_ROOT"); do
			on_node "$RUNC" --root "$RUNC_ROOT" delete -f "$id" >/dev/null 2>&1 || rc=1
		done
	fi
	podman_teardown || rc=1
	if mountpoint -q "$NODE/proc" 2>/dev/null; then
		umount "$NODE/proc" || rc=1
	fi
	# a collector of the node's configuration left running (the image's, or one a hook
	# started) is a leak
	local pid
	pid=$(cat "$NODE/run/ocibpf/ocibpfd.pid" 2>/dev/null | tr -dc 0-9)
	if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = ocibpfd ]; then
		echo "# teardown: collector $pid still running" >&2
		kill "$pid"
		rc=1
	fi
	[ ! -e /opt/ocibpf ] || { echo "# /opt/ocibpf on the machine" >&2; rc=1; }
	ocibpf_teardown || rc=1
	return $rc
}

# on_node CMD...: CMD in a private mount namespace where /opt and /etc are the node
# root's.
on_node() {
	timeout --kill-after=10 "$RUNTIME_TIMEOUT" unshare -m --propagation private \
		sh -c 'mount --bind "$0/opt" /opt && mount --bind "$0/etc" /etc && exec "$@"' \
		"$NODE" "$@" 3>&-
}

the_image() {
	if [ -n "${OCIBPF_IMAGE:-}" ]; then
		IMAGE_TAR=$OCIBPF_IMAGE
	else
		run make -C "$PROJECT_ROOT" BUILD="$OCIBPF_BUILD" IMAGE_NAME="$IMAGE_NAME" image 3>&-
		[ "$status" -eq 0 ] || fail "make image failed: $output"
		IMAGE_TAR=$OCIBPF_BUILD/image/ocibpf-image.tar
	fi
	[ -f "$IMAGE_TAR" ] || fail "no image archive $IMAGE_TAR"
}

# pod_spec: the DaemonSet's containers as podman run arguments (bash arrays in
# $BATS_TEST_TMPDIR/pod.sh: INIT_ARGS, INIT_CMD, MAIN_ARGS, MAIN_CMD, ALL_MOUNTS) and the
# ConfigMap's files in $BATS_TEST_TMPDIR/configmap, config.json pointed at the node root.
pod_spec() {
	mkdir -p "$BATS_TEST_TMPDIR/configmap"
	python3 - "$PROJECT_ROOT/contrib/kubernetes/ocibpf.yaml" "$BATS_TEST_TMPDIR/configmap" \
		"$NODE" "$NODE_BPFFS" >"$BATS_TEST_TMPDIR/pod.sh" <<-'EOF'
		import json, shlex, sys, yaml
		path, cmdir, node, bpffs = sys.argv[1:]
		docs = [d for d in yaml.safe_load_all(open(path)) if d]
		ds = next(d for d in docs if d["kind"] == "DaemonSet")
		cm = next(d for d in docs if d["kind"] == "ConfigMap")
		spec = ds["spec"]["template"]["spec"]
		for name, text in cm["data"].items():
		    if name == "config.json":
		        c = json.loads(text)
		        assert c["log_dir"] == "/var/log/ocibpf" and c["state_dir"] == "/run/ocibpf", c
		        c.update(log_dir=node + c["log_dir"], state_dir=node + c["state_dir"], bpffs_dir=bpffs)
		        text = json.dumps(c, indent=2) + "\n"
		    open(f"{cmdir}/{name}", "w").write(text)
		# hostPath on the node -> (path on this machine, path in the container or None: the YAML's)
		hostpaths = {
		    "/": (node, None),
		    "/etc/ocibpf": (node + "/etc/ocibpf", None),
		    "/run/ocibpf": (node + "/run/ocibpf", node + "/run/ocibpf"),
		    "/var/log/ocibpf": (node + "/var/log/ocibpf", node + "/var/log/ocibpf"),
		    "/sys/fs/bpf": ("/sys/fs/bpf", None),
		    "/sys/fs/cgroup": ("/sys/fs/cgroup", None),
		}
		vols = {v["name"]: v for v in spec["volumes"]}
		def mounts(c):
		    out = []
		    for m in c.get("volumeMounts", []):
		        v = vols[m["name"]]
		        if "hostPath" in v:
		            src, dst = hostpaths[v["hostPath"]["path"]]
		            dst = dst or m["mountPath"]
		        else:
		            assert v["configMap"]["name"] == cm["metadata"]["name"], v
		            src, dst = cmdir, m["mountPath"]
		        out += ["-v", f"{src}:{dst}" + (":ro" if m.get("readOnly") else "")]
		    return out
		def args(c):
		    a = []
		    if c.get("securityContext", {}).get("privileged"):
		        a.append("--privileged")
		    if spec.get("hostPID"):
		        a += ["--pid", "host"]
		    for e in c.get("env", []):
		        a += ["-e", f"{e['name']}={e['value']}"]
		    return a + mounts(c)
		init, = spec["initContainers"]
		main, = spec["containers"]
		allm = []
		for m in mounts(init) + mounts(main):
		    if m not in allm or m == "-v":
		        allm.append(m)
		for n, v in [("INIT_ARGS", args(init)), ("INIT_CMD", init["command"]),
		             ("MAIN_ARGS", args(main)), ("MAIN_CMD", main["command"]),
		             ("ALL_MOUNTS", allm), ("MAIN_ENV", [x for e in main.get("env", [])
		                                                  for x in ("-e", f"{e['name']}={e['value']}")]),
		             ("HOST_DIRS", [s for s, _ in hostpaths.values() if s.startswith(node + "/")])]:
		    print(f"{n}=(" + " ".join(shlex.quote(x) for x in v) + ")")
	EOF
	# shellcheck disable=SC1091
	source "$BATS_TEST_TMPDIR/pod.sh"
}

# pod_run ARGS...: podman run as the kubelet would here (no network of the pod's: none).
pod_run() {
	run __podman run --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
		--cgroup-parent "/$CID" "$@"
	log_run podman run "$@"
}

node_files() {
	find "$NODE" -path "$NODE/proc" -prune -o -print | sort
}

node_collector() {
	local pid
	pid=$(cat "$NODE/run/ocibpf/ocibpfd.pid" 2>/dev/null | tr -dc 0-9)
	[ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = ocibpfd ] && ! is_zombie "$pid" &&
		echo "$pid"
}

no_node_collector() {
	[ -z "$(node_collector)" ]
}

@test "image: the DaemonSet's containers under Podman install a self-contained ocibpf on a node root, a runc container there is monitored by the image's collector, node-setup uninstall leaves the node clean" {
	requires root cgroup2 bpf bpftool jq busybox runc unshare
	engine_requires podman python3-yaml
	the_image
	# The node's programs read the node's configuration (runc gives a hook without env
	# of its own runc's environment).
	unset OCIBPF_CONFIG
	# a node root: the directories every node has, and the engines' configuration dirs
	# (and /proc, which the programs read their own path from)
	mkdir -p "$NODE/etc/containerd" "$NODE/etc/crio" "$NODE/opt" "$NODE/run" "$NODE/var/log" \
		"$NODE/proc"
	mount -t proc proc "$NODE/proc"
	node_files >"$BATS_TEST_TMPDIR/node-before"
	pod_spec
	# what the kubelet makes for a DirectoryOrCreate hostPath
	local d
	for d in "${HOST_DIRS[@]}"; do mkdir -p "$d"; done

	# this test's Podman (storage in the temp dir, an empty hooks directory)
	podman_setup
	run __podman load -q -i "$IMAGE_TAR"
	assert_success
	local image
	image=$(__podman images --format '{{.Repository}}:{{.Tag}}' | grep -m1 '/ocibpf:') ||
		fail "no image loaded: $output"

	# the init container
	pod_run --rm "${INIT_ARGS[@]}" "$image" "${INIT_CMD[@]}"
	assert_success
	local b
	for b in ocibpf ocibpf-hook ocibpfd ocibpf-runtime; do
		[ -x "$NODE/opt/ocibpf/bin/$b" ] || fail "no $b on the node: $(find "$NODE/opt")"
	done
	cmp "$BATS_TEST_TMPDIR/configmap/config.json" "$NODE/etc/ocibpf/config.json"
	cmp "$BATS_TEST_TMPDIR/configmap/baseline.json" "$NODE/etc/ocibpf/policies/baseline.json"
	# self-contained: the node root has nothing else, no libc, and they run there
	run chroot "$NODE" /opt/ocibpf/bin/ocibpf version
	assert_success
	[ ! -e "$NODE/lib" ] && [ ! -e "$NODE/usr" ] || fail "the node root has $(ls "$NODE")"
	# the engine files are what `ocibpf install` writes, for the binaries on the node
	run --separate-stderr chroot "$NODE" /opt/ocibpf/bin/ocibpf install containerd --dry-run
	assert_success
	[ "$output" = "$(cat "$NODE/etc/containerd/conf.d/ocibpf.toml")" ] || fail "containerd drop-in differs"
	grep -qx 'BinaryName = "/opt/ocibpf/bin/ocibpf-runtime"' "$NODE/etc/containerd/conf.d/ocibpf.toml"
	local hooks=$NODE/etc/containers/oci/hooks.d/ocibpf.json
	run jq -e '.hook.path == "/opt/ocibpf/bin/ocibpf-hook" and (.hook | has("env") | not)
		and .when == {annotations: {"^io\\.ocibpf\\.policy$": ".*"}}' "$hooks"
	assert_success
	[ -f "$NODE/etc/crio/crio.conf.d/50-ocibpf.conf" ] || fail "no CRI-O drop-in"

	# the collector, as the DaemonSet's main container
	pod_run -d --name "$CID-ocibpfd" "${MAIN_ARGS[@]}" "$image" "${MAIN_CMD[@]}"
	assert_success
	wait_for 100 0.1 node_collector >/dev/null ||
		fail "no collector: $(__podman logs "$CID-ocibpfd" 2>&1)"
	local collector
	collector=$(node_collector)
	# it serves metrics (libmicrohttpd, which it loads for that, is in the image)
	wait_for 100 0.1 nsenter -t "$collector" -n curl -sf -o /dev/null http://127.0.0.1:9669/metrics ||
		fail "no metrics: $(__podman logs "$CID-ocibpfd" 2>&1)"

	# a plain runc container on the node, with the hooks the node install wrote (its
	# cgroup apart from the pods')
	local RID=$CID-runc
	setup_busybox_bundle
	update_config '.hooks = {createRuntime: [$h | {path, args}], poststop: [$h | {path, args}]}
		| .annotations["io.ocibpf.policy"] = "baseline"
		| .process.args = ["sh", "-c", "nc -w 1 169.254.169.254 80 </dev/null; echo nc=$?; exec sleep 300"]' \
		--argjson h "$(jq .hook "$hooks")"
	# (the container's stdio in a file: nothing of it may hold bats' pipes)
	run __detached "$BATS_TEST_TMPDIR/$RID.stdio" on_node "$RUNC" --root "$RUNC_ROOT" run -d \
		-b "$BUNDLE" "$RID"
	log_run runc run -d "$RID"
	assert_success
	local log=$NODE/var/log/ocibpf/$RID.jsonl
	wait_for 50 0.1 grep -q '"type":"net"' "$log" || fail "no net record: $(cat "$log" 2>&1)"
	run jq -e -s --arg id "$RID" '.[0].type == "start" and .[0].policy == "baseline"
		and any(.[]; .type == "net" and .action == "deny" and .addr == "169.254.169.254")
		and any(.[]; .type == "exec")' "$log"
	[ "$status" -eq 0 ] || fail "audit log: $(cat "$log")"
	[ -f "$NODE/run/ocibpf/containers/$RID.json" ] || fail "no state: $(ls -R "$NODE/run/ocibpf")"
	[ -n "$(ls -A "$NODE_BPFFS/containers" 2>/dev/null)" ] || fail "no pins under $NODE_BPFFS"
	run on_node /opt/ocibpf/bin/ocibpf ps --json
	assert_success
	run jq -e --arg id "$RID" 'map(select(.id == $id and .policy == "baseline")) | length == 1' <<<"$output"
	assert_success
	# the image's collector wrote the records: no other one was started
	[ "$(node_collector)" = "$collector" ] || fail "collector $collector replaced by $(node_collector)"
	[ -z "$(pgrep -f "^/opt/ocibpf/bin/ocibpfd" | grep -vx "$collector")" ] ||
		fail "other collectors: $(pgrep -af ocibpfd)"

	run on_node "$RUNC" --root "$RUNC_ROOT" delete -f "$RID"
	log_run runc delete -f "$RID"
	assert_success
	wait_for 50 0.1 eval '[ "$(tail -n 1 "$log" | jq -r .type)" = stop ]' || fail "no stop record: $(tail -n 2 "$log")"

	# removal: the DaemonSet's pod goes (SIGTERM), then node-setup uninstall
	run __podman stop -t 30 "$CID-ocibpfd"
	assert_success
	wait_for 100 0.1 no_node_collector || fail "the collector survived its pod"
	run __podman rm "$CID-ocibpfd"
	assert_success
	pod_run --rm --privileged --pid host "${MAIN_ENV[@]}" "${ALL_MOUNTS[@]}" "$image" \
		/opt/ocibpf/node-setup uninstall
	assert_success

	# the node root as it was, but for the audit logs (they stay) and the directories
	# the kubelet made for the hostPath volumes
	node_files | grep -v "^$NODE/var/log/ocibpf/" |
		grep -vxF -f <(printf '%s\n' "${HOST_DIRS[@]}") >"$BATS_TEST_TMPDIR/node-after"
	run diff "$BATS_TEST_TMPDIR/node-before" "$BATS_TEST_TMPDIR/node-after"
	[ "$status" -eq 0 ] || fail "the node root changed: $output"
	[ -f "$log" ]
	[ ! -e "$NODE_BPFFS" ] || fail "pins left: $(find "$NODE_BPFFS")"
}
