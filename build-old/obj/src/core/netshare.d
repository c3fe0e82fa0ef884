build-old/obj/src/core/netshare.o: src/core/netshare.c src/core/bpfset.h \
 bpf/ocibpf.h src/core/util.h src/core/netpolicy.h bpf/net.h \
 src/core/netshare.h src/core/sha256.h
src/core/bpfset.h:
bpf/ocibpf.h:
src/core/util.h:
src/core/netpolicy.h:
bpf/net.h:
src/core/netshare.h:
src/core/sha256.h:
