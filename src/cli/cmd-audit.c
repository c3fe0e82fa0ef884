/* SPDX-License-Identifier: Apache-2.0 */
/* ocibpf audit: review a container's audit log. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <poll.h>
#include <sys/inotify.h>
#include <time.h>

#include "cli.h"
#include "container.h"
#include "pending.h"

struct filter {
	const char *type;
	const char *syscall;
	char since[32];      /* RFC 3339 like our ts: compares as a string */
};

/* "2026-11-24T15:30:00Z", "2026-11-24T15:30:00.5Z", or relative "90s", "10m", "2h", "1d". */
static int parse_since(const char *s, char ret[static 32])
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(s, &end, 10);
	if (!errno && end != s && end[0] && !end[1] && strchr("smhd", end[0])) {
		unsigned long long mult = end[0] == 's' ? 1 : end[0] == 'm' ? 60 : end[0] == 'h' ? 3600 : 86400;
		format_rfc3339(realtime_ns() - n * mult * 1000000000ULL, ret);
		return 0;
	}
	struct tm tm = { 0 };
	const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest)
		return -EINVAL;
	unsigned long long frac = 0;
	if (*rest == '.') {
		int digits = 0;
		for (rest++; *rest >= '0' && *rest <= '9'; rest++, digits++)
			if (digits < 9)
				frac = frac * 10 + (*rest - '0');
		for (; digits < 9; digits++)
			frac *= 10;
	}
	if (strcmp(rest, "Z") != 0 && strcmp(rest, "+00:00") != 0)
		return -EINVAL;
	time_t t = timegm(&tm);
	format_rfc3339(t * 1000000000ULL + frac, ret);
	return 0;
}

static bool matches(const struct filter *f, yajl_val rec)
{
	const char *type = json_get_string(rec, "type");
	if (f->type && (!type || strcmp(type, f->type) != 0))
		return false;
	if (f->syscall) {
		const char *name = json_get_string(rec, "syscall");
		if (!name || strcmp(name, f->syscall) != 0)
			return false;
	}
	if (f->since[0]) {
		const char *ts = json_get_string(rec, "ts");
		if (!ts || strcmp(ts, f->since) < 0)
			return false;
	}
	return true;
}

static void print_argv(yajl_val argv)
{
	if (!YAJL_IS_ARRAY(argv))
		return;
	for (size_t i = 0; i < argv->u.array.len; i++) {
		const char *a = YAJL_GET_STRING(argv->u.array.values[i]);
		printf("%s%s", i ? " " : "", a ? a : "");
	}
}

static long long get_int(yajl_val rec, const char *key)
{
	long long v = 0;
	json_get_int(rec, key, &v);
	return v;
}

static void print_detail(yajl_val rec, const char *type)
{
	const char *s;
	if (strcmp(type, "exec") == 0) {
		printf("%s: ", json_get_string(rec, "filename") ?: "?");
		print_argv(json_get(rec, "argv"));
		if (YAJL_IS_TRUE(json_get(rec, "argv_truncated")))
			printf(" [truncated]");
	} else if (strcmp(type, "syscall") == 0) {
		printf("%s(", json_get_string(rec, "syscall") ?: "?");
		if ((s = json_get_string(rec, "path")))
			printf("\"%s\"", s);
		else if ((s = json_get_string(rec, "addr")))
			printf(strchr(s, ':') ? "[%s]:%lld" : "%s:%lld", s, get_int(rec, "port"));
		printf(") = %lld", get_int(rec, "ret"));
	} else if (strcmp(type, "net") == 0) {
		s = json_get_string(rec, "addr") ?: "?";
		printf("%s %s %s ", json_get_string(rec, "action") ?: "?",
		       json_get_string(rec, "direction") ?: "?", json_get_string(rec, "protocol") ?: "?");
		printf(strchr(s, ':') ? "[%s]:%lld" : "%s:%lld", s, get_int(rec, "port"));
		if (get_int(rec, "count") > 1)
			printf(" (x%lld)", get_int(rec, "count"));
	} else if (strcmp(type, "lost") == 0) {
		yajl_val c = json_get(rec, "count");
		if (YAJL_IS_INTEGER(c))
			printf("%lld records lost", YAJL_GET_INTEGER(c));
		else
			printf("records lost");
		if ((s = json_get_string(rec, "reason")))
			printf(" (%s)", s);
	} else if (strcmp(type, "start") == 0) {
		printf("policy %s, cgroup %s", json_get_string(rec, "policy") ?: "-",
		       json_get_string(rec, "cgroup") ?: "?");
	} else if (strcmp(type, "stop") == 0) {
		yajl_val st = json_get(rec, "stats");
		printf("cpu %.2fs, memory peak %.1f MiB, execs %lld, egress denied %lld, ingress denied %lld",
		       get_int(st, "cpu_ns") / 1e9, get_int(st, "memory_peak_bytes") / 1048576.0,
		       get_int(st, "execs"), get_int(st, "egress_denied"), get_int(st, "ingress_denied"));
	}
}

static void print_plain(yajl_val rec)
{
	const char *ts = json_get_string(rec, "ts") ?: "";
	const char *type = json_get_string(rec, "type") ?: "?";
	const char *comm = json_get_string(rec, "comm");
	char when[32];
	/* 2026-11-24T15:30:00.123456789Z -> 2026-11-24 15:30:00.123 */
	snprintf(when, sizeof(when), "%.10s %.12s", ts, strlen(ts) > 11 ? ts + 11 : "");
	long long pid = get_int(rec, "pid");
	char pidbuf[16] = "-";
	if (pid)
		snprintf(pidbuf, sizeof(pidbuf), "%lld", pid);
	printf("%-23s %7s %-15s %-8s ", when, pidbuf, comm ? comm : "-", type);
	print_detail(rec, type);
	putchar('\n');
}

/* Print one record if it matches; keeps track of whether the log's last run stopped. */
static void show_line(struct cli *cli, const struct filter *f, const char *line, bool *stopped)
{
	_cleanup_json_ yajl_val rec = NULL;
	if (json_parse(line, "log", &rec, NULL) < 0)
		return;
	const char *type = json_get_string(rec, "type");
	if (type && strcmp(type, "stop") == 0)
		*stopped = true;
	else if (type && strcmp(type, "start") == 0)
		*stopped = false;
	if (!matches(f, rec))
		return;
	if (cli->json)
		puts(line);
	else
		print_plain(rec);
}

/*
 * The run of the container the log is followed for has ended: it is no longer monitored
 * (no state record: poststop, gc or the next run's hook wrote its stop record first) and
 * its log owes nothing (a stop record kept while log_dir was full is written later).
 */
static bool run_ended(const struct config *cfg, const char *id)
{
	_cleanup_container_ struct container *c = NULL;
	return container_read(cfg->state_dir, id, &c, NULL) == -ENOENT &&
	       !pending_exists(cfg->state_dir, id, NULL);
}

static int audit_show(struct cli *cli, const struct filter *f, const char *id, bool follow)
{
	_cleanup_config_ struct config *cfg = cli_config(cli);
	if (!cfg)
		return 1;
	_cleanup_free_ char *name = xasprintf("%s.jsonl", id);
	_cleanup_free_ char *path = path_join(cfg->log_dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_fclose_ FILE *in = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!in) {
		log_error(id, "cannot open audit log %s: %m", path);
		return 1;
	}
	_cleanup_close_ int ino = follow ? inotify_init1(IN_CLOEXEC) : -1;
	if (ino >= 0)
		inotify_add_watch(ino, path, IN_MODIFY);
	if (!cli->json)
		printf("%-23s %7s %-15s %-8s %s\n", "TIME", "PID", "COMM", "TYPE", "DETAIL");
	_cleanup_free_ char *line = NULL, *carry = NULL;   /* carry: a line still being written */
	size_t cap = 0;
	bool stopped = false, ended = false;
	for (;;) {
		ssize_t n;
		while ((n = getline(&line, &cap, in)) > 0) {
			if (line[n - 1] != '\n') {
				/* Not complete yet (a writer is mid-append): keep it for later. */
				char *c = xasprintf("%s%s", carry ? carry : "", line);
				free(carry);
				carry = c;
				continue;
			}
			line[n - 1] = '\0';
			if (carry) {
				char *c = xasprintf("%s%s", carry, line);
				free(TAKE_PTR(carry));
				show_line(cli, f, c, &stopped);
				free(c);
			} else {
				show_line(cli, f, line, &stopped);
			}
		}
		fflush(stdout);
		if (!follow || stopped || ended)
			return 0;
		clearerr(in);
		/* Ended with no stop record after what we read: read to the end once more. */
		if (run_ended(cfg, id)) {
			ended = true;
			continue;
		}
		/* Wait for the file to grow (inotify), or poll when inotify isn't there; look
		 * again every second whether the run ended. */
		struct pollfd pfd = { .fd = ino, .events = POLLIN };
		if (ino >= 0 && poll(&pfd, 1, 1000) > 0) {
			char ebuf[4096];
			(void)!read(ino, ebuf, sizeof(ebuf));
		} else if (ino < 0) {
			usleep(200 * 1000);
		}
	}
}

int cmd_audit(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "type", required_argument, NULL, 't' },
		{ "syscall", required_argument, NULL, 's' },
		{ "since", required_argument, NULL, 'S' },
		{ 0 },
	};
	static const char *const types[] = { "start", "exec", "syscall", "net", "lost", "stop" };
	struct filter f = { 0 };
	bool follow = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			follow = true;
			break;
		case 't': {
			bool ok = false;
			for (size_t i = 0; i < ARRAY_SIZE(types); i++)
				ok |= strcmp(optarg, types[i]) == 0;
			if (!ok) {
				fprintf(stderr, "ocibpf: unknown record type \"%s\" (start, exec, syscall, net, lost, stop)\n", optarg);
				return 2;
			}
			f.type = optarg;
			break;
		}
		case 's':
			f.syscall = optarg;
			break;
		case 'S':
			if (parse_since(optarg, f.since) < 0) {
				fprintf(stderr, "ocibpf: invalid --since \"%s\" (RFC 3339 UTC or 30s, 10m, 2h, 1d)\n", optarg);
				return 2;
			}
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	if (!valid_id(argv[optind])) {
		fprintf(stderr, "ocibpf: invalid container id \"%s\"\n", argv[optind]);
		return 2;
	}
	return audit_show(cli, &f, argv[optind], follow);
usage:
	fprintf(stderr, "usage: ocibpf audit [--json] [--follow] [--type TYPE] [--syscall NAME] [--since TIME] ID\n");
	return 2;
}
