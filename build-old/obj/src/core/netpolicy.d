build-old/obj/src/core/netpolicy.o: src/core/netpolicy.c \
 src/core/bpfset.h bpf/ocibpf.h src/core/util.h src/core/netpolicy.h \
 bpf/net.h src/core/netshare.h src/core/policy.h
src/core/bpfset.h:
bpf/ocibpf.h:
src/core/util.h:
src/core/netpolicy.h:
bpf/net.h:
src/core/netshare.h:
src/core/policy.h:
