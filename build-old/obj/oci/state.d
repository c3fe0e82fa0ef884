build-old/obj/oci/state.o: oci/state.c src/core/json.h src/core/util.h \
 oci/state.h src/core/util.h
src/core/json.h:
src/core/util.h:
oci/state.h:
src/core/util.h:
