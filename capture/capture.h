/* egressaudit - capture/capture.h: reading pcap and pcapng captures.
 * The only module that includes pcap.h. Decodes each frame, feeds the flow
 * table and counts what it could not use, by reason.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_CAPTURE_H
#define EA_CAPTURE_H

#include <stdbool.h>

#include "capture/decode.h"
#include "capture/flow.h"

struct capture;

struct capture_cfg {
  const uint8_t *ports;     /* port bitmap, borrowed for the capture's life */
  uint32_t max_flows;       /* 0: default                                  */
  bool no_filter;           /* decode every frame, no BPF                  */
  uint64_t seed[2];         /* flow hash key; zero: random                 */
  const struct netset *local; /* --local networks, copied at capture_new   */
  uint32_t buffer_mib;      /* live: kernel ring per interface (0: 32)     */
  /* Live "any" (LINUX_SLL2 says which interface each packet crossed): the
   * capture point of interface ifindex, or < 0 for the handle's own.
   * Asked once per interface. NULL: one point for the whole handle. */
  int64_t (*if_point)(void *ctx, int ifindex);
  void *if_point_ctx;
};

struct capture_counters {
  uint64_t frames;          /* frames handed to us (after the BPF filter)  */
  uint64_t snap_cut;        /* frames shorter than on the wire (snaplen)   */
  uint64_t decode[DEC_COUNT_]; /* by enum dec_result                       */
  uint64_t frag_first;      /* first fragments, taken for their TCP header  */
  struct flow_stats flow;
};

struct capture_progress {
  const char *path;
  uint64_t bytes_done, bytes_total; /* total 0 when unknown (stdin)        */
  uint64_t frames;
  uint64_t sessions;
};

typedef void (*capture_progress_fn)(const struct capture_progress *p,
                                    void *ctx);

int capture_new(struct capture **out, const struct capture_cfg *cfg,
                flow_emit_fn emit, void *ctx);
void capture_free(struct capture *c); /* NULL-safe; emits nothing */

/* Open a pcap or pcapng file, or "-" for stdin. On failure returns a
 * negative errno and writes a one-line reason naming the file into err. */
int capture_open_file(struct capture *c, const char *path, char *err,
                      size_t errlen);

/* Link type of the open file, as libpcap names it ("EN10MB"). */
const char *capture_linktype(const struct capture *c);
/* The BPF filter in use, or "" when none. */
const char *capture_filter(const struct capture *c);
/* Interface addresses the open file declares (pcapng if_IPv4addr and
 * if_IPv6addr): added to our side. Returns how many. */
int capture_file_addrs(const struct capture *c);

/* Snapshot length of the open file. */
int capture_snaplen(const struct capture *c);

/* Read the open file to its end. Sessions are tagged with point. progress
 * (may be NULL) is called about every PROGRESS_EVERY_US. Returns 0 at the
 * end of the file, or a negative errno and a message in err when the file
 * is damaged; every packet before the damage has been processed. */
int capture_run(struct capture *c, int64_t point, capture_progress_fn progress,
                void *pctx, char *err, size_t errlen);

void capture_close_file(struct capture *c);

/* The capture is over: end every open flow (END_EOF) and emit it. */
void capture_finish(struct capture *c);

void capture_get_counters(const struct capture *c, struct capture_counters *o);

/* --- live capture ------------------------------------------------------ */

#define CAPTURE_LIVE_MAX 16

/* Open interface iface in immediate, non-blocking mode with the SMTP
 * filter; sessions are tagged with point. "any" works (LINUX_SLL2 when
 * libpcap offers it; then with cfg.if_point each interface is a point of
 * its own, so that a gateway's inside and outside can be paired).
 * Returns the source index, or a negative errno with a reason in err
 * (-ENODEV no such interface, -EPERM no permission: CAP_NET_RAW). */
int capture_open_live(struct capture *c, const char *iface, int64_t point,
                      char *err, size_t errlen);
/* The descriptor to poll for source src (pcap_get_selectable_fd). */
int capture_live_fd(const struct capture *c, int src);
const char *capture_live_linktype(const struct capture *c, int src);
/* Read what is waiting on source src, in batches; returns frames handled,
 * or a negative errno with err filled when the interface failed. */
int capture_live_dispatch(struct capture *c, int src, char *err,
                          size_t errlen);
/* pcap_stats of source src: received, dropped by the kernel, dropped by
 * the interface. Returns 0 or -1. */
int capture_live_stats(struct capture *c, int src, uint64_t *recv,
                       uint64_t *drop, uint64_t *ifdrop);
/* Add iface's addresses (pcap_findalldevs) to our side. Returns how many. */
int capture_local_add_iface(struct capture *c, const char *iface);
/* Expire idle flows as of now (live mode timer). */
void capture_tick(struct capture *c, int64_t now_us);
/* Close every live source. */
void capture_live_close(struct capture *c);

#endif
