build-old/obj/src/core/policy.o: src/core/policy.c src/core/json.h \
 src/core/util.h src/core/policy.h
src/core/json.h:
src/core/util.h:
src/core/policy.h:
