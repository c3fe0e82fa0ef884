/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_OCI_CONMON_H
#define OCIBPF_OCI_CONMON_H

/*
 * Podman (4.3) puts no container name in the OCI config or state; it gives it to conmon,
 * the monitor that starts the runtime, as "-n NAME" beside "-c ID". A hook runs under
 * the runtime under conmon: the name of container id, from the hook's ancestors (at most
 * a few, a conmon whose -c is exactly id), malloc'ed; NULL when there is none.
 */
char *conmon_container_name(const char *id);

#endif
