build-old/obj/src/cli/cmd-audit.o: src/cli/cmd-audit.c src/cli/cli.h \
 src/core/config.h src/core/util.h src/core/json.h
src/cli/cli.h:
src/core/config.h:
src/core/util.h:
src/core/json.h:
