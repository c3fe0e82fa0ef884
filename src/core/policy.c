/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy file (SPEC.md "Policy file"): strict parsing and validation. Every message
 * names the source and the JSON path of the offending field:
 *   policy web.json: network.egress.rules[2].cidr: invalid CIDR "10.0.0.0/33": ...
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "policy.h"

#define POLICY_SIZE_MAX	(16u << 20)
#define PORT_ITEMS_MAX	64
#define QUOTE_MAX	80

static const char *const top_keys[] = { "audit", "network", "telemetry", NULL };
static const char *const audit_keys[] = { "syscalls", NULL };
static const char *const network_keys[] = { "egress", "ingress", NULL };
static const char *const direction_keys[] = { "default", "rules", NULL };
static const char *const rule_keys[] = { "action", "cidr", "protocol", "ports", NULL };
static const char *const telemetry_keys[] = { "syscalls", NULL };

/* Where messages go: "WHAT: PATH: problem". */
struct ctx {
	const char *what;
	struct error *err;
};

/* A user-supplied string, JSON-quoted (control characters escaped) and shortened. */
static char *quote(const char *s)
{
	_cleanup_json_gen_ yajl_gen g = json_gen_new(false);
	size_t len = strlen(s);
	jg_strn(g, s, len > QUOTE_MAX ? QUOTE_MAX : len);
	_cleanup_free_ char *q = json_gen_take(g, NULL);
	return xasprintf("%s%s", q, len > QUOTE_MAX ? "..." : "");
}

static int fail(const struct ctx *c, const char *path, const char *fmt, ...) _printf_(3, 4);
static int fail(const struct ctx *c, const char *path, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	return err_msg(c->err, -EINVAL, "%s: %s%s%s", c->what, path, *path ? ": " : "", msg);
}

static char *path_key(const char *parent, const char *key)
{
	return xasprintf("%s%s%s", parent, *parent ? "." : "", key);
}

static char *path_index(const char *parent, size_t i)
{
	return xasprintf("%s[%zu]", parent, i);
}

/* v must be an object whose keys are all in keys[] (at most 32), each at most once. */
static int check_object(const struct ctx *c, yajl_val v, const char *path, const char *const *keys)
{
	if (!YAJL_IS_OBJECT(v))
		return fail(c, path, "must be an object");
	unsigned seen = 0;
	for (size_t i = 0; i < v->u.object.len; i++) {
		const char *k = v->u.object.keys[i];
		size_t j = 0;
		while (keys[j] && strcmp(keys[j], k) != 0)
			j++;
		_cleanup_free_ char *q = NULL;
		if (!keys[j]) {
			_cleanup_free_ char *known = xstrdup(keys[0]);
			for (size_t n = 1; keys[n]; n++) {
				char *s = xasprintf("%s, %s", known, keys[n]);
				free(known);
				known = s;
			}
			q = quote(k);
			return fail(c, path, "unknown key %s (expected %s)", q, known);
		}
		if (seen & (1u << j)) {
			q = quote(k);
			return fail(c, path, "duplicate key %s", q);
		}
		seen |= 1u << j;
	}
	return 0;
}

/* A string member; *ret is NULL when absent and not required. */
static int get_string(const struct ctx *c, yajl_val obj, const char *path, const char *key,
		      bool required, const char **ret)
{
	yajl_val v = json_get(obj, key);
	_cleanup_free_ char *p = NULL;
	if (!v && required) {
		p = path_key(path, key);
		return fail(c, p, "missing (required)");
	}
	if (v && !YAJL_IS_STRING(v)) {
		p = path_key(path, key);
		return fail(c, p, "must be a string");
	}
	*ret = v ? YAJL_GET_STRING(v) : NULL;
	return 0;
}

static int parse_action(const struct ctx *c, const char *s, const char *path,
			enum policy_action *ret)
{
	if (strcmp(s, "allow") == 0)
		*ret = ACTION_ALLOW;
	else if (strcmp(s, "deny") == 0)
		*ret = ACTION_DENY;
	else {
		_cleanup_free_ char *q = quote(s);
		return fail(c, path, "must be \"allow\" or \"deny\", not %s", q);
	}
	return 0;
}

static int parse_protocol(const struct ctx *c, const char *s, const char *path,
			  enum policy_proto *ret)
{
	static const struct { const char *name; enum policy_proto proto; } protos[] = {
		{ "any", PROTO_ANY }, { "tcp", PROTO_TCP }, { "udp", PROTO_UDP }, { "icmp", PROTO_ICMP },
	};
	for (size_t i = 0; i < ARRAY_SIZE(protos); i++)
		if (strcmp(s, protos[i].name) == 0) {
			*ret = protos[i].proto;
			return 0;
		}
	_cleanup_free_ char *q = quote(s);
	return fail(c, path, "must be \"tcp\", \"udp\", \"icmp\" or \"any\", not %s", q);
}

/* --- ports --------------------------------------------------------------------------- */

/* Decimal digits only, no sign, no leading zero; values above 65535 saturate to 65536. */
static bool parse_port_number(const char *s, size_t len, unsigned *ret)
{
	if (len == 0 || (s[0] == '0' && len > 1))
		return false;
	unsigned v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v > 65536)
			v = 65536;
	}
	*ret = v;
	return true;
}

/* One item of a port list: "N" or "N-M". */
static int parse_port_item(const char *s, size_t len, struct port_range *ret, struct error *err)
{
	_cleanup_free_ char *item = strndup(s, len);
	if (!item)
		abort();
	const char *dash = memchr(s, '-', len);
	size_t first_len = dash ? (size_t)(dash - s) : len;
	unsigned first, last;
	if (!parse_port_number(s, first_len, &first) ||
	    (dash && !parse_port_number(dash + 1, len - first_len - 1, &last))) {
		_cleanup_free_ char *q = quote(item);
		return err_msg(err, -EINVAL, "%s is not a port or a range of ports (N or N-M)", q);
	}
	if (!dash)
		last = first;
	if (first < 1 || first > 65535 || last < 1 || last > 65535) {
		_cleanup_free_ char *q = quote(item);
		return err_msg(err, -EINVAL, "%s: ports are 1 to 65535", q);
	}
	if (first > last)
		return err_msg(err, -EINVAL, "range %u-%u is reversed", first, last);
	ret->first = (uint16_t)first;
	ret->last = (uint16_t)last;
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct port_range *x = a, *y = b;
	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->last < y->last ? -1 : x->last > y->last;
}

/* Sort and merge overlapping or adjacent ranges; returns the new count. */
static size_t merge_ranges(struct port_range *r, size_t n)
{
	if (n == 0)
		return 0;
	qsort(r, n, sizeof(*r), cmp_range);
	size_t m = 0;
	for (size_t i = 1; i < n; i++) {
		if ((unsigned)r[i].first <= (unsigned)r[m].last + 1) {
			if (r[i].last > r[m].last)
				r[m].last = r[i].last;
		} else {
			r[++m] = r[i];
		}
	}
	return m + 1;
}

int parse_ports(const char *s, struct port_range **ret, size_t *ret_n, struct error *err)
{
	if (!s || !*s)
		return err_msg(err, -EINVAL, "empty port list");
	_cleanup_free_ struct port_range *ranges = xcalloc(PORT_ITEMS_MAX, sizeof(*ranges));
	size_t n = 0;
	for (const char *p = s;; p++) {
		size_t len = strcspn(p, ",");
		if (len == 0)
			return err_msg(err, -EINVAL, "empty item in port list");
		if (n == PORT_ITEMS_MAX)
			return err_msg(err, -EINVAL, "more than %d items in port list", PORT_ITEMS_MAX);
		int r = parse_port_item(p, len, &ranges[n++], err);
		if (r < 0)
			return r;
		p += len;
		if (*p == '\0')
			break;
	}
	n = merge_ranges(ranges, n);
	*ret = xrealloc(TAKE_PTR(ranges), n * sizeof(**ret));
	*ret_n = n;
	return 0;
}

/* --- CIDR ---------------------------------------------------------------------------- */

/* "0".."128", decimal, no sign, no leading zero. */
static bool parse_prefixlen(const char *s, unsigned max, unsigned *ret)
{
	size_t len = strlen(s);
	unsigned v;
	if (len == 0 || len > 3 || !parse_port_number(s, len, &v) || v > max)
		return false;
	*ret = v;
	return true;
}

/*
 * Parse a CIDR; host bits are cleared and reported in *ret_host_bits. An IPv6 prefix that
 * lies inside ::ffff:0:0/96 (IPv4-mapped) becomes the equivalent IPv4 rule, which the
 * SPEC applies to IPv4-mapped addresses too. Returns NULL or why the text is invalid.
 */
static const char *cidr_parse(const char *s, int *ret_family, uint8_t ret_addr[16],
			      uint8_t *ret_prefixlen, bool *ret_host_bits)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	char buf[INET6_ADDRSTRLEN];
	uint8_t addr[16] = { 0 };
	unsigned max, len;
	int family;

	if (alen == 0 || alen >= sizeof(buf))
		return "not an IPv4 or IPv6 address";
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1) {
		family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, addr) == 1) {
		family = AF_INET6;
		max = 128;
	} else {
		return "not an IPv4 or IPv6 address";
	}
	len = max;
	if (slash && !parse_prefixlen(slash + 1, max, &len))
		return family == AF_INET ? "prefix length must be 0 to 32" :
					   "prefix length must be 0 to 128";

	bool host_bits = false;
	for (unsigned bit = len; bit < max; bit++) {
		uint8_t mask = 0x80 >> (bit % 8);
		host_bits |= (addr[bit / 8] & mask) != 0;
		addr[bit / 8] &= ~mask;
	}
	if (family == AF_INET6 && len >= 96 && memcmp(addr, mapped, sizeof(mapped)) == 0) {
		memmove(addr, addr + 12, 4);
		memset(addr + 4, 0, 12);
		family = AF_INET;
		len -= 96;
	}
	*ret_family = family;
	memcpy(ret_addr, addr, 16);
	*ret_prefixlen = (uint8_t)len;
	*ret_host_bits = host_bits;
	return NULL;
}

int parse_cidr(const char *s, int *ret_family, uint8_t ret_addr[16], uint8_t *ret_prefixlen)
{
	int family;
	uint8_t addr[16], len;
	bool host_bits;
	if (!s || cidr_parse(s, &family, addr, &len, &host_bits) || host_bits)
		return -EINVAL;
	*ret_family = family;
	memcpy(ret_addr, addr, 16);
	*ret_prefixlen = len;
	return 0;
}

/* --- sections ------------------------------------------------------------------------ */

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return x < y ? -1 : x > y;
}

static int parse_syscalls(const struct ctx *c, yajl_val v, struct policy *p)
{
	const char *path = "audit.syscalls";
	if (!YAJL_IS_ARRAY(v))
		return fail(c, path, "must be an array of syscall names");
	size_t n = v->u.array.len;
	_cleanup_free_ int *nrs = xcalloc(n, sizeof(*nrs));
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		const char *name = YAJL_GET_STRING(v->u.array.values[i]);
		_cleanup_free_ char *ipath = path_index(path, i);
		if (!name)
			return fail(c, ipath, "must be a string");
		if (strcmp(name, "all") == 0) {
			if (n != 1)
				return fail(c, path, "\"all\" must be the only entry");
			p->audit_all = true;
			continue;
		}
		int nr = seccomp_syscall_resolve_name(name);
		if (nr < 0) {
			_cleanup_free_ char *q = quote(name);
			return fail(c, ipath, "unknown syscall %s", q);
		}
		nrs[m++] = nr;
	}
	if (m == 0)
		return 0;
	qsort(nrs, m, sizeof(*nrs), cmp_int);
	size_t u = 1;
	for (size_t i = 1; i < m; i++)
		if (nrs[i] != nrs[u - 1])
			nrs[u++] = nrs[i];
	p->audit_syscalls = xrealloc(TAKE_PTR(nrs), u * sizeof(int));
	p->n_audit_syscalls = u;
	return 0;
}

static int parse_audit(const struct ctx *c, yajl_val v, struct policy *p)
{
	int r = check_object(c, v, "audit", audit_keys);
	if (r < 0)
		return r;
	p->audit = true;
	yajl_val syscalls = json_get(v, "syscalls");
	return syscalls ? parse_syscalls(c, syscalls, p) : 0;
}

static int rule_cidr(const struct ctx *c, const char *s, const char *path, struct net_rule *rule)
{
	bool host_bits;
	const char *why = cidr_parse(s, &rule->family, rule->addr, &rule->prefixlen, &host_bits);
	if (why) {
		_cleanup_free_ char *q = quote(s);
		return fail(c, path, "invalid CIDR %s: %s", q, why);
	}
	if (host_bits) {
		_cleanup_free_ char *q = quote(s);
		char net[INET6_ADDRSTRLEN] = "";
		inet_ntop(rule->family, rule->addr, net, sizeof(net));
		return fail(c, path, "invalid CIDR %s: host bits are set (the network is %s/%u)",
			    q, net, rule->prefixlen);
	}
	return 0;
}

/* A rule; the paths of its members are made only for a message (c->err). */
static int parse_rule_at(const struct ctx *c, yajl_val v, const char *path, struct net_rule *rule)
{
	const char *action, *cidr, *protocol, *ports;
	_cleanup_free_ char *p_action = c->err ? path_key(path, "action") : NULL;
	_cleanup_free_ char *p_cidr = c->err ? path_key(path, "cidr") : NULL;
	_cleanup_free_ char *p_protocol = c->err ? path_key(path, "protocol") : NULL;
	_cleanup_free_ char *p_ports = c->err ? path_key(path, "ports") : NULL;
	int r;

	if ((r = check_object(c, v, path, rule_keys)) < 0 ||
	    (r = get_string(c, v, path, "action", true, &action)) < 0 ||
	    (r = get_string(c, v, path, "cidr", true, &cidr)) < 0 ||
	    (r = get_string(c, v, path, "protocol", false, &protocol)) < 0 ||
	    (r = get_string(c, v, path, "ports", false, &ports)) < 0)
		return r;
	if ((r = parse_action(c, action, strempty(p_action), &rule->action)) < 0 ||
	    (r = rule_cidr(c, cidr, strempty(p_cidr), rule)) < 0)
		return r;
	rule->protocol = PROTO_ANY;
	if (protocol && (r = parse_protocol(c, protocol, strempty(p_protocol), &rule->protocol)) < 0)
		return r;
	if (!ports)
		return 0;
	if (rule->protocol == PROTO_ICMP)
		return fail(c, strempty(p_ports), "not allowed with protocol \"icmp\"");
	struct error perr = { 0 };
	r = parse_ports(ports, &rule->ports, &rule->n_ports, c->err ? &perr : NULL);
	if (r < 0) {
		_cleanup_free_ char *q = quote(ports);
		r = fail(c, strempty(p_ports), "invalid ports %s: %s", q, perr.msg ? perr.msg : "");
		err_clear(&perr);
	}
	return r;
}

/*
 * Rule i of the rules at path: parsed without a message first (a policy of 10,000 rules
 * made five strings a rule for messages it never gave); again, to say what is wrong,
 * when it fails.
 */
static int parse_rule(const struct ctx *c, yajl_val v, const char *path, size_t i,
		      struct net_rule *rule)
{
	const struct ctx quiet = { c->what, NULL };
	if (parse_rule_at(&quiet, v, "", rule) == 0)
		return 0;
	free(rule->ports);
	memset(rule, 0, sizeof(*rule));
	_cleanup_free_ char *p_rule = path_index(path, i);
	int r = parse_rule_at(c, v, p_rule, rule);
	return r < 0 ? r : err_msg(c->err, -EINVAL, "%s: %s: invalid", c->what, p_rule);
}

static int parse_direction(const struct ctx *c, yajl_val v, const char *path,
			   struct net_direction *d)
{
	const char *def;
	int r = check_object(c, v, path, direction_keys);
	if (r < 0 || (r = get_string(c, v, path, "default", false, &def)) < 0)
		return r;
	d->present = true;
	d->def = ACTION_ALLOW;
	if (def) {
		_cleanup_free_ char *p_def = path_key(path, "default");
		if ((r = parse_action(c, def, p_def, &d->def)) < 0)
			return r;
	}
	yajl_val rules = json_get(v, "rules");
	if (!rules)
		return 0;
	_cleanup_free_ char *p_rules = path_key(path, "rules");
	if (!YAJL_IS_ARRAY(rules))
		return fail(c, p_rules, "must be an array of rules");
	size_t n = rules->u.array.len;
	if (n > POLICY_RULES_MAX)
		return fail(c, p_rules, "too many rules (%zu, at most %d)", n, POLICY_RULES_MAX);
	d->rules = xcalloc(n, sizeof(*d->rules));
	for (size_t i = 0; i < n; i++) {
		d->n_rules = i + 1; /* so that policy_free() sees what was allocated */
		r = parse_rule(c, rules->u.array.values[i], p_rules, i, &d->rules[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_network(const struct ctx *c, yajl_val v, struct policy *p)
{
	int r = check_object(c, v, "network", network_keys);
	if (r < 0)
		return r;
	p->network = true;
	yajl_val egress = json_get(v, "egress"), ingress = json_get(v, "ingress");
	if (egress && (r = parse_direction(c, egress, "network.egress", &p->egress)) < 0)
		return r;
	if (ingress && (r = parse_direction(c, ingress, "network.ingress", &p->ingress)) < 0)
		return r;
	return 0;
}

static int parse_telemetry(const struct ctx *c, yajl_val v, struct policy *p)
{
	if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
		p->telemetry = YAJL_IS_TRUE(v);
		return 0;
	}
	if (!YAJL_IS_OBJECT(v))
		return fail(c, "telemetry", "must be true, false or an object");
	int r = check_object(c, v, "telemetry", telemetry_keys);
	if (r < 0)
		return r;
	p->telemetry = true;
	yajl_val s = json_get(v, "syscalls");
	if (!s)
		return 0;
	if (!YAJL_IS_TRUE(s) && !YAJL_IS_FALSE(s))
		return fail(c, "telemetry.syscalls", "must be true or false");
	p->telemetry_syscalls = YAJL_IS_TRUE(s);
	return 0;
}

static int parse_root(const struct ctx *c, yajl_val root, struct policy *p)
{
	int r = check_object(c, root, "", top_keys);
	if (r < 0)
		return r;
	yajl_val audit = json_get(root, "audit");
	yajl_val network = json_get(root, "network");
	yajl_val telemetry = json_get(root, "telemetry");
	p->telemetry = true;
	if ((audit && (r = parse_audit(c, audit, p)) < 0) ||
	    (network && (r = parse_network(c, network, p)) < 0) ||
	    (telemetry && (r = parse_telemetry(c, telemetry, p)) < 0))
		return r;
	if (p->audit_all)
		p->telemetry_syscalls = true;
	return 0;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	struct net_direction *dirs[] = { &p->egress, &p->ingress };
	for (size_t d = 0; d < ARRAY_SIZE(dirs); d++) {
		for (size_t i = 0; i < dirs[d]->n_rules; i++)
			free(dirs[d]->rules[i].ports);
		free(dirs[d]->rules);
	}
	free(p->audit_syscalls);
	free(p->name);
	free(p);
}

int policy_parse(const char *text, const char *what, struct policy **ret, struct error *err)
{
	const struct ctx c = { .what = what ? what : "policy", .err = err };
	_cleanup_json_ yajl_val root = NULL;
	int r = json_parse(text ? text : "", c.what, &root, err);
	if (r < 0)
		return r;
	_cleanup_policy_ struct policy *p = xcalloc(1, sizeof(*p));
	r = parse_root(&c, root, p);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(p);
	return 0;
}

/* --- loading ------------------------------------------------------------------------- */

/*
 * Open and check one policy file: the fd, its fstat in *st. label prefixes messages about
 * the file ("policy web: /etc/ocibpf/policies/web.json is writable by group or others").
 */
static int open_checked(const char *label, const char *path, bool check_owner, struct stat *st,
			struct error *err)
{
	/* O_NONBLOCK: a FIFO must not hang us; it fails the regular-file check below. */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int r = -errno;
		if (r == -ELOOP && lstat(path, st) == 0 && S_ISLNK(st->st_mode))
			return err_msg(err, r, "%s: %s is a symbolic link (not followed)", label, path);
		return err_errno(err, r, "%s: %s", label, path);
	}
	if (fstat(fd, st) < 0)
		return err_errno(err, -errno, "%s: %s", label, path);
	if (!S_ISREG(st->st_mode))
		return err_msg(err, -EINVAL, "%s: %s is not a regular file", label, path);
	if (check_owner && st->st_uid != 0)
		return err_msg(err, -EPERM, "%s: %s is not owned by root", label, path);
	if (check_owner && (st->st_mode & (S_IWGRP | S_IWOTH)))
		return err_msg(err, -EPERM, "%s: %s is writable by group or others", label, path);
	if (st->st_size > POLICY_SIZE_MAX)
		return err_msg(err, -EFBIG, "%s: %s is larger than 16 MiB", label, path);
	return TAKE_FD(fd);
}

/* Read and parse an opened policy file, from its start; what prefixes messages about its
 * content. */
static int read_parse(int fd, const char *label, const char *path, const char *what,
		      struct policy **ret, struct error *err)
{
	if (lseek(fd, 0, SEEK_SET) < 0)
		return err_errno(err, -errno, "%s: cannot read %s", label, path);
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_fd(fd, POLICY_SIZE_MAX, &text, &len);
	if (r == -EFBIG)
		return err_msg(err, r, "%s: %s is larger than 16 MiB", label, path);
	if (r < 0)
		return err_errno(err, r, "%s: cannot read %s", label, path);
	/* yajl would stop at a NUL and accept whatever came before it. */
	if (memchr(text, '\0', len))
		return err_msg(err, -EINVAL, "%s: invalid JSON: NUL byte in file", what);
	return policy_parse(text, what, ret, err);
}

/* The names of <policy_dir>/<name>.json in messages. */
struct names {
	char *path, *label, *what;
};

static void names_done(struct names *n)
{
	free(n->path);
	free(n->label);
	free(n->what);
}

static int names_of(const char *policy_dir, const char *name, struct names *ret, struct error *err)
{
	if (!valid_name(name)) {
		_cleanup_free_ char *q = quote(name ? name : "");
		return err_msg(err, -EINVAL,
			       "policy %s: invalid policy name (must match [A-Za-z0-9][A-Za-z0-9._-]*, at most 64 characters)",
			       q);
	}
	_cleanup_free_ char *file = xasprintf("%s.json", name);
	ret->path = path_join(policy_dir, file);
	ret->label = xasprintf("policy %s", name);
	ret->what = xasprintf("policy %s: %s", name, ret->path);
	return 0;
}

int policy_open(const char *policy_dir, const char *name, struct stat *st, struct error *err)
{
	_cleanup_(names_done) struct names n = { 0 };
	int r = names_of(policy_dir, name, &n, err);
	return r < 0 ? r : open_checked(n.label, n.path, true, st, err);
}

int policy_read(int fd, const char *policy_dir, const char *name, struct policy **ret,
		struct error *err)
{
	_cleanup_(names_done) struct names n = { 0 };
	_cleanup_policy_ struct policy *p = NULL;
	int r = names_of(policy_dir, name, &n, err);
	if (r < 0 || (r = read_parse(fd, n.label, n.path, n.what, &p, err)) < 0)
		return r;
	p->name = xstrdup(name);
	*ret = TAKE_PTR(p);
	return 0;
}

int policy_load(const char *policy_dir, const char *name, struct policy **ret, struct error *err)
{
	struct stat st;
	_cleanup_close_ int fd = policy_open(policy_dir, name, &st, err);
	return fd < 0 ? fd : policy_read(fd, policy_dir, name, ret, err);
}

/* "dir/web.json" -> "web"; NULL when nothing is left. */
static char *file_stem(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t len = strlen(base);
	if (len >= 5 && strcmp(base + len - 5, ".json") == 0)
		len -= 5;
	if (len == 0)
		return NULL;
	char *stem = strndup(base, len);
	if (!stem)
		abort();
	return stem;
}

int policy_load_file(const char *path, struct policy **ret, struct error *err)
{
	_cleanup_free_ char *what = xasprintf("policy %s", path);
	_cleanup_policy_ struct policy *p = NULL;
	struct stat st;
	_cleanup_close_ int fd = open_checked("policy", path, false, &st, err);
	if (fd < 0)
		return fd;
	int r = read_parse(fd, "policy", path, what, &p, err);
	if (r < 0)
		return r;
	p->name = file_stem(path);
	*ret = TAKE_PTR(p);
	return 0;
}
