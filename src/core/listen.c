/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "listen.h"

int listen_split(const char *what, const char *spec, char **ret_host, char **ret_port,
		 struct error *err)
{
	_cleanup_free_ char *host = NULL;
	const char *port;
	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');
		if (!end || end[1] != ':')
			return err_msg(err, -EINVAL, "%s %s: want [ADDR]:PORT", what, spec);
		host = strndup(spec + 1, end - spec - 1);
		port = end + 2;
	} else {
		const char *colon = strrchr(spec, ':');
		if (!colon || strchr(spec, ':') != colon)
			return err_msg(err, -EINVAL, "%s %s: want ADDR:PORT (IPv6 as [ADDR]:PORT)",
				       what, spec);
		host = strndup(spec, colon - spec);
		port = colon + 1;
	}
	if (!host)
		abort();
	if (!*host)
		return err_msg(err, -EINVAL,
			       "%s %s: want ADDR:PORT: no ADDR (0.0.0.0:9100 or [::]:9100 for every address)",
			       what, spec);
	char *end;
	errno = 0;
	unsigned long p = strtoul(port, &end, 10);
	if (!*host || !*port || *end || errno || p == 0 || p > 65535 || port[0] < '0' ||
	    port[0] > '9')
		return err_msg(err, -EINVAL, "%s %s: want ADDR:PORT with a port 1-65535", what,
			       spec);
	*ret_host = TAKE_PTR(host);
	*ret_port = xstrdup(port);
	return 0;
}
