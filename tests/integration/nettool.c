/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nettool: the network client and server of tests/integration/network.bats and
 * tests/bench/net.sh, built static so that it runs in a busybox container as well as on
 * the host and in test network namespaces.
 *
 *   nettool tcp ADDR PORT [TIMEOUT_MS]      connect (and read the banner, if any)
 *   nettool udp ADDR PORT [TIMEOUT_MS]      sendto() unconnected, wait for the echo
 *   nettool udpc ADDR PORT [TIMEOUT_MS]     connect(), send(), wait for the echo
 *   nettool listen-tcp ADDR PORT [N]        accept N connections (0: forever), send "hello\n"
 *   nettool listen-udp ADDR PORT [N]        echo N datagrams (0: forever), each after
 *                                           $NETTOOL_ECHO_DELAY_MS when set
 *   nettool sink ADDR PORT                   accept connections, print "received N" per read
 *   nettool flood-udp ADDR PORT N            N unconnected sends; prints "EPERM K" (K refused)
 *   nettool spray-udp ADDR PORT N            N unconnected sends from one socket, each to another
 *                                           IPv4 address (ADDR, ADDR+1, ...); prints "EPERM K"
 *   nettool loop ADDR PORT N                N connect()/close(); prints connects per second and
 *                                           connects per CPU second (its own user + system
 *                                           time, steadier than the rate on a busy host)
 *   nettool tfo ADDR PORT [TIMEOUT_MS]      TCP fast open: sendto(MSG_FASTOPEN), read the banner
 *   nettool sendmmsg ADDR PORT [TIMEOUT_MS] three datagrams in one sendmmsg(), wait for an echo
 *   nettool uring-connect ADDR PORT [T]     connect through io_uring (IORING_OP_CONNECT)
 *   nettool uring-sendmsg ADDR PORT [T]     unconnected UDP send through io_uring
 *                                           (IORING_OP_SENDMSG), wait for the echo
 *   nettool via HOP FINAL PORT              source-routed sends to FINAL through HOP (IPv4:
 *                                           IP_OPTIONS LSRR; IPv6: IPV6_RTHDR segment routing
 *                                           header), none of which needs a capability: an
 *                                           unconnected and a connected UDP datagram, a TCP
 *                                           fast-open SYN with data, each carrying
 *                                           "PKT:via-HOP-udp|udpc|tcp"; prints "udp|udpc|tcp: WORD"
 *   nettool late-via HOP FINAL PORT         a TCP connection to FINAL that sends 32 segments
 *                                           first (prints "segs_out N"), then the source
 *                                           route through HOP (as `via`) and a segment
 *                                           carrying "PKT:late-via-HOP"; prints "late: WORD"
 *
 *   nettool give PATH tcp|udp [N]           serve N clients (0: forever) on the unix socket PATH:
 *                                           each gets a new IPv4 socket of the type, made
 *                                           here (SCM_RIGHTS); prints "listening" once bound
 *
 * $NETTOOL_FD_FROM=PATH: the clients tcp, udp and udpc take their socket from `give` at
 * PATH instead of making it.
 * $NETTOOL_MPTCP set: the TCP client (tcp) and the listeners (listen-tcp, sink) use
 * IPPROTO_MPTCP. $NETTOOL_HOLD_MS set: the TCP client, once connected, writes a byte every
 * 20 ms for that long and then prints "subflows N" (how many of its subflows are
 * established, the first one too: MPTCP_TCPINFO; -1 when not MPTCP) before its word.
 *
 * ADDR with a ':' is IPv6 (so "::ffff:127.0.0.1" is an IPv4-mapped address on an IPv6
 * socket), else IPv4. Clients bind to the address in $NETTOOL_SRC when it is set. Listeners print "listening" once bound (stdout, flushed).
 * Clients print one word and exit with: 0 ok, 1 EPERM, 2 timeout, 3 refused, 4 other.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <linux/tcp.h>	/* struct tcp_info with tcpi_segs_out */
#include <linux/mptcp.h>	/* struct mptcp_info */
#include <stdint.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum { OK = 0, E_PERM = 1, E_TIMEOUT = 2, E_REFUSED = 3, E_OTHER = 4 };

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif

/* The protocol of TCP sockets: MPTCP when $NETTOOL_MPTCP is set. */
static int stream_proto(void)
{
	const char *m = getenv("NETTOOL_MPTCP");
	return m && *m ? IPPROTO_MPTCP : 0;
}

static int parse_addr(const char *addr, const char *port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	int p = atoi(port);
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		if (inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)
			return -1;
		*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		if (inet_pton(AF_INET, addr, &s4->sin_addr) != 1)
			return -1;
		*len = sizeof(*s4);
	}
	return 0;
}

/* Bind a client socket to $NETTOOL_SRC, when set. */
static int bind_src(int fd, int family)
{
	const char *src = getenv("NETTOOL_SRC");
	if (!src || !*src)
		return 0;
	struct sockaddr_storage ss;
	socklen_t len;
	if (parse_addr(src, "0", &ss, &len) < 0 || ss.ss_family != family) {
		errno = EINVAL;
		return -1;
	}
	return bind(fd, (struct sockaddr *)&ss, len);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int report(int e, double t0)
{
	const char *word;
	int rc;
	switch (e) {
	case 0:
		word = "ok";
		rc = OK;
		break;
	case EPERM:
		word = "EPERM";
		rc = E_PERM;
		break;
	case ETIMEDOUT:
		word = "timeout";
		rc = E_TIMEOUT;
		break;
	case ECONNREFUSED:
		word = "refused";
		rc = E_REFUSED;
		break;
	default:
		word = strerror(e);
		rc = E_OTHER;
		break;
	}
	printf("%s %.0fms\n", word, now_ms() - t0);
	return rc;
}

/* Wait for fd to be readable/writable; 0, ETIMEDOUT or errno. */
static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r = poll(&p, 1, timeout_ms);
	if (r < 0)
		return errno;
	return r == 0 ? ETIMEDOUT : 0;
}

static int unix_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa->sun_path, path);
	return 0;
}

/* A new socket, or the one `give` at $NETTOOL_FD_FROM hands out (made in its cgroup). */
static int client_socket(int family, int type, int proto)
{
	const char *from = getenv("NETTOOL_FD_FROM");
	if (!from || !*from)
		return socket(family, type, proto);
	struct sockaddr_un sa;
	int u = socket(AF_UNIX, SOCK_STREAM, 0);
	if (u < 0 || unix_addr(from, &sa) < 0 || connect(u, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	char b, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	if (recvmsg(u, &mh, 0) != 1)
		return -1;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	close(u);
	if (!cm || cm->cmsg_type != SCM_RIGHTS) {
		errno = EBADMSG;
		return -1;
	}
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	if (type & SOCK_NONBLOCK)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static int cmd_give(const char *path, const char *what, long n)
{
	struct sockaddr_un sa;
	int type = strcmp(what, "udp") == 0 ? SOCK_DGRAM : SOCK_STREAM;
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	if (l < 0 || unix_addr(path, &sa) < 0)
		return E_OTHER;
	unlink(path);
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 16) < 0) {
		perror("nettool: give");
		return E_OTHER;
	}
	printf("listening\n");
	fflush(stdout);
	for (long i = 0; n == 0 || i < n;) {
		int c = accept(l, NULL, NULL);
		if (c < 0)
			continue;
		int fd = socket(AF_INET, type, 0);
		char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
		struct iovec iov = { .iov_base = "s", .iov_len = 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
		if (fd >= 0)
			(void)!sendmsg(c, &mh, 0);
		close(fd);
		close(c);
		i++;
	}
	return OK;
}

/* How many of an MPTCP socket's subflows are established (the first one too); -1: not MPTCP. */
static int established_subflows(int fd)
{
	struct {
		struct mptcp_subflow_data d;
		struct tcp_info ti[8];
	} b = { .d = { .size_subflow_data = sizeof(b.d), .size_user = sizeof(struct tcp_info) } };
	socklen_t l = sizeof(b);
	if (getsockopt(fd, SOL_MPTCP, MPTCP_TCPINFO, &b, &l) < 0)
		return -1;
	int n = 0;
	for (unsigned i = 0; i < b.d.num_subflows && i < 8; i++)
		n += b.ti[i].tcpi_state == 1;	/* TCP_ESTABLISHED */
	return n;
}

static int cmd_tcp(const char *addr, const char *port, int timeout_ms)
{
	struct sockaddr_storage ss;
	socklen_t len;
	double t0 = now_ms();
	if (parse_addr(addr, port, &ss, &len) < 0)
		return report(EINVAL, t0);
	int fd = client_socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, stream_proto());
	if (fd < 0 || bind_src(fd, ss.ss_family) < 0)
		return report(errno, t0);
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		if (errno != EINPROGRESS)
			return report(errno, t0);
		int e = wait_fd(fd, POLLOUT, timeout_ms);
		if (e)
			return report(e, t0);
		socklen_t el = sizeof(e);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
		if (e)
			return report(e, t0);
	}
	const char *hold = getenv("NETTOOL_HOLD_MS");
	if (hold && *hold) {
		/* keep the connection busy, then say how many subflows it has */
		for (int ms = 0; ms < atoi(hold); ms += 20) {
			if (send(fd, ".", 1, MSG_NOSIGNAL) < 0 && errno != EAGAIN)
				return report(errno, t0);
			usleep(20 * 1000);
		}
		printf("subflows %d\n", established_subflows(fd));
	} else {
		/* the banner, when the server sends one */
		char buf[64];
		if (wait_fd(fd, POLLIN, timeout_ms) == 0)
			(void)!read(fd, buf, sizeof(buf));
	}
	close(fd);
	return report(0, t0);
}

static int cmd_udp(const char *addr, const char *port, int timeout_ms, int connected)
{
	struct sockaddr_storage ss;
	socklen_t len;
	double t0 = now_ms();
	if (parse_addr(addr, port, &ss, &len) < 0)
		return report(EINVAL, t0);
	int fd = client_socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || bind_src(fd, ss.ss_family) < 0)
		return report(errno, t0);
	static const char msg[] = "ping";
	if (connected) {
		if (connect(fd, (struct sockaddr *)&ss, len) < 0)
			return report(errno, t0);
		if (send(fd, msg, sizeof(msg), 0) < 0)
			return report(errno, t0);
	} else if (sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&ss, len) < 0) {
		return report(errno, t0);
	}
	int e = wait_fd(fd, POLLIN, timeout_ms);
	if (e)
		return report(e, t0);
	char buf[64];
	if (recv(fd, buf, sizeof(buf), 0) < 0)
		return report(errno, t0);
	return report(0, t0);
}

static int listener(const char *addr, const char *port, int type)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (parse_addr(addr, port, &ss, &len) < 0) {
		fprintf(stderr, "nettool: bad address %s\n", addr);
		exit(E_OTHER);
	}
	int fd = socket(ss.ss_family, type, type == SOCK_STREAM ? stream_proto() : 0);
	int one = 1, zero = 0;
	if (fd < 0) {
		perror("nettool: socket");
		exit(E_OTHER);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || (type == SOCK_STREAM && listen(fd, 512) < 0)) {
		perror("nettool: bind/listen");
		exit(E_OTHER);
	}
	printf("listening\n");
	fflush(stdout);
	return fd;
}

static int cmd_listen_tcp(const char *addr, const char *port, long n)
{
	int fd = listener(addr, port, SOCK_STREAM);
	for (long i = 0; n == 0 || i < n;) {
		int c = accept(fd, NULL, NULL);
		if (c < 0)
			continue;
		(void)!write(c, "hello\n", 6);
		close(c);
		i++;
	}
	return OK;
}

static int cmd_listen_udp(const char *addr, const char *port, long n)
{
	int fd = listener(addr, port, SOCK_DGRAM);
	for (long i = 0; n == 0 || i < n;) {
		char buf[1500];
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (r < 0)
			continue;
		/* $NETTOOL_ECHO_DELAY_MS: a slow server (a resolver asking upstream) */
		const char *delay = getenv("NETTOOL_ECHO_DELAY_MS");
		if (delay)
			usleep((useconds_t)atoi(delay) * 1000);
		sendto(fd, buf, (size_t)r, 0, (struct sockaddr *)&from, fl);
		i++;
	}
	return OK;
}

static int cmd_sink(const char *addr, const char *port)
{
	int fd = listener(addr, port, SOCK_STREAM);
	for (;;) {
		int c = accept(fd, NULL, NULL);
		if (c < 0)
			continue;
		char buf[4096];
		ssize_t r;
		while ((r = read(c, buf, sizeof(buf))) > 0) {
			printf("received %zd\n", r);
			fflush(stdout);
		}
		close(c);
	}
	return OK;
}

static int cmd_flood_udp(const char *addr, const char *port, long n)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (parse_addr(addr, port, &ss, &len) < 0)
		return E_OTHER;
	int fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0)
		return E_OTHER;
	long denied = 0;
	for (long i = 0; i < n; i++)
		if (sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len) < 0 && errno == EPERM)
			denied++;
	printf("EPERM %ld\n", denied);
	return OK;
}

static int cmd_spray_udp(const char *addr, const char *port, long n)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (parse_addr(addr, port, &ss, &len) < 0 || ss.ss_family != AF_INET)
		return E_OTHER;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return E_OTHER;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	uint32_t base = ntohl(sin->sin_addr.s_addr);
	long denied = 0;
	for (long i = 0; i < n; i++) {
		sin->sin_addr.s_addr = htonl(base + (uint32_t)i);
		if (sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len) < 0 && errno == EPERM)
			denied++;
	}
	printf("EPERM %ld\n", denied);
	return OK;
}

static int cmd_loop(const char *addr, const char *port, long n)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (parse_addr(addr, port, &ss, &len) < 0)
		return E_OTHER;
	double t0 = now_ms();
	for (long i = 0; i < n; i++) {
		int fd = socket(ss.ss_family, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0) {
			fprintf(stderr, "nettool: connect #%ld: %s\n", i, strerror(errno));
			return errno == EPERM ? E_PERM : E_OTHER;
		}
		/* RST instead of FIN: no TIME_WAIT piling up over a long loop */
		struct linger l = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		close(fd);
	}
	double ms = now_ms() - t0;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu_s = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	printf("%.0f %.0f\n", (double)n * 1e3 / ms, cpu_s > 0 ? (double)n / cpu_s : 0.0);
	return OK;
}

/* TCP fast open: the connect happens in sendto(MSG_FASTOPEN), data in the SYN. */
static int cmd_tfo(const char *addr, const char *port, int timeout_ms)
{
	struct sockaddr_storage ss;
	socklen_t len;
	double t0 = now_ms();
	if (parse_addr(addr, port, &ss, &len) < 0)
		return report(EINVAL, t0);
	int fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return report(errno, t0);
	if (sendto(fd, "hi\n", 3, MSG_FASTOPEN, (struct sockaddr *)&ss, len) < 0)
		return report(errno, t0);
	char buf[64];
	int e = wait_fd(fd, POLLIN, timeout_ms);
	if (e)
		return report(e, t0);
	if (read(fd, buf, sizeof(buf)) < 0)
		return report(errno, t0);
	close(fd);
	return report(0, t0);
}

/* Three datagrams in one sendmmsg() on an unconnected socket; "ok" when echoed. */
static int cmd_sendmmsg(const char *addr, const char *port, int timeout_ms)
{
	struct sockaddr_storage ss;
	socklen_t len;
	double t0 = now_ms();
	if (parse_addr(addr, port, &ss, &len) < 0)
		return report(EINVAL, t0);
	int fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0)
		return report(errno, t0);
	char msg[] = "ping";
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(msg) };
	struct mmsghdr m[3];
	memset(m, 0, sizeof(m));
	for (int i = 0; i < 3; i++) {
		m[i].msg_hdr.msg_name = &ss;
		m[i].msg_hdr.msg_namelen = len;
		m[i].msg_hdr.msg_iov = &iov;
		m[i].msg_hdr.msg_iovlen = 1;
	}
	int n = sendmmsg(fd, m, 3, 0);
	if (n < 0)
		return report(errno, t0);
	if (n != 3)
		return report(EIO, t0);
	int e = wait_fd(fd, POLLIN, timeout_ms);
	if (e)
		return report(e, t0);
	char buf[64];
	if (recv(fd, buf, sizeof(buf), 0) < 0)
		return report(errno, t0);
	return report(0, t0);
}

/* --- io_uring, by raw syscalls (no liburing): one submission, one completion --------- */

struct uring {
	int fd;
	unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
};

static int uring_init(struct uring *u)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	u->fd = (int)syscall(__NR_io_uring_setup, 4, &p);
	if (u->fd < 0)
		return -errno;
	size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	char *sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->fd,
			IORING_OFF_SQ_RING);
	char *cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->fd,
			IORING_OFF_CQ_RING);
	u->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, u->fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || u->sqes == MAP_FAILED)
		return -errno;
	u->sq_tail = (unsigned *)(sq + p.sq_off.tail);
	u->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
	u->sq_array = (unsigned *)(sq + p.sq_off.array);
	u->cq_head = (unsigned *)(cq + p.cq_off.head);
	u->cq_tail = (unsigned *)(cq + p.cq_off.tail);
	u->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
	u->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;
}

/* Submit *sqe and wait for its completion: its result (>= 0, or -errno). */
static int uring_run(struct uring *u, const struct io_uring_sqe *sqe)
{
	unsigned tail = *u->sq_tail, idx = tail & *u->sq_mask;
	u->sqes[idx] = *sqe;
	u->sq_array[idx] = idx;
	__atomic_store_n(u->sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, u->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		return -errno;
	unsigned head = *u->cq_head;
	if (head == __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE))
		return -EIO;
	int res = u->cqes[head & *u->cq_mask].res;
	__atomic_store_n(u->cq_head, head + 1, __ATOMIC_RELEASE);
	return res;
}

static int cmd_uring(const char *addr, const char *port, int timeout_ms, int sendmsg)
{
	struct sockaddr_storage ss;
	socklen_t len;
	double t0 = now_ms();
	if (parse_addr(addr, port, &ss, &len) < 0)
		return report(EINVAL, t0);
	struct uring u = { .fd = -1 };
	int r = uring_init(&u);
	if (r < 0)
		return report(-r, t0);
	int fd = socket(ss.ss_family, sendmsg ? SOCK_DGRAM : SOCK_STREAM, 0);
	if (fd < 0)
		return report(errno, t0);
	struct io_uring_sqe sqe;
	memset(&sqe, 0, sizeof(sqe));
	sqe.fd = fd;
	char msg[] = "ping";
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(msg) };
	struct msghdr mh = { .msg_name = &ss, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1 };
	if (sendmsg) {
		sqe.opcode = IORING_OP_SENDMSG;
		sqe.addr = (unsigned long)&mh;
		sqe.len = 1;
	} else {
		sqe.opcode = IORING_OP_CONNECT;
		sqe.addr = (unsigned long)&ss;
		sqe.off = len;
	}
	r = uring_run(&u, &sqe);
	if (r < 0)
		return report(-r, t0);
	int e = wait_fd(fd, POLLIN, timeout_ms);
	if (e)
		return report(e, t0);
	char buf[64];
	if (recv(fd, buf, sizeof(buf), 0) < 0)
		return report(errno, t0);
	return report(0, t0);
}

/* Source routing through hop on fd (family of final): 0 or errno. */
static int set_via(int fd, const struct sockaddr_storage *hop, const struct sockaddr_storage *final)
{
	if (final->ss_family == AF_INET) {
		/* LSRR with one address: the kernel sends to it, the final address goes last */
		uint8_t opt[8] = { 1, 131, 7, 4 };
		memcpy(opt + 4, &((const struct sockaddr_in *)hop)->sin_addr, 4);
		return setsockopt(fd, IPPROTO_IP, IP_OPTIONS, opt, sizeof(opt)) < 0 ? errno : 0;
	}
	/* SRH: segments[0] is the final address (the kernel writes it), segments[1] the hop */
	uint8_t srh[8 + 32] = { 0, 4, 4, 1, 1 };	/* next, hdrlen, type 4, segleft 1, last 1 */
	memcpy(srh + 8, &((const struct sockaddr_in6 *)final)->sin6_addr, 16);
	memcpy(srh + 24, &((const struct sockaddr_in6 *)hop)->sin6_addr, 16);
	return setsockopt(fd, IPPROTO_IPV6, IPV6_RTHDR, srh, sizeof(srh)) < 0 ? errno : 0;
}

static int cmd_via(const char *hop, const char *final, const char *port)
{
	struct sockaddr_storage h, f;
	socklen_t hl, fl;
	if (parse_addr(hop, port, &h, &hl) < 0 || parse_addr(final, port, &f, &fl) < 0 ||
	    h.ss_family != f.ss_family)
		return E_OTHER;
	static const char *const mode[] = { "udp", "udpc", "tcp" };
	for (int m = 0; m < 3; m++) {
		char msg[64];
		snprintf(msg, sizeof(msg), "PKT:via-%s-%s", hop, mode[m]);
		double t0 = now_ms();
		int fd = socket(f.ss_family, m == 2 ? SOCK_STREAM : SOCK_DGRAM, 0), one = 1, e;
		printf("%s: ", mode[m]);
		if (fd < 0) {
			report(errno, t0);
			continue;
		}
		if ((e = set_via(fd, &h, &f))) {
			report(e, t0);
			close(fd);
			continue;
		}
		ssize_t r;
		if (m == 0) {
			r = sendto(fd, msg, strlen(msg) + 1, 0, (struct sockaddr *)&f, fl);
		} else if (m == 1) {
			r = connect(fd, (struct sockaddr *)&f, fl);
			if (r == 0)
				r = send(fd, msg, strlen(msg) + 1, 0);
		} else {
			/* the data goes in the SYN */
			setsockopt(fd, IPPROTO_TCP, 34 /* TCP_FASTOPEN_NO_COOKIE */, &one, sizeof(one));
			fcntl(fd, F_SETFL, O_NONBLOCK);
			r = sendto(fd, msg, strlen(msg) + 1, MSG_FASTOPEN, (struct sockaddr *)&f, fl);
			if (r < 0 && errno == EINPROGRESS)
				r = 0;
		}
		report(r < 0 ? errno : 0, t0);
		fflush(stdout);
		close(fd);
	}
	return OK;
}

static int cmd_late_via(const char *hop, const char *final, const char *port)
{
	struct sockaddr_storage h, f;
	socklen_t hl, fl;
	double t0 = now_ms();
	if (parse_addr(hop, port, &h, &hl) < 0 || parse_addr(final, port, &f, &fl) < 0 ||
	    h.ss_family != f.ss_family)
		return E_OTHER;
	int fd = socket(f.ss_family, SOCK_STREAM, 0), one = 1, e;
	if (fd < 0 || connect(fd, (struct sockaddr *)&f, fl) < 0)
		return report(errno, t0);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (int i = 0; i < 32; i++) {
		if (send(fd, ".", 1, 0) < 0)
			return report(errno, t0);
		usleep(2000);
	}
	struct tcp_info ti = { 0 };
	socklen_t tl = sizeof(ti);
	getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl);
	printf("segs_out %u\n", ti.tcpi_segs_out);
	printf("late: ");
	if ((e = set_via(fd, &h, &f)))
		return report(e, t0);
	char msg[64];
	snprintf(msg, sizeof(msg), "PKT:late-via-%s", hop);
	if (send(fd, msg, strlen(msg) + 1, 0) < 0)
		return report(errno, t0);
	usleep(300 * 1000);
	close(fd);
	return report(0, t0);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: nettool COMMAND ADDR PORT [ARG] (see nettool.c)\n");
		return E_OTHER;
	}
	const char *cmd = argv[1], *addr = argv[2], *port = argv[3];
	long arg = argc > 4 ? atol(argv[4]) : -1;
	int timeout_ms = arg > 0 ? (int)arg : 2000;
	if (strcmp(cmd, "tcp") == 0)
		return cmd_tcp(addr, port, timeout_ms);
	if (strcmp(cmd, "udp") == 0)
		return cmd_udp(addr, port, timeout_ms, 0);
	if (strcmp(cmd, "udpc") == 0)
		return cmd_udp(addr, port, timeout_ms, 1);
	if (strcmp(cmd, "listen-tcp") == 0)
		return cmd_listen_tcp(addr, port, arg < 0 ? 0 : arg);
	if (strcmp(cmd, "listen-udp") == 0)
		return cmd_listen_udp(addr, port, arg < 0 ? 0 : arg);
	if (strcmp(cmd, "flood-udp") == 0)
		return cmd_flood_udp(addr, port, arg < 0 ? 1 : arg);
	if (strcmp(cmd, "spray-udp") == 0)
		return cmd_spray_udp(addr, port, arg < 0 ? 1 : arg);
	if (strcmp(cmd, "sink") == 0)
		return cmd_sink(addr, port);
	if (strcmp(cmd, "loop") == 0)
		return cmd_loop(addr, port, arg < 0 ? 1000 : arg);
	if (strcmp(cmd, "via") == 0 && argc > 4)
		return cmd_via(addr, port, argv[4]);
	if (strcmp(cmd, "late-via") == 0 && argc > 4)
		return cmd_late_via(addr, port, argv[4]);
	if (strcmp(cmd, "give") == 0)
		return cmd_give(addr, port, arg < 0 ? 1 : arg);
	if (strcmp(cmd, "tfo") == 0)
		return cmd_tfo(addr, port, timeout_ms);
	if (strcmp(cmd, "sendmmsg") == 0)
		return cmd_sendmmsg(addr, port, timeout_ms);
	if (strcmp(cmd, "uring-connect") == 0)
		return cmd_uring(addr, port, timeout_ms, 0);
	if (strcmp(cmd, "uring-sendmsg") == 0)
		return cmd_uring(addr, port, timeout_ms, 1);
	fprintf(stderr, "nettool: unknown command %s\n", cmd);
	return E_OTHER;
}
