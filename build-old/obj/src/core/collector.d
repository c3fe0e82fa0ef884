build-old/obj/src/core/collector.o: src/core/collector.c \
 src/core/collector.h src/core/config.h src/core/util.h
src/core/collector.h:
src/core/config.h:
src/core/util.h:
