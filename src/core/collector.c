/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "collector.h"

char *collector_lock_path(const struct config *cfg)
{
	return path_join(cfg->state_dir, "ocibpfd.lock");
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

char *self_dir(void)
{
	char *exe = realpath("/proc/self/exe", NULL);
	if (!exe)
		return xstrdup(".");
	char *d = xstrdup(dirname(exe));
	free(exe);
	return d;
}

int collector_spawn(const struct config *cfg, struct error *err)
{
	_cleanup_free_ char *dir = self_dir();
	_cleanup_free_ char *exe = path_join(dir, "ocibpfd");
	if (access(exe, X_OK) < 0)
		return err_errno(err, -errno, "cannot run the collector %s", exe);

	pid_t pid = fork();
	if (pid < 0)
		return err_errno(err, -errno, "cannot fork the collector");
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
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		closefrom(3);
		sigset_t all;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		if (chdir("/") < 0)
			_exit(1);
		umask(0022);
		execl(exe, "ocibpfd", "--config", cfg->path, (char *)NULL);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return err_msg(err, -ECHILD, "cannot start the collector %s", exe);
	return 0;
}
