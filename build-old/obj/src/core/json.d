build-old/obj/src/core/json.o: src/core/json.c src/core/json.h \
 src/core/util.h
src/core/json.h:
src/core/util.h:
