build-old/obj/src/cli/cmd-load.o: src/cli/cmd-load.c src/core/bpfset.h \
 bpf/ocibpf.h src/core/util.h src/cli/cli.h src/core/config.h \
 src/core/json.h
src/core/bpfset.h:
bpf/ocibpf.h:
src/core/util.h:
src/cli/cli.h:
src/core/config.h:
src/core/json.h:
