/* SPDX-License-Identifier: Apache-2.0 */
/* ocibpf audit: review a container's audit log (audit-all.c: every container's). */
#include <errno.h>
#include <getopt.h>
#include <seccomp.h>
#include <string.h>

#include "audit-view.h"
#include "container.h"
#include "logreader.h"
#include "pending.h"
#include "resolve.h"

/* Show one line if it is to be shown; keeps track of whether the log's last run stopped. */
static void show_line(struct cli *cli, const struct filter *f, struct record_line *l, int r,
		      struct unreadable *u, const char *id, bool *stopped)
{
	if (r == -EIO) {
		audit_show_damaged(u, l, id);
		return;
	}
	if (r < 0) {
		audit_show_unreadable(cli, u, l, id);
		return;
	}
	if (l->rec.type == REC_STOP)
		*stopped = true;
	else if (l->rec.type == REC_START)
		*stopped = false;
	if (!audit_matches(f, &l->rec))
		return;
	if (cli->json) {
		fwrite(l->text, 1, l->len, stdout);
		putchar('\n');
	} else if (f->setup || !YAJL_IS_TRUE(json_get(l->rec.v, "setup"))) {
		audit_print_plain(&l->rec);
	}
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

static int audit_show(struct cli *cli, const struct filter *f, const char *arg, bool follow)
{
	_cleanup_config_ struct config *cfg = cli_config(cli);
	if (!cfg)
		return 1;
	_cleanup_free_ char *id = NULL;
	if (resolve_id_or_report(cfg, arg, RESOLVE_LOGS, &id) < 0)
		return 1;
	/* A running container's log is where its start record went (log_dir edited since). */
	_cleanup_container_ struct container *c = NULL;
	container_read(cfg->state_dir, id, &c, NULL);
	const char *log_dir = c ? container_log_dir(c, cfg->log_dir) : cfg->log_dir;
	struct error err = { 0 };
	_cleanup_record_reader_ struct record_reader *rr = NULL;
	if (record_reader_open(log_dir, id, &rr, &err) < 0) {
		log_error(id, "%s", err.msg);
		err_clear(&err);
		return 1;
	}
	struct follow fw = { .ino = -1 };
	if (follow)
		follow_init(&fw, log_dir);
	else
		signal(SIGPIPE, SIG_IGN);
	if (!cli->json)
		printf("%-23s %7s %-15s %-8s %s\n", "TIME", "PID", "COMM", "TYPE", "DETAIL");
	struct unreadable u = { 0 };
	bool stopped = false, ended = false;
	for (;;) {
		/* Not following (or the run ended): a last line without its newline is
		 * waited for, then shown for what it is. */
		bool final = !follow || ended;
		struct record_line l;
		int r;
		while (!ferror(stdout) && (r = record_read(rr, final, &l)) != 0) {
			show_line(cli, f, &l, r, &u, id, &stopped);
			record_line_done(&l);
		}
		if (!follow_out_ok())
			break;
		/* Done: not following, the run ended, or its stop record is the last. */
		if (final || stopped)
			break;
		if (record_reader_refresh(rr))
			continue;   /* rotated: the new live file */
		/* Ended with no stop record after what we read: read to the end once more. */
		if (run_ended(cfg, id)) {
			ended = true;
			continue;
		}
		/* Wait for the log to grow or be rotated; look again every second whether the
		 * run ended. */
		if (!follow_wait(&fw, 1000))
			break;
	}
	follow_done(&fw);
	return audit_unreadable_report(&u, log_dir, id);
}

int cmd_audit(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "type", required_argument, NULL, 't' },
		{ "syscall", required_argument, NULL, 's' },
		{ "since", required_argument, NULL, 'S' },
		{ "all", no_argument, NULL, 'a' },
		{ "setup", no_argument, NULL, 'u' },
		{ 0 },
	};
	struct filter f = { 0 };
	bool follow = false, all = false;
	int c, r;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			follow = true;
			break;
		case 'a':
			all = true;
			break;
		case 'u':
			f.setup = true;
			break;
		case 't':
			if (record_type_of(optarg) == REC_UNKNOWN) {
				fprintf(stderr, "ocibpf: unknown record type \"%s\" (start, exec, syscall, net, lost, stop)\n", optarg);
				return 2;
			}
			f.type = optarg;
			break;
		case 's':
			/* Records name syscalls as libseccomp does (policies too): a name it
			 * doesn't know could only ever show nothing. */
			if (seccomp_syscall_resolve_name(optarg) < 0) {
				_cleanup_free_ char *shown = resolve_printable(optarg);
				fprintf(stderr, "ocibpf: unknown syscall \"%s\" (--syscall takes a name such as openat)\n", shown);
				return 2;
			}
			f.syscall = optarg;
			break;
		case 'S':
			r = audit_parse_since(optarg, f.since);
			if (r == -ERANGE) {
				fprintf(stderr, "ocibpf: --since \"%s\" is before 1970 (a duration counts back from now)\n", optarg);
				return 2;
			}
			if (r < 0) {
				fprintf(stderr, "ocibpf: invalid --since \"%s\" (RFC 3339, e.g. 2026-11-24T15:30:00Z, or 30s, 10m, 2h, 1d)\n", optarg);
				return 2;
			}
			break;
		default:
			goto usage;
		}
	}
	/* --all without an ID: every container. With an ID it keeps its first meaning
	 * (before the view of all containers): the runtime's setup records too (--setup). */
	if (all && optind == argc)
		return audit_all(cli, &f, follow);
	if (all)
		f.setup = true;
	if (optind != argc - 1)
		goto usage;
	return audit_show(cli, &f, argv[optind], follow);
usage:
	fprintf(stderr, "usage: ocibpf audit [--json] [--follow] [--setup] [--type TYPE] [--syscall NAME] [--since TIME] ID\n"
			"       ocibpf audit --all [--json] [--follow] [--setup] [--type TYPE] [--syscall NAME] [--since TIME]\n");
	return 2;
}
