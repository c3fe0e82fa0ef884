/* SPDX-License-Identifier: Apache-2.0 */
/* Policy files (<policy_dir>/NAME.json): policy_parse(), with ports and CIDRs. */
#include <sys/socket.h>

#include "fuzz.h"
#include "policy.h"

static void check_direction(const struct net_direction *d)
{
	FUZZ_ASSERT(d->n_rules <= POLICY_RULES_MAX);
	for (size_t i = 0; i < d->n_rules; i++) {
		const struct net_rule *r = &d->rules[i];
		FUZZ_ASSERT(r->family == AF_INET || r->family == AF_INET6);
		FUZZ_ASSERT(r->prefixlen <= (r->family == AF_INET ? 32 : 128));
		FUZZ_ASSERT(r->action == ACTION_ALLOW || r->action == ACTION_DENY);
		FUZZ_ASSERT(!r->n_ports == !r->ports);
		for (size_t j = 0; j < r->n_ports; j++) {
			FUZZ_ASSERT(r->ports[j].first >= 1 && r->ports[j].first <= r->ports[j].last);
			/* sorted and merged */
			FUZZ_ASSERT(j == 0 || r->ports[j].first > r->ports[j - 1].last + 1);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = fuzz_text(data, size);
	struct error err = { 0 };
	struct policy *p = NULL;
	int r = policy_parse(text, "policy fuzz.json", &p, &err);
	FUZZ_CHECK_RESULT(r, err);
	if (r == 0) {
		check_direction(&p->egress);
		check_direction(&p->ingress);
		for (size_t i = 0; i < p->n_audit_syscalls; i++)
			FUZZ_ASSERT(i == 0 || p->audit_syscalls[i] > p->audit_syscalls[i - 1]);
		FUZZ_ASSERT(!p->audit_all || p->telemetry_syscalls);
		policy_free(p);
	} else {
		FUZZ_ASSERT(p == NULL);
		FUZZ_ASSERT(strncmp(err.msg, "policy fuzz.json", 16) == 0);
		FUZZ_ASSERT(strchr(err.msg, '\n') == NULL);
	}
	err_clear(&err);

	/* The port-list and CIDR parsers on their own, with the raw input. */
	struct port_range *ports = NULL;
	size_t n = 0;
	if (parse_ports(text, &ports, &n, &err) == 0) {
		FUZZ_ASSERT(n >= 1 && n <= 64);
		free(ports);
	}
	err_clear(&err);
	int family;
	uint8_t addr[16], len;
	if (parse_cidr(text, &family, addr, &len) == 0)
		FUZZ_ASSERT(len <= (family == AF_INET ? 32 : 128));
	return 0;
}
