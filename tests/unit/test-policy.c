/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "auditgaps.h"
#include "policy.h"
#include "unit.h"

/* Tests write JSON with ' for " to stay readable. */
static char *dq(const char *s)
{
	char *t = xstrdup(s);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	return t;
}

/* The error message of parsing s (malloc'ed), or NULL when it parsed. */
static char *parse_err(const char *s)
{
	_cleanup_free_ char *json = dq(s);
	struct policy *p = NULL;
	struct error err = { 0 };
	int r = policy_parse(json, "policy t.json", &p, &err);
	policy_free(p);
	if (r == 0)
		return NULL;
	if (r != -EINVAL || !err.msg)
		printf("# unexpected r=%d msg=%s\n", r, err.msg ? err.msg : "(null)");
	return err.msg;
}

static struct policy *parse_ok(const char *s)
{
	_cleanup_free_ char *json = dq(s);
	struct policy *p = NULL;
	struct error err = { 0 };
	if (policy_parse(json, "policy t.json", &p, &err) < 0) {
		printf("# policy_parse: %s\n", err.msg);
		err_clear(&err);
		return NULL;
	}
	return p;
}

#define CHECK_BAD(json, needle)							\
	do {									\
		char *_m = parse_err(json);					\
		CHECK_STR_CONTAINS(_m, needle);					\
		free(_m);							\
	} while (0)

static int nr(const char *name) { return seccomp_syscall_resolve_name(name); }

static const char spec_example[] =
	"{ 'audit': { 'syscalls': ['execve', 'openat', 'connect'] },"
	"  'network': {"
	"    'egress':  { 'default': 'allow',"
	"                 'rules': [ { 'action': 'deny', 'cidr': '10.0.0.0/8', 'protocol': 'tcp', 'ports': '22,6000-6100' } ] },"
	"    'ingress': { 'default': 'deny',"
	"                 'rules': [ { 'action': 'allow', 'cidr': '0.0.0.0/0', 'protocol': 'tcp', 'ports': '8080' } ] }"
	"  },"
	"  'telemetry': { 'syscalls': true } }";

/* --- policy_parse: good documents ----------------------------------------------------- */

TEST(empty_policy_defaults)
{
	_cleanup_policy_ struct policy *p = parse_ok("{}");
	CHECK(p);
	if (!p)
		return;
	CHECK(!p->name);
	CHECK(!p->audit);
	CHECK(!p->audit_all);
	CHECK_INT_EQ(p->n_audit_syscalls, 0);
	CHECK(!p->network);
	CHECK(!p->egress.present);
	CHECK(!p->ingress.present);
	CHECK(p->telemetry);
	CHECK(!p->telemetry_syscalls);
}

TEST(spec_example)
{
	_cleanup_policy_ struct policy *p = parse_ok(spec_example);
	CHECK(p);
	if (!p)
		return;
	CHECK(p->audit);
	CHECK(!p->audit_all);
	CHECK_INT_EQ(p->n_audit_syscalls, 3);
	int want[] = { nr("execve"), nr("openat"), nr("connect") };
	/* sorted ascending, whatever the arch's numbers are */
	for (size_t i = 1; i < p->n_audit_syscalls; i++)
		CHECK(p->audit_syscalls[i - 1] < p->audit_syscalls[i]);
	for (size_t i = 0; i < 3; i++) {
		bool found = false;
		for (size_t j = 0; j < p->n_audit_syscalls; j++)
			found |= p->audit_syscalls[j] == want[i];
		CHECK(found);
	}
	CHECK(p->network);

	CHECK(p->egress.present);
	CHECK_INT_EQ(p->egress.def, ACTION_ALLOW);
	CHECK_INT_EQ(p->egress.n_rules, 1);
	struct net_rule *r = &p->egress.rules[0];
	CHECK_INT_EQ(r->action, ACTION_DENY);
	CHECK_INT_EQ(r->family, AF_INET);
	CHECK(memcmp(r->addr, (uint8_t[16]){ 10 }, 16) == 0);
	CHECK_INT_EQ(r->prefixlen, 8);
	CHECK_INT_EQ(r->protocol, PROTO_TCP);
	CHECK_INT_EQ(r->n_ports, 2);
	if (r->n_ports == 2) {
		CHECK_INT_EQ(r->ports[0].first, 22);
		CHECK_INT_EQ(r->ports[0].last, 22);
		CHECK_INT_EQ(r->ports[1].first, 6000);
		CHECK_INT_EQ(r->ports[1].last, 6100);
	}

	CHECK(p->ingress.present);
	CHECK_INT_EQ(p->ingress.def, ACTION_DENY);
	CHECK_INT_EQ(p->ingress.n_rules, 1);
	r = &p->ingress.rules[0];
	CHECK_INT_EQ(r->action, ACTION_ALLOW);
	CHECK_INT_EQ(r->family, AF_INET);
	CHECK_INT_EQ(r->prefixlen, 0);
	CHECK_INT_EQ(r->n_ports, 1);
	if (r->n_ports == 1)
		CHECK(r->ports[0].first == 8080 && r->ports[0].last == 8080);

	CHECK(p->telemetry);
	CHECK(p->telemetry_syscalls);
}

TEST(audit_empty_section_and_empty_list)
{
	_cleanup_policy_ struct policy *a = parse_ok("{'audit': {}}");
	_cleanup_policy_ struct policy *b = parse_ok("{'audit': {'syscalls': []}}");
	CHECK(a && b);
	if (!a || !b)
		return;
	CHECK(a->audit && !a->audit_all && a->n_audit_syscalls == 0 && !a->audit_syscalls);
	CHECK(b->audit && !b->audit_all && b->n_audit_syscalls == 0 && !b->audit_syscalls);
	CHECK(!b->telemetry_syscalls);
}

