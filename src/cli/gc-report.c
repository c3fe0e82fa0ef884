/* SPDX-License-Identifier: Apache-2.0 */
/* What `ocibpf gc` did, a line or a JSON object each (gc.h). */
#include <stdio.h>

#include "gc.h"
#include "json.h"

void gc_report(struct gc *gc, const char *done, const char *what, const char *name,
	       const char *why)
{
	if (gc->cli->json) {
		yajl_gen_map_open(gc->g);
		jg_key_str(gc->g, done, what);
		jg_key_str(gc->g, "id", name);
		jg_key_str(gc->g, "reason", why);
		yajl_gen_map_close(gc->g);
	} else {
		printf("%s %s %s (%s)\n", done, what, name, why);
	}
}
