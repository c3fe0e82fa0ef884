/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "collector.h"
#include "container.h"
#include "control-proto.h"
#include "control.h"
#include "events.h"

int control_listen(const struct config *cfg, struct error *err)
{
	_cleanup_free_ char *path = collector_socket_path(cfg);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return err_msg(err, -ENAMETOOLONG, "socket path %s is too long", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_errno(err, -errno, "cannot create socket");
	/* We hold the collector lock: a socket file there is a dead collector's. */
	unlink(path);
	mode_t old = umask(0077);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, 64) < 0) {
		r = err_errno(err, -errno, "cannot listen on %s", path);
		close(fd);
		return r;
	}
	return fd;
}

static void reply(int fd, int r, const struct error *err)
{
	_cleanup_free_ char *msg = r < 0 ? xasprintf(CTL_ERROR "%s", err->msg ? err->msg : strerror(-r))
					 : xstrdup(CTL_OK);
	send(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* "RUN", "RUN ID" (the id's record names the run: no scan of every record), or "ID"
 * (a run recorded by an older ocibpf). */
static bool drain_args(char *arg, char **run, char **id)
{
	char *sp = strchr(arg, ' ');
	*run = arg;
	*id = NULL;
	if (sp) {
		*sp = '\0';
		*id = sp + 1;
		return valid_run(arg) && valid_id(*id);
	}
	return valid_run(arg) || valid_id(arg);
}

void control_accept(int listen_fd, struct events *ev)
{
	for (;;) {
		_cleanup_close_ int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return;
		/* Only root may drive us (the socket is 0600 too). */
		struct ucred cred;
		socklen_t len = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0)
			continue;
		struct timeval tv = { .tv_sec = 1 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		char buf[CTL_MSG_MAX];
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		struct error err = { 0 };
		char *run, *id;
		int r;
		if (strcmp(buf, CTL_SYNC) == 0)
			r = events_sync(ev, &err);
		else if (strncmp(buf, CTL_SYNC_ID, strlen(CTL_SYNC_ID)) == 0 &&
			 valid_id(buf + strlen(CTL_SYNC_ID)))
			r = events_sync_id(ev, buf + strlen(CTL_SYNC_ID), &err);
		else if (strcmp(buf, CTL_PRIME) == 0)
			r = events_prime(ev, &err);
		else if (strncmp(buf, CTL_DRAIN, strlen(CTL_DRAIN)) == 0 &&
			 drain_args(buf + strlen(CTL_DRAIN), &run, &id))
			r = events_drain(ev, run, id, &err);
		else
			r = err_msg(&err, -EINVAL, "unknown request");
		reply(fd, r, &err);
		err_clear(&err);
	}
}
