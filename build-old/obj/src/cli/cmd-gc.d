build-old/obj/src/cli/cmd-gc.o: src/cli/cmd-gc.c src/core/bpfset.h \
 bpf/ocibpf.h src/core/util.h src/cli/cli.h src/core/config.h \
 src/core/json.h src/core/container.h src/core/lifecycle.h \
 src/core/config.h oci/state.h src/core/util.h
src/core/bpfset.h:
bpf/ocibpf.h:
src/core/util.h:
src/cli/cli.h:
src/core/config.h:
src/core/json.h:
src/core/container.h:
src/core/lifecycle.h:
src/core/config.h:
oci/state.h:
src/core/util.h:
