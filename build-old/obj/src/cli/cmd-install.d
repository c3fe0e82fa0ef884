build-old/obj/src/cli/cmd-install.o: src/cli/cmd-install.c src/cli/cli.h \
 src/core/config.h src/core/util.h src/core/json.h
src/cli/cli.h:
src/core/config.h:
src/core/util.h:
src/core/json.h:
