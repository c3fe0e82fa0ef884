/* SPDX-License-Identifier: Apache-2.0 */
/* What the per-engine planners of `ocibpf install` share (install.h): planned files and
 * notes, --root, the files already there, the binaries installed beside us, the engine's
 * own answers. The verb itself is cmd-install.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "install.h"

char *install_rooted(const struct install *in, const char *path)
{
	return in->root ? xasprintf("%s%s", in->root, path) : xstrdup(path);
}

void install_add_file(struct install *in, const char *path, char *text, size_t len, mode_t mode,
		     bool backup)
{
	if (in->n_files >= ARRAY_SIZE(in->files))
		abort();
	in->files[in->n_files++] = (struct out_file) {
		.path = install_rooted(in, path), .text = text, .len = len, .mode = mode, .backup = backup,
	};
}

void install_add_note(struct install *in, const char *fmt, ...)
{
	va_list ap;
	char *note;
	va_start(ap, fmt);
	if (vasprintf(&note, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (in->n_notes < ARRAY_SIZE(in->notes))
		in->notes[in->n_notes++] = note;
	else
		free(note);
}

int install_read_existing(const char *path, char **ret, size_t *ret_len, struct error *err)
{
	int r = read_file(path, INSTALL_FILE_MAX, ret, ret_len);
	if (r == -ENOENT) {
		*ret = NULL;
		*ret_len = 0;
		return 0;
	}
	if (r == -EFBIG)
		return err_msg(err, r, "%s: larger than %u MiB", path, INSTALL_FILE_MAX >> 20);
	if (r < 0)
		return err_errno(err, r, "cannot read %s", path);
	if (strlen(*ret) != *ret_len) {
		free(*ret);
		return err_msg(err, -EINVAL, "%s: NUL byte in file", path);
	}
	return 0;
}

char *install_with_newline(char *text, size_t *len)
{
	if (*len > 0 && text[*len - 1] == '\n')
		return text;
	text = xrealloc(text, *len + 2);
	text[(*len)++] = '\n';
	text[*len] = '\0';
	return text;
}

/* --- the programs installed beside us, and asking the engine -------------------------- */

int install_sibling(const struct install *in, const char *name, char **ret, struct error *err)
{
	_cleanup_free_ char *p = path_join(in->bindir, name);
	_cleanup_free_ char *there = in->bindir_rooted ? install_rooted(in, p) : xstrdup(p);
	struct stat st;
	if (stat(there, &st) < 0)
		return err_errno(err, -errno, "%s (installed beside ocibpf)", there);
	if (!S_ISREG(st.st_mode) || access(there, X_OK) < 0)
		return err_msg(err, -EACCES, "%s (installed beside ocibpf) is not an executable file",
			       there);
	*ret = TAKE_PTR(p);
	return 0;
}

int install_capture(char *const argv[], char **ret, struct error *err)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return err_errno(err, -errno, "cannot run %s: pipe", argv[0]);
	pid_t pid = fork();
	if (pid < 0) {
		int r = -errno;
		close(fds[0]);
		close(fds[1]);
		return err_errno(err, r, "cannot run %s", argv[0]);
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(fds[1], STDOUT_FILENO) < 0 ||
		    dup2(null, STDERR_FILENO) < 0)
			_exit(127);
		execvp(argv[0], argv);
		_exit(errno == ENOENT ? 127 : 126);
	}
	close(fds[1]);
	char *out = NULL;
	int r = read_fd(fds[0], INSTALL_FILE_MAX, &out, NULL);
	close(fds[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r < 0)
		return err_errno(err, r, "cannot read the output of %s", argv[0]);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		free(out);
		return err_msg(err, -ENOENT, "%s: not found", argv[0]);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		free(out);
		return err_msg(err, -EIO, "%s failed (status %d)", argv[0],
			       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
	*ret = out;
	return 0;
}

/* With trailing newline: yajl's beautified output has one, TOML ours. */
