/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pkttool: crafts the packets of tests/integration/netcraft.bats and reports which of
 * them arrived. Built static, like nettool, so that it runs in a busybox container, on
 * the host and in test network namespaces.
 *
 *   pkttool send SRC DST PORT PREFIX    send every variant below from a raw socket
 *                                       (IPv4 when DST has no ':'); prints "sent TAG",
 *                                       or "denied TAG" when the send failed with EPERM
 *   pkttool recv PORT...                UDP and TCP (fast open, no cookie) listeners on
 *                                       [::]:PORT, and raw ICMP/ICMPv6 sockets when it may
 *                                       open them; prints "got udp|tcp PORT TAG", "got icmp TAG"
 *   pkttool sniff IFACE                 AF_PACKET on IFACE: "got TAG" for every incoming
 *                                       frame that carries a marker
 *
 * Every packet carries "PKT:TAG" in its payload, TAG = PREFIX-FAMILY-PROTO-VARIANT:
 *   plain                 no extension header (IPv4: no option)
 *   hop|rt|dst|frag|ah-N  IPv6: N (1..16) extension headers of that kind (hop-by-hop,
 *                         routing type 0 with no segment left, destination options,
 *                         atomic fragment, AH), then the transport header
 *   ipopt-N               IPv4: N (1..10) words of NOP options
 *   ah                    IPv4: an AH header, then UDP
 *   fragfirst/1           udp: the first fragment of a two-fragment datagram only
 *   fragnext/2            udp: the second fragment only
 *   fragboth/1, /2        udp: both fragments (each fragment's block is tagged)
 *   esp                   ESP (protocol 50)
 *   unk253                IPv6: an experimental extension header (253), then UDP
 *   proto143              a protocol the kernel does not know (143), no ports
 *   trunc                 udp: the UDP header cut to 2 bytes
 *   end                   plain, sent last (udp, tcp, icmp)
 * TCP packets are SYNs with data (which a fast-open listener hands to accept() at once);
 * ICMP packets are echo requests. Receivers print "listening" once ready.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef TCP_FASTOPEN_NO_COOKIE
#define TCP_FASTOPEN_NO_COOKIE 34
#endif

#define BLOCK 64		/* a tagged payload block */
#define MAXPKT 2048

enum { K_HOP = 0, K_RT = 43, K_FRAG = 44, K_ESP = 50, K_AH = 51, K_DST = 60, K_UNK = 253 };

struct target {
	int v6;
	uint8_t src[16], dst[16];	/* IPv4 in the first 4 bytes */
	uint16_t port;
	const char *prefix;
	int fd;
	unsigned idx;			/* per packet: source port, ICMP id, fragment id */
};

/* --- checksums ------------------------------------------------------------------- */

static uint32_t sum16(const void *p, size_t len, uint32_t s)
{
	const uint8_t *b = p;
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		s += (uint32_t)b[len - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Transport checksum over the pseudo-header of the target's family. */
static uint16_t l4_csum(const struct target *t, uint8_t proto, const uint8_t *l4, size_t len)
{
	uint32_t s = 0;
	if (t->v6) {
		s = sum16(t->src, 16, s);
		s = sum16(t->dst, 16, s);
		s += (uint32_t)(len >> 16) + (len & 0xffff);
	} else {
		if (proto == IPPROTO_ICMP)
			return fold(sum16(l4, len, 0));
		s = sum16(t->src, 4, s);
		s = sum16(t->dst, 4, s);
		s += (uint32_t)len;
	}
	s += proto;
	return fold(sum16(l4, len, s));
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

/* --- transport headers ------------------------------------------------------------- */

static void block(uint8_t *p, const struct target *t, const char *proto, const char *variant,
		  const char *suffix)
{
	memset(p, 0, BLOCK);
	snprintf((char *)p, BLOCK, "PKT:%s-%d-%s-%s%s", t->prefix, t->v6 ? 6 : 4, proto, variant,
		 suffix);
}

/* A transport segment with one tagged block (two for 'twoblocks'); its length. */
static size_t l4_build(uint8_t *out, const struct target *t, int proto, const char *variant,
		       int twoblocks)
{
	const char *pname = proto == IPPROTO_UDP ? "udp" : proto == IPPROTO_TCP ? "tcp" : "icmp";
	uint16_t sport = (uint16_t)(30000 + t->idx);
	size_t hl;
	switch (proto) {
	case IPPROTO_UDP:
		hl = 8;
		break;
	case IPPROTO_TCP:
		hl = 20;
		break;
	default:
		hl = 8;
		break;
	}
	memset(out, 0, hl);
	if (twoblocks) {
		block(out + hl, t, pname, variant, "/1");
		block(out + hl + BLOCK, t, pname, variant, "/2");
	} else {
		block(out + hl, t, pname, variant, "");
	}
	size_t len = hl + (twoblocks ? 2 * BLOCK : BLOCK);
	uint8_t csproto = (uint8_t)proto;
	switch (proto) {
	case IPPROTO_UDP:
		put16(out, sport);
		put16(out + 2, t->port);
		put16(out + 4, (uint16_t)len);
		put16(out + 6, l4_csum(t, IPPROTO_UDP, out, len));
		break;
	case IPPROTO_TCP:
		put16(out, sport);
		put16(out + 2, t->port);
		put32(out + 4, 0x10000000u + t->idx);	/* seq */
		out[12] = 5 << 4;			/* data offset */
		out[13] = 0x02;				/* SYN */
		put16(out + 14, 65535);
		put16(out + 16, l4_csum(t, IPPROTO_TCP, out, len));
		break;
	default:
		csproto = t->v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
		out[0] = t->v6 ? 128 : 8;		/* echo request */
		put16(out + 4, (uint16_t)t->idx);
		put16(out + 6, 1);
		put16(out + 2, l4_csum(t, csproto, out, len));
		break;
	}
	return len;
}

/* --- network headers --------------------------------------------------------------- */

/* One IPv6 extension header of kind k, followed by 'next'; its length. */
static size_t ext_build(uint8_t *p, int k, uint8_t next, uint16_t frag_off_m, uint32_t id)
{
	memset(p, 0, 24);
	p[0] = next;
	switch (k) {
	case K_FRAG:
		put16(p + 2, frag_off_m);
		put32(p + 4, id);
		return 8;
	case K_AH:
		p[1] = 4;	/* (4 + 2) * 4 = 24 bytes: SPI, sequence, 12 bytes of ICV */
		put32(p + 4, 0x100 + id);
		put32(p + 8, 1);
		return 24;
	case K_RT:
		p[2] = 0;	/* type 0, no segment left: skipped by receivers */
		p[3] = 0;
		return 8;
	default:		/* hop-by-hop, destination options, 253: one PadN option */
		p[2] = 1;
		p[3] = 4;
		return 8;
	}
}

static uint8_t l3_proto(const struct target *t, int proto)
{
	if (proto == 0)
		return t->v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	return (uint8_t)proto;
}

/*
 * A whole packet: network header (IPv4 with 'opts' words of options, or IPv6 with the
 * extension headers kinds[0..n)), then 'l4proto' carrying payload[0..plen). frag_off_m:
 * IPv4 flags+offset / IPv6 fragment header field, when frag is set.
 */
static size_t pkt_build(uint8_t *out, const struct target *t, const int *kinds, int n, int opts,
			int frag, uint16_t frag_off_m, uint8_t l4proto, const uint8_t *payload,
			size_t plen)
{
	size_t off;
	if (t->v6) {
		memset(out, 0, 40);
		out[0] = 0x60;
		out[7] = 64;
		memcpy(out + 8, t->src, 16);
		memcpy(out + 24, t->dst, 16);
		off = 40;
		int nk = n + (frag ? 1 : 0);
		int all[40];
		for (int i = 0; i < n; i++)
			all[i] = kinds[i];
		if (frag)
			all[n] = K_FRAG;
		out[6] = nk ? (uint8_t)all[0] : l4proto;
		for (int i = 0; i < nk; i++) {
			uint8_t next = i + 1 < nk ? (uint8_t)all[i + 1] : l4proto;
			bool last_frag = frag && i == nk - 1;
			off += ext_build(out + off, all[i], next, last_frag ? frag_off_m : 0,
					 t->idx);
		}
		memcpy(out + off, payload, plen);
		off += plen;
		put16(out + 4, (uint16_t)(off - 40));
	} else {
		size_t hl = 20 + 4 * (size_t)opts;
		memset(out, 0, hl);
		out[0] = (uint8_t)(0x40 | (hl / 4));
		out[8] = 64;
		out[9] = l4proto;
		put16(out + 4, (uint16_t)(0x4000 + t->idx));	/* id */
		if (frag)
			put16(out + 6, frag_off_m);
		memset(out + 20, 1, hl - 20);	/* NOP options */
		memcpy(out + 12, t->src, 4);
		memcpy(out + 16, t->dst, 4);
		memcpy(out + hl, payload, plen);
		off = hl + plen;
		put16(out + 2, (uint16_t)off);
		put16(out + 10, fold(sum16(out, hl, 0)));
	}
	return off;
}

static int xmit(struct target *t, const uint8_t *p, size_t len, const char *tag)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	if (t->v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, t->dst, 16);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, t->dst, 4);
		sl = sizeof(*s4);
	}
	if (sendto(t->fd, p, len, 0, (struct sockaddr *)&ss, sl) < 0) {
		/* EPERM: dropped by a cgroup egress program on its way out */
		if (errno == EPERM)
			printf("denied %s-%d-%s\n", t->prefix, t->v6 ? 6 : 4, tag);
		else
			printf("error %s-%d-%s %s\n", t->prefix, t->v6 ? 6 : 4, tag, strerror(errno));
		return -1;
	}
	printf("sent %s-%d-%s\n", t->prefix, t->v6 ? 6 : 4, tag);
	return 0;
}

/* A transport segment behind the given extension headers (or IPv4 options). */
static void send_l4(struct target *t, int proto, const char *variant, const int *kinds, int n,
		    int opts)
{
	uint8_t l4[MAXPKT], pkt[MAXPKT];
	char tag[96];
	t->idx++;
	const char *pname = proto == IPPROTO_UDP ? "udp" : proto == IPPROTO_TCP ? "tcp" : "icmp";
	size_t l4len = l4_build(l4, t, proto, variant, 0);
	size_t len = pkt_build(pkt, t, kinds, n, opts, 0, 0, l3_proto(t, proto), l4, l4len);
	snprintf(tag, sizeof(tag), "%s-%s", pname, variant);
	xmit(t, pkt, len, tag);
}

/* UDP in two fragments: first (72 bytes: header and block /1) and/or second (block /2). */
static void send_frags(struct target *t, const char *variant, int first, int second)
{
	uint8_t l4[MAXPKT], pkt[MAXPKT];
	char tag[96];
	t->idx++;
	size_t l4len = l4_build(l4, t, IPPROTO_UDP, variant, 1);
	size_t cut = 8 + BLOCK;	/* 72: a multiple of 8 */
	if (first) {
		uint16_t fo = t->v6 ? 0x0001 : 0x2000;	/* M / MF, offset 0 */
		size_t len = pkt_build(pkt, t, NULL, 0, 0, 1, fo, IPPROTO_UDP, l4, cut);
		snprintf(tag, sizeof(tag), "udp-%s/1", variant);
		xmit(t, pkt, len, tag);
	}
	if (second) {
		uint16_t fo = t->v6 ? (uint16_t)(cut / 8) << 3 : (uint16_t)(cut / 8);
		size_t len = pkt_build(pkt, t, NULL, 0, 0, 1, fo, IPPROTO_UDP, l4 + cut, l4len - cut);
		snprintf(tag, sizeof(tag), "udp-%s/2", variant);
		xmit(t, pkt, len, tag);
	}
}

/* A packet of protocol 'proto' whose payload is one tagged block (no transport header). */
static void send_raw_proto(struct target *t, const char *variant, uint8_t proto, const int *kinds,
			   int n)
{
	uint8_t body[BLOCK + 8], pkt[MAXPKT];
	char tag[96];
	t->idx++;
	memset(body, 0, 8);
	put32(body, 0x100 + t->idx);	/* ESP: SPI */
	put32(body + 4, 1);
	block(body + 8, t, "raw", variant, "");
	size_t len = pkt_build(pkt, t, kinds, n, 0, 0, 0, proto, body, sizeof(body));
	snprintf(tag, sizeof(tag), "raw-%s", variant);
	xmit(t, pkt, len, tag);
}

static int cmd_send(const char *src, const char *dst, const char *port, const char *prefix)
{
	struct target t = { .port = (uint16_t)atoi(port), .prefix = prefix };
	t.v6 = strchr(dst, ':') != NULL;
	int af = t.v6 ? AF_INET6 : AF_INET;
	if (inet_pton(af, src, t.src) != 1 || inet_pton(af, dst, t.dst) != 1) {
		fprintf(stderr, "pkttool: bad address\n");
		return 2;
	}
	/* IPPROTO_RAW: the header is ours (IP_HDRINCL; for IPv6 since Linux 4.5) */
	t.fd = socket(af, SOCK_RAW, IPPROTO_RAW);
	if (t.fd < 0) {
		fprintf(stderr, "pkttool: raw socket: %s\n", strerror(errno));
		return 2;
	}
	static const int protos[] = { IPPROTO_UDP, IPPROTO_TCP, 0 };
	static const int kinds[] = { K_HOP, K_RT, K_DST, K_FRAG, K_AH };
	static const char *const kname[] = { "hop", "rt", "dst", "frag", "ah" };
	char variant[32];
	int chain[16];
	for (int p = 0; p < 3; p++) {
		send_l4(&t, protos[p], "plain", NULL, 0, 0);
		if (t.v6) {
			for (int k = 0; k < 5; k++) {
				for (int n = 1; n <= 16; n++) {
					for (int i = 0; i < n; i++)
						chain[i] = kinds[k];
					snprintf(variant, sizeof(variant), "%s-%d", kname[k], n);
					send_l4(&t, protos[p], variant, chain, n, 0);
				}
			}
		} else {
			for (int n = 1; n <= 10; n++) {
				snprintf(variant, sizeof(variant), "ipopt-%d", n);
				send_l4(&t, protos[p], variant, NULL, 0, n);
			}
		}
	}
	/* IPv4 AH: the AH header is the "transport" of the IP header */
	if (!t.v6) {
		uint8_t l4[MAXPKT], ah[MAXPKT], pkt[MAXPKT];
		t.idx++;
		size_t l4len = l4_build(l4, &t, IPPROTO_UDP, "ah", 0);
		size_t ahl = ext_build(ah, K_AH, IPPROTO_UDP, 0, t.idx);
		memcpy(ah + ahl, l4, l4len);
		size_t len = pkt_build(pkt, &t, NULL, 0, 0, 0, 0, K_AH, ah, ahl + l4len);
		xmit(&t, pkt, len, "udp-ah");
	}
	send_frags(&t, "fragfirst", 1, 0);
	send_frags(&t, "fragnext", 0, 1);
	send_frags(&t, "fragboth", 1, 1);
	send_raw_proto(&t, "esp", K_ESP, NULL, 0);
	send_raw_proto(&t, "proto143", 143, NULL, 0);
	if (t.v6) {
		chain[0] = K_UNK;
		send_l4(&t, IPPROTO_UDP, "unk253", chain, 1, 0);
	}
	{	/* the UDP header cut to 2 bytes */
		uint8_t l4[MAXPKT], pkt[MAXPKT];
		t.idx++;
		l4_build(l4, &t, IPPROTO_UDP, "trunc", 0);
		size_t len = pkt_build(pkt, &t, NULL, 0, 0, 0, 0, IPPROTO_UDP, l4, 2);
		xmit(&t, pkt, len, "udp-trunc");
	}
	for (int p = 0; p < 3; p++)
		send_l4(&t, protos[p], "end", NULL, 0, 0);
	fflush(stdout);
	close(t.fd);
	return 0;
}

/* --- receivers ----------------------------------------------------------------------- */

/* Print "got WHAT TAG" for the first marker in buf. */
static void report_marker(const char *what, const uint8_t *buf, size_t len)
{
	const uint8_t *m = memmem(buf, len, "PKT:", 4);
	if (!m)
		return;
	size_t left = len - (size_t)(m - buf) - 4;
	size_t n = strnlen((const char *)m + 4, left);
	printf("got %s%s%.*s\n", what, *what ? " " : "", (int)n, (const char *)m + 4);
	fflush(stdout);
}

#define MAXFD 64

static int cmd_recv(int argc, char **argv)
{
	struct pollfd pf[MAXFD];
	char what[MAXFD][24];
	int kind[MAXFD];	/* 0 udp, 1 tcp listener, 2 icmp4, 3 icmp6 */
	int n = 0;
	for (int i = 0; i < argc && n + 2 < MAXFD - 2; i++) {
		int port = atoi(argv[i]);
		struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
		int zero = 0, one = 1, qlen = 1024;
		int u = socket(AF_INET6, SOCK_DGRAM, 0);
		int s = socket(AF_INET6, SOCK_STREAM, 0);
		if (u < 0 || s < 0)
			return perror("socket"), 2;
		setsockopt(u, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(u, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    bind(s, (struct sockaddr *)&a, sizeof(a)) < 0)
			return perror("bind"), 2;
		if (setsockopt(s, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof(qlen)) < 0 ||
		    setsockopt(s, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, &one, sizeof(one)) < 0)
			return perror("TCP_FASTOPEN"), 2;
		if (listen(s, 1024) < 0)
			return perror("listen"), 2;
		pf[n] = (struct pollfd){ .fd = u, .events = POLLIN };
		kind[n] = 0;
		snprintf(what[n++], sizeof(what[0]), "udp %d", port);
		pf[n] = (struct pollfd){ .fd = s, .events = POLLIN };
		kind[n] = 1;
		snprintf(what[n++], sizeof(what[0]), "tcp %d", port);
	}
	/* raw ICMP sockets, when allowed (CAP_NET_RAW) */
	int i4 = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	int i6 = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
	if (i4 >= 0) {
		pf[n] = (struct pollfd){ .fd = i4, .events = POLLIN };
		kind[n] = 2;
		snprintf(what[n++], sizeof(what[0]), "icmp");
	}
	if (i6 >= 0) {
		pf[n] = (struct pollfd){ .fd = i6, .events = POLLIN };
		kind[n] = 3;
		snprintf(what[n++], sizeof(what[0]), "icmp");
	}
	printf("listening%s\n", i4 >= 0 ? " icmp" : "");
	fflush(stdout);
	uint8_t buf[4096];
	for (;;) {
		if (poll(pf, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return perror("poll"), 2;
		}
		for (int i = 0; i < n; i++) {
			if (!(pf[i].revents & POLLIN))
				continue;
			if (kind[i] == 1) {
				int c = accept(pf[i].fd, NULL, NULL);
				if (c < 0)
					continue;
				/* fast open: the SYN's data is already queued */
				struct pollfd cp = { .fd = c, .events = POLLIN };
				ssize_t r = poll(&cp, 1, 1000) > 0 ? recv(c, buf, sizeof(buf), MSG_DONTWAIT) : -1;
				if (r > 0)
					report_marker(what[i], buf, (size_t)r);
				else
					printf("got %s (no data)\n", what[i]);
				fflush(stdout);
				close(c);
				continue;
			}
			ssize_t r = recv(pf[i].fd, buf, sizeof(buf), 0);
			if (r <= 0)
				continue;
			if (kind[i] == 2) {	/* IP header first; echo requests only */
				size_t hl = (size_t)(buf[0] & 0xf) * 4;
				if ((size_t)r <= hl || buf[hl] != 8)
					continue;
			} else if (kind[i] == 3 && buf[0] != 128) {
				continue;
			}
			report_marker(what[i], buf, (size_t)r);
		}
	}
}

static int cmd_sniff(const char *ifname)
{
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (fd < 0)
		return perror("AF_PACKET socket"), 2;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (!sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return perror(ifname), 2;
	int big = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	printf("listening\n");
	fflush(stdout);
	uint8_t buf[4096];
	for (;;) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return perror("recv"), 2;
		}
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;
		report_marker("", buf, (size_t)r);
	}
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "send") == 0)
		return cmd_send(argv[2], argv[3], argv[4], argv[5]);
	if (argc >= 3 && strcmp(argv[1], "recv") == 0)
		return cmd_recv(argc - 2, argv + 2);
	if (argc == 3 && strcmp(argv[1], "sniff") == 0)
		return cmd_sniff(argv[2]);
	fprintf(stderr, "usage: pkttool send SRC DST PORT PREFIX | recv PORT... | sniff IFACE\n");
	return 2;
}
