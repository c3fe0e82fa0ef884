/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_BPFSET_LOAD_H
#define OCIBPF_BPFSET_LOAD_H

#include <stddef.h>

/* The maps pinned under a set's maps/ (what the rest of ocibpf opens by name). */
extern const char *const bpfset_pinned_maps[];
extern const size_t bpfset_n_pinned_maps;

/* Programs attached once with the set, for every container: they only run on rare events. */
extern const char *const bpfset_global_progs[];
extern const size_t bpfset_n_global_progs;

/*
 * Load the set with the light skeleton and pin it under dir (its maps/, progs/ and
 * links/ exist): 0, or a negative errno (what was pinned is left for the caller to
 * remove). No message: the caller falls back to libbpf, which says what failed.
 */
int bpfset_load_light(const char *dir);

#endif
