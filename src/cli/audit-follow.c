/* SPDX-License-Identifier: Apache-2.0 */
/* ocibpf audit --follow: waiting for a log to grow, ending cleanly. */
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>

#include "audit-view.h"

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}


void follow_init(struct follow *fw, const char *log_dir)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &fw->waitmask);
	sigdelset(&fw->waitmask, SIGINT);
	sigdelset(&fw->waitmask, SIGTERM);
	/* The directory, not the file: a rotation renames the file and makes a new one. */
	fw->ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fw->ino >= 0 && inotify_add_watch(fw->ino, log_dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO |
						    IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR) < 0) {
		close(fw->ino);
		fw->ino = -1;
	}
}

void follow_done(struct follow *fw)
{
	if (fw->ino >= 0)
		close(fw->ino);
}

/* Wait for log_dir to change (at most ms); false when a signal asks us to end. */
bool follow_wait(struct follow *fw, int ms)
{
	if (got_signal)
		return false;
	struct pollfd pfd = { .fd = fw->ino, .events = POLLIN };
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	if (fw->ino < 0 && ms > 200)
		ts = (struct timespec){ .tv_nsec = 200 * 1000000L };
	int n = ppoll(fw->ino >= 0 ? &pfd : NULL, fw->ino >= 0 ? 1 : 0, &ts, &fw->waitmask);
	if (n > 0) {
		char ebuf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
		while (read(fw->ino, ebuf, sizeof(ebuf)) > 0)
			;
	}
	return !got_signal;
}

/* stdout still reaches someone (a closed pipe ends the command quietly). */
bool follow_out_ok(void)
{
	return fflush(stdout) == 0 && !ferror(stdout);
}
