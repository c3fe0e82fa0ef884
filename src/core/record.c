/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>

#include "audit.h"
#include "json.h"
#include "record.h"
#include "utf8.h"

static const char *const type_names[REC_TYPES] = {
	[REC_START] = "start", [REC_EXEC] = "exec", [REC_SYSCALL] = "syscall",
	[REC_NET] = "net", [REC_LOST] = "lost", [REC_STOP] = "stop",
};

const char *record_type_name(enum record_type t)
{
	return t < REC_TYPES ? type_names[t] : "unknown";
}

enum record_type record_type_of(const char *name)
{
	for (int t = 0; name && t < REC_TYPES; t++)
		if (strcmp(type_names[t], name) == 0)
			return t;
	return REC_UNKNOWN;
}

/* --- encoding ------------------------------------------------------------------------ */

static yajl_gen begin(struct auditlog *al, enum record_type t, uint64_t ts_ns)
{
	return auditlog_begin(al, type_names[t], ts_ns);
}

/* key: the bytes as a string when they are UTF-8; else lossy, and key_hex exact. */
static void gen_bytes(yajl_gen g, const char *key, const char *s, size_t len)
{
	jg_key(g, key);
	if (utf8_valid(s, len)) {
		jg_strn(g, s, len);
		return;
	}
	size_t n;
	_cleanup_free_ char *lossy = utf8_lossy(s, len, &n);
	jg_strn(g, lossy, n);
	_cleanup_free_ char *hkey = xasprintf("%s_hex", key);
	_cleanup_free_ char *hex = hex_encode(s, len);
	jg_key_str(g, hkey, hex);
}

/* The kernel cuts comm at 15 bytes: a character it split is dropped, and said so. */
static void gen_comm(yajl_gen g, const char *comm)
{
	size_t len = strnlen(comm, TASK_COMM_LEN_);
	size_t keep = len == TASK_COMM_LEN_ - 1 ? utf8_trim_end(comm, len) : len;
	gen_bytes(g, "comm", comm, keep);
	if (keep < len)
		jg_key_bool(g, "comm_truncated", true);
}

/* A path whose tail was kept (truncated): its head may start mid-character. */
static void gen_path(yajl_gen g, const char *key, const char *tkey, const char *p, size_t cap,
		     bool truncated)
{
	size_t len = strnlen(p, cap);
	size_t skip = truncated ? utf8_skip_start(p, len) : 0;
	gen_bytes(g, key, p + skip, len - skip);
	jg_key_bool(g, tkey, truncated);
}

/*
 * A path the kernel walked (PW_*): key, key_truncated (always with it), and
 * key_unreachable / key_deleted when so. Its tail was kept when truncated.
 */
static void gen_walked(yajl_gen g, const char *key, const char *p, size_t cap, unsigned flags)
{
	_cleanup_free_ char *tkey = xasprintf("%s_truncated", key);
	gen_path(g, key, tkey, p, cap, flags & PW_TRUNCATED);
	if (flags & PW_UNREACHABLE) {
		_cleanup_free_ char *k = xasprintf("%s_unreachable", key);
		jg_key_bool(g, k, true);
	}
	if (flags & PW_DELETED) {
		_cleanup_free_ char *k = xasprintf("%s_deleted", key);
		jg_key_bool(g, k, true);
	}
}

static void gen_addr(yajl_gen g, int family, const uint8_t *addr)
{
	char buf[INET6_ADDRSTRLEN];
	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr, buf, sizeof(buf)))
		buf[0] = '\0';
	jg_key_str(g, "addr", buf);
}

static const char *proto_name(int p)
{
	switch (p) {
	case 6: return "tcp";
	case 17: return "udp";
	case 1: return "icmp";
	case 58: return "icmpv6";
	default: return NULL;
	}
}

int record_open_locked(const char *log_dir, const char *id, struct auditlog **ret,
		       struct error *err)
{
	struct auditlog *al = NULL;
	int r = auditlog_open(log_dir, id, &al, err);
	if (r < 0)
		return r;
	r = record_lock(al);
	if (r < 0) {
		r = err_errno(err, r, "cannot lock audit log %s", al->path);
		auditlog_close(al);
		return r;
	}
	*ret = al;
	return 0;
}

int record_lock(struct auditlog *al)
{
	int r = auditlog_lock(al);
	if (r < 0 || !al->dropped)
		return r;
	record_lost(al, realtime_ns(), true, al->dropped, "writing the audit log failed");
	al->carried = true;   /* the batch starts with the lost record for al->dropped */
	return 0;
}

void record_start(struct auditlog *al, uint64_t ts_ns, const char *policy, const char *cgroup,
		  int pid)
{
	yajl_gen g = begin(al, REC_START, ts_ns);
	jg_key_str(g, "policy", policy);
	if (cgroup)
		gen_bytes(g, "cgroup", cgroup, strlen(cgroup));
	else
		jg_key_str(g, "cgroup", NULL);
	jg_key_int(g, "pid", pid);
	auditlog_end(al);
}

void record_exec(struct auditlog *al, uint64_t ts_ns, const struct ev_exec *e)
{
	yajl_gen g = begin(al, REC_EXEC, ts_ns);
	jg_key_int(g, "pid", e->pid);
	jg_key_int(g, "ppid", e->ppid);
	jg_key_int(g, "uid", e->uid);
	gen_comm(g, e->comm);
	gen_path(g, "filename", "filename_truncated", e->filename, sizeof(e->filename),
		 e->filename_truncated);
	if (e->has_exe)
		gen_walked(g, "exe", e->exe, sizeof(e->exe), e->exe_flags);
	if (e->has_dir)
		gen_walked(g, "dir", e->dir, sizeof(e->dir), e->dir_flags);

	/* The arguments: NUL-separated; the last one cut when argv was. */
	size_t len = e->args_len < sizeof(e->args) ? e->args_len : sizeof(e->args);
	const char *arg[EV_ARGS_MAX];   /* (every byte a NUL: that many empty arguments) */
	size_t alen[EV_ARGS_MAX], n = 0;
	bool exact = true;
	for (size_t i = 0; i < len;) {
		size_t l = strnlen(e->args + i, len - i);
		arg[n] = e->args + i;
		alen[n] = l;
		i += l + 1;
		if (i > len && e->args_truncated)
			alen[n] = utf8_trim_end(arg[n], l);   /* the cut one */
		exact &= utf8_valid(arg[n], alen[n]);
		n++;
	}
	jg_key(g, "argv");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < n; i++) {
		if (exact || utf8_valid(arg[i], alen[i])) {
			jg_strn(g, arg[i], alen[i]);
			continue;
		}
		size_t l;
		_cleanup_free_ char *lossy = utf8_lossy(arg[i], alen[i], &l);
		jg_strn(g, lossy, l);
	}
	yajl_gen_array_close(g);
	if (!exact) {
		jg_key(g, "argv_hex");
		yajl_gen_array_open(g);
		for (size_t i = 0; i < n; i++) {
			_cleanup_free_ char *hex = utf8_valid(arg[i], alen[i]) ? NULL :
						   hex_encode(arg[i], alen[i]);
			jg_str(g, hex);
		}
		yajl_gen_array_close(g);
	}
	jg_key_bool(g, "argv_truncated", e->args_truncated);
	auditlog_end(al);
}

/* What every syscall record starts with, from the syscall tracepoints or io_uring. */
static yajl_gen syscall_head(struct auditlog *al, uint64_t ts_ns, uint32_t pid, uint32_t tid,
			     uint32_t uid, const char *comm, int nr, const __u64 args[6])
{
	yajl_gen g = begin(al, REC_SYSCALL, ts_ns);
	jg_key_int(g, "pid", pid);
	jg_key_int(g, "tid", tid);
	jg_key_int(g, "uid", uid);
	gen_comm(g, comm);
	jg_key_str(g, "syscall", audit_syscall_name(nr));
	jg_key_int(g, "nr", nr);
	jg_key(g, "args");
	yajl_gen_array_open(g);
	for (int i = 0; i < 6; i++)
		jg_uint(g, args[i]);
	yajl_gen_array_close(g);
	return g;
}

void record_syscall(struct auditlog *al, uint64_t ts_ns, const struct ev_syscall *e, bool setup)
{
	yajl_gen g = syscall_head(al, ts_ns, e->pid, e->tid, e->uid, e->comm, e->nr, e->args);
	jg_key_int(g, "ret", e->ret);
	if (e->has_path)
		gen_path(g, "path", "path_truncated", e->path, sizeof(e->path), e->path_truncated);
	if (e->has_dir)
		gen_walked(g, "dir", e->dir, sizeof(e->dir), e->dir_flags);
	if (e->has_file)
		gen_walked(g, "file", e->file, sizeof(e->file), e->file_flags);
	if (e->has_addr) {
		gen_addr(g, e->family, e->addr);
		jg_key_int(g, "port", e->port);
	}
	if (setup)
		jg_key_bool(g, "setup", true);
	auditlog_end(al);
}

void record_uring(struct auditlog *al, uint64_t ts_ns, const struct ev_uring *e,
		  const char *op_name, bool setup)
{
	yajl_gen g = syscall_head(al, ts_ns, e->pid, e->tid, e->uid, e->comm, e->nr, e->args);
	jg_key(g, "ret");
	if (e->has_ret)
		jg_int(g, e->ret);
	else
		yajl_gen_null(g);   /* its completion was not seen (see ocibpf(8)) */
	if (e->has_path)
		gen_path(g, "path", "path_truncated", e->path, sizeof(e->path), false);
	if (e->has_addr) {
		gen_addr(g, e->family, e->addr);
		jg_key_int(g, "port", e->port);
	}
	jg_key_str(g, "via", "io_uring");
	jg_key_str(g, "io_uring_op", op_name);
	jg_key_uint(g, "user_data", e->user_data);
	if (setup)
		jg_key_bool(g, "setup", true);
	auditlog_end(al);
}

void record_net(struct auditlog *al, uint64_t ts_ns, const struct ev_net *e)
{
	yajl_gen g = begin(al, REC_NET, ts_ns);
	jg_key_str(g, "action", e->action == NET_ALLOW ? "allow" : "deny");
	jg_key_str(g, "direction", e->direction == NET_INGRESS ? "ingress" : "egress");
	const char *proto = proto_name(e->protocol);
	jg_key(g, "protocol");
	if (proto)
		jg_str(g, proto);
	else
		jg_int(g, e->protocol);
	gen_addr(g, e->family, e->addr);
	jg_key_int(g, "port", e->port);
	if (e->pid) {
		jg_key_int(g, "pid", e->pid);
		gen_comm(g, e->comm);
	}
	if (e->count > 1)
		jg_key_uint(g, "count", e->count);
	auditlog_end(al);
}

void record_lost(struct auditlog *al, uint64_t ts_ns, bool count_known, uint64_t count,
		 const char *reason)
{
	yajl_gen g = begin(al, REC_LOST, ts_ns);
	jg_key(g, "count");
	if (count_known)
		jg_uint(g, count);
	else
		yajl_gen_null(g);
	jg_key_str(g, "reason", reason);
	/* In a batch a failed write drops, it stands for the records it counts. */
	if (count_known && count)
		al->weight = count;
	auditlog_end(al);
}

void record_stop(struct auditlog *al, uint64_t ts_ns, const char *reason,
		 void (*stats_fields)(yajl_gen g, void *ud), void *ud)
{
	yajl_gen g = begin(al, REC_STOP, ts_ns);
	if (reason)
		jg_key_str(g, "reason", reason);
	jg_key(g, "stats");
	yajl_gen_map_open(g);
	stats_fields(g, ud);
	yajl_gen_map_close(g);
	auditlog_end(al);
}

/* --- decoding ------------------------------------------------------------------------ */

int record_parse(const char *line, size_t len, struct record *ret)
{
	yajl_val v = NULL;
	if (json_parse_doc(line, len, NULL, &v, NULL) < 0)   /* (a NUL is refused) */
		return -EINVAL;
	const char *type = json_get_string(v, "type");
	if (!YAJL_IS_OBJECT(v) || !type) {
		yajl_tree_free(v);
		return -EINVAL;
	}
	long long seq = 0;
	json_get_int(v, "seq", &seq);
	*ret = (struct record){ .type = record_type_of(type), .seq = seq,
				.ts = json_get_string(v, "ts") ?: "", .v = v };
	return 0;
}

void record_done(struct record *r)
{
	if (r->v)
		yajl_tree_free(r->v);
	r->v = NULL;
}

static char *bytes_of(yajl_val s, yajl_val hex, size_t *ret_len)
{
	char *out;
	if (YAJL_IS_STRING(hex) && hex_decode(YAJL_GET_STRING(hex), &out, ret_len) == 0)
		return out;
	const char *str = YAJL_GET_STRING(s);
	if (!str)
		return NULL;
	*ret_len = strlen(str);
	return xstrdup(str);
}

char *record_bytes(yajl_val obj, const char *key, size_t *ret_len)
{
	_cleanup_free_ char *hkey = xasprintf("%s_hex", key);
	return bytes_of(json_get(obj, key), json_get(obj, hkey), ret_len);
}

char *record_argv_bytes(yajl_val rec, size_t i, size_t *ret_len)
{
	yajl_val argv = json_get(rec, "argv"), hex = json_get(rec, "argv_hex");
	if (!YAJL_IS_ARRAY(argv) || i >= argv->u.array.len)
		return NULL;
	yajl_val h = YAJL_IS_ARRAY(hex) && i < hex->u.array.len ? hex->u.array.values[i] : NULL;
	return bytes_of(argv->u.array.values[i], h, ret_len);
}
