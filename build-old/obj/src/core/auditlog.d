build-old/obj/src/core/auditlog.o: src/core/auditlog.c \
 src/core/auditlog.h src/core/util.h src/core/json.h
src/core/auditlog.h:
src/core/util.h:
src/core/json.h:
