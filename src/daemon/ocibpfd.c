/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ocibpfd: the collector. One per state_dir (it holds <state_dir>/ocibpfd.lock and writes
 * ocibpfd.pid). Started on demand by the hook, detached; it exits by itself once no
 * container is monitored, unless --foreground (supervised by systemd or similar).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include "collector.h"
#include "config.h"
#include "container.h"
#include "bpfset.h"
#include "sampler.h"

#define TICK_MS 250
#define IDLE_EXIT_TICKS 8    /* 2 s without containers */

struct daemon {
	struct config *cfg;
	bool foreground;
	int lock_fd;
	int sig_fd;
	char *pid_path;
	struct sampler *sampler;
};

static int usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: ocibpfd [--config FILE] [--foreground]\n"
		"  Collects audit records and counters of the containers ocibpf monitors.\n");
	return status;
}

static int take_lock(struct daemon *d, struct error *err)
{
	int r = mkdir_p(d->cfg->state_dir, 0700);
	if (r < 0)
		return err_errno(err, r, "cannot create state_dir %s", d->cfg->state_dir);
	_cleanup_free_ char *path = collector_lock_path(d->cfg);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err_errno(err, -errno, "cannot open %s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EALREADY : -errno;
		close(fd);
		if (r == -EALREADY)
			return r;
		return err_errno(err, r, "cannot lock %s", path);
	}
	d->lock_fd = fd;
	d->pid_path = path_join(d->cfg->state_dir, "ocibpfd.pid");
	_cleanup_free_ char *pid = xasprintf("%d\n", (int)getpid());
	r = write_file_atomic(d->pid_path, pid, strlen(pid), 0644);
	if (r < 0)
		return err_errno(err, r, "cannot write %s", d->pid_path);
	return 0;
}

static bool any_container(const struct config *cfg)
{
	char **ids = container_list(cfg->state_dir);
	bool any = ids[0] != NULL;
	strv_free(ids);
	return any;
}

static int run(struct daemon *d)
{
	int idle = 0;
	for (;;) {
		struct pollfd pfd = { .fd = d->sig_fd, .events = POLLIN };
		int n = poll(&pfd, 1, TICK_MS);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0) {
			struct signalfd_siginfo si;
			if (read(d->sig_fd, &si, sizeof(si)) == sizeof(si) &&
			    (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT))
				return 0;
		}
		sampler_tick(d->sampler);
		if (any_container(d->cfg))
			idle = 0;
		else if (!d->foreground && ++idle >= IDLE_EXIT_TICKS)
			return 0;
	}
}

int main(int argc, char **argv)
{
	program_name = "ocibpfd";
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *config_path = NULL;
	struct daemon d = { .lock_fd = -1, .sig_fd = -1 };
	int c;
	while ((c = getopt_long(argc, argv, "c:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 'f': d.foreground = true; break;
		case 'h': return usage(0);
		default: return usage(2);
		}
	}
	if (optind != argc)
		return usage(2);

	struct error err = { 0 };
	int r = config_load(config_path, &d.cfg, &err);
	if (r < 0) {
		log_error(NULL, "%s", err.msg);
		return 1;
	}
	r = take_lock(&d, &err);
	if (r == -EALREADY) {
		/* Another collector serves this state_dir: nothing for us to do. */
		if (d.foreground)
			log_error(NULL, "a collector is already running for %s", d.cfg->state_dir);
		config_free(d.cfg);
		return d.foreground ? 1 : 0;
	}
	if (r < 0) {
		log_error(NULL, "%s", err.msg);
		config_free(d.cfg);
		return 1;
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);

	d.sampler = sampler_new(d.cfg);
	r = run(&d);
	sampler_free(d.sampler);
	if (r < 0)
		log_error(NULL, "collector failed: %s", strerror(-r));
	/* Give up the pid file before the lock so a new collector can't see ours. */
	unlink(d.pid_path);
	free(d.pid_path);
	close(d.sig_fd);
	close(d.lock_fd);
	config_free(d.cfg);
	return r < 0 ? 1 : 0;
}
