build-old/obj/src/core/bpfset.o: src/core/bpfset.c \
 build-old/bpf_version.h src/core/bpfset.h bpf/ocibpf.h src/core/util.h \
 src/core/cgroup.h build-old/cgtrack.skel.h build-old/net.skel.h \
 build-old/audit.skel.h src/core/audit.h src/core/netpolicy.h bpf/net.h
build-old/bpf_version.h:
src/core/bpfset.h:
bpf/ocibpf.h:
src/core/util.h:
src/core/cgroup.h:
build-old/cgtrack.skel.h:
build-old/net.skel.h:
build-old/audit.skel.h:
src/core/audit.h:
src/core/netpolicy.h:
bpf/net.h:
