/* SPDX-License-Identifier: Apache-2.0 */
/* Which syscalls the collector holds before any container needs them (prime.h). */
#include <string.h>
#include <sys/stat.h>

#include "audit.h"
#include "paths.h"
#include "policy.h"
#include "prime.h"

static int count_bits(const __u64 *bits)
{
	int n = 0;
	for (int i = 0; i < MAX_SYSCALLS / 64; i++)
		n += __builtin_popcountll(bits[i]);
	return n;
}

/* A policy's syscalls added to bits[] (and *n), when they all fit. */
static void add_policy(const struct config *cfg, const char *name, __u64 *bits, int *n)
{
	_cleanup_policy_ struct policy *p = NULL;
	if (policy_load(cfg->policy_dir, name, &p, NULL) < 0 || !p->audit || p->audit_all)
		return;
	__u64 sel[MAX_SYSCALLS / 64], sum[MAX_SYSCALLS / 64];
	bool raw;
	if (audit_policy_selection(p, sel, &raw, NULL) < 0 || raw)
		return;
	for (int i = 0; i < MAX_SYSCALLS / 64; i++)
		sum[i] = bits[i] | sel[i];
	int total = count_bits(sum);
	if (total > PRIME_MAX_SYSCALLS)
		return;
	memcpy(bits, sum, sizeof(sum));
	*n = total;
}

static char *policy_of_file_name(const char *name)
{
	size_t len = strlen(name);
	if (len <= 5 || strcmp(name + len - 5, ".json") != 0)
		return NULL;
	char *stem = strndup(name, len - 5);
	if (stem && !valid_name(stem)) {
		free(stem);
		return NULL;
	}
	return stem;
}

/* The size of a policy file (0 when it can't be told: policy_load says no to it). */
static off_t policy_size(const struct config *cfg, const char *name)
{
	_cleanup_free_ char *file = xasprintf("%s.json", name);
	_cleanup_free_ char *path = path_join(cfg->policy_dir, file);
	struct stat st;
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : 0;
}

int prime_selection(const struct config *cfg, __u64 *bits)
{
	memset(bits, 0, MAX_SYSCALLS / 8);
	int n = 0;
	if (cfg->default_policy)
		add_policy(cfg, cfg->default_policy, bits, &n);
	/* The collector answers nothing else meanwhile: the reading is bounded. */
	int files = cfg->default_policy ? 1 : 0;
	off_t bytes = 0;
	char **names = dir_list(cfg->policy_dir, policy_of_file_name);
	for (char **name = names; *name && n < PRIME_MAX_SYSCALLS; name++) {
		if (cfg->default_policy && strcmp(*name, cfg->default_policy) == 0)
			continue;
		if (files >= PRIME_MAX_POLICIES)
			break;
		bytes += policy_size(cfg, *name);
		if (bytes > PRIME_MAX_BYTES)
			break;
		files++;
		add_policy(cfg, *name, bits, &n);
	}
	strv_free(names);
	return n;
}
