build-old/obj/src/core/metrics.o: src/core/metrics.c src/core/bpfset.h \
 bpf/ocibpf.h src/core/util.h src/core/container.h src/core/metrics.h \
 src/core/config.h src/core/stats.h
src/core/bpfset.h:
bpf/ocibpf.h:
src/core/util.h:
src/core/container.h:
src/core/metrics.h:
src/core/config.h:
src/core/stats.h:
