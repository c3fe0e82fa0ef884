/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_POLICY_H
#define OCIBPF_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "util.h"

/* The policy file format (SPEC.md "Policy file"), parsed and validated. */

enum policy_action { ACTION_DENY = 0, ACTION_ALLOW = 1 };
enum policy_proto  { PROTO_ANY = 0, PROTO_TCP = 6, PROTO_UDP = 17, PROTO_ICMP = 1 };

struct port_range {
	uint16_t first, last;     /* inclusive; a single port has first == last */
};

struct net_rule {
	enum policy_action action;
	int family;               /* AF_INET or AF_INET6 */
	uint8_t addr[16];         /* network address, host bits cleared; v4 in the first 4 bytes */
	uint8_t prefixlen;        /* 0..32 for v4, 0..128 for v6 */
	enum policy_proto protocol;
	struct port_range *ports; /* NULL/0: all ports */
	size_t n_ports;
};

/* At most this many rules per direction. */
#define POLICY_RULES_MAX 65536

struct net_direction {
	bool present;             /* the direction was given in the policy */
	enum policy_action def;   /* "default" (allow when not given) */
	struct net_rule *rules;
	size_t n_rules;
};

struct policy {
	char *name;               /* policy name (file stem) or NULL */
	bool audit;               /* an "audit" section exists: execs are logged */
	bool audit_all;           /* audit.syscalls == ["all"] */
	int *audit_syscalls;      /* native syscall numbers, sorted, unique */
	size_t n_audit_syscalls;
	bool network;             /* a "network" section exists */
	struct net_direction egress, ingress;
	bool telemetry;           /* default true */
	bool telemetry_syscalls;  /* telemetry.syscalls, or implied by audit_all */
};

/*
 * Parse a policy from JSON text. `what` names the source in messages
 * ("policy /etc/ocibpf/policies/web.json"). Unknown keys, bad types, unknown syscalls
 * (libseccomp, native arch), bad CIDRs, bad ports are errors naming the field, e.g.
 *   "policy web.json: network.egress.rules[2].cidr: invalid CIDR \"10.0.0.0/33\"".
 */
int policy_parse(const char *text, const char *what, struct policy **ret, struct error *err);
/*
 * Load <policy_dir>/<name>.json: name must be valid_name(); the file must be a regular
 * file owned by root and not group- or world-writable (opened with O_NOFOLLOW).
 */
int policy_load(const char *policy_dir, const char *name, struct policy **ret, struct error *err);
/*
 * policy_load in two steps: the file opened and checked (an fd, its fstat in *st), then
 * read from its start and parsed (policycache.c skips the second when it can).
 */
int policy_open(const char *policy_dir, const char *name, struct stat *st, struct error *err);
int policy_read(int fd, const char *policy_dir, const char *name, struct policy **ret,
		struct error *err);
/*
 * Load a policy by path (ocibpf policy check): same checks except ownership and mode
 * (no symlink, regular file, at most 16 MiB). p->name is the file name without ".json".
 */
int policy_load_file(const char *path, struct policy **ret, struct error *err);
void policy_free(struct policy *p);
static inline void policy_freep(struct policy **p) { policy_free(*p); }
#define _cleanup_policy_ _cleanup_(policy_freep)

/*
 * Parse "22,80,6000-6100" into ranges; 0 or negative errno, err names the problem.
 * Ports are 1..65535, at most 64 items, no blanks; the ranges come back sorted, with
 * overlapping and adjacent ones merged.
 */
int parse_ports(const char *s, struct port_range **ret, size_t *ret_n, struct error *err);
/*
 * Parse "10.0.0.0/8", "fd00::/8", "1.2.3.4" (= /32), "::1" (= /128). Host bits must be 0.
 * A prefix inside ::ffff:0:0/96 (IPv4-mapped) comes back as the IPv4 prefix it maps
 * ("::ffff:10.0.0.0/104" = AF_INET 10.0.0.0/8), since IPv4 rules cover mapped addresses.
 */
int parse_cidr(const char *s, int *ret_family, uint8_t ret_addr[16], uint8_t *ret_prefixlen);

#endif
