/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The counter list of bpf/counters.h as a table user space walks: what merge, JSON,
 * persistence, the sampler and the Prometheus families are generated from.
 */
#include <stddef.h>
#include <string.h>

#include "stats.h"
#include "util.h"

const struct stats_value stats_values[] = {
#define CGROUP_VALUE_(name, kind, src, flags, metric, help) \
	{ #name, offsetof(struct stats, name), kind, ST_##src, flags, metric, help },
#define KERNEL_VALUE_(name, kind, src, flags, metric, help) \
	{ #name, offsetof(struct stats, k.name), kind, ST_##src, flags, metric, help },
	OCIBPF_CGROUP_VALUES(CGROUP_VALUE_)
	OCIBPF_KERNEL_COUNTERS(KERNEL_VALUE_)
#undef CGROUP_VALUE_
#undef KERNEL_VALUE_
};
const size_t stats_n_values = ARRAY_SIZE(stats_values);

/* Through memcpy: the fields are uint64_t and __u64 (unsigned long long), not one type. */
uint64_t stats_value_get(const struct stats *s, const struct stats_value *v)
{
	uint64_t x;
	memcpy(&x, (const char *)s + v->off, sizeof(x));
	return x;
}

void stats_value_set(struct stats *s, const struct stats_value *v, uint64_t x)
{
	memcpy((char *)s + v->off, &x, sizeof(x));
}

bool stats_differ(const struct stats *a, const struct stats *b)
{
	for (size_t i = 0; i < stats_n_values; i++)
		if (stats_value_get(a, &stats_values[i]) != stats_value_get(b, &stats_values[i]))
			return true;
	return false;
}
