# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Helpers for engines.bats: Podman and containerd run by the tests themselves, with
# every piece of their state in the test's temp dir (ENVIRONMENT.md has the recipes),
# images built by hand from the busybox rootfs, and their cleanup.
#
# What these engines leave outside the temp dir, and how it goes:
# - Podman: the runc state of its containers in runc's default root /run/runc (gone
#   with the container), the cgroups under its --cgroup-parent /$CID (removed here),
#   and containers/image's blob-info cache /var/lib/containers/cache (removed at the end
#   of the file when the file's tests made it).
# - containerd: shim sockets in /run/containerd/s and ctr's FIFOs in
#   /run/containerd/fifo (gone with the tasks; the directories are removed at the end of
#   the file when its tests made them).

export ENGINES_IMAGE=localhost/ocibpf-busybox:test
export CTR_IMAGE=docker.io/library/ocibpf-busybox:test

# engine_requires WORD...: like requires, for what only these tests need.
engine_requires() {
	local word skip_me
	for word in "$@"; do
		skip_me=
		case $word in
		podman)
			command -v podman >/dev/null && command -v conmon >/dev/null ||
				skip_me="test requires podman (Debian package podman)"
			;;
		docker)
			[ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ] && command -v containerd >/dev/null ||
				skip_me="test requires dockerd and docker (Debian package docker.io)"
			;;
		containerd)
			command -v containerd >/dev/null && command -v ctr >/dev/null &&
				command -v containerd-shim-runc-v2 >/dev/null ||
				skip_me="test requires containerd, ctr and containerd-shim-runc-v2 (Debian package containerd)"
			;;
		python3-yaml)
			python3 -c 'import yaml' 2>/dev/null || skip_me="test requires python3-yaml"
			;;
		tomllib)
			python3 -c 'import tomllib' 2>/dev/null || skip_me="test requires python3 >= 3.11 (tomllib)"
			;;
		man)
			command -v man >/dev/null && command -v groff >/dev/null ||
				skip_me="test requires man and groff (man-db)"
			;;
		logrotate | systemd-analyze | systemd-tmpfiles)
			command -v "$word" >/dev/null || skip_me="test requires $word"
			;;
		*)
			fail "engine_requires: unknown word '$word'"
			;;
		esac
		[ -z "$skip_me" ] || skip "$skip_me"
	done
}

# Whether PATH existed when the file started (teardown_file removes what we made).
note_preexisting() {
	local p
	: >"$BATS_FILE_TMPDIR/preexisting"
	for p in /var/lib/containers /var/lib/containers/cache /run/containerd \
		/run/containerd/s /run/containerd/fifo /run/runc /run/docker /run/docker/plugins; do
		if [ -e "$p" ]; then
			echo "$p" >>"$BATS_FILE_TMPDIR/preexisting"
		fi
	done
}

# remove_if_ours PATH [FILE...]: PATH did not exist before this file ran: remove the
# named FILEs in it, then PATH itself if it is empty.
remove_if_ours() {
	local dir=$1 f
	shift
	grep -qxF "$dir" "$BATS_FILE_TMPDIR/preexisting" 2>/dev/null && return 0
	[ -d "$dir" ] || return 0
	for f in "$@"; do
		rm -f "${dir:?}/$f"
	done
	rmdir "$dir" 2>/dev/null || true
}

engines_teardown_file() {
	remove_if_ours /var/lib/containers/cache blob-info-cache-v1.boltdb
	remove_if_ours /var/lib/containers
	remove_if_ours /run/containerd/s
	remove_if_ours /run/containerd/fifo
	remove_if_ours /run/containerd
	remove_if_ours /run/runc
	remove_if_ours /run/docker/plugins
	remove_if_ours /run/docker
}

# make_rootfs_tar OUT: the busybox rootfs as a tar, owned by root.
make_rootfs_tar() {
	tar -C "$ROOTFS_TEMPLATE" --numeric-owner --owner=0 --group=0 -cf "$1" .
}

# make_oci_image_tar OUT NAME: an OCI image layout (one layer, the busybox rootfs) in a
# tar, as `ctr images import` takes it; NAME is its org.opencontainers.image.ref.name.
make_oci_image_tar() {
	local out=$1 name=$2 d
	d=$(mktemp -d "$BATS_FILE_TMPDIR/oci.XXXXXX")
	mkdir -p "$d/blobs/sha256"
	make_rootfs_tar "$d/layer.tar"
	local layer layer_size config config_size manifest manifest_size arch
	layer=$(sha256sum "$d/layer.tar" | cut -d' ' -f1)
	layer_size=$(stat -c %s "$d/layer.tar")
	mv "$d/layer.tar" "$d/blobs/sha256/$layer"
	case $(uname -m) in
	x86_64) arch=amd64 ;;
	aarch64) arch=arm64 ;;
	*) arch=$(uname -m) ;;
	esac
	jq -cn --arg l "sha256:$layer" --arg arch "$arch" \
		'{architecture: $arch, os: "linux", config: {Cmd: ["sh"], Env: ["PATH=/bin"]},
		  rootfs: {type: "layers", diff_ids: [$l]}}' >"$d/config.json"
	config=$(sha256sum "$d/config.json" | cut -d' ' -f1)
	config_size=$(stat -c %s "$d/config.json")
	mv "$d/config.json" "$d/blobs/sha256/$config"
	jq -cn --arg c "sha256:$config" --argjson cs "$config_size" \
		--arg l "sha256:$layer" --argjson ls "$layer_size" \
		'{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
		  config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
		  layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $l, size: $ls}]}' \
		>"$d/manifest.json"
	manifest=$(sha256sum "$d/manifest.json" | cut -d' ' -f1)
	manifest_size=$(stat -c %s "$d/manifest.json")
	mv "$d/manifest.json" "$d/blobs/sha256/$manifest"
	jq -cn --arg m "sha256:$manifest" --argjson ms "$manifest_size" --arg n "$name" \
		--arg arch "$arch" \
		'{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
		  digest: $m, size: $ms, annotations: {"org.opencontainers.image.ref.name": $n},
		  platform: {architecture: $arch, os: "linux"}}]}' >"$d/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
	tar -C "$d" -cf "$out" oci-layout index.json blobs
	rm -rf "$d"
}

# wait_rmdir_tree DIR: remove the empty directory tree DIR (a cgroup an engine made),
# waiting up to 20 s for processes in it to be gone (PID 1 is slow to reap here).
wait_rmdir_tree() {
	local dir=$1 _
	for _ in $(seq 100); do
		[ -d "$dir" ] || return 0
		find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
		[ -d "$dir" ] || return 0
		sleep 0.2
	done
	echo "cgroup $dir still busy: $(find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null | tr '\n' ' ')" >&2
	return 1
}

# remove_engine_cgroups: the cgroup trees named $CID that an engine made as a parent.
remove_engine_cgroups() {
	local rc=0 d
	for d in "$CGROUP2/$CID" /sys/fs/cgroup/*/"$CID"; do
		[ -d "$d" ] || continue
		wait_rmdir_tree "$d" || rc=1
	done
	return $rc
}

# mounts_under DIR: mount points at or below DIR.
mounts_under() {
	findmnt -rn -o TARGET | awk -v d="$1" 'index($0, d) == 1'
}

# umount_left DIR WHO: unmount, deepest first, what WHO left mounted at or below DIR,
# saying so; 1 when there was any.
umount_left() {
	local m rc=0
	for m in $(mounts_under "$1" | sort -r); do
		echo "mount left by $2: $m" >&2
		umount -l "$m"
		rc=1
	done
	return $rc
}

# --- Podman ---------------------------------------------------------------------------

# podman_setup: this test's Podman: storage, run root, tmpdir and containers.conf in
# the test's temp dir; the image imported from the busybox rootfs tar. Sets PODMAN_DIR,
# HOOKS_DIR.
podman_setup() {
	PODMAN_DIR=$BATS_TEST_TMPDIR/podman
	HOOKS_DIR=$PODMAN_DIR/hooks.d
	mkdir -p "$PODMAN_DIR/tmp" "$HOOKS_DIR"
	cat >"$PODMAN_DIR/containers.conf" <<-EOF
		[engine]
		tmp_dir = "$PODMAN_DIR/tmp"
		events_logger = "none"
		cgroup_manager = "cgroupfs"
	EOF
	export CONTAINERS_CONF=$PODMAN_DIR/containers.conf
	__podman import -q "$BATS_FILE_TMPDIR/rootfs.tar" "$ENGINES_IMAGE" >/dev/null
}

# podman_setup_stock: the same, but Podman reads the host's containers.conf files and
# its hooks from where they say (no --hooks-dir, no CONTAINERS_CONF): what `ocibpf
# install podman` is for. Storage and run root stay in the temp dir.
podman_setup_stock() {
	PODMAN_DIR=$BATS_TEST_TMPDIR/podman
	HOOKS_DIR=
	mkdir -p "$PODMAN_DIR/tmp"
	unset CONTAINERS_CONF
	__podman import -q "$BATS_FILE_TMPDIR/rootfs.tar" "$ENGINES_IMAGE" >/dev/null
}

__podman() {
	timeout --kill-after=10 "$RUNTIME_TIMEOUT" podman --root "$PODMAN_DIR/root" \
		--runroot "$PODMAN_DIR/runroot" --tmpdir "$PODMAN_DIR/tmp" --storage-driver vfs \
		--runtime "$RUNC" --cgroup-manager cgroupfs --events-backend none \
		${HOOKS_DIR:+--hooks-dir "$HOOKS_DIR"} "$@" 3>&-
}

# podman_cmd ARGS: podman through bats' run.
podman_cmd() {
	run __podman "$@"
	log_run podman "$@"
}

# podman_run ARGS: `podman run` with what ENVIRONMENT.md says Podman needs here, the
# cgroup parent /$CID (for the leak check), through bats' run.
podman_run() {
	run __podman run --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
		--cgroup-parent "/$CID" "$@"
	log_run podman run "$@"
}

# podman_logs_have TEXT: the output of container $CID has TEXT.
podman_logs_have() {
	__podman logs "$CID" 2>&1 | grep -qF -- "$1"
}

# podman_teardown: remove every container (poststop runs), then the cgroups and the
# storage. Returns 1 when something could not be removed.
podman_teardown() {
	[ -n "${PODMAN_DIR:-}" ] && [ -d "$PODMAN_DIR" ] || return 0
	local rc=0 m
	__podman rm -a -f -t 0 >/dev/null 2>&1 || rc=1
	if [ -n "$(__podman ps -a -q 2>/dev/null)" ]; then
		echo "podman containers left: $(__podman ps -a -q | tr '\n' ' ')" >&2
		rc=1
	fi
	__podman rmi -a -f >/dev/null 2>&1
	remove_engine_cgroups || rc=1
	umount_left "$PODMAN_DIR" podman || rc=1
	rm -rf "$PODMAN_DIR"
	unset CONTAINERS_CONF
	return $rc
}

# --- Docker ---------------------------------------------------------------------------

# docker_start: a dockerd of this test, Debian's docker.io as installed, with the runtime
# that `ocibpf install docker --root` merged into a daemon.json of its own (its other keys
# keep dockerd's trust key out of /etc/docker and put containers under the cgroup /$CID,
# for the leak check); data root, exec root, pid file and
# socket in the temp dir, no bridge, no iptables; this test's OCIBPF_CONFIG in its
# environment (ocibpf-runtime runs under the shims of dockerd's containerd and sees it);
# the image imported from the busybox rootfs tar. Sets DOCKER_DIR, DOCKER_SOCK, DOCKER_PID.
docker_start() {
	DOCKER_DIR=$BATS_TEST_TMPDIR/docker
	DOCKER_SOCK=$DOCKER_DIR/docker.sock
	mkdir -p "$DOCKER_DIR/root/etc/docker"
	jq -n --arg k "$DOCKER_DIR/key.json" --arg cg "/$CID" \
		'{"deprecated-key-path": $k, "cgroup-parent": $cg}' >"$DOCKER_DIR/root/etc/docker/daemon.json"
	"$OCIBPF_CLI" install docker --root "$DOCKER_DIR/root" >/dev/null 2>&1 ||
		fail "ocibpf install docker failed"
	OCIBPF_CONFIG=$OCIBPF_CONFIG /usr/sbin/dockerd --config-file "$DOCKER_DIR/root/etc/docker/daemon.json" \
		--data-root "$DOCKER_DIR/data" --exec-root "$DOCKER_DIR/exec" --pidfile "$DOCKER_DIR/dockerd.pid" \
		-H "unix://$DOCKER_SOCK" --iptables=false --ip6tables=false --bridge=none --ip-forward=false \
		--ip-masq=false --storage-driver vfs --exec-opt native.cgroupdriver=cgroupfs \
		</dev/null >"$DOCKER_DIR/dockerd.log" 2>&1 3>&- &
	DOCKER_PID=$!
	if ! wait_for 150 0.1 __docker version >/dev/null 2>&1; then
		cat "$DOCKER_DIR/dockerd.log" >&2
		fail "dockerd did not start"
	fi
	__docker import "$BATS_FILE_TMPDIR/rootfs.tar" "$ENGINES_IMAGE" >/dev/null
}

# Debian's docker client (/usr/local/bin may hold another one).
__docker() {
	timeout --kill-after=10 "$RUNTIME_TIMEOUT" /usr/bin/docker -H "unix://$DOCKER_SOCK" "$@" 3>&-
}

docker_cmd() {
	run __docker "$@"
	log_run docker "$@"
}

# docker_teardown: remove every container (poststop runs), stop dockerd (it stops its
# containerd), check that nothing is left running or mounted, remove its directory.
docker_teardown() {
	[ -n "${DOCKER_DIR:-}" ] && [ -d "$DOCKER_DIR" ] || return 0
	local rc=0 m p
	if [ -n "${DOCKER_PID:-}" ] && kill -0 "$DOCKER_PID" 2>/dev/null; then
		local ids
		mapfile -t ids < <(__docker ps -a -q 2>/dev/null)
		if [ ${#ids[@]} -gt 0 ]; then
			__docker rm -f "${ids[@]}" >/dev/null 2>&1 || rc=1
		fi
		kill "$DOCKER_PID"
		# shellcheck disable=SC2016 # (expanded by eval)
		wait_for 150 0.1 eval '! kill -0 "$DOCKER_PID" 2>/dev/null' || {
			kill -9 "$DOCKER_PID"
			rc=1
		}
		wait "$DOCKER_PID" 2>/dev/null
	fi
	for p in $(pgrep -f "$DOCKER_DIR" 2>/dev/null); do
		echo "left running by dockerd: $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" >&2
		kill -9 "$p"
		rc=1
	done
	remove_engine_cgroups || rc=1
	# libnetwork's mount of the host's network namespace, which dockerd 20.10 leaves
	umount "$DOCKER_DIR/exec/netns/default" 2>/dev/null
	umount_left "$DOCKER_DIR" dockerd || rc=1
	rm -rf "$DOCKER_DIR"
	return $rc
}

# --- the host's engine configuration ----------------------------------------------------

# host_save PATH...: PATH (a file or a directory of the host's, under /etc or /usr/share)
# is put back as it is now by host_restore (teardown): removed when it does not exist now.
host_save() {
	local p b
	mkdir -p "$BATS_TEST_TMPDIR/host-save"
	for p in "$@"; do
		case $p in
		/etc/?* | /usr/share/?*) ;;
		*) fail "host_save: $p is not under /etc or /usr/share" ;;
		esac
		b=$BATS_TEST_TMPDIR/host-save/$(tr / _ <<<"$p")
		[ ! -e "$p" ] || cp -a "$p" "$b"
		echo "$p" >>"$BATS_TEST_TMPDIR/host-saved"
	done
}

host_restore() {
	[ -f "$BATS_TEST_TMPDIR/host-saved" ] || return 0
	local p b rc=0
	while read -r p; do
		b=$BATS_TEST_TMPDIR/host-save/$(tr / _ <<<"$p")
		rm -rf "$p"
		if [ -e "$b" ]; then
			cp -a "$b" "$p" || rc=1
		fi
	done < <(tac "$BATS_TEST_TMPDIR/host-saved")
	rm -f "$BATS_TEST_TMPDIR/host-saved"
	return $rc
}

# --- containerd -----------------------------------------------------------------------

# containerd_start: a containerd of this test (root, state, sockets in the temp dir, no
# CRI plugin), with this test's OCIBPF_CONFIG in its environment (ocibpf-runtime runs
# under its shim and sees it); the image imported. Sets CTRD_DIR, CTRD_SOCK, CTRD_PID.
containerd_start() {
	CTRD_DIR=$BATS_TEST_TMPDIR/containerd
	CTRD_SOCK=$CTRD_DIR/containerd.sock
	mkdir -p "$CTRD_DIR"
	cat >"$CTRD_DIR/config.toml" <<-EOF
		version = 2
		root = "$CTRD_DIR/root"
		state = "$CTRD_DIR/state"
		disabled_plugins = ["io.containerd.grpc.v1.cri"]
		[grpc]
		  address = "$CTRD_SOCK"
		[ttrpc]
		  address = "$CTRD_SOCK.ttrpc"
	EOF
	OCIBPF_CONFIG=$OCIBPF_CONFIG containerd --config "$CTRD_DIR/config.toml" \
		</dev/null >"$CTRD_DIR/containerd.log" 2>&1 3>&- &
	CTRD_PID=$!
	echo "$CTRD_PID" >"$CTRD_DIR/pid"
	if ! wait_for 100 0.1 __ctr version >/dev/null 2>&1; then
		cat "$CTRD_DIR/containerd.log" >&2
		fail "containerd did not start"
	fi
	__ctr images import --snapshotter native "$BATS_FILE_TMPDIR/image.tar" >/dev/null
}

__ctr() {
	timeout --kill-after=10 "$RUNTIME_TIMEOUT" ctr --address "$CTRD_SOCK" "$@" 3>&-
}

# ctr_cmd ARGS: ctr through bats' run.
ctr_cmd() {
	run __ctr "$@"
	log_run ctr "$@"
}

# ctr_run ID ARGS...: `ctr run` of the image as ID in the cgroup /ID, with the runc
# root of this test and ocibpf-runtime as the runc binary, through bats' run.
ctr_run() {
	local id=$1
	shift
	run __ctr run --rm --snapshotter native --runc-root "$CTRD_DIR/runc" \
		--runc-binary "$OCIBPF_BUILD/ocibpf-runtime" --cgroup "/$id" "$@"
	log_run ctr run "$id" "$@"
}

# shim processes of our containerd (started with -address $CTRD_SOCK)
ctrd_shims() {
	local p
	for p in $(pgrep -f containerd-shim-runc-v2 2>/dev/null); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$CTRD_SOCK" && echo "$p"
	done
}

# containerd_teardown: remove tasks and containers, stop containerd and its shims,
# check that nothing is left mounted, and remove its directory.
containerd_teardown() {
	[ -n "${CTRD_DIR:-}" ] && [ -d "$CTRD_DIR" ] || return 0
	local rc=0 id p m
	if [ -n "${CTRD_PID:-}" ] && kill -0 "$CTRD_PID" 2>/dev/null; then
		for id in $(__ctr tasks ls -q 2>/dev/null); do
			__ctr tasks kill -s SIGKILL "$id" >/dev/null 2>&1
			sleep 0.2
			__ctr tasks rm -f "$id" >/dev/null 2>&1 || rc=1
			echo "containerd task left: $id" >&2
			rc=1
		done
		for id in $(__ctr containers ls -q 2>/dev/null); do
			__ctr containers rm "$id" >/dev/null 2>&1
			echo "containerd container left: $id" >&2
			rc=1
		done
		kill "$CTRD_PID"
		# shellcheck disable=SC2016 # (expanded by eval)
		wait_for 100 0.1 eval '! kill -0 "$CTRD_PID" 2>/dev/null' || {
			kill -9 "$CTRD_PID"
			rc=1
		}
		wait "$CTRD_PID" 2>/dev/null
	fi
	for p in $(ctrd_shims); do
		echo "containerd shim left: $p" >&2
		kill -9 "$p"
		rc=1
	done
	# (<runc-root>/<namespace>/<container>)
	if [ -n "$(find "$CTRD_DIR/runc" -mindepth 2 -maxdepth 2 2>/dev/null)" ]; then
		echo "runc state left under containerd: $(find "$CTRD_DIR/runc" -mindepth 2 -maxdepth 2)" >&2
		rc=1
	fi
	remove_engine_cgroups || rc=1
	umount_left "$CTRD_DIR" containerd || rc=1
	rm -rf "$CTRD_DIR"
	return $rc
}
