# SPDX-License-Identifier: Apache-2.0
# ocibpf: eBPF for containers through OCI hooks.

BUILD     ?= build
PREFIX    ?= /usr/local
DESTDIR   ?=
CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
PKG_CONFIG ?= pkg-config
ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/' -e 's/s390x/s390/')
VMLINUX_H ?= $(BUILD)/vmlinux.h
VERSION   := $(shell cat VERSION 2>/dev/null || echo 0.1.0)

PKGS      := libbpf yajl libseccomp
ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WARN      := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wstrict-prototypes -Wmissing-prototypes
HARDEN    := -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
CPPFLAGS  += -D_GNU_SOURCE -DOCIBPF_VERSION='"$(VERSION)"' -I$(BUILD) -Isrc/core -Ioci -Ibpf
CFLAGS    ?= -g
CFLAGS    += -std=gnu11 $(WARN) $(HARDEN) $(shell $(PKG_CONFIG) --cflags $(PKGS))
LDFLAGS   += -pie -Wl,-z,relro,-z,now
LDLIBS    += $(shell $(PKG_CONFIG) --libs $(PKGS)) -lelf -lz

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS)) $(BUILD)/ocibpf.skel.h \
	$(BUILD)/ocibpf.lskel.h

LIB_SRCS  := $(wildcard src/core/*.c) $(filter-out oci/main-%.c,$(wildcard oci/*.c))
LIB_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
HOOK_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard hooks/*.c))
CLI_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard src/cli/*.c))
D_OBJS    := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard src/daemon/*.c))
SHIM_OBJS := $(BUILD)/obj/oci/main-runtime.o
BINS      := $(BUILD)/ocibpf-hook $(BUILD)/ocibpf $(BUILD)/ocibpfd $(BUILD)/ocibpf-runtime

# Man pages: scdoc sources in contrib/man (NAME.SECTION.scd) -> build/man/NAME.SECTION.
SCDOC     ?= scdoc
MAN_SRCS  := $(wildcard contrib/man/*.scd)
MANS      := $(patsubst contrib/man/%.scd,$(BUILD)/man/%,$(MAN_SRCS))
HAVE_SCDOC := $(shell command -v $(SCDOC) 2>/dev/null)

.DELETE_ON_ERROR:
.PHONY: all clean deps check unit integration test demo bench install fuzz fuzz-build stress man \
	deb image

# The man pages too when scdoc is there (`make man` insists).
all: $(BINS) $(if $(HAVE_SCDOC),$(MANS))

man: $(MANS)

$(BUILD)/man/%: contrib/man/%.scd
	$(call msg,SCDOC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(SCDOC) < $< > $@

$(BUILD)/vmlinux.h:
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(VMLINUX_H)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) \
		-I$(dir $(VMLINUX_H)) -Ibpf -c $< -o $@
	$(Q)$(BPFTOOL) gen object $@.linked $@ && mv $@.linked $@

# The objects linked into one, which is what is loaded: libbpf parses the kernel's BTF
# (tens of ms) once per object opened.
$(BUILD)/bpf/ocibpf.bpf.o: $(BPF_OBJS)
	$(call msg,BPF-LINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

# Kept: as intermediates of the pattern rule, make deleted them after each build, and an
# object file left from a build stopped half-way was then not rebuilt for want of them.
.SECONDARY: $(SKELS)
$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

# The light skeleton of the same object (src/core/bpfset-load.c): a loader program made
# here creates the maps and loads the programs in the kernel, which does the CO-RE
# relocations and finds BTF ids itself: no parse of the kernel's BTF in user space.
$(BUILD)/ocibpf.lskel.h: $(BUILD)/bpf/ocibpf.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton -L $< name ocibpf_lbpf > $@

# The pinned set is versioned by the content of the BPF objects: a new build pins a new
# set beside the old one instead of reusing programs whose maps it doesn't know.
$(BUILD)/bpf_version.h: $(BPF_OBJS)
	$(call msg,GEN,$@)
	$(Q)printf '#define OCIBPF_BPF_VERSION "%s"\n' \
		"$$(cat $(BPF_OBJS) | sha256sum | cut -c1-16)" > $@.tmp
	$(Q)cmp -s $@.tmp $@ 2>/dev/null && rm $@.tmp || mv $@.tmp $@

$(BUILD)/obj/%.o: %.c $(SKELS) $(BUILD)/bpf_version.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libocibpf.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/ocibpf-hook: $(HOOK_OBJS) $(BUILD)/libocibpf.a
$(BUILD)/ocibpf: $(CLI_OBJS) $(BUILD)/libocibpf.a
$(BUILD)/ocibpfd: $(D_OBJS) $(BUILD)/libocibpf.a
# libmicrohttpd is dlopen'ed when metrics are served (httpd.c), by the SONAME of the
# library built against: the collector does not load gnutls & co. at every start.
MHD_SONAME := $(shell objdump -p "$$($(PKG_CONFIG) --variable=libdir libmicrohttpd)/libmicrohttpd.so" \
	2>/dev/null | awk '$$1 == "SONAME" { print $$2 }')
$(BUILD)/obj/src/daemon/httpd.o: CPPFLAGS += $(if $(MHD_SONAME),-DMHD_SONAME='"$(MHD_SONAME)"') \
	$(shell $(PKG_CONFIG) --cflags libmicrohttpd)
$(BUILD)/ocibpfd: LDLIBS += -ldl
$(BUILD)/ocibpf-runtime: $(SHIM_OBJS) $(BUILD)/libocibpf.a
# The hook is exec'ed twice for every container: linked whole (a static PIE, libc too,
# from the archives of the same -dev packages) it has nothing for ld.so to map, relocate
# and bind. Measured as a createRuntime + poststop pair: 3.0-3.6 ms of CPU less than with
# libc shared, ~40% of what the pair costs above two /bin/true. It uses nothing of libc
# that needs dlopen (NSS, iconv). HOOK_STATIC=0 links every library shared.
# The CLI too: `ocibpf load` runs at every boot and collector start (issue 13: <= 60 ms of
# CPU), and every other verb is one short process; linked the same way it saved ~1.5 ms a
# run (ld.so mapped and relocated six libraries, each page fault ~17 us on this VM).
HOOK_STATIC ?= 1
ifeq ($(HOOK_STATIC),1)
$(BUILD)/ocibpf-hook $(BUILD)/ocibpf: LDFLAGS := $(filter-out -pie,$(LDFLAGS)) -static-pie
$(BUILD)/ocibpf-hook $(BUILD)/ocibpf: LDLIBS := -lbpf -lelf -lz -lyajl_s -lseccomp
# The collector too, when a hook has to wait for it to start (an audited container and no
# collector running): ~20 shared libraries took ~3.6 ms to load.
$(BUILD)/ocibpfd: LDLIBS := -Wl,-Bstatic -lbpf -lelf -lz -lyajl_s -lseccomp \
	-Wl,-Bdynamic -ldl -lpthread
endif
# The core archive whole: features register their part in loading a BPF set from
# constructors (bpfset_register_setup), so every binary that may load a set has them all.
$(BINS):
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter-out %.a,$^) -Wl,--whole-archive $(filter %.a,$^) \
		-Wl,--no-whole-archive $(LDLIBS)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# Benchmark helpers built on the core (tests/bench: audit.sh builds them).
$(BUILD)/bench/record-encode: tests/bench/record-encode.c $(BUILD)/libocibpf.a
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libocibpf.a $(LDLIBS)

# --- tests -------------------------------------------------------------------------
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
UNIT_SRCS := $(wildcard tests/unit/test-*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))

$(BUILD)/unit/%: tests/unit/%.c tests/unit/unit.h $(LIB_SRCS) $(SKELS) $(BUILD)/bpf_version.h
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) -Itests/unit -std=gnu11 $(WARN) $(SAN_FLAGS) \
		$(shell $(PKG_CONFIG) --cflags $(PKGS)) -o $@ $< $(LIB_SRCS) $(LDLIBS)

unit: $(UNIT_BINS)

# libFuzzer targets (tests/fuzz/fuzz-*.c): the library built once with clang's fuzzer,
# address and undefined sanitizers, one binary per target in build/fuzz/. `make fuzz`
# runs each for FUZZ_SECONDS on its seed corpus (tests/fuzz/corpus/TARGET) plus what it
# finds (build/fuzz/corpus/TARGET); `make check` runs each briefly (tests/fuzz/run.sh).
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= $(CLANG)
FUZZ_FLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
		-fno-sanitize-recover=all
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz-*.c)
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_OBJS    := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(LIB_SRCS))

$(BUILD)/fuzz/obj/%.o: %.c $(SKELS) $(BUILD)/bpf_version.h
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(CPPFLAGS) -std=gnu11 $(WARN) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link \
		$(shell $(PKG_CONFIG) --cflags $(PKGS)) -MMD -MP -c $< -o $@

$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(FUZZ_OBJS)
	$(call msg,LD-FUZZ,$@)
	$(Q)$(FUZZ_CC) $(CPPFLAGS) -Itests/fuzz -std=gnu11 $(WARN) $(FUZZ_FLAGS) -fsanitize=fuzzer \
		$(shell $(PKG_CONFIG) --cflags $(PKGS)) -o $@ $< $(FUZZ_OBJS) $(LDLIBS)

-include $(shell find $(BUILD)/fuzz/obj -name '*.d' 2>/dev/null)
.SECONDARY: $(FUZZ_OBJS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh --long $(FUZZ_TARGETS)

deps:
	tests/install-deps.sh

check: deps
	$(MAKE) all unit fuzz-build
	tests/run.sh

test: all unit fuzz-build
	tests/run.sh

# The long load test: 1,000 create/delete cycles instead of 100 (tests/integration/load.bats).
stress: all
	OCIBPF_STRESS=1 bats --tap tests/integration/load.bats

demo: deps
	$(MAKE) all
	contrib/demo.sh

bench: all
	tests/bench/run.sh

# All four side by side: the runtime shim adds the hook found beside itself, and the hook
# starts the collector found beside itself.
install: all man
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 $(filter %.5,$(MANS)) $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 $(filter %.8,$(MANS)) $(DESTDIR)$(PREFIX)/share/man/man8/

# --- packages --------------------------------------------------------------------------
# The Debian package (debian/): built by dpkg-buildpackage from a copy of the tree in
# $(BUILD)/deb/src, which writes the .deb beside it, in $(BUILD)/deb; then lintian
# (debian/ocibpf.lintian-overrides explains what it still says).
DEB_VERSION = $(shell dpkg-parsechangelog -l debian/changelog -S Version)
DEB_ARCH    = $(shell dpkg-architecture -q DEB_HOST_ARCH)
DEB         = $(BUILD)/deb/ocibpf_$(DEB_VERSION)_$(DEB_ARCH).deb

deb:
	@[ "$(DEB_VERSION)" = "$(VERSION)" ] || \
		{ echo "debian/changelog is at $(DEB_VERSION), VERSION at $(VERSION)" >&2; exit 1; }
	rm -rf $(BUILD)/deb
	mkdir -p $(BUILD)/deb/src
	tar -cf - --exclude=./.git --exclude='./build*' --exclude=./$(BUILD) --exclude=./debian/build . | \
		tar -C $(BUILD)/deb/src -xf -
	cd $(BUILD)/deb/src && dpkg-buildpackage -b -uc -us -jauto $(if $(V),,>../build.log 2>&1) || \
		{ tail -n 40 ../build.log 2>/dev/null; exit 1; }
	lintian -I --pedantic --fail-on error,warning $(BUILD)/deb/*.changes
	@echo "  DEB      $(DEB)"

# The DaemonSet's image (contrib/kubernetes/ocibpf.yaml): the binaries with every library
# they load and their own loader under /opt/ocibpf, busybox, no base image; an OCI
# archive in $(BUILD)/image (contrib/image/build-image says more).
IMAGE_NAME ?= localhost/ocibpf:$(VERSION)
image: $(BINS)
	DLOPENED="$(MHD_SONAME)" contrib/image/build-image $(BUILD) $(IMAGE_NAME)

clean:
	rm -rf $(BUILD)
