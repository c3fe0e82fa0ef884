/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "collector.h"
#include "control-proto.h"
#include "paths.h"

char *collector_lock_path(const struct config *cfg)
{
	return path_collector(cfg->state_dir, "lock");
}

bool collector_running(const struct config *cfg)
{
	_cleanup_free_ char *path = collector_lock_path(cfg);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		return errno == EWOULDBLOCK;
	return false;
}

/*
 * Start the collector; with ready, *ready is the read end of a pipe the collector writes
 * to (or closes, when it exits) once it listens (--ready-fd): no polling for its socket.
 */
static int spawn(const struct config *cfg, int *ready, struct error *err)
{
	_cleanup_free_ char *dir = self_dir();
	_cleanup_free_ char *exe = path_join(dir, "ocibpfd");
	if (access(exe, X_OK) < 0)
		return err_errno(err, -errno, "cannot run the collector %s", exe);
	int pfd[2] = { -1, -1 };
	if (ready && pipe2(pfd, O_CLOEXEC) < 0)
		return err_errno(err, -errno, "cannot make a pipe for the collector");

	pid_t pid = fork();
	if (pid < 0) {
		int r = err_errno(err, -errno, "cannot fork the collector");
		if (ready) {
			close(pfd[0]);
			close(pfd[1]);
		}
		return r;
	}
	if (pid == 0) {
		/* Middle child: new session, fork again so the collector is not our child. */
		if (setsid() < 0)
			_exit(1);
		pid_t p2 = fork();
		if (p2 != 0)
			_exit(p2 < 0 ? 1 : 0);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0)
			_exit(1);
		/* What it reports (a log it can't write, ...) goes to <state_dir>/ocibpfd.log. */
		_cleanup_free_ char *logpath = path_collector(cfg->state_dir, "log");
		int logfd = mkdir_p(cfg->state_dir, 0700) < 0 ? -1 :
			    open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
		dup2(null, 0);
		dup2(null, 1);
		dup2(logfd >= 0 ? logfd : null, 2);
		if (ready)
			dup2(pfd[1], 3);	/* the only descriptor of ours it keeps, until it listens */
		closefrom(ready ? 4 : 3);
		sigset_t all;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		if (chdir("/") < 0)
			_exit(1);
		umask(0022);
		if (ready)
			execl(exe, "ocibpfd", "--config", cfg->path, "--ready-fd", "3", (char *)NULL);
		else
			execl(exe, "ocibpfd", "--config", cfg->path, (char *)NULL);
		_exit(127);
	}
	if (ready)
		close(pfd[1]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (ready)
			close(pfd[0]);
		return err_msg(err, -ECHILD, "cannot start the collector %s", exe);
	}
	if (ready)
		*ready = pfd[0];
	return 0;
}

int collector_spawn(const struct config *cfg, struct error *err)
{
	return spawn(cfg, NULL, err);
}

void collector_ensure(const struct config *cfg)
{
	if (!collector_running(cfg))
		spawn(cfg, NULL, NULL);
}

char *collector_socket_path(const struct config *cfg)
{
	return path_collector(cfg->state_dir, "sock");
}

static int connect_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int send_request(int fd, const char *request, struct error *err)
{
	if (send(fd, request, strlen(request), MSG_NOSIGNAL) < 0)
		return err_errno(err, -errno, "cannot send \"%s\" to the collector", request);
	return 0;
}

/* The answer to a request sent on fd. */
static int answer(int fd, const char *request, int timeout_ms, struct error *err)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int n = poll(&pfd, 1, timeout_ms);
	if (n <= 0)
		return err_msg(err, n < 0 ? -errno : -ETIMEDOUT,
			       "the collector did not answer \"%s\" within %d ms", request, timeout_ms);
	char buf[CTL_MSG_MAX];
	ssize_t len = recv(fd, buf, sizeof(buf) - 1, 0);
	if (len <= 0)
		return err_msg(err, -ECONNRESET, "the collector closed the connection on \"%s\"", request);
	buf[len] = '\0';
	if (strcmp(buf, CTL_OK) == 0)
		return 0;
	size_t skip = strncmp(buf, CTL_ERROR, strlen(CTL_ERROR)) == 0 ? strlen(CTL_ERROR) : 0;
	return err_msg(err, -EIO, "collector: %s", buf + skip);
}

/* Connect to the collector, starting it when it isn't running; bounded by timeout_ms. */
static int connect_collector(const struct config *cfg, int timeout_ms, struct error *err)
{
	_cleanup_free_ char *path = collector_socket_path(cfg);
	unsigned long long now = now_ns(), deadline = now + timeout_ms * 1000000ULL, spawned = 0;
	/* Not running: start one and wait for it to say it listens (no sleeping). */
	int fd = connect_socket(path);
	if (fd >= 0)
		return fd;
	if (!collector_running(cfg)) {
		_cleanup_close_ int ready = -1;
		int r = spawn(cfg, &ready, err);
		if (r < 0)
			return r;
		spawned = now_ns();
		struct pollfd pfd = { .fd = ready, .events = POLLIN };
		char c;
		if (poll(&pfd, 1, timeout_ms) > 0 && read(ready, &c, 1) == 1 &&
		    (fd = connect_socket(path)) >= 0)
			return fd;
		/* It exited (another one won the lock as it started): find that one below. */
	}
	for (unsigned delay = 1; ; delay = delay < 20 ? delay * 2 : 20) {
		fd = connect_socket(path);
		if (fd >= 0)
			return fd;
		/* (Re)start it when it isn't running (one that was exiting for lack of
		 * containers has let go of its lock), but give a fresh one time to start. */
		now = now_ns();
		if (!collector_running(cfg) && (!spawned || now - spawned > 500000000ULL)) {
			int r = collector_spawn(cfg, err);
			if (r < 0)
				return r;
			spawned = now;
		}
		if (now >= deadline)
			return err_errno(err, fd, "the collector did not start listening on %s", path);
		usleep(delay * 1000);
	}
}

int collector_call(const struct config *cfg, const char *request, int timeout_ms,
		   struct error *err)
{
	for (int attempt = 0;; attempt++) {
		_cleanup_close_ int fd = connect_collector(cfg, timeout_ms, err);
		if (fd < 0)
			return fd;
		if (!request)
			return 0;
		/* A collector exiting for lack of containers as we asked closes the
		 * connection unanswered: ask the next one, once. */
		int r = send_request(fd, request, err);
		if (r == 0)
			r = answer(fd, request, timeout_ms, err);
		if (r != -ECONNRESET || attempt > 0)
			return r;
		if (err)
			err_clear(err);
	}
}

int collector_send(const struct config *cfg, const char *request, int timeout_ms,
		   struct error *err)
{
	int fd = connect_collector(cfg, timeout_ms, err);
	if (fd < 0)
		return fd;
	int r = send_request(fd, request, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int collector_finish(const struct config *cfg, int fd, const char *request, int timeout_ms,
		     struct error *err)
{
	int r = answer(fd, request, timeout_ms, err);
	close(fd);
	if (r != -ECONNRESET)
		return r;
	if (err)
		err_clear(err);
	return collector_call(cfg, request, timeout_ms, err);
}
