build-old/obj/src/core/json-parse.o: src/core/json-parse.c \
 src/core/json.h src/core/util.h
src/core/json.h:
src/core/util.h:
