/* SPDX-License-Identifier: Apache-2.0 */
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <string.h>
#include <microhttpd.h>

#include "httpd.h"
#include "listen.h"
#include "metrics.h"

#define HTTPD_CONNECTION_LIMIT 32
/*
 * A client that holds connections (headers sent a line at a time, which the idle timeout
 * never ends; answers never read) gets this many: a hostile container holding every
 * connection it could would leave the scraper none, and hide itself from its metrics.
 * Prometheus keeps one to a target.
 */
#define HTTPD_PER_IP_LIMIT 4
#define HTTPD_TIMEOUT_S 15
#define HTTPD_STACK (256 * 1024)

/*
 * libmicrohttpd is loaded when metrics are served, not linked: it brings gnutls and ten
 * libraries more (p11-kit, nettle, gmp, ...), ~10 ms of CPU at every start of a collector
 * that serves none, and the collector starts when a container needs it. Its name is the
 * SONAME of the library built against (Makefile).
 */
#ifndef MHD_SONAME
#define MHD_SONAME "libmicrohttpd.so.12"
#endif

static struct {
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_destroy_response) *destroy_response;
} mhd;

static int mhd_load(const char *listen, struct error *err)
{
	if (mhd.destroy_response)
		return 0;
	void *lib = dlopen(MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		return err_msg(err, -ENOENT, "cannot serve metrics on %s: %s (install libmicrohttpd)",
			       listen, dlerror());
	struct { const char *name; void **fn; } syms[] = {
		{ "MHD_start_daemon", (void **)&mhd.start_daemon },
		{ "MHD_stop_daemon", (void **)&mhd.stop_daemon },
		{ "MHD_create_response_from_buffer", (void **)&mhd.create_response_from_buffer },
		{ "MHD_add_response_header", (void **)&mhd.add_response_header },
		{ "MHD_queue_response", (void **)&mhd.queue_response },
		{ "MHD_destroy_response", (void **)&mhd.destroy_response },
	};
	for (size_t i = 0; i < ARRAY_SIZE(syms); i++) {
		*syms[i].fn = dlsym(lib, syms[i].name);
		if (!*syms[i].fn) {
			int r = err_msg(err, -ENOENT, "cannot serve metrics on %s: %s lacks %s", listen,
					MHD_SONAME, syms[i].name);
			mhd.destroy_response = NULL;
			dlclose(lib);
			return r;
		}
	}
	return 0;   /* kept loaded for the collector's life */
}

struct httpd {
	const struct config *cfg;
	struct MHD_Daemon *mhd;
	char last_error[256];    /* libmicrohttpd's last message, to explain a failed start */
};

int httpd_parse_listen(const char *spec, struct sockaddr_storage *ret, socklen_t *ret_len,
		       struct error *err)
{
	_cleanup_free_ char *host = NULL, *port = NULL;
	int r = listen_split("--metrics-listen", spec, &host, &port, err);
	if (r < 0)
		return r;
	struct addrinfo hints = { .ai_flags = AI_NUMERICSERV | AI_PASSIVE,
				  .ai_socktype = SOCK_STREAM }, *ai = NULL;
	r = getaddrinfo(host, port, &hints, &ai);
	if (r != 0)
		return err_msg(err, -EINVAL, "--metrics-listen %s: %s", spec, gai_strerror(r));
	if (ai->ai_addrlen > sizeof(*ret)) {
		freeaddrinfo(ai);
		return err_msg(err, -EINVAL, "--metrics-listen %s: unsupported address", spec);
	}
	memset(ret, 0, sizeof(*ret));
	memcpy(ret, ai->ai_addr, ai->ai_addrlen);
	*ret_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct httpd *h = cls;
	vsnprintf(h->last_error, sizeof(h->last_error), fmt, ap);
	h->last_error[strcspn(h->last_error, "\n")] = '\0';
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
	struct MHD_Response *r = mhd.create_response_from_buffer(strlen(text), (void *)text,
								 MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		mhd.add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result ret = mhd.queue_response(conn, status, r);
	mhd.destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req_cls)
{
	struct httpd *h = cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	if (strcmp(url, "/") == 0)
		return reply_text(conn, MHD_HTTP_OK, "ocibpfd: metrics at /metrics\n");
	if (strcmp(url, "/metrics") != 0)
		return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found (metrics are at /metrics)\n");

	char *text = NULL;
	size_t len = 0;
	if (metrics_text(h->cfg, &text, &len) < 0)
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot collect metrics\n");
	struct MHD_Response *r = mhd.create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, METRICS_CONTENT_TYPE);
	enum MHD_Result ret = mhd.queue_response(conn, MHD_HTTP_OK, r);
	mhd.destroy_response(r);
	return ret;
}

int httpd_start(const struct config *cfg, const char *listen, struct httpd **ret,
		struct error *err)
{
	struct sockaddr_storage sa;
	socklen_t salen;
	int r = httpd_parse_listen(listen, &sa, &salen, err);
	if (r < 0)
		return r;
	r = mhd_load(listen, err);
	if (r < 0)
		return r;
	struct httpd *h = xcalloc(1, sizeof(*h));
	h->cfg = cfg;
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	if (sa.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->mhd = mhd.start_daemon(flags, 0, NULL, NULL, handle, h,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTPD_CONNECTION_LIMIT,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTPD_PER_IP_LIMIT,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTPD_TIMEOUT_S,
				  MHD_OPTION_THREAD_STACK_SIZE, (size_t)HTTPD_STACK,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
				  MHD_OPTION_END);
	if (!h->mhd) {
		r = err_msg(err, -EADDRNOTAVAIL, "cannot serve metrics on %s: %s", listen,
			    h->last_error[0] ? h->last_error : "libmicrohttpd failed to start");
		free(h);
		return r;
	}
	*ret = h;
	return 0;
}

void httpd_stop(struct httpd *h)
{
	if (!h)
		return;
	mhd.stop_daemon(h->mhd);
	free(h);
}
