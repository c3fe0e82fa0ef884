/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Network policy compilation (src/core/netpolicy.c): the compiled tries, evaluated the
 * way the BPF programs look them up (longest prefix match), must give exactly what the
 * SPEC's rule semantics give when evaluated rule by rule: deny beats allow, order
 * doesn't matter, else the default; IPv4 rules cover IPv4-mapped IPv6; ports, ranges,
 * protocols. Hand-written cases first, then random policies against a brute-force
 * reference.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>
#include <time.h>

#include "netpolicy.h"
#include "policy.h"
#include "unit.h"

/* --- helpers ----------------------------------------------------------------------- */

static char *dq(const char *s)
{
	char *t = xstrdup(s);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	return t;
}

static struct policy *parse(const char *s)
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

static struct netpolicy_compiled *compile(const struct policy *p)
{
	struct netpolicy_compiled *c = NULL;
	struct error err = { 0 };
	if (!p)
		return NULL;
	if (netpolicy_compile(p, &c, &err) < 0) {
		printf("# netpolicy_compile: %s\n", err.msg);
		err_clear(&err);
		return NULL;
	}
	return c;
}

static const char *const verdict_name[] = { "deny", "allow" };

/* "10.1.2.3" / "fd00::1" / "::ffff:10.1.2.3" (as the socket hooks see it: mapped -> v4). */
static void addr_of(const char *s, int *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = NF_INET;
		return;
	}
	if (inet_pton(AF_INET6, s, addr) != 1)
		abort();
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (memcmp(addr, mapped, 12) == 0) {
		memmove(addr, addr + 12, 4);
		memset(addr + 4, 0, 12);
		*family = NF_INET;
		return;
	}
	*family = NF_INET6;
}

static int slot_of(const char *proto)
{
	if (strcmp(proto, "tcp") == 0)
		return NP_TCP;
	if (strcmp(proto, "udp") == 0)
		return NP_UDP;
	if (strcmp(proto, "icmp") == 0)
		return NP_ICMP;
	return NP_OTHER;
}

static int eval(const struct netpolicy_compiled *c, int dir, const char *proto, const char *addr,
		uint16_t port)
{
	int family;
	uint8_t a[16];
	addr_of(addr, &family, a);
	return netpolicy_eval(c, dir, family, a, slot_of(proto), port);
}

#define CHECK_VERDICT(c, dir, proto, addr, port, want)						\
	do {											\
		int _v = (c) ? eval((c), (dir), (proto), (addr), (port)) : -1;			\
		if (_v != (want))								\
			unit_fail(__FILE__, __LINE__, "%s %s %s port %u: got %s, want %s",	\
				  (dir) == NET_EGRESS ? "egress" : "ingress", (proto), (addr),	\
				  (unsigned)(port), _v < 0 ? "(no policy)" : verdict_name[_v],	\
				  verdict_name[want]);						\
	} while (0)

#define D NV_DENY
#define A NV_ALLOW
#define EG NET_EGRESS
#define IN NET_INGRESS

/* --- the SPEC's example ------------------------------------------------------------- */

TEST(spec_example)
{
	_cleanup_policy_ struct policy *p = parse(
		"{ 'network': {"
		"    'egress':  { 'default': 'allow',"
		"                 'rules': [ { 'action': 'deny', 'cidr': '10.0.0.0/8', 'protocol': 'tcp', 'ports': '22,6000-6100' } ] },"
		"    'ingress': { 'default': 'deny',"
		"                 'rules': [ { 'action': 'allow', 'cidr': '0.0.0.0/0', 'protocol': 'tcp', 'ports': '8080' } ] } } }");
	_cleanup_netpolicy_ struct netpolicy_compiled *c = compile(p);
	CHECK(c);
	CHECK_VERDICT(c, EG, "tcp", "10.1.2.3", 22, D);
	CHECK_VERDICT(c, EG, "tcp", "10.1.2.3", 21, A);
	CHECK_VERDICT(c, EG, "tcp", "10.1.2.3", 23, A);
	CHECK_VERDICT(c, EG, "tcp", "10.1.2.3", 5999, A);
	CHECK_VERDICT(c, EG, "tcp", "10.1.2.3", 6000, D);
	CHECK_VERDICT(c, EG, "tcp", "10.1.2.3", 6050, D);
	CHECK_VERDICT(c, EG, "tcp", "10.1.2.3", 6100, D);
	CHECK_VERDICT(c, EG, "tcp", "10.1.2.3", 6101, A);
	CHECK_VERDICT(c, EG, "udp", "10.1.2.3", 22, A);
	CHECK_VERDICT(c, EG, "icmp", "10.1.2.3", 0, A);
	CHECK_VERDICT(c, EG, "tcp", "11.0.0.1", 22, A);
	CHECK_VERDICT(c, EG, "tcp", "9.255.255.255", 22, A);
	CHECK_VERDICT(c, EG, "tcp", "10.255.255.255", 22, D);
	/* IPv4 rules cover IPv4-mapped IPv6 addresses */
	CHECK_VERDICT(c, EG, "tcp", "::ffff:10.9.9.9", 22, D);
	CHECK_VERDICT(c, EG, "tcp", "::ffff:10.9.9.9", 80, A);
	/* ... and no IPv6 address */
	CHECK_VERDICT(c, EG, "tcp", "::a00:1", 22, A);
	CHECK_VERDICT(c, EG, "tcp", "fd00::10:0:0:1", 22, A);

	CHECK_VERDICT(c, IN, "tcp", "192.0.2.7", 8080, A);
	CHECK_VERDICT(c, IN, "tcp", "192.0.2.7", 8081, D);
	CHECK_VERDICT(c, IN, "udp", "192.0.2.7", 8080, D);
	CHECK_VERDICT(c, IN, "tcp", "2001:db8::1", 8080, D);
	CHECK_VERDICT(c, IN, "icmp", "192.0.2.7", 0, D);

	CHECK(c && (c->meta.flags[EG] & NM_ACTIVE) && (c->meta.flags[IN] & NM_ACTIVE));
	CHECK(c && c->meta.def[EG] == NV_ALLOW && c->meta.def[IN] == NV_DENY);
}

/* --- deny beats allow, whatever the nesting --------------------------------------------- */

TEST(broad_deny_beats_narrow_allow)
{
	_cleanup_policy_ struct policy *p = parse(
		"{ 'network': { 'egress': { 'default': 'allow', 'rules': ["
		"  { 'action': 'allow', 'cidr': '10.1.0.0/16' },"
		"  { 'action': 'deny', 'cidr': '10.0.0.0/8' },"
		"  { 'action': 'allow', 'cidr': '10.1.2.3/32' } ] } } }");
	_cleanup_netpolicy_ struct netpolicy_compiled *c = compile(p);
	CHECK_VERDICT(c, EG, "tcp", "10.1.2.3", 80, D);
	CHECK_VERDICT(c, EG, "udp", "10.1.2.4", 53, D);
	CHECK_VERDICT(c, EG, "icmp", "10.1.0.1", 0, D);
	CHECK_VERDICT(c, EG, "tcp", "10.200.0.1", 80, D);
	CHECK_VERDICT(c, EG, "tcp", "11.1.2.3", 80, A);
}

TEST(narrow_deny_inside_broad_allow)
{
	_cleanup_policy_ struct policy *p = parse(
		"{ 'network': { 'egress': { 'default': 'deny', 'rules': ["
		"  { 'action': 'deny', 'cidr': '10.1.0.0/16' },"
		"  { 'action': 'allow', 'cidr': '10.0.0.0/8' } ] } } }");
	_cleanup_netpolicy_ struct netpolicy_compiled *c = compile(p);
	CHECK_VERDICT(c, EG, "tcp", "10.1.2.3", 80, D);
	CHECK_VERDICT(c, EG, "tcp", "10.2.0.1", 80, A);
	CHECK_VERDICT(c, EG, "tcp", "10.0.255.255", 80, A);
	CHECK_VERDICT(c, EG, "tcp", "11.0.0.1", 80, D);
	CHECK_VERDICT(c, EG, "tcp", "192.0.2.1", 80, D);
}

TEST(broad_port_deny_beats_narrow_allow_all)
{
	/* deny 10/8 tcp 22, allow 10.1/16 everything: 10.1.x.x:22 is still denied */
	_cleanup_policy_ struct policy *p = parse(
		"{ 'network': { 'egress': { 'default': 'deny', 'rules': ["
		"  { 'action': 'deny', 'cidr': '10.0.0.0/8', 'protocol': 'tcp', 'ports': '22' },"
		"  { 'action': 'allow', 'cidr': '10.1.0.0/16' } ] } } }");
	_cleanup_netpolicy_ struct netpolicy_compiled *c = compile(p);
	CHECK_VERDICT(c, EG, "tcp", "10.1.1.1", 22, D);
	CHECK_VERDICT(c, EG, "tcp", "10.1.1.1", 80, A);
	CHECK_VERDICT(c, EG, "udp", "10.1.1.1", 22, A);
	CHECK_VERDICT(c, EG, "icmp", "10.1.1.1", 0, A);
	CHECK_VERDICT(c, EG, "tcp", "10.2.1.1", 80, D);
	CHECK_VERDICT(c, EG, "tcp", "10.2.1.1", 22, D);
}

TEST(narrow_port_deny_under_broad_port_allow)
{
	_cleanup_policy_ struct policy *p = parse(
		"{ 'network': { 'egress': { 'default': 'deny', 'rules': ["
		"  { 'action': 'allow', 'cidr': '0.0.0.0/0', 'protocol': 'tcp', 'ports': '1-1024' },"
		"  { 'action': 'deny', 'cidr': '192.0.2.0/24', 'protocol': 'tcp', 'ports': '100-200,443' },"
		"  { 'action': 'allow', 'cidr': '192.0.2.128/25', 'protocol': 'any', 'ports': '150,5000-5001' } ] } } }");
	_cleanup_netpolicy_ struct netpolicy_compiled *c = compile(p);
	CHECK_VERDICT(c, EG, "tcp", "198.51.100.1", 1, A);
	CHECK_VERDICT(c, EG, "tcp", "198.51.100.1", 1024, A);
	CHECK_VERDICT(c, EG, "tcp", "198.51.100.1", 1025, D);
	CHECK_VERDICT(c, EG, "tcp", "198.51.100.1", 0, D);
	CHECK_VERDICT(c, EG, "tcp", "192.0.2.1", 99, A);
	CHECK_VERDICT(c, EG, "tcp", "192.0.2.1", 100, D);
	CHECK_VERDICT(c, EG, "tcp", "192.0.2.1", 200, D);
	CHECK_VERDICT(c, EG, "tcp", "192.0.2.1", 201, A);
	CHECK_VERDICT(c, EG, "tcp", "192.0.2.1", 443, D);
	CHECK_VERDICT(c, EG, "tcp", "192.0.2.200", 150, D);	/* deny beats the narrower allow */
	CHECK_VERDICT(c, EG, "tcp", "192.0.2.200", 5000, A);
	CHECK_VERDICT(c, EG, "udp", "192.0.2.200", 5001, A);
	CHECK_VERDICT(c, EG, "udp", "192.0.2.200", 5002, D);
	CHECK_VERDICT(c, EG, "udp", "192.0.2.1", 5000, D);
	CHECK_VERDICT(c, EG, "icmp", "192.0.2.200", 0, D);	/* ports rules don't match icmp */
}

TEST(order_does_not_matter)
{
	static const char *const rules[] = {
		"{ 'action': 'deny', 'cidr': '10.0.0.0/8', 'protocol': 'udp' }",
		"{ 'action': 'allow', 'cidr': '10.0.0.0/8' }",
		"{ 'action': 'allow', 'cidr': '10.5.0.0/16', 'protocol': 'udp', 'ports': '53' }",
		"{ 'action': 'deny', 'cidr': '10.5.5.0/24', 'protocol': 'tcp', 'ports': '80' }",
	};
	static const int perms[][4] = { { 0, 1, 2, 3 }, { 3, 2, 1, 0 }, { 2, 0, 3, 1 }, { 1, 3, 0, 2 } };
	for (size_t k = 0; k < ARRAY_SIZE(perms); k++) {
		_cleanup_free_ char *json = xasprintf(
			"{ 'network': { 'egress': { 'default': 'deny', 'rules': [ %s, %s, %s, %s ] } } }",
			rules[perms[k][0]], rules[perms[k][1]], rules[perms[k][2]], rules[perms[k][3]]);
		_cleanup_policy_ struct policy *p = parse(json);
		_cleanup_netpolicy_ struct netpolicy_compiled *c = compile(p);
		CHECK_VERDICT(c, EG, "udp", "10.5.1.1", 53, D);
		CHECK_VERDICT(c, EG, "tcp", "10.5.1.1", 53, A);
		CHECK_VERDICT(c, EG, "tcp", "10.5.5.5", 80, D);
		CHECK_VERDICT(c, EG, "tcp", "10.5.5.5", 81, A);
		CHECK_VERDICT(c, EG, "icmp", "10.5.5.5", 0, A);
		CHECK_VERDICT(c, EG, "tcp", "11.5.5.5", 81, D);
	}
}

TEST(same_prefix_allow_and_deny)
{
	_cleanup_policy_ struct policy *p = parse(
		"{ 'network': { 'ingress': { 'default': 'allow', 'rules': ["
		"  { 'action': 'allow', 'cidr': '2001:db8::/32', 'protocol': 'tcp', 'ports': '80' },"
		"  { 'action': 'deny', 'cidr': '2001:db8::/32', 'protocol': 'tcp', 'ports': '80-81' } ] } } }");
	_cleanup_netpolicy_ struct netpolicy_compiled *c = compile(p);
	CHECK_VERDICT(c, IN, "tcp", "2001:db8::5", 80, D);
	CHECK_VERDICT(c, IN, "tcp", "2001:db8::5", 81, D);
	CHECK_VERDICT(c, IN, "tcp", "2001:db8::5", 82, A);
	CHECK_VERDICT(c, IN, "tcp", "2001:db9::5", 80, A);
	/* egress untouched */
	CHECK_VERDICT(c, EG, "tcp", "2001:db8::5", 80, A);
	CHECK(c && !(c->meta.flags[EG] & NM_ACTIVE));
}

/* --- families ------------------------------------------------------------------------ */

TEST(mapped_cidr_is_an_ipv4_rule)
{
	_cleanup_policy_ struct policy *p = parse(
		"{ 'network': { 'egress': { 'default': 'allow', 'rules': ["
		"  { 'action': 'deny', 'cidr': '::ffff:192.0.2.0/120', 'protocol': 'udp' } ] } } }");
	_cleanup_netpolicy_ struct netpolicy_compiled *c = compile(p);
	CHECK_VERDICT(c, EG, "udp", "192.0.2.9", 53, D);
	CHECK_VERDICT(c, EG, "udp", "::ffff:192.0.2.9", 53, D);
	CHECK_VERDICT(c, EG, "udp", "192.0.3.9", 53, A);
	CHECK_VERDICT(c, EG, "tcp", "192.0.2.9", 53, A);
}

TEST(ipv6_rules_do_not_cover_ipv4)
{
	/* Mapped addresses are IPv4 traffic: "::/0" is all of IPv6, not IPv4 too. */
	_cleanup_policy_ struct policy *p = parse(
		"{ 'network': { 'egress': { 'default': 'deny', 'rules': ["
		"  { 'action': 'allow', 'cidr': '::/0' },"
		"  { 'action': 'deny', 'cidr': 'fd00::/8', 'protocol': 'tcp', 'ports': '22' } ] } } }");
	_cleanup_netpolicy_ struct netpolicy_compiled *c = compile(p);
	CHECK_VERDICT(c, EG, "tcp", "2001:db8::1", 80, A);
	CHECK_VERDICT(c, EG, "tcp", "fd00::1", 22, D);
	CHECK_VERDICT(c, EG, "tcp", "fd00::1", 23, A);
	CHECK_VERDICT(c, EG, "tcp", "192.0.2.1", 80, D);
	CHECK_VERDICT(c, EG, "tcp", "::ffff:192.0.2.1", 80, D);
}

TEST(slash_zero_and_host_routes)
{
	_cleanup_policy_ struct policy *p = parse(
		"{ 'network': { 'egress': { 'default': 'allow', 'rules': ["
		"  { 'action': 'deny', 'cidr': '0.0.0.0/0', 'protocol': 'icmp' },"
		"  { 'action': 'allow', 'cidr': '127.0.0.1' },"
		"  { 'action': 'deny', 'cidr': '::1', 'protocol': 'tcp', 'ports': '1-65535' } ] } } }");
	_cleanup_netpolicy_ struct netpolicy_compiled *c = compile(p);
	CHECK_VERDICT(c, EG, "icmp", "127.0.0.1", 0, D);
	CHECK_VERDICT(c, EG, "icmp", "8.8.8.8", 0, D);
	CHECK_VERDICT(c, EG, "icmp", "::1", 0, A);
	CHECK_VERDICT(c, EG, "tcp", "::1", 1, D);
	CHECK_VERDICT(c, EG, "tcp", "::1", 65535, D);
	CHECK_VERDICT(c, EG, "udp", "::1", 53, A);
	CHECK_VERDICT(c, EG, "tcp", "::2", 80, A);
}

/* --- protocols and ports ---------------------------------------------------------------- */

TEST(protocols)
{
	_cleanup_policy_ struct policy *p = parse(
		"{ 'network': { 'egress': { 'default': 'deny', 'rules': ["
		"  { 'action': 'allow', 'cidr': '192.0.2.0/24', 'protocol': 'icmp' },"
		"  { 'action': 'allow', 'cidr': '198.51.100.0/24', 'ports': '53' },"
		"  { 'action': 'allow', 'cidr': '203.0.113.0/24', 'protocol': 'any' } ] } } }");
	_cleanup_netpolicy_ struct netpolicy_compiled *c = compile(p);
	CHECK_VERDICT(c, EG, "icmp", "192.0.2.1", 0, A);
	CHECK_VERDICT(c, EG, "tcp", "192.0.2.1", 80, D);
	CHECK_VERDICT(c, EG, "other", "192.0.2.1", 0, D);
	CHECK_VERDICT(c, EG, "tcp", "198.51.100.1", 53, A);
	CHECK_VERDICT(c, EG, "udp", "198.51.100.1", 53, A);
	CHECK_VERDICT(c, EG, "icmp", "198.51.100.1", 0, D);
	CHECK_VERDICT(c, EG, "other", "198.51.100.1", 0, D);
	CHECK_VERDICT(c, EG, "other", "203.0.113.1", 0, A);
	CHECK_VERDICT(c, EG, "icmp", "203.0.113.1", 0, A);
}

TEST(port_edges)
{
	_cleanup_policy_ struct policy *p = parse(
		"{ 'network': { 'egress': { 'default': 'allow', 'rules': ["
		"  { 'action': 'deny', 'cidr': '0.0.0.0/0', 'protocol': 'tcp', 'ports': '1,65535,32768-32769,1000-1999' } ] } } }");
	_cleanup_netpolicy_ struct netpolicy_compiled *c = compile(p);
	static const struct { unsigned port; int v; } cases[] = {
		{ 0, A }, { 1, D }, { 2, A }, { 999, A }, { 1000, D }, { 1024, D }, { 1999, D },
		{ 2000, A }, { 32767, A }, { 32768, D }, { 32769, D }, { 32770, A }, { 65534, A },
		{ 65535, D },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		CHECK_VERDICT(c, EG, "tcp", "192.0.2.1", (uint16_t)cases[i].port, cases[i].v);
}

TEST(inactive_directions)
{
	_cleanup_policy_ struct policy *p = parse(
		"{ 'network': { 'egress': { 'default': 'allow', 'rules': ["
		"  { 'action': 'allow', 'cidr': '10.0.0.0/8' } ] } } }");
	_cleanup_netpolicy_ struct netpolicy_compiled *c = compile(p);
	CHECK(c && !(c->meta.flags[EG] & NM_ACTIVE) && !(c->meta.flags[IN] & NM_ACTIVE));
	_cleanup_policy_ struct policy *q = parse("{ 'network': { 'ingress': { 'default': 'deny' } } }");
	_cleanup_netpolicy_ struct netpolicy_compiled *d = compile(q);
	CHECK(d && !(d->meta.flags[EG] & NM_ACTIVE) && (d->meta.flags[IN] & NM_ACTIVE));
	CHECK_VERDICT(d, IN, "tcp", "127.0.0.1", 80, D);
	CHECK_VERDICT(d, IN, "tcp", "::1", 80, D);
	CHECK_VERDICT(d, EG, "tcp", "::1", 80, A);
}

/* --- random policies against a rule-by-rule reference -------------------------------- */

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static bool covers(const struct net_rule *r, const uint8_t addr[16])
{
	unsigned full = r->prefixlen / 8, rest = r->prefixlen % 8;
	if (memcmp(r->addr, addr, full) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff00 >> rest);
	return (r->addr[full] & mask) == (addr[full] & mask);
}

/* The SPEC, literally. */
static int reference(const struct policy *p, int dir, int family, const uint8_t addr[16], int slot,
		     unsigned port)
{
	const struct net_direction *d = dir == NET_EGRESS ? &p->egress : &p->ingress;
	bool deny = false, allow = false;
	for (size_t i = 0; i < d->n_rules; i++) {
		const struct net_rule *r = &d->rules[i];
		if ((r->family == AF_INET ? NF_INET : NF_INET6) != family || !covers(r, addr))
			continue;
		if (r->protocol == PROTO_TCP && slot != NP_TCP)
			continue;
		if (r->protocol == PROTO_UDP && slot != NP_UDP)
			continue;
		if (r->protocol == PROTO_ICMP && slot != NP_ICMP)
			continue;
		if (r->n_ports) {
			if (slot != NP_TCP && slot != NP_UDP)
				continue;
			bool in = false;
			for (size_t j = 0; j < r->n_ports; j++)
				in |= port >= r->ports[j].first && port <= r->ports[j].last;
			if (!in)
				continue;
		}
		if (r->action == ACTION_DENY)
			deny = true;
		else
			allow = true;
	}
	if (deny)
		return NV_DENY;
	if (allow)
		return NV_ALLOW;
	return d->present && d->def == ACTION_DENY ? NV_DENY : NV_ALLOW;
}

/* Addresses near a few bases, so that random prefixes nest and overlap a lot. */
static void random_addr(int family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (family == NF_INET) {
		static const uint8_t bases[][4] = { { 10, 0, 0, 0 }, { 10, 1, 0, 0 }, { 192, 0, 2, 0 } };
		memcpy(addr, bases[rnd() % ARRAY_SIZE(bases)], 4);
		addr[2] ^= (uint8_t)(rnd() % 4);
		addr[3] = (uint8_t)rnd();
	} else {
		addr[0] = 0xfd;
		addr[1] = (uint8_t)(rnd() % 2);
		addr[14] = (uint8_t)(rnd() % 4);
		addr[15] = (uint8_t)rnd();
	}
}

static unsigned random_port(void)
{
	static const unsigned hot[] = { 0, 1, 22, 53, 80, 443, 1024, 8080, 65535 };
	if (rnd() % 2)
		return hot[rnd() % ARRAY_SIZE(hot)];
	return (unsigned)(rnd() % 100);
}

static void random_rule(struct net_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->action = rnd() % 2 ? ACTION_ALLOW : ACTION_DENY;
	r->family = rnd() % 4 ? AF_INET : AF_INET6;
	int nf = r->family == AF_INET ? NF_INET : NF_INET6;
	unsigned max = nf == NF_INET ? 32 : 128;
	random_addr(nf, r->addr);
	static const unsigned lens4[] = { 0, 8, 16, 22, 24, 25, 28, 30, 31, 32 };
	static const unsigned lens6[] = { 0, 8, 16, 64, 112, 120, 126, 127, 128 };
	r->prefixlen = (uint8_t)(nf == NF_INET ? lens4[rnd() % ARRAY_SIZE(lens4)]
					       : lens6[rnd() % ARRAY_SIZE(lens6)]);
	for (unsigned b = r->prefixlen; b < max; b++)
		r->addr[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
	static const enum policy_proto protos[] = { PROTO_ANY, PROTO_TCP, PROTO_UDP, PROTO_ICMP };
	r->protocol = protos[rnd() % ARRAY_SIZE(protos)];
	if (r->protocol != PROTO_ICMP && rnd() % 2) {
		r->n_ports = 1 + rnd() % 3;
		r->ports = xcalloc(r->n_ports, sizeof(*r->ports));
		for (size_t i = 0; i < r->n_ports; i++) {
			unsigned a = 1 + rnd() % 99, b = a + (rnd() % 3 ? 0 : rnd() % 30);
			if (rnd() % 8 == 0) {
				a = 1;
				b = 65535;
			}
			r->ports[i].first = (uint16_t)a;
			r->ports[i].last = (uint16_t)b;
		}
	}
}

static struct policy *random_policy(size_t n_rules)
{
	struct policy *p = xcalloc(1, sizeof(*p));
	p->network = true;
	struct net_direction *dirs[2] = { &p->egress, &p->ingress };
	for (int d = 0; d < 2; d++) {
		dirs[d]->present = rnd() % 4 != 0;
		dirs[d]->def = rnd() % 2 ? ACTION_ALLOW : ACTION_DENY;
		if (!dirs[d]->present)
			dirs[d]->def = ACTION_ALLOW;
		dirs[d]->n_rules = dirs[d]->present ? n_rules : 0;
		dirs[d]->rules = xcalloc(dirs[d]->n_rules + 1, sizeof(struct net_rule));
		for (size_t i = 0; i < dirs[d]->n_rules; i++)
			random_rule(&dirs[d]->rules[i]);
	}
	return p;
}

TEST(random_policies_match_reference)
{
	size_t mismatches = 0, queries = 0;
	for (int round = 0; round < 300 && mismatches < 5; round++) {
		_cleanup_policy_ struct policy *p = random_policy(1 + rnd() % 24);
		_cleanup_netpolicy_ struct netpolicy_compiled *c = compile(p);
		CHECK(c);
		if (!c)
			return;
		for (int q = 0; q < 400 && mismatches < 5; q++) {
			int dir = (int)(rnd() % 2), family = rnd() % 4 ? NF_INET : NF_INET6;
			int slot = (int)(rnd() % NP__COUNT);
			uint8_t addr[16];
			random_addr(family, addr);
			unsigned port = slot <= NP_UDP ? random_port() : 0;
			int want = reference(p, dir, family, addr, slot, port);
			int got = netpolicy_eval(c, dir, family, addr, slot, (uint16_t)port);
			queries++;
			if (got != want) {
				char a[INET6_ADDRSTRLEN];
				inet_ntop(family == NF_INET ? AF_INET : AF_INET6, addr, a, sizeof(a));
				unit_fail(__FILE__, __LINE__, "round %d: %s slot %d %s port %u: got %s, want %s",
					  round, dir == NET_EGRESS ? "egress" : "ingress", slot, a, port,
					  verdict_name[got], verdict_name[want]);
				mismatches++;
			}
		}
	}
	printf("# %zu queries checked\n", queries);
}

/* --- scale ------------------------------------------------------------------------------ */

static double elapsed_ms(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

TEST(ten_thousand_rules_compile_fast_and_dedupe)
{
	struct policy *p = xcalloc(1, sizeof(*p));
	p->network = true;
	p->egress.present = true;
	p->egress.def = ACTION_ALLOW;
	p->egress.n_rules = 10000;
	p->egress.rules = xcalloc(10000, sizeof(struct net_rule));
	for (size_t i = 0; i < 10000; i++) {
		struct net_rule *r = &p->egress.rules[i];
		r->action = ACTION_DENY;
		r->family = AF_INET;
		r->addr[0] = 10;
		r->addr[1] = (uint8_t)(i >> 8);
		r->addr[2] = (uint8_t)i;
		r->prefixlen = 24;
		r->protocol = PROTO_TCP;
		r->n_ports = 2;
		r->ports = xcalloc(2, sizeof(*r->ports));
		r->ports[0] = (struct port_range){ 22, 22 };
		r->ports[1] = (struct port_range){ 6000, 6100 };
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	_cleanup_netpolicy_ struct netpolicy_compiled *c = compile(p);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = elapsed_ms(&t0, &t1);
	printf("# compiled 10000 rules in %.1f ms: %zu address entries, %zu classes, %zu port entries\n",
	       ms, c ? c->n_addr : 0, c ? c->n_classes : 0, c ? c->n_port : 0);
	/* generous: this binary is built with sanitizers */
	CHECK(ms < 1000);
	CHECK(c && c->n_addr == 10000 + 4);
	CHECK(c && c->n_classes == 1);
	CHECK_VERDICT(c, EG, "tcp", "10.39.15.1", 22, D);
	CHECK_VERDICT(c, EG, "tcp", "10.39.15.1", 6001, D);
	CHECK_VERDICT(c, EG, "tcp", "10.39.15.1", 80, A);
	CHECK_VERDICT(c, EG, "tcp", "10.40.15.1", 22, A);
	policy_free(p);
}

TEST(deep_nesting)
{
	/* a chain of 33 nested v4 prefixes, alternating allow and deny: any deny wins */
	struct policy *p = xcalloc(1, sizeof(*p));
	p->network = true;
	p->ingress.present = true;
	p->ingress.def = ACTION_DENY;
	p->ingress.n_rules = 33;
	p->ingress.rules = xcalloc(33, sizeof(struct net_rule));
	for (unsigned len = 0; len <= 32; len++) {
		struct net_rule *r = &p->ingress.rules[len];
		r->action = len == 20 ? ACTION_DENY : ACTION_ALLOW;
		r->family = AF_INET;
		uint32_t a = len ? htonl(0xc0000200u & (0xffffffffu << (32 - len))) : 0;
		memcpy(r->addr, &a, 4);
		r->prefixlen = (uint8_t)len;
		r->protocol = PROTO_ANY;
	}
	_cleanup_netpolicy_ struct netpolicy_compiled *c = compile(p);
	CHECK_VERDICT(c, IN, "tcp", "192.0.2.0", 80, D);	/* inside the /20 deny */
	CHECK_VERDICT(c, IN, "tcp", "192.0.15.255", 80, D);
	CHECK_VERDICT(c, IN, "tcp", "192.0.16.0", 80, A);	/* outside it, inside the /19 */
	CHECK_VERDICT(c, IN, "tcp", "8.8.8.8", 80, A);	/* the /0 allow */
	policy_free(p);
}
