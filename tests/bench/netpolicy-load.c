/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netpolicy-load BPFFS_DIR POLICY.json [ROUNDS]: how long putting a policy's network
 * rules in force takes (parse, compile, netpolicy_apply) and removing them
 * (netpolicy_forget), median of ROUNDS. Uses (and loads if needed) the BPF set of
 * BPFFS_DIR under a made-up container cgroup id; nothing is attached.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bpfset.h"
#include "netapply.h"
#include "netpolicy.h"
#include "policy.h"


static double ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: netpolicy-load BPFFS_DIR POLICY.json [ROUNDS]\n");
		return 2;
	}
	program_name = "netpolicy-load";
	int rounds = argc > 3 ? atoi(argv[3]) : 5;
	if (rounds < 1 || rounds > 1000)
		rounds = 5;
	struct error err = { 0 };
	struct bpfset *set = NULL;
	if (bpfset_open(argv[1], NULL, true, &set, &err) < 0) {
		fprintf(stderr, "netpolicy-load: %s\n", err.msg);
		return 1;
	}
	double *parse = calloc(rounds, sizeof(double)), *compile = calloc(rounds, sizeof(double));
	double *apply = calloc(rounds, sizeof(double)), *forget = calloc(rounds, sizeof(double));
	size_t n_rules = 0, n_addr = 0, n_port = 0;
	const uint64_t cgid = 0xfffffffffff00001ULL;	/* no real cgroup has it */
	for (int i = 0; i < rounds; i++) {
		struct timespec t0;
		struct policy *p = NULL;
		struct netpolicy_compiled *c = NULL;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (policy_load_file(argv[2], &p, &err) < 0) {
			fprintf(stderr, "netpolicy-load: %s\n", err.msg);
			return 1;
		}
		parse[i] = ms_since(&t0);
		n_rules = p->egress.n_rules + p->ingress.n_rules;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (netpolicy_compile(p, &c, &err) < 0) {
			fprintf(stderr, "netpolicy-load: %s\n", err.msg);
			return 1;
		}
		compile[i] = ms_since(&t0);
		n_addr = c->n_addr;
		n_port = c->n_port;
		netpolicy_compiled_free(c);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (netpolicy_apply(set, cgid, p, NULL, &err) < 0) {
			fprintf(stderr, "netpolicy-load: %s\n", err.msg);
			return 1;
		}
		apply[i] = ms_since(&t0);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		netpolicy_forget(set, cgid);
		forget[i] = ms_since(&t0);
		policy_free(p);
	}
	qsort(parse, rounds, sizeof(double), cmp_double);
	qsort(compile, rounds, sizeof(double), cmp_double);
	qsort(apply, rounds, sizeof(double), cmp_double);
	qsort(forget, rounds, sizeof(double), cmp_double);
	printf("rules %zu: address entries %zu, port entries %zu; median of %d: parse %.1f ms, "
	       "compile %.1f ms, apply (compile + maps) %.1f ms, forget %.2f ms\n",
	       n_rules, n_addr, n_port, rounds, parse[rounds / 2], compile[rounds / 2],
	       apply[rounds / 2], forget[rounds / 2]);
	bpfset_close(set);
	return 0;
}
