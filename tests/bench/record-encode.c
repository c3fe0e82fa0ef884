// SPDX-License-Identifier: Apache-2.0
/*
 * The collector's per-record encoding cost, without the kernel or a container:
 *
 *   record-encode bench N DIR    encodes N syscall records like audit.sh's (openat of
 *                                /target) into DIR/bench.jsonl, flushed as the collector
 *                                does (every 256 KiB), and prints the CPU ns per record
 *   record-encode golden DIR     writes a fixed set of records of every kind the
 *                                collector writes, hostile bytes included, into
 *                                DIR/golden.jsonl: the output of two builds must be
 *                                byte-identical (audit.sh compares them when asked)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auditlog.h"
#include "record.h"

static double cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static struct auditlog *open_log(const char *dir, const char *id)
{
	struct auditlog *al = NULL;
	struct error err = { 0 };
	if (record_open_locked(dir, id, &al, &err) < 0) {
		fprintf(stderr, "record-encode: %s\n", err.msg);
		exit(1);
	}
	return al;
}

static void flush(struct auditlog *al)
{
	if (auditlog_flush(al) < 0) {
		perror("record-encode: write");
		exit(1);
	}
}

static int bench(long n, const char *dir)
{
	struct auditlog *al = open_log(dir, "bench");
	struct ev_syscall e = { .pid = 1, .tid = 1, .uid = 0, .nr = 257, .ret = 3,
				.args = { (__u64)-100, 0x4b8030, 0, 0, 0, 0 }, .has_path = 1 };
	strcpy(e.comm, "syscall-loop");
	strcpy(e.path, "/target");
	uint64_t ts = 1796052600123456789ULL;
	double t0 = cpu_ns();
	for (long i = 0; i < n; i++) {
		record_syscall(al, ts + i * 2300, &e, false);
		if (al->out_len >= 256 << 10)
			flush(al);
	}
	flush(al);
	printf("%.0f\n", (cpu_ns() - t0) / n);
	auditlog_close(al);
	return 0;
}

static void exec_rec(struct auditlog *al, uint64_t ts, const char *comm, const char *file,
		     bool file_cut, const char *args, size_t args_len, bool args_cut)
{
	struct ev_exec *e = calloc(1, sizeof(*e));
	e->pid = 4242;
	e->ppid = 1;
	e->uid = 65534;
	memcpy(e->comm, comm, strnlen(comm, sizeof(e->comm)));
	memcpy(e->filename, file, strnlen(file, sizeof(e->filename) - 1));
	e->filename_truncated = file_cut;
	memcpy(e->args, args, args_len);
	e->args_len = args_len;
	e->args_truncated = args_cut;
	record_exec(al, ts, e);
	free(e);
}

static void syscall_rec(struct auditlog *al, uint64_t ts, const char *comm, int nr, long long ret,
			const char *path, bool path_cut, int family, const void *addr, int port,
			bool setup)
{
	struct ev_syscall e = { .pid = 7, .tid = 8, .uid = 0xffffffff, .nr = nr, .ret = ret,
				.args = { 0, 1, 0xffffffffffffffffULL, 1ULL << 63, 42, 0x7fffffffffffffffULL } };
	memcpy(e.comm, comm, strnlen(comm, sizeof(e.comm)));
	if (path) {
		e.has_path = 1;
		memcpy(e.path, path, strnlen(path, sizeof(e.path) - 1));
		e.path_truncated = path_cut;
	}
	if (addr) {
		e.has_addr = 1;
		e.family = family;
		memcpy(e.addr, addr, family == 10 ? 16 : 4);
		e.port = port;
	}
	record_syscall(al, ts, &e, setup);
}

static int golden(const char *dir)
{
	struct auditlog *al = open_log(dir, "golden");
	static const uint64_t tss[] = { 0, 999999999, 1000000000, 951782400000000001ULL,
					1796052600123456789ULL, 4102444799999999999ULL,
					1582934400000000000ULL, 1609459199999999999ULL };
	char longpath[300];
	memset(longpath, 'p', sizeof(longpath));
	memcpy(longpath, "\x82\xac/tail", 7);   /* a kept tail that starts mid-character */
	longpath[255] = '\0';
	char cutcomm[16] = "abcdefghijklm\xe2\x82";   /* 15 bytes: a cut character at the end */
	static const unsigned char v4[4] = { 10, 0, 0, 1 };
	static const unsigned char v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	static const unsigned char mapped[16] = { [10] = 0xff, [11] = 0xff, 127, 0, 0, 1 };
	for (size_t i = 0; i < sizeof(tss) / sizeof(tss[0]); i++) {
		uint64_t ts = tss[i];
		exec_rec(al, ts, "sh", "/bin/sh", false, "sh\0-c\0echo \"hi\"\\\n\t\x01\x7f", 21, false);
		exec_rec(al, ts, "evil\xff\xfe", "/bin/\xc0\xaf", false, "a\0\xff\0\xe2\x82\xac\0", 9, false);
		exec_rec(al, ts, cutcomm, longpath, true, "x\0\xf0\x9f\x98", 5, true);
		exec_rec(al, ts, "", "", false, "\0\0\0", 3, false);
		syscall_rec(al, ts, "syscall-loop", 257, 3, "/target", false, 0, NULL, 0, false);
		syscall_rec(al, ts, "x\xed\xa0\x80y", 257, -2, "/e\xf4\x90\x80\x80", false, 0, NULL, 0, true);
		syscall_rec(al, ts, cutcomm, 2, -9223372036854775807LL - 1, longpath, true, 0, NULL, 0, false);
		syscall_rec(al, ts, "nc", 42, 0, NULL, false, 2, v4, 65535, false);
		syscall_rec(al, ts, "nc", 42, -111, NULL, false, 10, v6, 0, false);
		syscall_rec(al, ts, "nc", 42, -111, NULL, false, 10, mapped, 8080, true);
		syscall_rec(al, ts, "\"\\/\x1f", 9999, 9223372036854775807LL, "\"quote\\", false, 0, NULL, 0, false);
		struct ev_uring u = { .pid = 3, .tid = 4, .uid = 5, .nr = 257, .user_data = ~0ULL,
				      .args = { 1, 2, 3, 4, 5, 6 }, .ret = -13, .opcode = 18, .has_ret = 1,
				      .has_path = 1 };
		strcpy(u.comm, "uring\xff");
		strcpy(u.path, "/etc/\xe2\x82");
		record_uring(al, ts, &u, "OPENAT", false);
		u.has_ret = 0;
		u.has_path = 0;
		u.has_addr = 1;
		u.family = 2;
		memcpy(u.addr, v4, 4);
		u.port = 53;
		record_uring(al, ts, &u, "CONNECT", true);
		struct ev_net n = { .pid = 0, .count = 1, .direction = NET_INGRESS, .action = NET_DENY,
				    .protocol = 6, .family = 2, .port = 22 };
		memcpy(n.addr, v4, 4);
		record_net(al, ts, &n);
		n = (struct ev_net){ .pid = 99, .count = 5, .direction = NET_EGRESS, .action = NET_ALLOW,
				     .protocol = 47, .family = 10, .port = 0 };
		memcpy(n.addr, v6, 16);
		strcpy(n.comm, "curl\xc3");
		record_net(al, ts, &n);
		record_lost(al, ts, true, 12345, "ring buffer full");
		record_lost(al, ts, false, 0, "collector was down");
	}
	flush(al);
	auditlog_close(al);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "bench") == 0)
		return bench(atol(argv[2]), argv[3]);
	if (argc == 3 && strcmp(argv[1], "golden") == 0)
		return golden(argv[2]);
	fprintf(stderr, "usage: record-encode bench N DIR | golden DIR\n");
	return 2;
}
