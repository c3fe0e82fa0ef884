build-old/obj/src/core/container.o: src/core/container.c \
 src/core/bpfset.h bpf/ocibpf.h src/core/util.h src/core/container.h \
 src/core/json.h src/core/stats.h
src/core/bpfset.h:
bpf/ocibpf.h:
src/core/util.h:
src/core/container.h:
src/core/json.h:
src/core/stats.h:
