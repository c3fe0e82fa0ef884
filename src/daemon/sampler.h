/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPFD_SAMPLER_H
#define OCIBPFD_SAMPLER_H

#include "config.h"

/*
 * Telemetry sampling in the collector: keeps the last cgroup values of every monitored
 * container so the totals survive the cgroup (the `stop` record needs them).
 */
struct sampler;

struct sampler *sampler_new(const struct config *cfg);
/* Called every collector tick (about 4 times a second). */
void sampler_tick(struct sampler *s);
void sampler_free(struct sampler *s);

#endif
