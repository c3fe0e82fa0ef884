#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Install every Debian package that building and testing ocibpf needs, and make
# sure bpffs is mounted at /sys/fs/bpf. Idempotent and non-interactive; run as root
# (re-runs itself through sudo otherwise). `make deps` runs it.
#
# OCIBPF_DEPS_FORCE=1: run apt-get update and install even when everything is
# installed already (by default a machine that has it all is left untouched, so
# that `make check` works offline once the packages are there).

set -euo pipefail

PACKAGES=(
	# build
	build-essential make pkg-config
	clang llvm            # BPF objects (clang -target bpf), llvm-strip
	libbpf-dev bpftool    # libbpf, skeletons, vmlinux.h
	libelf-dev zlib1g-dev # libbpf's link dependencies
	libseccomp-dev        # syscall names
	libyajl-dev           # JSON
	libmicrohttpd-dev prometheus curl # telemetry: ocibpfd --metrics-listen; promtool, curl in tests
	# unit tests
	libcmocka-dev
	libclang-rt-14-dev    # fuzz tests: clang -fsanitize=fuzzer (libclang_rt.fuzzer), ASan, UBSan
	# integration tests
	bats bats-assert bats-support bats-file
	busybox-static        # container rootfs
	jq
	runc crun
	util-linux            # unshare, mount (crun's hybrid-mode workaround)
	procps                # ps, pgrep
	iproute2              # ip netns, veth
	strace                # hook.bats: what `ocibpf load` opens
	podman containerd     # engines.bats: hooks.d with Podman, ocibpf-runtime under containerd
	docker.io             # engines.bats: dockerd 20.10 with ocibpf-runtime as a runtime
	scdoc man-db          # man pages (build/man), rendered by man -l in engines.bats
	python3-yaml          # engines.bats: the Kubernetes and Vector YAML parsed
	logrotate             # engines.bats: contrib/logrotate/ocibpf run for real
	rsyslog rsyslog-relp  # fleet.bats: contrib/rsyslog shipping the audit logs (imfile, RELP)
	debhelper lintian     # make deb (dpkg-buildpackage, dh), deb.bats
	buildah patchelf      # make image: the DaemonSet's image, its binaries bundled with their libraries
	# benchmarks
	iperf3 hyperfine
	nftables              # the network benchmark compares with nft socket cgroupv2
)

if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null; then
		exec sudo -E "$0" "$@"
	fi
	echo "install-deps.sh: must run as root (or with sudo)" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive

missing=()
for p in "${PACKAGES[@]}"; do
	if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != installed ]; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ] && [ -z "${OCIBPF_DEPS_FORCE:-}" ]; then
	echo "install-deps.sh: all ${#PACKAGES[@]} packages are installed"
else
	[ ${#missing[@]} -eq 0 ] || echo "install-deps.sh: installing: ${missing[*]}"
	apt-get update
	apt-get install -y --no-install-recommends \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
		"${PACKAGES[@]}"
fi

# bpffs: where ocibpf pins its programs, maps and links.
if [ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" != bpf_fs ]; then
	mkdir -p /sys/fs/bpf
	mount -t bpf bpf /sys/fs/bpf
	echo "install-deps.sh: mounted bpffs at /sys/fs/bpf"
fi
