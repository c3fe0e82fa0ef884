/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ocibpfd: the collector. One per state_dir (it holds <state_dir>/ocibpfd.lock and writes
 * ocibpfd.pid). Started on demand by the hook, detached, it stays while a BPF set of its
 * configuration is pinned (see may_exit_idle); --foreground: supervised by systemd or similar.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/stat.h>

#include "audit.h"
#include "bpfset.h"
#include "collector.h"
#include "config.h"
#include "container.h"
#include "control.h"
#include "events.h"
#include "httpd.h"
#include "lifecycle.h"
#include "metrics.h"
#include "paths.h"
#include "sampler.h"

#define TICK_MS 250
/* 2 s without a running container before an idle collector may exit (may_exit_idle). */
#define IDLE_EXIT_TICKS 8

struct daemon {
	struct config *cfg;
	bool foreground;
	int lock_fd;
	int sig_fd;
	char *pid_path;
	struct sampler *sampler;
	struct httpd *httpd;
	struct events *events;
	int ctl_fd;
	uint64_t health_written, health_lost;   /* what ocibpfd.health says */
	bool health_saved;
};

/* The collector's health for `ocibpf metrics` and /metrics, when it changed. */
static void save_health(struct daemon *d)
{
	uint64_t w, l;
	events_health(d->events, &w, &l);
	if (d->health_saved && w == d->health_written && l == d->health_lost)
		return;
	if (metrics_health_save(d->cfg, w, l) == 0) {
		d->health_written = w;
		d->health_lost = l;
		d->health_saved = true;
	}
}

static int usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: ocibpfd [--config FILE] [--foreground] [--metrics-listen ADDR:PORT]\n"
		"  Collects audit records and counters of the containers ocibpf monitors.\n"
		"  --metrics-listen  serve `ocibpf metrics` at http://ADDR:PORT/metrics\n"
		"                    (default: metrics_listen of the host configuration)\n");
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
	d->pid_path = path_collector(d->cfg->state_dir, "pid");
	_cleanup_free_ char *pid = xasprintf("%d\n", (int)getpid());
	r = write_file_atomic(d->pid_path, pid, strlen(pid), 0644);
	if (r < 0)
		return err_errno(err, r, "cannot write %s", d->pid_path);
	return 0;
}

/*
 * Whether a collector with nothing to do (no container runs, no log owes a record) exits.
 * Supervised (--foreground): never. Started on demand: not while a BPF set of its
 * configuration is pinned (`ocibpf load`: containers are monitored here), so that a
 * container started after a quiet spell finds it running and pays nothing for it;
 * `ocibpf gc --unload` lets it go. Except while a subreaper other than init is its
 * parent: `crun run` is one, and it waits for every process its hooks leave behind
 * before it runs poststop and returns; there the collector exits as soon as it is idle.
 * (conmon and containerd's shim, subreapers that don't wait, hand it to init when they
 * exit, and then it stays.)
 */
static bool may_exit_idle(const struct daemon *d)
{
	if (d->foreground)
		return false;
	if (getppid() > 1)
		return true;
	char **sets = bpfset_list(d->cfg->bpffs_dir);
	bool pinned = sets[0] != NULL;
	strv_free(sets);
	return !pinned;
}

/*
 * --foreground while a collector started on demand holds the lock: that one stays while
 * a set is pinned, so it is asked to go (SIGTERM: it writes what it buffered first) and
 * the supervised one takes over. Another supervised collector is left alone (-EALREADY).
 */
static int take_over(struct daemon *d, struct error *err)
{
	_cleanup_free_ char *pid_path = path_collector(d->cfg->state_dir, "pid");
	_cleanup_free_ char *text = NULL, *cmdline = NULL, *proc = NULL;
	size_t len = 0;
	if (read_file_nofollow(pid_path, 64, &text, NULL) < 0)
		return -EALREADY;
	pid_t pid = (pid_t)strtol(text, NULL, 10);
	if (pid <= 1)
		return -EALREADY;
	proc = xasprintf("/proc/%d/cmdline", (int)pid);
	if (read_file(proc, 4096, &cmdline, &len) < 0 || len == 0)
		return -EALREADY;
	const char *base = strrchr(cmdline, '/');
	if (strcmp(base ? base + 1 : cmdline, "ocibpfd") != 0)
		return -EALREADY;
	for (size_t i = 0; i < len; i += strlen(cmdline + i) + 1)
		if (strcmp(cmdline + i, "--foreground") == 0 || strcmp(cmdline + i, "-f") == 0)
			return -EALREADY;
	log_warn(NULL, "taking over from the collector started on demand (pid %d)", (int)pid);
	if (kill(pid, SIGTERM) < 0)
		return -EALREADY;
	for (int i = 0; i < 200; i++) {   /* 10 s */
		int r = take_lock(d, err);
		if (r != -EALREADY)
			return r;
		usleep(50000);
	}
	return -EALREADY;
}

enum { W_SIGNAL = 1, W_TIMER, W_CONTROL, W_EVENTS };

static int watch(int ep, int fd, uint64_t tag)
{
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = tag };
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0 ? -errno : 0;
}

static int run(struct daemon *d)
{
	_cleanup_close_ int ep = epoll_create1(EPOLL_CLOEXEC);
	_cleanup_close_ int timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (ep < 0 || timer < 0)
		return -errno;
	struct itimerspec its = { .it_interval = { 0, TICK_MS * 1000000L }, .it_value = { 0, 1000000L } };
	timerfd_settime(timer, 0, &its, NULL);
	int r;
	if ((r = watch(ep, d->sig_fd, W_SIGNAL)) < 0 || (r = watch(ep, timer, W_TIMER)) < 0 ||
	    (r = watch(ep, d->ctl_fd, W_CONTROL)) < 0)
		return r;
	unsigned ev_gen = 0;
	int idle = 0;
	for (;;) {
		struct epoll_event evs[8];
		int n = epoll_wait(ep, evs, ARRAY_SIZE(evs), -1);
		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			switch (evs[i].data.u64) {
			case W_SIGNAL: {
				struct signalfd_siginfo si;
				if (read(d->sig_fd, &si, sizeof(si)) != sizeof(si))
					break;
				if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
					return 0;
				if (si.ssi_signo == SIGHUP)
					events_reopen(d->events);   /* logrotate's postrotate */
				break;
			}
			case W_TIMER: {
				uint64_t ticks;
				(void)!read(timer, &ticks, sizeof(ticks));
				int live = events_tick(d->events);
				sampler_tick(d->sampler);
				save_health(d);
				idle = live ? 0 : idle + (idle < IDLE_EXIT_TICKS);
				if (idle >= IDLE_EXIT_TICKS && may_exit_idle(d)) {
					if (events_leave_idle(d->events))
						return 0;
					idle = 0;
				}
				break;
			}
			case W_CONTROL:
				control_accept(d->ctl_fd, d->events);
				break;
			case W_EVENTS:
				events_process(d->events);
				break;
			}
		}
		/* Ring buffers mapped or remapped (closing the old fd left the epoll set). */
		unsigned gen;
		int fd = events_fd(d->events, &gen);
		if (gen != ev_gen && (fd < 0 || watch(ep, fd, W_EVENTS) == 0))
			ev_gen = gen;
	}
}

int main(int argc, char **argv)
{
	program_name = "ocibpfd";
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "metrics-listen", required_argument, NULL, 'm' },
		{ "ready-fd", required_argument, NULL, 'r' },
		{ 0 },
	};
	const char *config_path = NULL, *metrics_listen = NULL;
	int ready_fd = -1;	/* written to once we listen (the hook that started us waits) */
	struct daemon d = { .lock_fd = -1, .sig_fd = -1, .ctl_fd = -1 };
	int c;
	while ((c = getopt_long(argc, argv, "c:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 'f': d.foreground = true; break;
		case 'h': return usage(0);
		case 'm': metrics_listen = optarg; break;
		case 'r': ready_fd = atoi(optarg) > 2 ? atoi(optarg) : -1; break;
		default: return usage(2);
		}
	}
	if (optind != argc)
		return usage(2);
	struct sockaddr_storage sa;
	socklen_t salen;
	struct error err = { 0 };
	if (metrics_listen && httpd_parse_listen(metrics_listen, &sa, &salen, &err) < 0) {
		log_error(NULL, "%s", err.msg);
		return 2;
	}

	int r = config_load(config_path, &d.cfg, &err);
	if (r < 0) {
		log_error(NULL, "%s", err.msg);
		return 1;
	}
	r = take_lock(&d, &err);
	if (r == -EALREADY && d.foreground)
		r = take_over(&d, &err);
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

	/* `ocibpf load`: the programs pinned, so that no container start loads them. */
	{
		_cleanup_bpfset_ struct bpfset *set = NULL;
		struct error lerr = { 0 };
		/* Held shared while pinning: `ocibpf gc --unload` takes no half set away. */
		_cleanup_close_ int sets_lock = lock_sets(d.cfg, &lerr);
		if (sets_lock < 0 || bpfset_open(d.cfg->bpffs_dir, NULL, true, &set, &lerr) < 0)
			log_warn(NULL, "the BPF programs are not loaded: %s", lerr.msg);
		err_clear(&lerr);
	}

	d.ctl_fd = control_listen(d.cfg, &err);
	if (d.ctl_fd < 0 || events_new(d.cfg, &d.events, &err) < 0 ||
	    (metrics_listen && httpd_start(d.cfg, metrics_listen, &d.httpd, &err) < 0)) {
		log_error(NULL, "%s", err.msg);
		unlink(d.pid_path);
		return 1;
	}
	/*
	 * metrics_listen of the host configuration: every collector serves metrics, the ones
	 * the hook starts too. Audit records matter more than metrics: a listener that can't
	 * start (the port taken) is said once, and the collector works on without it.
	 */
	if (!metrics_listen && d.cfg->metrics_listen &&
	    httpd_start(d.cfg, d.cfg->metrics_listen, &d.httpd, &err) < 0) {
		log_error(NULL, "%s: metrics_listen: %s", d.cfg->path, err.msg);
		err_clear(&err);
	}
	/* Supervised, started with the node (after `ocibpf load --no-collector`): the first
	 * audited container finds what the policies audit held (prime.h). One started on
	 * demand primes when `ocibpf load` asks it to, not for every hook that starts one. */
	if (d.foreground && events_prime(d.events, &err) < 0) {
		log_warn(NULL, "cannot attach the tracepoints the policies audit ahead of containers: %s", err.msg);
		err_clear(&err);
	}
	save_health(&d);
	if (ready_fd >= 0) {
		(void)!write(ready_fd, "r", 1);
		close(ready_fd);
	}
	d.sampler = sampler_new(d.cfg);
	r = run(&d);
	httpd_stop(d.httpd);
	sampler_free(d.sampler);
	events_free(d.events);
	/* The raw tracepoints no container needs any more go with us (our
	 * sweep detaches them while we run). */
	{
		_cleanup_bpfset_ struct bpfset *set = NULL;
		if (bpfset_open(d.cfg->bpffs_dir, NULL, false, &set, NULL) == 0)
			audit_sync(set, NULL, NULL);
	}
	close(d.ctl_fd);
	_cleanup_free_ char *sock = collector_socket_path(d.cfg);
	unlink(sock);
	if (r < 0)
		log_error(NULL, "collector failed: %s", strerror(-r));
	_cleanup_free_ char *health = metrics_health_path(d.cfg);
	unlink(health);
	/* Give up the pid file before the lock so a new collector can't see ours. */
	unlink(d.pid_path);
	free(d.pid_path);
	close(d.sig_fd);
	close(d.lock_fd);
	config_free(d.cfg);
	return r < 0 ? 1 : 0;
}
