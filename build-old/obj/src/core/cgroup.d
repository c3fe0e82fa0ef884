build-old/obj/src/core/cgroup.o: src/core/cgroup.c src/core/cgroup.h \
 src/core/util.h
src/core/cgroup.h:
src/core/util.h:
