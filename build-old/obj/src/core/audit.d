build-old/obj/src/core/audit.o: src/core/audit.c src/core/audit.h \
 bpf/ocibpf.h src/core/util.h src/core/bpfset.h src/core/policy.h
src/core/audit.h:
bpf/ocibpf.h:
src/core/util.h:
src/core/bpfset.h:
src/core/policy.h:
