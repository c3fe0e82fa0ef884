/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Network policy: compile a policy's rules into the entries of the LPM trie of
 * bpf/net.bpf.c (netapply.c puts them in force for a container; neteval.c decides from
 * them as the programs do, for the tests).
 *
 * Compilation, per direction and family:
 *   1. group the rules by prefix and sort the prefixes by (address, length), so that a
 *      prefix comes after every prefix that contains it; add the family's /0;
 *   2. walk them with a stack of the enclosing prefixes: the rules that cover a prefix
 *      are its own plus those of the prefixes on the stack. That set decides, by
 *      protocol, "deny if a deny rule matches, else allow if an allow rule matches, else
 *      the default": a verdict per protocol, or for TCP/UDP a function of the port,
 *      kept as segments;
 *   3. one address-trie entry per prefix; port functions that aren't uniform become
 *      classes (deduplicated), each a /0 background plus aligned port blocks.
 * An address's longest matching prefix is covered by exactly the rules that cover the
 * address, so one lookup decides, however allows and denies nest.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include "netpolicy.h"
#include "policy.h"

/* Upper bounds of what one container's policy may compile to. */
#define NP_ADDR_MAX	(2u * 65536 + 4)
#define NP_PORT_MAX	(4u << 20)

/* --- port sets ----------------------------------------------------------------------- */

struct ranges {
	struct port_range *r;
	size_t n, cap;
};

static void ranges_add(struct ranges *rs, uint16_t first, uint16_t last)
{
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 4;
		rs->r = xrealloc(rs->r, rs->cap * sizeof(*rs->r));
	}
	rs->r[rs->n++] = (struct port_range){ first, last };
}

static int cmp_range(const void *a, const void *b)
{
	const struct port_range *x = a, *y = b;
	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return (x->last > y->last) - (x->last < y->last);
}

/* Sort and merge overlapping or adjacent ranges. */
static void ranges_normalize(struct ranges *rs)
{
	if (rs->n < 2)
		return;
	qsort(rs->r, rs->n, sizeof(*rs->r), cmp_range);
	size_t m = 0;
	for (size_t i = 1; i < rs->n; i++) {
		if ((unsigned)rs->r[i].first <= (unsigned)rs->r[m].last + 1) {
			if (rs->r[i].last > rs->r[m].last)
				rs->r[m].last = rs->r[i].last;
		} else {
			rs->r[++m] = rs->r[i];
		}
	}
	rs->n = m + 1;
}

static bool ranges_contain(const struct ranges *rs, unsigned port)
{
	size_t lo = 0, hi = rs->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (port < rs->r[mid].first)
			hi = mid;
		else if (port > rs->r[mid].last)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

static void ranges_copy(struct ranges *dst, const struct ranges *src)
{
	dst->n = dst->cap = src->n;
	dst->r = src->n ? xcalloc(src->n, sizeof(*src->r)) : NULL;
	if (src->n)
		memcpy(dst->r, src->r, src->n * sizeof(*src->r));
}

/* What the rules covering a prefix say, before the default is applied. */
struct acc {
	struct ranges deny[2], allow[2];	/* NP_TCP, NP_UDP */
	bool deny_all[2], allow_all[2];		/* NP_ICMP, NP_OTHER (index slot - 2) */
};

static void acc_free(struct acc *a)
{
	for (int i = 0; i < 2; i++) {
		free(a->deny[i].r);
		free(a->allow[i].r);
	}
	memset(a, 0, sizeof(*a));
}

static void acc_copy(struct acc *dst, const struct acc *src)
{
	for (int i = 0; i < 2; i++) {
		ranges_copy(&dst->deny[i], &src->deny[i]);
		ranges_copy(&dst->allow[i], &src->allow[i]);
		dst->deny_all[i] = src->deny_all[i];
		dst->allow_all[i] = src->allow_all[i];
	}
}

static void acc_add_rule(struct acc *a, const struct net_rule *r)
{
	bool deny = r->action == ACTION_DENY;
	bool slots[NP__COUNT] = { false };
	switch (r->protocol) {
	case PROTO_TCP:
		slots[NP_TCP] = true;
		break;
	case PROTO_UDP:
		slots[NP_UDP] = true;
		break;
	case PROTO_ICMP:
		slots[NP_ICMP] = true;
		break;
	case PROTO_ANY:
	default:
		slots[NP_TCP] = slots[NP_UDP] = true;
		/* A rule with ports only matches traffic that has ports. */
		slots[NP_ICMP] = slots[NP_OTHER] = r->n_ports == 0;
		break;
	}
	for (int s = NP_TCP; s <= NP_UDP; s++) {
		if (!slots[s])
			continue;
		struct ranges *rs = deny ? &a->deny[s] : &a->allow[s];
		if (r->n_ports == 0)
			ranges_add(rs, 0, 65535);
		for (size_t i = 0; i < r->n_ports; i++)
			ranges_add(rs, r->ports[i].first, r->ports[i].last);
	}
	for (int s = NP_ICMP; s <= NP_OTHER; s++) {
		if (slots[s]) {
			if (deny)
				a->deny_all[s - 2] = true;
			else
				a->allow_all[s - 2] = true;
		}
	}
}

static void acc_normalize(struct acc *a)
{
	for (int i = 0; i < 2; i++) {
		ranges_normalize(&a->deny[i]);
		ranges_normalize(&a->allow[i]);
	}
}

/* --- port functions ------------------------------------------------------------------ */

struct seg {
	uint16_t first, last;
	uint8_t v;
};

struct segs {
	struct seg *s;
	size_t n, cap;
};

static void segs_push(struct segs *ss, unsigned first, unsigned last, uint8_t v)
{
	if (ss->n && ss->s[ss->n - 1].v == v && ss->s[ss->n - 1].last + 1u == first) {
		ss->s[ss->n - 1].last = (uint16_t)last;
		return;
	}
	if (ss->n == ss->cap) {
		ss->cap = ss->cap ? ss->cap * 2 : 8;
		ss->s = xrealloc(ss->s, ss->cap * sizeof(*ss->s));
	}
	ss->s[ss->n++] = (struct seg){ (uint16_t)first, (uint16_t)last, v };
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return (x > y) - (x < y);
}

/* verdict(port) = deny if D has it, else allow if A has it, else def; as segments. */
static void port_function(const struct ranges *d, const struct ranges *a, uint8_t def,
			  struct segs *out)
{
	size_t nb = 0;
	_cleanup_free_ unsigned *b = xcalloc(2 * (d->n + a->n) + 1, sizeof(*b));
	b[nb++] = 0;
	const struct ranges *both[2] = { d, a };
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < both[k]->n; i++) {
			b[nb++] = both[k]->r[i].first;
			if (both[k]->r[i].last < 65535)
				b[nb++] = both[k]->r[i].last + 1u;
		}
	}
	qsort(b, nb, sizeof(*b), cmp_uint);
	out->n = 0;
	for (size_t i = 0; i < nb; i++) {
		if (i && b[i] == b[i - 1])
			continue;
		unsigned first = b[i], last = 65535;
		for (size_t j = i + 1; j < nb; j++) {
			if (b[j] != b[i]) {
				last = b[j] - 1;
				break;
			}
		}
		uint8_t v = ranges_contain(d, first) ? NV_DENY : ranges_contain(a, first) ? NV_ALLOW : def;
		segs_push(out, first, last, v);
	}
}

/* --- output ------------------------------------------------------------------------ */

struct out {
	struct netpolicy_compiled *c;
	size_t acap, pcap;
	/* classes of the direction being compiled: signature -> id */
	struct cls_entry {
		uint8_t *sig;
		size_t len;
		uint64_t hash;
		uint32_t id;
	} *cls;
	size_t ncls, clscap;
	uint32_t next_cls;
};

static int add_addr(struct out *o, const struct net_addr_key *k, const struct net_addr_val *v,
		    struct error *err)
{
	struct netpolicy_compiled *c = o->c;
	if (c->n_addr >= NP_ADDR_MAX)
		return err_msg(err, -E2BIG, "network policy too large (%zu address entries)", c->n_addr);
	if (c->n_addr == o->acap) {
		o->acap = o->acap ? o->acap * 2 : 64;
		c->akeys = xrealloc(c->akeys, o->acap * sizeof(*c->akeys));
		c->avals = xrealloc(c->avals, o->acap * sizeof(*c->avals));
	}
	c->akeys[c->n_addr] = *k;
	c->avals[c->n_addr] = *v;
	c->n_addr++;
	return 0;
}

static int add_port(struct out *o, uint32_t cls, uint8_t dir, uint8_t slot, unsigned port,
		    unsigned bits, uint32_t v, struct error *err)
{
	struct netpolicy_compiled *c = o->c;
	if (c->n_port >= NP_PORT_MAX)
		return err_msg(err, -E2BIG,
			       "network policy too complex (more than %u port entries): use fewer overlapping port ranges",
			       NP_PORT_MAX);
	if (c->n_port == o->pcap) {
		o->pcap = o->pcap ? o->pcap * 2 : 64;
		c->pkeys = xrealloc(c->pkeys, o->pcap * sizeof(*c->pkeys));
		c->pvals = xrealloc(c->pvals, o->pcap * sizeof(*c->pvals));
	}
	struct net_port_key *k = &c->pkeys[c->n_port];
	memset(k, 0, sizeof(*k));
	k->prefixlen = NET_PORT_KEY_FIXED_BITS + bits;
	k->cls = cls;
	k->dir = dir;
	k->family = NF_PORT;
	k->proto = slot;
	k->port = htons((uint16_t)port);
	c->pvals[c->n_port] = v;
	c->n_port++;
	return 0;
}

/* A port function as trie entries: the /0 background, then aligned blocks of the other. */
static int emit_port_function(struct out *o, uint32_t cls, uint8_t dir, uint8_t slot,
			      const struct segs *f, struct error *err)
{
	/* Background: the verdict whose complement needs fewer blocks. */
	size_t blocks[2] = { 0, 0 };
	for (size_t i = 0; i < f->n; i++) {
		for (unsigned a = f->s[i].first, b = f->s[i].last; a <= b;) {
			unsigned size = a ? (a & -a) : 65536;
			while (a + size - 1 > b)
				size >>= 1;
			blocks[f->s[i].v == NV_ALLOW]++;
			a += size;
		}
	}
	uint8_t bg = blocks[NV_DENY] > blocks[NV_ALLOW] ? NV_DENY : NV_ALLOW;
	int r = add_port(o, cls, dir, slot, 0, 0, bg, err);
	for (size_t i = 0; r == 0 && i < f->n; i++) {
		if (f->s[i].v == bg)
			continue;
		for (unsigned a = f->s[i].first, b = f->s[i].last; r == 0 && a <= b;) {
			unsigned size = a ? (a & -a) : 65536, bits = 0;
			while (a + size - 1 > b)
				size >>= 1;
			while ((1u << (16 - bits)) > size)
				bits++;
			r = add_port(o, cls, dir, slot, a, bits, f->s[i].v, err);
			a += size;
		}
	}
	return r;
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

/* Signature of the port-dependent part of a prefix's verdict. */
static uint8_t *class_signature(const struct segs f[2], const bool ported[2], size_t *ret_len)
{
	size_t len = 2;
	for (int s = 0; s < 2; s++)
		len += ported[s] ? f[s].n * 5 + 4 : 0;
	uint8_t *sig = xcalloc(len, 1), *p = sig;
	for (int s = 0; s < 2; s++) {
		*p++ = ported[s];
		if (!ported[s])
			continue;
		uint32_t n = (uint32_t)f[s].n;
		memcpy(p, &n, 4);
		p += 4;
		for (size_t i = 0; i < f[s].n; i++) {
			memcpy(p, &f[s].s[i].first, 2);
			memcpy(p + 2, &f[s].s[i].last, 2);
			p[4] = f[s].s[i].v;
			p += 5;
		}
	}
	*ret_len = len;
	return sig;
}

/* The class of a port function, made (with its entries) on first sight. */
static int class_of(struct out *o, uint8_t dir, const struct segs f[2], const bool ported[2],
		    uint32_t *ret, struct error *err)
{
	size_t len;
	uint8_t *sig = class_signature(f, ported, &len);
	uint64_t h = fnv1a(sig, len);
	if (o->clscap) {
		for (size_t i = h & (o->clscap - 1);; i = (i + 1) & (o->clscap - 1)) {
			struct cls_entry *e = &o->cls[i];
			if (!e->sig)
				break;
			if (e->hash == h && e->len == len && memcmp(e->sig, sig, len) == 0) {
				free(sig);
				*ret = e->id;
				return 0;
			}
		}
	}
	/* New class: grow the table at half load, then insert. */
	if (2 * (o->ncls + 1) > o->clscap) {
		size_t ncap = o->clscap ? o->clscap * 2 : 64;
		struct cls_entry *n = xcalloc(ncap, sizeof(*n));
		for (size_t i = 0; i < o->clscap; i++) {
			if (!o->cls[i].sig)
				continue;
			size_t j = o->cls[i].hash & (ncap - 1);
			while (n[j].sig)
				j = (j + 1) & (ncap - 1);
			n[j] = o->cls[i];
		}
		free(o->cls);
		o->cls = n;
		o->clscap = ncap;
	}
	size_t i = h & (o->clscap - 1);
	while (o->cls[i].sig)
		i = (i + 1) & (o->clscap - 1);
	uint32_t id = ++o->next_cls;
	o->cls[i] = (struct cls_entry){ sig, len, h, id };
	o->ncls++;
	o->c->n_classes++;
	for (int s = 0; s < 2; s++) {
		if (!ported[s])
			continue;
		int r = emit_port_function(o, id, dir, (uint8_t)s, &f[s], err);
		if (r < 0)
			return r;
	}
	*ret = id;
	return 0;
}

static void classes_reset(struct out *o)
{
	for (size_t i = 0; i < o->clscap; i++)
		free(o->cls[i].sig);
	free(o->cls);
	o->cls = NULL;
	o->ncls = o->clscap = 0;
	o->next_cls = 0;
}

/* --- prefixes ------------------------------------------------------------------------ */

struct pnode {
	uint8_t addr[16];
	uint8_t plen;
	const struct net_rule **rules;
	size_t n_rules;
};

static bool prefix_contains(const struct pnode *outer, const struct pnode *inner)
{
	if (outer->plen > inner->plen)
		return false;
	unsigned full = outer->plen / 8, rest = outer->plen % 8;
	if (memcmp(outer->addr, inner->addr, full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff00 >> rest);
		return (outer->addr[full] & mask) == (inner->addr[full] & mask);
	}
	return true;
}

static int cmp_rule_ptr(const void *a, const void *b)
{
	const struct net_rule *x = *(const struct net_rule *const *)a;
	const struct net_rule *y = *(const struct net_rule *const *)b;
	int c = memcmp(x->addr, y->addr, 16);
	if (c)
		return c;
	return (x->prefixlen > y->prefixlen) - (x->prefixlen < y->prefixlen);
}

/* The verdict of the rules in a (normalized), by protocol. */
static int prefix_verdict(struct out *o, uint8_t dir, const struct acc *a, uint8_t def,
			  struct net_addr_val *v, struct error *err)
{
	struct segs f[2] = { { 0 }, { 0 } };
	bool ported[2] = { false, false };
	int r = 0;
	memset(v, 0, sizeof(*v));
	for (int s = NP_TCP; s <= NP_UDP; s++) {
		port_function(&a->deny[s], &a->allow[s], def, &f[s]);
		if (f[s].n == 1) {
			v->v[s] = f[s].s[0].v;
		} else {
			v->v[s] = NV_PORTS;
			ported[s] = true;
		}
	}
	for (int s = NP_ICMP; s <= NP_OTHER; s++)
		v->v[s] = a->deny_all[s - 2] ? NV_DENY : a->allow_all[s - 2] ? NV_ALLOW : def;
	if (ported[0] || ported[1])
		r = class_of(o, dir, f, ported, &v->cls, err);
	free(f[0].s);
	free(f[1].s);
	return r;
}

static int compile_family(struct out *o, uint8_t dir, const struct net_direction *d, int family,
			  uint8_t def, struct error *err)
{
	uint8_t nf = family == AF_INET ? NF_INET : NF_INET6;
	size_t n = 0;
	for (size_t i = 0; i < d->n_rules; i++)
		n += d->rules[i].family == family;
	_cleanup_free_ const struct net_rule **rules = xcalloc(n + 1, sizeof(*rules));
	n = 0;
	for (size_t i = 0; i < d->n_rules; i++)
		if (d->rules[i].family == family)
			rules[n++] = &d->rules[i];
	qsort(rules, n, sizeof(*rules), cmp_rule_ptr);

	/* Prefixes, grouping equal ones; the family's /0 first (sorted order keeps it first). */
	_cleanup_free_ struct pnode *nodes = xcalloc(n + 1, sizeof(*nodes));
	size_t nn = 1;
	nodes[0].rules = rules;
	for (size_t i = 0; i < n; i++) {
		struct pnode *last = &nodes[nn - 1];
		if (memcmp(last->addr, rules[i]->addr, 16) == 0 && last->plen == rules[i]->prefixlen) {
			if (!last->n_rules)
				last->rules = &rules[i];
			last->n_rules++;
			continue;
		}
		struct pnode *p = &nodes[nn++];
		memcpy(p->addr, rules[i]->addr, 16);
		p->plen = rules[i]->prefixlen;
		p->rules = &rules[i];
		p->n_rules = 1;
	}

	/* Walk with the stack of enclosing prefixes (at most one per prefix length). */
	struct frame {
		const struct pnode *node;
		struct acc acc;
	} stack[129 + 1];
	size_t depth = 0;
	int r = 0;
	for (size_t i = 0; i < nn && r == 0; i++) {
		const struct pnode *p = &nodes[i];
		while (depth && !prefix_contains(stack[depth - 1].node, p))
			acc_free(&stack[--depth].acc);
		struct frame *f = &stack[depth++];
		f->node = p;
		memset(&f->acc, 0, sizeof(f->acc));
		if (depth > 1)
			acc_copy(&f->acc, &stack[depth - 2].acc);
		for (size_t j = 0; j < p->n_rules; j++)
			acc_add_rule(&f->acc, p->rules[j]);
		acc_normalize(&f->acc);

		struct net_addr_key k = { 0 };
		struct net_addr_val v;
		k.prefixlen = NET_ADDR_KEY_FIXED_BITS + p->plen;
		k.dir = dir;
		k.family = nf;
		memcpy(k.addr, p->addr, 16);
		r = prefix_verdict(o, dir, &f->acc, def, &v, err);
		if (r == 0)
			r = add_addr(o, &k, &v, err);
	}
	while (depth)
		acc_free(&stack[--depth].acc);
	return r;
}

int netpolicy_compile(const struct policy *p, struct netpolicy_compiled **ret, struct error *err)
{
	struct netpolicy_compiled *c = xcalloc(1, sizeof(*c));
	struct out o = { .c = c };
	const struct net_direction *dirs[2] = { [NET_EGRESS] = &p->egress, [NET_INGRESS] = &p->ingress };
	int r = 0;

	for (uint8_t dir = 0; dir < 2 && r == 0; dir++) {
		const struct net_direction *d = dirs[dir];
		uint8_t def = d->present && d->def == ACTION_DENY ? NV_DENY : NV_ALLOW;
		bool any_deny = def == NV_DENY;
		for (size_t i = 0; i < d->n_rules; i++)
			any_deny |= d->rules[i].action == ACTION_DENY;
		c->meta.def[dir] = def;
		c->meta.flags[dir] = any_deny ? NM_ACTIVE : 0;
		/* Class ids are per direction (the port key has the direction). */
		classes_reset(&o);
		r = compile_family(&o, dir, d, AF_INET, def, err);
		if (r == 0)
			r = compile_family(&o, dir, d, AF_INET6, def, err);
	}
	classes_reset(&o);
	if (r < 0) {
		netpolicy_compiled_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

void netpolicy_compiled_free(struct netpolicy_compiled *c)
{
	if (!c)
		return;
	free(c->akeys);
	free(c->avals);
	free(c->pkeys);
	free(c->pvals);
	free(c);
}