TEST(audit_all_implies_syscall_telemetry)
{
	_cleanup_policy_ struct policy *p = parse_ok("{'audit': {'syscalls': ['all']}}");
	_cleanup_policy_ struct policy *q = parse_ok("{'audit': {'syscalls': ['all']}, 'telemetry': false}");
	_cleanup_policy_ struct policy *s = parse_ok("{'audit': {'syscalls': ['all']}, 'telemetry': {'syscalls': false}}");
	CHECK(p && q && s);
	if (!p || !q || !s)
		return;
	CHECK(p->audit && p->audit_all && p->n_audit_syscalls == 0);
	CHECK(p->telemetry && p->telemetry_syscalls);
	CHECK(q->audit_all && !q->telemetry && q->telemetry_syscalls);
	CHECK(s->audit_all && s->telemetry_syscalls);
}

TEST(audit_duplicates_collapsed_and_sorted)
{
	_cleanup_policy_ struct policy *p =
		parse_ok("{'audit': {'syscalls': ['openat', 'execve', 'openat', 'read', 'execve']}}");
	CHECK(p);
	if (!p)
		return;
	CHECK_INT_EQ(p->n_audit_syscalls, 3);
	for (size_t i = 1; i < p->n_audit_syscalls; i++)
		CHECK(p->audit_syscalls[i - 1] < p->audit_syscalls[i]);
	int expect[] = { nr("execve"), nr("openat"), nr("read") };
	for (size_t i = 0; i < 3; i++) {
		bool found = false;
		for (size_t j = 0; j < p->n_audit_syscalls; j++)
			found |= p->audit_syscalls[j] == expect[i];
		CHECK(found);
	}
}

TEST(audit_gaps_by_family)
{
	_cleanup_policy_ struct policy *p = parse_ok("{\"audit\":{\"syscalls\":[\"openat\",\"creat\",\"renameat2\",\"connect\"]}}");
	char **g = audit_gaps(p);
	CHECK(g[0] && g[1] && !g[2]);
	CHECK_STR_EQ(g[0], "openat is audited, but not open, openat2, open_by_handle_at: a process can use those unaudited");
	CHECK_STR_EQ(g[1], "renameat2 is audited, but not rename, renameat: a process can use those unaudited");
	strv_free(g);
	_cleanup_policy_ struct policy *all = parse_ok("{\"audit\":{\"syscalls\":[\"all\"]}}");
	g = audit_gaps(all);
	CHECK(!g[0]);
	strv_free(g);
	_cleanup_policy_ struct policy *none = parse_ok("{\"telemetry\":true}");
	g = audit_gaps(none);
	CHECK(!g[0]);
	strv_free(g);
}

TEST(telemetry_forms)
{
	_cleanup_policy_ struct policy *t = parse_ok("{'telemetry': true}");
	_cleanup_policy_ struct policy *f = parse_ok("{'telemetry': false}");
	_cleanup_policy_ struct policy *o = parse_ok("{'telemetry': {}}");
	_cleanup_policy_ struct policy *s = parse_ok("{'telemetry': {'syscalls': true}}");
	_cleanup_policy_ struct policy *n = parse_ok("{'telemetry': {'syscalls': false}}");
	CHECK(t && f && o && s && n);
	if (!t || !f || !o || !s || !n)
		return;
	CHECK(t->telemetry && !t->telemetry_syscalls);
	CHECK(!f->telemetry && !f->telemetry_syscalls);
	CHECK(o->telemetry && !o->telemetry_syscalls);
	CHECK(s->telemetry && s->telemetry_syscalls);
	CHECK(n->telemetry && !n->telemetry_syscalls);
}

TEST(network_defaults)
{
	_cleanup_policy_ struct policy *p = parse_ok(
		"{'network': {'egress': {}, 'ingress': {'rules': [{'action': 'deny', 'cidr': '192.168.0.0/16'}]}}}");
	_cleanup_policy_ struct policy *q = parse_ok("{'network': {}}");
	CHECK(p && q);
	if (!p || !q)
		return;
	CHECK(p->network);
	CHECK(p->egress.present && p->egress.def == ACTION_ALLOW && p->egress.n_rules == 0);
	CHECK(p->ingress.present && p->ingress.def == ACTION_ALLOW && p->ingress.n_rules == 1);
	if (p->ingress.n_rules == 1) {
		struct net_rule *r = &p->ingress.rules[0];
		CHECK_INT_EQ(r->protocol, PROTO_ANY);
		CHECK(!r->ports && r->n_ports == 0);
		CHECK(memcmp(r->addr, (uint8_t[16]){ 192, 168 }, 16) == 0);
		CHECK_INT_EQ(r->prefixlen, 16);
	}
	CHECK(q->network && !q->egress.present && !q->ingress.present);
}

TEST(network_protocols_and_families)
{
	_cleanup_policy_ struct policy *p = parse_ok(
		"{'network': {'egress': {'default': 'deny', 'rules': ["
		"  {'action': 'allow', 'cidr': 'fd00::/8', 'protocol': 'udp', 'ports': '53'},"
		"  {'action': 'allow', 'cidr': '::1', 'protocol': 'icmp'},"
		"  {'action': 'allow', 'cidr': '1.2.3.4', 'protocol': 'any', 'ports': '443,80'},"
		"  {'action': 'deny', 'cidr': '::ffff:10.0.0.0/104'}"
		"]}}}");
	CHECK(p);
	if (!p)
		return;
	CHECK_INT_EQ(p->egress.def, ACTION_DENY);
	CHECK_INT_EQ(p->egress.n_rules, 4);
	if (p->egress.n_rules != 4)
		return;
	struct net_rule *r = p->egress.rules;
	CHECK_INT_EQ(r[0].family, AF_INET6);
	CHECK_INT_EQ(r[0].addr[0], 0xfd);
	CHECK_INT_EQ(r[0].prefixlen, 8);
	CHECK_INT_EQ(r[0].protocol, PROTO_UDP);
	CHECK_INT_EQ(r[1].family, AF_INET6);
	CHECK_INT_EQ(r[1].prefixlen, 128);
	CHECK_INT_EQ(r[1].addr[15], 1);
	CHECK_INT_EQ(r[1].protocol, PROTO_ICMP);
	CHECK(!r[1].ports);
	CHECK_INT_EQ(r[2].family, AF_INET);
	CHECK_INT_EQ(r[2].prefixlen, 32);
	CHECK(memcmp(r[2].addr, (uint8_t[16]){ 1, 2, 3, 4 }, 16) == 0);
	CHECK_INT_EQ(r[2].protocol, PROTO_ANY);
	CHECK_INT_EQ(r[2].n_ports, 2);
	if (r[2].n_ports == 2)
		CHECK(r[2].ports[0].first == 80 && r[2].ports[1].first == 443);
	/* IPv4-mapped IPv6 prefixes become the IPv4 rule. */
	CHECK_INT_EQ(r[3].family, AF_INET);
	CHECK_INT_EQ(r[3].prefixlen, 8);
	CHECK(memcmp(r[3].addr, (uint8_t[16]){ 10 }, 16) == 0);
}

/* --- policy_parse: bad documents; every message names the file and field ------------- */

TEST(bad_json)
{
	CHECK_BAD("", "policy t.json: invalid JSON");
	CHECK_BAD("{", "policy t.json: invalid JSON");
	CHECK_BAD("{'audit': {}", "policy t.json: invalid JSON");
	CHECK_BAD("{} x", "policy t.json: invalid JSON");
	CHECK_BAD("{'audit': {},}", "policy t.json: invalid JSON");
	CHECK_BAD("[]", "policy t.json: must be an object");
	CHECK_BAD("null", "policy t.json: must be an object");
	CHECK_BAD("'audit'", "policy t.json: must be an object");

	struct policy *p = NULL;
	struct error err = { 0 };
	CHECK_INT_EQ(policy_parse(NULL, "policy t.json", &p, &err), -EINVAL);
	CHECK(!p);
	err_clear(&err);
}

TEST(unknown_keys_at_every_level)
{
	CHECK_BAD("{'audti': {}}", "policy t.json: unknown key \"audti\" (expected audit, network, telemetry)");
	CHECK_BAD("{'audit': {'syscall': []}}", "policy t.json: audit: unknown key \"syscall\"");
	CHECK_BAD("{'network': {'egres': {}}}", "policy t.json: network: unknown key \"egres\"");
	CHECK_BAD("{'network': {'ingress': {'rule': []}}}", "policy t.json: network.ingress: unknown key \"rule\"");
	CHECK_BAD("{'network': {'egress': {'rules': [{'action': 'deny', 'cidr': '10.0.0.0/8'},"
		  " {'action': 'deny', 'cidr': '10.0.0.0/8', 'port': '22'}]}}}",
		  "policy t.json: network.egress.rules[1]: unknown key \"port\"");
	CHECK_BAD("{'telemetry': {'syscall': true}}", "policy t.json: telemetry: unknown key \"syscall\"");
	/* Key names are quoted and escaped, never printed raw. */
	CHECK_BAD("{'a\\u0001\\n': 1}", "unknown key \"a\\u0001\\n\"");
}

TEST(duplicate_keys)
{
	CHECK_BAD("{'audit': {}, 'audit': {}}", "policy t.json: duplicate key \"audit\"");
	CHECK_BAD("{'network': {'egress': {'default': 'allow', 'default': 'deny'}}}",
		  "network.egress: duplicate key \"default\"");
	CHECK_BAD("{'network': {'egress': {'rules': [{'action': 'deny', 'action': 'allow', 'cidr': '::/0'}]}}}",
		  "network.egress.rules[0]: duplicate key \"action\"");
}

TEST(section_types)
{
	CHECK_BAD("{'audit': true}", "policy t.json: audit: must be an object");
	CHECK_BAD("{'audit': null}", "policy t.json: audit: must be an object");
	CHECK_BAD("{'audit': ['execve']}", "policy t.json: audit: must be an object");
	CHECK_BAD("{'network': []}", "policy t.json: network: must be an object");
	CHECK_BAD("{'network': {'egress': 'deny'}}", "policy t.json: network.egress: must be an object");
	CHECK_BAD("{'network': {'ingress': null}}", "policy t.json: network.ingress: must be an object");
	CHECK_BAD("{'telemetry': 'yes'}", "policy t.json: telemetry: must be true, false or an object");
	CHECK_BAD("{'telemetry': 1}", "policy t.json: telemetry: must be true, false or an object");
	CHECK_BAD("{'telemetry': null}", "policy t.json: telemetry: must be true, false or an object");
	CHECK_BAD("{'telemetry': {'syscalls': 1}}", "policy t.json: telemetry.syscalls: must be true or false");
	CHECK_BAD("{'telemetry': {'syscalls': 'true'}}", "policy t.json: telemetry.syscalls: must be true or false");
}

TEST(audit_syscalls_errors)
{
	CHECK_BAD("{'audit': {'syscalls': 'execve'}}", "policy t.json: audit.syscalls: must be an array");
	CHECK_BAD("{'audit': {'syscalls': {}}}", "policy t.json: audit.syscalls: must be an array");
	CHECK_BAD("{'audit': {'syscalls': [59]}}", "policy t.json: audit.syscalls[0]: must be a string");
	CHECK_BAD("{'audit': {'syscalls': ['execve', null]}}", "policy t.json: audit.syscalls[1]: must be a string");
	CHECK_BAD("{'audit': {'syscalls': ['execve', 'nosuchcall']}}",
		  "policy t.json: audit.syscalls[1]: unknown syscall \"nosuchcall\"");
	CHECK_BAD("{'audit': {'syscalls': ['']}}", "audit.syscalls[0]: unknown syscall \"\"");
	CHECK_BAD("{'audit': {'syscalls': ['EXECVE']}}", "audit.syscalls[0]: unknown syscall \"EXECVE\"");
	CHECK_BAD("{'audit': {'syscalls': ['59']}}", "audit.syscalls[0]: unknown syscall \"59\"");
	CHECK_BAD("{'audit': {'syscalls': [' execve']}}", "audit.syscalls[0]: unknown syscall");
	CHECK_BAD("{'audit': {'syscalls': ['ALL']}}", "audit.syscalls[0]: unknown syscall \"ALL\"");
#ifdef __x86_64__
	/* Pseudo-syscalls (negative numbers in libseccomp) are not syscalls of this arch. */
	CHECK_BAD("{'audit': {'syscalls': ['socketcall']}}", "audit.syscalls[0]: unknown syscall \"socketcall\"");
	CHECK_BAD("{'audit': {'syscalls': ['ipc']}}", "audit.syscalls[0]: unknown syscall \"ipc\"");
#endif
	CHECK_BAD("{'audit': {'syscalls': ['all', 'execve']}}", "audit.syscalls: \"all\" must be the only entry");
	CHECK_BAD("{'audit': {'syscalls': ['execve', 'all']}}", "audit.syscalls: \"all\" must be the only entry");
	CHECK_BAD("{'audit': {'syscalls': ['all', 'all']}}", "audit.syscalls: \"all\" must be the only entry");
}

TEST(direction_errors)
{
	CHECK_BAD("{'network': {'egress': {'default': 'reject'}}}",
		  "policy t.json: network.egress.default: must be \"allow\" or \"deny\", not \"reject\"");
	CHECK_BAD("{'network': {'egress': {'default': 'Allow'}}}", "network.egress.default: must be \"allow\" or \"deny\"");
	CHECK_BAD("{'network': {'ingress': {'default': true}}}", "network.ingress.default: must be a string");
	CHECK_BAD("{'network': {'ingress': {'rules': {}}}}", "network.ingress.rules: must be an array");
	CHECK_BAD("{'network': {'ingress': {'rules': null}}}", "network.ingress.rules: must be an array");
	CHECK_BAD("{'network': {'ingress': {'rules': ['deny']}}}", "network.ingress.rules[0]: must be an object");
}

#define RULE(x) "{'network': {'egress': {'rules': [" x "]}}}"
#define OK_RULE "{'action': 'deny', 'cidr': '10.0.0.0/8'}"

TEST(rule_errors)
{
	CHECK_BAD(RULE("{'cidr': '10.0.0.0/8'}"), "policy t.json: network.egress.rules[0].action: missing");
	CHECK_BAD(RULE("{'action': 'deny'}"), "policy t.json: network.egress.rules[0].cidr: missing");
	CHECK_BAD(RULE("{}"), "network.egress.rules[0].action: missing");
	CHECK_BAD(RULE("{'action': 'drop', 'cidr': '10.0.0.0/8'}"),
		  "network.egress.rules[0].action: must be \"allow\" or \"deny\", not \"drop\"");
	CHECK_BAD(RULE("{'action': 1, 'cidr': '10.0.0.0/8'}"), "network.egress.rules[0].action: must be a string");
	CHECK_BAD(RULE("{'action': 'deny', 'cidr': 10}"), "network.egress.rules[0].cidr: must be a string");
	CHECK_BAD(RULE("{'action': 'deny', 'cidr': '10.0.0.0/8', 'protocol': 'sctp'}"),
		  "network.egress.rules[0].protocol: must be \"tcp\", \"udp\", \"icmp\" or \"any\", not \"sctp\"");
	CHECK_BAD(RULE("{'action': 'deny', 'cidr': '10.0.0.0/8', 'protocol': 'TCP'}"),
		  "network.egress.rules[0].protocol: must be");
	CHECK_BAD(RULE("{'action': 'deny', 'cidr': '10.0.0.0/8', 'protocol': 6}"),
		  "network.egress.rules[0].protocol: must be a string");
	CHECK_BAD(RULE("{'action': 'deny', 'cidr': '10.0.0.0/8', 'ports': 22}"),
		  "network.egress.rules[0].ports: must be a string");
	CHECK_BAD(RULE("{'action': 'deny', 'cidr': '10.0.0.0/8', 'protocol': 'icmp', 'ports': '22'}"),
		  "network.egress.rules[0].ports: not allowed with protocol \"icmp\"");
	CHECK_BAD(RULE(OK_RULE ", {'action': 'deny', 'cidr': '10.0.0.0/8', 'protocol': 'tcp', 'ports': '0'}"),
		  "policy t.json: network.egress.rules[1].ports: invalid ports \"0\"");
	CHECK_BAD(RULE("{'action': 'deny', 'cidr': '10.0.0.0/8', 'ports': '6100-6000'}"),
		  "network.egress.rules[0].ports: invalid ports \"6100-6000\": range 6100-6000 is reversed");
	CHECK_BAD(RULE("{'action': 'deny', 'cidr': '10.0.0.0/8', 'ports': ''}"),
		  "network.egress.rules[0].ports: invalid ports \"\": empty");
}

TEST(rule_cidr_errors)
{
	/* The exact message from the brief. */
	CHECK_BAD(RULE(OK_RULE ", " OK_RULE ", {'action': 'deny', 'cidr': '10.0.0.0/33'}"),
		  "policy t.json: network.egress.rules[2].cidr: invalid CIDR \"10.0.0.0/33\"");
	CHECK_BAD(RULE("{'action': 'deny', 'cidr': '10.0.0.1/8'}"),
		  "network.egress.rules[0].cidr: invalid CIDR \"10.0.0.1/8\": host bits are set (the network is 10.0.0.0/8)");
	CHECK_BAD(RULE("{'action': 'deny', 'cidr': 'fd00::1/8'}"),
		  "invalid CIDR \"fd00::1/8\": host bits are set (the network is fd00::/8)");
	CHECK_BAD(RULE("{'action': 'deny', 'cidr': 'example.com'}"),
		  "network.egress.rules[0].cidr: invalid CIDR \"example.com\": not an IPv4 or IPv6 address");
	CHECK_BAD(RULE("{'action': 'deny', 'cidr': ''}"), "network.egress.rules[0].cidr: invalid CIDR \"\"");
	CHECK_BAD(RULE("{'action': 'deny', 'cidr': '::/129'}"), "prefix length must be 0 to 128");
	CHECK_BAD("{'network': {'ingress': {'rules': [{'action': 'allow', 'cidr': '1.2.3.4/'}]}}}",
		  "network.ingress.rules[0].cidr: invalid CIDR \"1.2.3.4/\": prefix length must be 0 to 32");
}

static char *many_rules(size_t n)
{
	static const char head[] = "{\"network\": {\"egress\": {\"rules\": [";
	static const char rule[] = "{\"action\":\"deny\",\"cidr\":\"10.0.0.0/8\"},";
	size_t len = sizeof(head) + n * (sizeof(rule) - 1) + 8;
	char *s = xcalloc(1, len), *p = s;
	p = stpcpy(p, head);
	for (size_t i = 0; i < n; i++)
		p = stpcpy(p, rule);
	if (n)
		p--;
	strcpy(p, "]}}}");
	return s;
}

TEST(rule_count_bound)
{
	CHECK_INT_EQ(POLICY_RULES_MAX, 65536);
	_cleanup_free_ char *ok = many_rules(65536);
	_cleanup_free_ char *bad = many_rules(65537);
	struct policy *p = NULL;
	struct error err = { 0 };
	CHECK_INT_EQ(policy_parse(ok, "policy t.json", &p, &err), 0);
	CHECK(p && p->egress.n_rules == 65536);
	policy_free(p);
	p = NULL;
	CHECK_INT_EQ(policy_parse(bad, "policy t.json", &p, &err), -EINVAL);
	CHECK(!p);
	CHECK_STR_CONTAINS(err.msg, "policy t.json: network.egress.rules: too many rules (65537, at most 65536)");
	err_clear(&err);
}

TEST(parse_leaves_ret_alone_on_error)
{
	struct policy *sentinel = (struct policy *)0x1;
	struct policy *p = sentinel;
	struct error err = { 0 };
	_cleanup_free_ char *json = dq(RULE(OK_RULE ", {'action': 'deny', 'cidr': '10.0.0.0/8', 'ports': 'x'}"));
	CHECK(policy_parse(json, "policy t.json", &p, &err) < 0);
	CHECK(p == sentinel);
	err_clear(&err);
}

/* --- parse_ports ----------------------------------------------------------------------- */

static char *ports_err(const char *s)
{
	struct port_range *r = (struct port_range *)0x1;
	size_t n = 99;
	struct error err = { 0 };
	if (parse_ports(s, &r, &n, &err) == 0) {
		free(r);
		return NULL;
	}
	if (r != (struct port_range *)0x1 || n != 99)
		printf("# parse_ports wrote its outputs on failure\n");
	return err.msg ? err.msg : xstrdup("(no message)");
}

#define CHECK_PORTS_BAD(s, needle)						\
	do {									\
		char *_m = ports_err(s);					\
		CHECK_STR_CONTAINS(_m, needle);					\
		free(_m);							\
	} while (0)

static bool ports_are(const char *s, const struct port_range *want, size_t n_want)
{
	struct port_range *r = NULL;
	size_t n = 0;
	struct error err = { 0 };
	if (parse_ports(s, &r, &n, &err) < 0) {
		printf("# parse_ports(\"%s\"): %s\n", s, err.msg);
		err_clear(&err);
		return false;
	}
	bool ok = n == n_want && memcmp(r, want, n * sizeof(*r)) == 0;
	free(r);
	return ok;
}

#define PR(...) ((const struct port_range[]){ __VA_ARGS__ })

TEST(ports_good)
{
	CHECK(ports_are("22", PR({ 22, 22 }), 1));
	CHECK(ports_are("1", PR({ 1, 1 }), 1));
	CHECK(ports_are("65535", PR({ 65535, 65535 }), 1));
	CHECK(ports_are("1-65535", PR({ 1, 65535 }), 1));
	CHECK(ports_are("80-80", PR({ 80, 80 }), 1));
	CHECK(ports_are("22,6000-6100", PR({ 22, 22 }, { 6000, 6100 }), 2));
	/* Sorted, overlapping and adjacent ranges merged. */
	CHECK(ports_are("443,80", PR({ 80, 80 }, { 443, 443 }), 2));
	CHECK(ports_are("1-10,5-20,21,30", PR({ 1, 21 }, { 30, 30 }), 2));
	CHECK(ports_are("80,80,80", PR({ 80, 80 }), 1));
	CHECK(ports_are("100-200,150", PR({ 100, 200 }), 1));
	CHECK(ports_are("65535,1", PR({ 1, 1 }, { 65535, 65535 }), 2));
}

TEST(ports_bad)
{
	CHECK_PORTS_BAD("", "empty port list");
	CHECK_PORTS_BAD(NULL, "empty port list");
	CHECK_PORTS_BAD("0", "\"0\": ports are 1 to 65535");
	CHECK_PORTS_BAD("65536", "\"65536\": ports are 1 to 65535");
	CHECK_PORTS_BAD("99999999999999999999999", "ports are 1 to 65535");
	CHECK_PORTS_BAD("0-80", "ports are 1 to 65535");
	CHECK_PORTS_BAD("80-65536", "ports are 1 to 65535");
	CHECK_PORTS_BAD("10-5", "range 10-5 is reversed");
	CHECK_PORTS_BAD("6100-6000", "range 6100-6000 is reversed");
	CHECK_PORTS_BAD("1-", "\"1-\" is not a port or a range");
	CHECK_PORTS_BAD("-1", "\"-1\" is not a port or a range");
	CHECK_PORTS_BAD("-", "is not a port or a range");
	CHECK_PORTS_BAD("1--2", "is not a port or a range");
	CHECK_PORTS_BAD("1-2-3", "\"1-2-3\" is not a port or a range");
	CHECK_PORTS_BAD(",", "empty item");
	CHECK_PORTS_BAD("1,", "empty item");
	CHECK_PORTS_BAD(",1", "empty item");
	CHECK_PORTS_BAD("1,,2", "empty item");
	CHECK_PORTS_BAD(" 80", "\" 80\" is not a port");
	CHECK_PORTS_BAD("80 ", "\"80 \" is not a port");
	CHECK_PORTS_BAD("80, 81", "\" 81\" is not a port");
	CHECK_PORTS_BAD("80\t", "\"80\\t\" is not a port");
	CHECK_PORTS_BAD("+80", "is not a port");
	CHECK_PORTS_BAD("080", "is not a port");
	CHECK_PORTS_BAD("0x50", "is not a port");
	CHECK_PORTS_BAD("http", "is not a port");
	CHECK_PORTS_BAD("80;81", "is not a port");
}

TEST(ports_item_limit)
{
	/* 64 items are fine, 65 are not (counted before merging). */
	char *s = xstrdup("1");
	for (int i = 2; i <= 64; i++) {
		char *t = xasprintf("%s,%d", s, i);
		free(s);
		s = t;
	}
	struct port_range *r = NULL;
	size_t n = 0;
	struct error err = { 0 };
	CHECK_INT_EQ(parse_ports(s, &r, &n, &err), 0);
	CHECK_INT_EQ(n, 1);
	if (n == 1)
		CHECK(r[0].first == 1 && r[0].last == 64);
	free(r);
	char *t = xasprintf("%s,1", s);
	CHECK_PORTS_BAD(t, "more than 64 items");
	free(t);
	free(s);
}

/* --- parse_cidr ------------------------------------------------------------------------ */

static bool cidr_is(const char *s, int family, const char *addr, int prefixlen)
{
	int f = -1;
	uint8_t a[16], want[16] = { 0 };
	uint8_t len = 255;
	if (parse_cidr(s, &f, a, &len) < 0) {
		printf("# parse_cidr(\"%s\") failed\n", s);
		return false;
	}
	inet_pton(family, addr, want);
	return f == family && memcmp(a, want, 16) == 0 && len == prefixlen;
}

static bool cidr_bad(const char *s)
{
	int f = 12345;
	uint8_t a[16] = { 0xaa }, len = 200;
	return parse_cidr(s, &f, a, &len) == -EINVAL && f == 12345 && a[0] == 0xaa && len == 200;
}

TEST(cidr_good)
{
	CHECK(cidr_is("10.0.0.0/8", AF_INET, "10.0.0.0", 8));
	CHECK(cidr_is("0.0.0.0/0", AF_INET, "0.0.0.0", 0));
	CHECK(cidr_is("1.2.3.4", AF_INET, "1.2.3.4", 32));
	CHECK(cidr_is("1.2.3.4/32", AF_INET, "1.2.3.4", 32));
	CHECK(cidr_is("255.255.255.255/32", AF_INET, "255.255.255.255", 32));
	CHECK(cidr_is("192.168.128.0/17", AF_INET, "192.168.128.0", 17));
	CHECK(cidr_is("fd00::/8", AF_INET6, "fd00::", 8));
	CHECK(cidr_is("::1", AF_INET6, "::1", 128));
	CHECK(cidr_is("::/0", AF_INET6, "::", 0));
	CHECK(cidr_is("2001:db8::/32", AF_INET6, "2001:db8::", 32));
	CHECK(cidr_is("2001:DB8:0:0:0:0:0:1/128", AF_INET6, "2001:db8::1", 128));
	/* IPv4-mapped: the same as the IPv4 rule. */
	CHECK(cidr_is("::ffff:1.2.3.4", AF_INET, "1.2.3.4", 32));
	CHECK(cidr_is("::ffff:10.0.0.0/104", AF_INET, "10.0.0.0", 8));
	CHECK(cidr_is("::ffff:0:0/96", AF_INET, "0.0.0.0", 0));
	CHECK(cidr_is("::ffff:a00:0/104", AF_INET, "10.0.0.0", 8));
	/* Wider than the mapped range: stays IPv6. */
	CHECK(cidr_is("::/95", AF_INET6, "::", 95));
	/* IPv4-compatible (deprecated) is not mapped. */
	CHECK(cidr_is("::1.2.3.4", AF_INET6, "::1.2.3.4", 128));
}

TEST(cidr_bad)
{
	CHECK(cidr_bad(NULL));
	CHECK(cidr_bad(""));
	CHECK(cidr_bad("/8"));
	CHECK(cidr_bad("10.0.0.0/"));
	CHECK(cidr_bad("10.0.0.0/33"));
	CHECK(cidr_bad("10.0.0.0/4294967304"));
	CHECK(cidr_bad("10.0.0.0/-1"));
	CHECK(cidr_bad("10.0.0.0/+8"));
	CHECK(cidr_bad("10.0.0.0/08"));
	CHECK(cidr_bad("10.0.0.0/8/8"));
	CHECK(cidr_bad("10.0.0.0/8 "));
	CHECK(cidr_bad(" 10.0.0.0/8"));
	CHECK(cidr_bad("10.0.0.0 /8"));
	CHECK(cidr_bad("10.0.0/8"));
	CHECK(cidr_bad("10"));
	CHECK(cidr_bad("10.0.0.0.0"));
	CHECK(cidr_bad("256.0.0.0"));
	CHECK(cidr_bad("010.0.0.0/8"));
	CHECK(cidr_bad("0x0a.0.0.0/8"));
	CHECK(cidr_bad("::/129"));
	CHECK(cidr_bad("::/1000"));
	CHECK(cidr_bad(":::/8"));
	CHECK(cidr_bad("fe80::1%eth0"));
	CHECK(cidr_bad("fd00::/8x"));
	CHECK(cidr_bad("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255:1/128"));
	/* host bits */
	CHECK(cidr_bad("10.0.0.1/8"));
	CHECK(cidr_bad("10.128.0.0/8"));
	CHECK(cidr_bad("1.2.3.4/0"));
	CHECK(cidr_bad("192.168.1.1/31"));
	CHECK(cidr_bad("fd00::1/8"));
	CHECK(cidr_bad("fd00::/7"));
	CHECK(cidr_bad("::1/127"));
	CHECK(cidr_bad("::ffff:1.2.3.4/97"));
}

/* --- policy_load / policy_load_file ---------------------------------------------------- */

static char *tmpdir(void)
{
	char *d = xstrdup("/tmp/ocibpf-test-policy.XXXXXX");
	if (!mkdtemp(d))
		abort();
	return d;
}

static void put(const char *dir, const char *file, const char *text, mode_t mode)
{
	_cleanup_free_ char *path = path_join(dir, file);
	_cleanup_free_ char *json = dq(text);
	if (write_file_atomic(path, json, strlen(json), mode) < 0)
		abort();
}

/* The error message of policy_load (malloc'ed), NULL when it loaded. */
static char *load_err(const char *dir, const char *name, int *ret_r)
{
	struct policy *p = NULL;
	struct error err = { 0 };
	int r = policy_load(dir, name, &p, &err);
	if (ret_r)
		*ret_r = r;
	policy_free(p);
	return r < 0 ? (err.msg ? err.msg : xstrdup("(no message)")) : NULL;
}

#define CHECK_LOAD_BAD(dir, name, needle)					\
	do {									\
		char *_m = load_err(dir, name, NULL);				\
		CHECK_STR_CONTAINS(_m, needle);					\
		free(_m);							\
	} while (0)

TEST(load_good)
{
	_cleanup_free_ char *d = tmpdir();
	put(d, "web.json", spec_example, 0644);
	struct policy *p = NULL;
	struct error err = { 0 };
	CHECK_INT_EQ(policy_load(d, "web", &p, &err), 0);
	CHECK(p && p->name && strcmp(p->name, "web") == 0);
	CHECK(p && p->egress.n_rules == 1);
	policy_free(p);
	p = NULL;
	/* A trailing slash on the directory does not matter; 0600 and 0444 are fine too. */
	_cleanup_free_ char *slash = xasprintf("%s/", d);
	put(d, "a.b-c_d.json", "{}", 0600);
	CHECK_INT_EQ(policy_load(slash, "a.b-c_d", &p, &err), 0);
	CHECK(p && strcmp(p->name, "a.b-c_d") == 0);
	policy_free(p);
	p = NULL;
	put(d, "ro.json", "{}", 0444);
	CHECK_INT_EQ(policy_load(d, "ro", &p, &err), 0);
	policy_free(p);
	if (err.msg)
		printf("# %s\n", err.msg);
	err_clear(&err);
	rm_rf(d);
}

TEST(load_ownership_and_mode)
{
	_cleanup_free_ char *d = tmpdir();
	_cleanup_free_ char *path = path_join(d, "web.json");
	put(d, "web.json", "{}", 0644);

	CHECK(chown(path, 1000, 0) == 0);
	_cleanup_free_ char *want = xasprintf("policy web: %s is not owned by root", path);
	CHECK_LOAD_BAD(d, "web", want);
	CHECK(chown(path, 0, 1000) == 0); /* group does not matter */
	char *m = load_err(d, "web", NULL);
	CHECK(!m);
	free(m);

	CHECK(chmod(path, 0664) == 0);
	free(want);
	want = xasprintf("policy web: %s is writable by group or others", path);
	CHECK_LOAD_BAD(d, "web", want);
	CHECK(chmod(path, 0646) == 0);
	CHECK_LOAD_BAD(d, "web", want);
	CHECK(chmod(path, 0666) == 0);
	CHECK_LOAD_BAD(d, "web", want);
	int r = 0;
	CHECK(chmod(path, 0620) == 0);
	m = load_err(d, "web", &r);
	CHECK_STR_CONTAINS(m, "writable by group or others");
	CHECK_INT_EQ(r, -EPERM);
	free(m);

	/* policy_load_file skips the ownership and mode checks. */
	CHECK(chown(path, 1000, 1000) == 0);
	CHECK(chmod(path, 0666) == 0);
	struct policy *p = NULL;
	struct error err = { 0 };
	CHECK_INT_EQ(policy_load_file(path, &p, &err), 0);
	CHECK(p && p->name && strcmp(p->name, "web") == 0);
	policy_free(p);
	err_clear(&err);
	rm_rf(d);
}

TEST(load_file_types)
{
	_cleanup_free_ char *d = tmpdir();
	put(d, "real.json", "{}", 0644);
	_cleanup_free_ char *link = path_join(d, "link.json");
	_cleanup_free_ char *dir = path_join(d, "dir.json");
	_cleanup_free_ char *fifo = path_join(d, "fifo.json");
	CHECK(symlink("real.json", link) == 0);
	CHECK(mkdir(dir, 0755) == 0);
	CHECK(mkfifo(fifo, 0644) == 0);

	_cleanup_free_ char *want = xasprintf("policy link: %s is a symbolic link", link);
	CHECK_LOAD_BAD(d, "link", want);
	free(want);
	want = xasprintf("policy dir: %s is not a regular file", dir);
	CHECK_LOAD_BAD(d, "dir", want);
	free(want);
	/* Must not block waiting for a writer. */
	want = xasprintf("policy fifo: %s is not a regular file", fifo);
	CHECK_LOAD_BAD(d, "fifo", want);

	struct policy *p = NULL;
	struct error err = { 0 };
	CHECK(policy_load_file(link, &p, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "is a symbolic link");
	err_clear(&err);
	CHECK(policy_load_file(fifo, &p, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "is not a regular file");
	err_clear(&err);
	CHECK(!p);
	rm_rf(d);
}

TEST(load_missing)
{
	_cleanup_free_ char *d = tmpdir();
	int r = 0;
	char *m = load_err(d, "nope", &r);
	_cleanup_free_ char *want = xasprintf("policy nope: %s/nope.json: No such file or directory", d);
	CHECK_STR_EQ(m, want);
	CHECK_INT_EQ(r, -ENOENT);
	free(m);

	m = load_err("/nonexistent-ocibpf-dir", "web", &r);
	CHECK_STR_EQ(m, "policy web: /nonexistent-ocibpf-dir/web.json: No such file or directory");
	free(m);

	struct policy *p = NULL;
	struct error err = { 0 };
	_cleanup_free_ char *path = path_join(d, "x.json");
	CHECK_INT_EQ(policy_load_file(path, &p, &err), -ENOENT);
	CHECK_STR_CONTAINS(err.msg, path);
	CHECK_STR_CONTAINS(err.msg, "No such file or directory");
	err_clear(&err);
	rm_rf(d);
}

TEST(load_invalid_names)
{
	_cleanup_free_ char *d = tmpdir();
	put(d, "web.json", "{}", 0644);
	const char *bad[] = { "", "../web", "web/../web", ".web", "-web", "_web", "a/b", "web.json/", "we b",
			      "web\n", "%s" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int r = 0;
		char *m = load_err(d, bad[i], &r);
		CHECK_STR_CONTAINS(m, "invalid policy name");
		CHECK_INT_EQ(r, -EINVAL);
		free(m);
	}
	char *m = load_err(d, NULL, NULL);
	CHECK_STR_CONTAINS(m, "invalid policy name");
	free(m);
	/* The name is quoted and escaped. */
	m = load_err(d, "web\n", NULL);
	CHECK_STR_CONTAINS(m, "policy \"web\\n\": invalid policy name");
	free(m);
	char long_name[66];
	memset(long_name, 'a', 65);
	long_name[65] = '\0';
	m = load_err(d, long_name, NULL);
	CHECK_STR_CONTAINS(m, "invalid policy name");
	free(m);
	long_name[64] = '\0';
	_cleanup_free_ char *file = xasprintf("%s.json", long_name);
	put(d, file, "{}", 0644);
	m = load_err(d, long_name, NULL);
	CHECK(!m);
	free(m);
	rm_rf(d);
}

TEST(load_bad_content)
{
	_cleanup_free_ char *d = tmpdir();
	_cleanup_free_ char *path = path_join(d, "bad.json");
	put(d, "bad.json", RULE("{'action': 'deny', 'cidr': '10.0.0.0/33'}"), 0644);
	_cleanup_free_ char *want =
		xasprintf("policy bad: %s: network.egress.rules[0].cidr: invalid CIDR \"10.0.0.0/33\"", path);
	CHECK_LOAD_BAD(d, "bad", want);

	struct policy *p = NULL;
	struct error err = { 0 };
	CHECK_INT_EQ(policy_load_file(path, &p, &err), -EINVAL);
	free(want);
	want = xasprintf("policy %s: network.egress.rules[0].cidr: invalid CIDR", path);
	CHECK_STR_CONTAINS(err.msg, want);
	err_clear(&err);

	/* JSON followed by a NUL byte and garbage. */
	static const char nul[] = "{}\0{garbage";
	CHECK(write_file_atomic(path, nul, sizeof(nul) - 1, 0644) == 0);
	CHECK_LOAD_BAD(d, "bad", "invalid JSON: NUL byte");

	put(d, "bad.json", "", 0644);
	CHECK_LOAD_BAD(d, "bad", "invalid JSON");
	put(d, "bad.json", "{'audit': {'syscalls': ['nosuch']}}", 0644);
	free(want);
	want = xasprintf("policy bad: %s: audit.syscalls[0]: unknown syscall \"nosuch\"", path);
	CHECK_LOAD_BAD(d, "bad", want);
	rm_rf(d);
}

TEST(load_too_large)
{
	_cleanup_free_ char *d = tmpdir();
	_cleanup_free_ char *path = path_join(d, "big.json");
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	CHECK(ftruncate(fd, (16 << 20) + 1) == 0);
	close(fd);
	CHECK_LOAD_BAD(d, "big", "is larger than 16 MiB");
	rm_rf(d);
}

TEST(load_file_name_is_stem)
{
	_cleanup_free_ char *d = tmpdir();
	put(d, "db.json", "{}", 0644);
	put(d, "plain", "{}", 0644);
	put(d, ".json", "{}", 0644);
	const char *files[] = { "db.json", "plain", ".json" };
	const char *names[] = { "db", "plain", NULL };
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *path = path_join(d, files[i]);
		struct policy *p = NULL;
		struct error err = { 0 };
		CHECK_INT_EQ(policy_load_file(path, &p, &err), 0);
		CHECK(p);
		if (p)
			CHECK_STR_EQ(p->name, names[i]);
		policy_free(p);
		err_clear(&err);
	}
	rm_rf(d);
}
