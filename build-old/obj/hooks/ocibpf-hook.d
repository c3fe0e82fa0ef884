build-old/obj/hooks/ocibpf-hook.o: hooks/ocibpf-hook.c \
 src/core/lifecycle.h src/core/config.h src/core/util.h oci/state.h \
 src/core/util.h src/core/config.h
src/core/lifecycle.h:
src/core/config.h:
src/core/util.h:
oci/state.h:
src/core/util.h:
src/core/config.h:
