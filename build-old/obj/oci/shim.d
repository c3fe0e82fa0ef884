build-old/obj/oci/shim.o: oci/shim.c src/core/json.h src/core/util.h \
 oci/shim.h src/core/util.h
src/core/json.h:
src/core/util.h:
oci/shim.h:
src/core/util.h:
