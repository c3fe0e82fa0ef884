/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "paths.h"
#include "tp-held.h"
#include "util.h"

#define TP_HELD_MAGIC 0x6f747068u	/* "htpo" */

/* Not a format anyone else reads: the collector and the hooks of one build. */
struct tp_held_file {
	uint32_t magic;
	int32_t pid;
	char version[32];
	/* Which load of that version: one `ocibpf gc --unload` and `ocibpf load` later, the
	 * version is the same but the programs the tracepoints feed are not. */
	uint32_t set_id;
	uint32_t pad;
	__u64 bits[TP_HELD_WORDS];
};

void tp_held_publish(const char *path, const char *version, uint32_t set_id, const __u64 *bits)
{
	if (!bits) {
		unlink(path);
		return;
	}
	struct tp_held_file f = { .magic = TP_HELD_MAGIC, .pid = (int32_t)getpid(), .set_id = set_id };
	snprintf(f.version, sizeof(f.version), "%s", version);
	memcpy(f.bits, bits, sizeof(f.bits));
	if (write_file_atomic(path, &f, sizeof(f), 0600) < 0)
		unlink(path);	/* stale is worse than none: hooks then ask */
}

bool tp_held_covers(const char *state_dir, const char *version, uint32_t set_id, const __u64 *want)
{
	_cleanup_free_ char *path = path_collector(state_dir, "tracepoints");
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct tp_held_file f;
	if (fd < 0 || read(fd, &f, sizeof(f)) != (ssize_t)sizeof(f))
		return false;
	f.version[sizeof(f.version) - 1] = '\0';
	if (f.magic != TP_HELD_MAGIC || strcmp(f.version, version) != 0 || f.set_id != set_id)
		return false;
	for (int i = 0; i < TP_HELD_WORDS; i++)
		if (want[i] & ~f.bits[i])
			return false;
	/* A collector killed leaves its file: its links went with it. */
	return f.pid > 0 && kill(f.pid, 0) == 0;
}
