/* egressaudit - capture/capture.c: pcap/pcapng files through libpcap.
 * libpcap reads both formats, both byte orders, and scales nanosecond
 * timestamps to the microseconds we ask for. Packet data is valid only in
 * the callback (pcap_loop(3PCAP)): the decoder borrows it, the flow table
 * copies the few bytes it keeps.
 * SPDX-License-Identifier: MIT
 */
#define _DEFAULT_SOURCE
#include "capture/capture.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "capture/pcapng_if.h"
#include "common/util.h"

#define DISPATCH_BATCH 4096
#define FILE_BUF (1 << 20)
#define PCAPNG_HEAD_MAX (64 * 1024) /* where interface blocks are looked for */

#define IF_POINTS_MAX 64

struct livesrc {
  struct capture *c;
  pcap_t *p;
  int dlt;
  int64_t point;
  int per_if; /* "any" with LINUX_SLL2 and cfg.if_point: point by ifindex */
  int n_ifp;
  struct {
    int32_t ifindex;
    int64_t point;
  } ifp[IF_POINTS_MAX];
};

struct capture {
  struct capture_cfg cfg;
  struct livesrc live[CAPTURE_LIVE_MAX];
  int n_live;
  struct flow_table *flows;
  pcap_t *p;
  const char *path;
  int dlt;
  uint64_t file_size;
  int64_t point;
  int file_addrs;
  struct netset local; /* --local plus the files' interface addresses   */
  char filter[4096];
  struct capture_counters n;
  char *fbuf;          /* the open file's stdio buffer (FILE_BUF)        */
};

int capture_new(struct capture **out, const struct capture_cfg *cfg,
                flow_emit_fn emit, void *ctx) {
  struct capture *c;
  struct flow_cfg fc;
  int rc;

  *out = NULL;
  c = calloc(1, sizeof(*c));
  if (c == NULL) return -ENOMEM;
  c->cfg = *cfg;
  if (cfg->local != NULL) c->local = *cfg->local;
  memset(&fc, 0, sizeof(fc));
  fc.local = &c->local;
  fc.max_flows = cfg->max_flows;
  fc.ports = cfg->ports;
  fc.seed[0] = cfg->seed[0];
  fc.seed[1] = cfg->seed[1];
  rc = flow_table_new(&c->flows, &fc, emit, ctx);
  if (rc < 0) {
    free(c);
    return rc;
  }
  *out = c;
  return 0;
}

void capture_free(struct capture *c) {
  if (c == NULL) return;
  capture_close_file(c);
  capture_live_close(c);
  flow_table_free(c->flows);
  free(c->fbuf); /* after the file that used it is closed */
  free(c);
}

/* "tcp and (port 25 or port 587)", and the same behind one or two VLAN tags
 * where the link has them. */
static int filter_build(const struct capture *c, char *out, size_t cap,
                        bool vlan) {
  char ports[600];
  size_t o = 0;
  unsigned p;

  ports[0] = '\0';
  for (p = 1; p < 65536 && o + 16 < sizeof(ports); p++) {
    if (!(c->cfg.ports[p >> 3] >> (p & 7) & 1)) continue;
    o += (size_t)snprintf(ports + o, sizeof(ports) - o, "%sport %u",
                          o ? " or " : "", p);
  }
  for (; p < 65536; p++)
    if (c->cfg.ports[p >> 3] >> (p & 7) & 1) return -1; /* too many ports */
  /* libpcap's "tcp" does not walk IPv6 extension headers: let IPv6 frames
   * that start with one through, the decoder walks the chain. */
#define IP6EXT "(ip6 and (ip6[6] == 0 or ip6[6] == 43 or ip6[6] == 44 or " \
               "ip6[6] == 51 or ip6[6] == 60))"
  if (vlan)
    snprintf(out, cap,
             "(tcp and (%s)) or " IP6EXT " or (vlan and ((tcp and (%s)) or "
             IP6EXT " or (vlan and ((tcp and (%s)) or " IP6EXT "))))",
             ports, ports, ports);
  else
    snprintf(out, cap, "(tcp and (%s)) or " IP6EXT, ports);
#undef IP6EXT
  return 0;
}

static int filter_set_on(struct capture *c, pcap_t *p) {
  struct bpf_program prog;
  int vlan;

  c->filter[0] = '\0';
  if (c->cfg.no_filter) return 0;
  for (vlan = 1; vlan >= 0; vlan--) {
    if (filter_build(c, c->filter, sizeof(c->filter), vlan) < 0) break;
    if (pcap_compile(p, &prog, c->filter, 1, PCAP_NETMASK_UNKNOWN) == 0) {
      int rc = pcap_setfilter(p, &prog);
      pcap_freecode(&prog);
      if (rc == 0) return 0;
    }
  }
  /* No filter for this link type: our own decoder checks every frame. */
  c->filter[0] = '\0';
  return 0;
}

static int filter_set(struct capture *c) { return filter_set_on(c, c->p); }

int capture_open_file(struct capture *c, const char *path, char *err,
                      size_t errlen) {
  char eb[PCAP_ERRBUF_SIZE];
  struct stat st;
  FILE *f;

  capture_close_file(c);
  eb[0] = '\0';
  c->path = path;
  c->file_addrs = 0;
  c->file_size = 0;
  if (strcmp(path, "-") == 0) {
    c->p = pcap_fopen_offline_with_tstamp_precision(
        stdin, PCAP_TSTAMP_PRECISION_MICRO, eb);
  } else {
    f = fopen(path, "rb");
    if (f == NULL) {
      snprintf(err, errlen, "%s: %s", path, strerror(errno));
      return errno == ENOENT ? -ENOENT : -EACCES;
    }
    /* libpcap reads records through stdio: a large buffer turns a read(2)
     * per 4 KiB into one per MiB (half of read's time was system time). */
    if (c->fbuf != NULL || (c->fbuf = malloc(FILE_BUF)) != NULL)
      setvbuf(f, c->fbuf, _IOFBF, FILE_BUF); /* glibc ignores a size without a buffer */
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
      fclose(f);
      snprintf(err, errlen, "%s: is a directory", path);
      return -EISDIR;
    }
    if (S_ISREG(st.st_mode)) {
      /* pcapng interface blocks come before the packets: peek at the head
       * (only of a regular file: a pipe cannot be rewound). */
      static uint8_t head[PCAPNG_HEAD_MAX];
      size_t got = fread(head, 1, sizeof(head), f);
      c->file_size = (uint64_t)st.st_size;
      c->file_addrs = pcapng_if_addrs(head, got, &c->local);
      rewind(f);
    }
    c->p = pcap_fopen_offline_with_tstamp_precision(
        f, PCAP_TSTAMP_PRECISION_MICRO, eb);
    if (c->p == NULL) {
      uint8_t m[4] = {0};
      size_t got;
      rewind(f);
      got = fread(m, 1, 4, f);
      fclose(f);
      if (got == 4 && strstr(eb, "unknown file format") != NULL)
        snprintf(err, errlen,
                 "%s: not a pcap or pcapng file (magic 0x%02x%02x%02x%02x at "
                 "offset 0)",
                 path, m[0], m[1], m[2], m[3]);
      else
        snprintf(err, errlen, "%s: %s", path, eb);
      return -EINVAL;
    }
  }
  if (c->p == NULL) {
    snprintf(err, errlen, "%s: %s", path, eb);
    return -EINVAL;
  }
  c->dlt = pcap_datalink(c->p);
  if (!decode_linktype_ok(c->dlt)) {
    const char *name = pcap_datalink_val_to_name(c->dlt);
    snprintf(err, errlen,
             "%s: link type %d (%s) is not supported (Ethernet, Linux cooked "
             "v1/v2, raw IP, BSD loopback are)",
             path, c->dlt, name ? name : "unknown");
    capture_close_file(c);
    return -ENOTSUP;
  }
  filter_set(c);
  return 0;
}

const char *capture_linktype(const struct capture *c) {
  const char *n = c->p ? pcap_datalink_val_to_name(c->dlt) : NULL;
  return n ? n : "unknown";
}

const char *capture_filter(const struct capture *c) { return c->filter; }

int capture_file_addrs(const struct capture *c) { return c->file_addrs; }

int capture_snaplen(const struct capture *c) {
  return c->p ? pcap_snapshot(c->p) : 0;
}

/* The point of interface ifindex on an "any" handle: asked once, kept. */
static int64_t if_point(struct livesrc *s, int32_t ifindex) {
  struct capture *c = s->c;
  int64_t pt;
  int i;

  for (i = 0; i < s->n_ifp; i++)
    if (s->ifp[i].ifindex == ifindex) return s->ifp[i].point;
  pt = c->cfg.if_point(c->cfg.if_point_ctx, ifindex);
  if (pt < 0) pt = s->point;
  if (s->n_ifp < IF_POINTS_MAX) {
    s->ifp[s->n_ifp].ifindex = ifindex;
    s->ifp[s->n_ifp].point = pt;
    s->n_ifp++;
  }
  return pt;
}

static void frame(struct capture *c, struct livesrc *s, int dlt, int64_t point,
                  const struct pcap_pkthdr *h, const u_char *bytes) {
  struct pkt pk;
  enum dec_result r;

  c->n.frames++;
  if (h->caplen < h->len) c->n.snap_cut++;
  if (h->ts.tv_sec < 0 || h->ts.tv_sec > TIME_MAX_SEC || h->ts.tv_usec < 0 ||
      h->ts.tv_usec >= 1000000) {
    c->n.decode[DEC_BAD_TIME]++;
    return;
  }
  r = decode_frame(dlt, bytes, h->caplen, &pk);
  c->n.decode[r]++;
  if (r != DEC_OK) return;
  if (pk.fragment) c->n.frag_first++;
  if (s != NULL && s->per_if && pk.ifindex >= 0) point = if_point(s, pk.ifindex);
  flow_input(c->flows,
             (int64_t)h->ts.tv_sec * 1000000 + (int64_t)h->ts.tv_usec,
             point, &pk);
}

static void on_frame(u_char *user, const struct pcap_pkthdr *h,
                     const u_char *bytes) {
  struct capture *c = (struct capture *)user;
  frame(c, NULL, c->dlt, c->point, h, bytes);
}

static void on_live_frame(u_char *user, const struct pcap_pkthdr *h,
                          const u_char *bytes) {
  struct livesrc *s = (struct livesrc *)user;
  frame(s->c, s, s->dlt, s->point, h, bytes);
}

int capture_run(struct capture *c, int64_t point, capture_progress_fn progress,
                void *pctx, char *err, size_t errlen) {
  struct capture_progress pr;
  int64_t next = mono_us() + PROGRESS_EVERY_US, t;
  FILE *f = pcap_file(c->p);
  int rc;

  c->point = point;
  memset(&pr, 0, sizeof(pr));
  pr.path = c->path;
  pr.bytes_total = c->file_size;
  for (;;) {
    rc = pcap_dispatch(c->p, DISPATCH_BATCH, on_frame, (u_char *)c);
    if (rc == 0) break; /* end of file */
    if (rc < 0) {
      long off = f != NULL ? ftell(f) : -1;
      if (off >= 0)
        snprintf(err, errlen, "%s: damaged at byte offset %ld, after frame %llu: %s",
                 c->path, off, (unsigned long long)c->n.frames,
                 pcap_geterr(c->p));
      else
        snprintf(err, errlen, "%s: damaged after frame %llu: %s", c->path,
                 (unsigned long long)c->n.frames, pcap_geterr(c->p));
      return -EIO;
    }
    if (progress != NULL && (t = mono_us()) >= next) {
      long off = f != NULL ? ftell(f) : -1;
      next = t + PROGRESS_EVERY_US;
      pr.bytes_done = off > 0 ? (uint64_t)off : 0;
      pr.frames = c->n.frames;
      flow_get_stats(c->flows, &c->n.flow);
      pr.sessions = c->n.flow.sessions;
      progress(&pr, pctx);
    }
  }
  return 0;
}

void capture_close_file(struct capture *c) {
  if (c->p != NULL) pcap_close(c->p);
  c->p = NULL;
}

void capture_finish(struct capture *c) { flow_flush(c->flows, END_EOF); }

void capture_get_counters(const struct capture *c, struct capture_counters *o) {
  *o = c->n;
  flow_get_stats(c->flows, &o->flow);
}

/* --- live capture ------------------------------------------------------ */

/* 65536 minus TPACKET_V2's header, sockaddr_ll, reserve and alignment. */
#define LIVE_SNAPLEN (65536 - 128)

int capture_open_live(struct capture *c, const char *iface, int64_t point,
                      char *err, size_t errlen) {
  char eb[PCAP_ERRBUF_SIZE];
  struct livesrc *s;
  pcap_t *p;
  int rc;

  if (c->n_live == CAPTURE_LIVE_MAX) {
    snprintf(err, errlen, "at most %d interfaces", CAPTURE_LIVE_MAX);
    return -E2BIG;
  }
  eb[0] = '\0';
  p = pcap_create(iface, eb);
  if (p == NULL) {
    snprintf(err, errlen, "%s: %s", iface, eb);
    return -ENODEV;
  }
  /* The ring: immediate mode means TPACKET_V2 (no waiting for a V3 block
   * to fill, TESTBED.md pitfall 1), whose frames all have the size of the
   * largest packet: snaplen plus headers, rounded up to a power of two.
   * With 256 KiB (tcpdump's default snaplen) an 8 MiB ring held 32 frames
   * on "any" and 128 on Ethernet: a 0.2 s pause of the loop (an analysis
   * judging 10k identities) dropped packets at a few hundred per second.
   * A snaplen just under 64 KiB keeps each frame in 64 KiB (an IP packet,
   * GRO/TSO aggregates included, is at most 65535 bytes: the biggest lose
   * their last hundred bytes, inside a DATA body that is skipped anyway),
   * and the default 32 MiB holds 512 frames. */
  pcap_set_snaplen(p, LIVE_SNAPLEN);
  pcap_set_promisc(p, 0);
  pcap_set_immediate_mode(p, 1);
  pcap_set_buffer_size(p, (int)((c->cfg.buffer_mib ? c->cfg.buffer_mib : 32) << 20));
  rc = pcap_activate(p);
  if (rc < 0) {
    const char *why = pcap_geterr(p);
    if (rc == PCAP_ERROR_NO_SUCH_DEVICE)
      snprintf(err, errlen, "%s: no such interface", iface);
    else if (rc == PCAP_ERROR_PERM_DENIED)
      snprintf(err, errlen,
               "%s: permission denied: run as root, or give the binary "
               "CAP_NET_RAW (setcap cap_net_raw+ep, or systemd "
               "AmbientCapabilities=CAP_NET_RAW)", iface);
    else
      snprintf(err, errlen, "%s: %s", iface, why);
    pcap_close(p);
    return rc == PCAP_ERROR_NO_SUCH_DEVICE ? -ENODEV
           : rc == PCAP_ERROR_PERM_DENIED  ? -EPERM
                                           : -EIO;
  }
#ifdef DLT_LINUX_SLL2
  if (pcap_datalink(p) == DLT_LINUX_SLL) {
    /* "any": libpcap starts with SLL; SLL2 also says which interface
     * (TESTBED.md pitfall 2). Both decode; keep SLL if the switch fails. */
    int *dl = NULL, n = pcap_list_datalinks(p, &dl), i;
    for (i = 0; i < n; i++)
      if (dl[i] == DLT_LINUX_SLL2) {
        pcap_set_datalink(p, DLT_LINUX_SLL2);
        break;
      }
    if (n > 0) pcap_free_datalinks(dl);
  }
#endif
  if (!decode_linktype_ok(pcap_datalink(p))) {
    snprintf(err, errlen, "%s: link type %s is not supported", iface,
             pcap_datalink_val_to_name(pcap_datalink(p)));
    pcap_close(p);
    return -ENOTSUP;
  }
  if (pcap_setnonblock(p, 1, eb) < 0 || pcap_get_selectable_fd(p) < 0) {
    snprintf(err, errlen, "%s: cannot poll the capture: %s", iface, eb);
    pcap_close(p);
    return -EIO;
  }
  filter_set_on(c, p);
  s = &c->live[c->n_live];
  s->c = c;
  s->p = p;
  s->dlt = pcap_datalink(p);
  s->point = point;
  s->n_ifp = 0;
#ifdef DLT_LINUX_SLL2
  s->per_if = s->dlt == DLT_LINUX_SLL2 && c->cfg.if_point != NULL;
#else
  s->per_if = 0;
#endif
  return c->n_live++;
}

int capture_live_fd(const struct capture *c, int src) {
  return pcap_get_selectable_fd(c->live[src].p);
}

const char *capture_live_linktype(const struct capture *c, int src) {
  const char *n = pcap_datalink_val_to_name(c->live[src].dlt);
  return n ? n : "unknown";
}

int capture_live_dispatch(struct capture *c, int src, char *err,
                          size_t errlen) {
  int rc, total = 0, rounds;

  /* A bounded number of batches, so one busy interface cannot starve the
   * timers and the other interfaces of the loop. */
  for (rounds = 0; rounds < 16; rounds++) {
    rc = pcap_dispatch(c->live[src].p, DISPATCH_BATCH, on_live_frame,
                       (u_char *)&c->live[src]);
    if (rc < 0) {
      snprintf(err, errlen, "capture failed: %s", pcap_geterr(c->live[src].p));
      return -EIO;
    }
    total += rc;
    if (rc < DISPATCH_BATCH) break;
  }
  return total;
}

int capture_live_stats(struct capture *c, int src, uint64_t *recv,
                       uint64_t *drop, uint64_t *ifdrop) {
  struct pcap_stat ps;

  if (pcap_stats(c->live[src].p, &ps) < 0) return -1;
  *recv = ps.ps_recv;
  *drop = ps.ps_drop;
  *ifdrop = ps.ps_ifdrop;
  return 0;
}

int capture_local_add_iface(struct capture *c, const char *iface) {
  char eb[PCAP_ERRBUF_SIZE];
  pcap_if_t *all = NULL, *d;
  pcap_addr_t *a;
  int n = 0;

  if (pcap_findalldevs(&all, eb) < 0) return 0;
  for (d = all; d != NULL; d = d->next) {
    if (strcmp(iface, "any") != 0 && strcmp(d->name, iface) != 0) continue;
    for (a = d->addresses; a != NULL; a = a->next) {
      if (a->addr == NULL) continue;
      if (a->addr->sa_family == AF_INET &&
          netset_add(&c->local, 4,
                     (const uint8_t *)&((struct sockaddr_in *)a->addr)->sin_addr,
                     32) == 0)
        n++;
      else if (a->addr->sa_family == AF_INET6 &&
               netset_add(&c->local, 6,
                          (const uint8_t *)&((struct sockaddr_in6 *)a->addr)
                              ->sin6_addr,
                          128) == 0)
        n++;
    }
  }
  pcap_freealldevs(all);
  return n;
}

void capture_tick(struct capture *c, int64_t now_us) {
  flow_expire_at(c->flows, now_us);
}

void capture_live_close(struct capture *c) {
  int i;
  for (i = 0; i < c->n_live; i++) pcap_close(c->live[i].p);
  c->n_live = 0;
}
