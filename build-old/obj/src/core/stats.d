build-old/obj/src/core/stats.o: src/core/stats.c src/core/bpfset.h \
 bpf/ocibpf.h src/core/util.h src/core/cgroup.h src/core/container.h \
 src/core/json.h src/core/stats.h
src/core/bpfset.h:
bpf/ocibpf.h:
src/core/util.h:
src/core/cgroup.h:
src/core/container.h:
src/core/json.h:
src/core/stats.h:
