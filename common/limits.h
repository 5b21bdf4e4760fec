/* egressaudit - common/limits.h: every tunable cap, with the reason for it.
 * Each can be overridden with -D at build time.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_LIMITS_H
#define EA_LIMITS_H

/* Flow table: default number of flows tracked at once (--max-flows). */
#ifndef FLOW_MAX_DEFAULT
#define FLOW_MAX_DEFAULT 65536
#endif

/* Flows that carry SMTP payload hold a dialogue slot; the pool is this many
 * times smaller than the flow table, with a floor. Slots are reused LIFO so
 * only the pages of slots in use are touched. */
#ifndef DIALOG_DIVISOR
#define DIALOG_DIVISOR 16
#endif
#define DIALOG_MIN 64

/* One SMTP line buffer. RFC 5321 4.5.3.1.4 (command line 512 octets) and
 * 4.5.3.1.5 (reply line 512 octets); 4.5.3.1.6 allows text lines of 1000.
 * Anything longer is counted as over-long and discarded up to the next LF. */
#ifndef SMTP_LINE_MAX
#define SMTP_LINE_MAX 1024
#endif

/* Replies kept per session, in order. Past the cap only 4xx/5xx replies are
 * still kept (up to SMTP_REPLIES_HARD), because they carry the reason. */
#ifndef SMTP_REPLIES_MAX
#define SMTP_REPLIES_MAX 32
#endif
#define SMTP_REPLIES_HARD 48

/* Text kept per reply: 2xx/3xx are truncated, 4xx/5xx are kept whole up to
 * the joined multi-line limit. */
#define REPLY_TEXT_OK_MAX 200
#define REPLY_TEXT_ERR_MAX 1024

/* EHLO/HELO arguments kept per session; a domain is at most 255 octets
 * (RFC 5321 4.5.3.1.2). */
#define SMTP_HELO_MAX 4
#define SMTP_DOMAIN_MAX 255

/* Commands awaiting a reply (pipelining, RFC 2920). */
#define SMTP_PENDING_MAX 64

/* Bytes of session text (banner, HELOs, replies) per dialogue. */
#ifndef SESSION_ARENA
#define SESSION_ARENA 8192
#endif

/* Out-of-order segments held per direction before a gap is declared. */
#define TCP_OOO_SEGS 4
#define TCP_OOO_BYTES 2048

/* A full flow table ends the oldest flow that never got an answer among
 * this many from the old end, else the oldest: a SYN flood evicts its own
 * SYNs before a dialogue in progress. */
#define FLOW_EVICT_SCAN 64

/* A RST ends a flow only within this many bytes of where its sender's
 * stream is (RFC 5961: in window; a spoofed one must guess). */
#define TCP_RST_WINDOW 1048576

/* Idle timeouts, in packet time. SMTP servers wait 5 minutes for a command
 * (RFC 5321 4.5.3.2.7); Linux gives up on a SYN after about 127 s, with gaps
 * of at most 64 s between retries. */
#define FLOW_IDLE_US (300LL * 1000000)
#define FLOW_SYN_IDLE_US (75LL * 1000000)
/* After both FINs, how long to wait for the last ACK. */
#define FLOW_CLOSE_US (2LL * 1000000)
/* How often expiry runs, in packet time. */
#define FLOW_SWEEP_US (1LL * 1000000)

/* Store: rows per transaction and the longest a batch may wait. */
#define STORE_BATCH_ROWS 2000
#define STORE_BATCH_MS 1000
#define STORE_BUSY_MS 5000
#define STORE_BULK_ROWS 50000 /* store_bulk: read --jsonl                   */
#define STORE_BULK_MS 10000

/* A gateway records one connection at two capture points: routed (same
 * 5-tuple) or translated (a private source inside, the NAT address
 * outside, same receiver and EHLO name). Twins start within this much of
 * each other. */
#define TWIN_WINDOW_US 1000000 /* also spliced into SQL: no suffix */
/* Rows with the same source address and port looked at per session when
 * probing for twins, and outside addresses considered per inside session:
 * bounds that keep the pairing linear whatever a host behind the NAT
 * sends (a flood of SYNs to one receiver was cubic in SQL). */
#define TWIN_PROBE_MAX 16
#define TWIN_CANDIDATES_MAX 64

/* port25-blocked on an address that some receivers did answer: only when
 * this many receivers never did (one silent receiver is its own problem,
 * three point at our side or a blocklisting). */
#define PORT25_BLOCKED_DSTS_MIN 3

/* A receiver's echo of a public source as another public address is
 * believed (the identity becomes the echoed address) once this many
 * receivers say so: one receiver alone may be wrong or lying, and would
 * raise critical findings about an address we never used. A private
 * source's echo is believed at once (the echo is how its public address
 * is learned), as is one inside --expect-egress. */
#define ECHO_CONFIRM_MIN 2

/* Capture point names of one egress group, comma-separated (idents.h's
 * points buffer is this size). */
#define POINTS_TEXT_MAX 256

/* The fold (store/fold.c) holds sessions older than this before now (or
 * before the newest session of a history read from files): the MTA's log
 * is tied to the sessions of its last 16 minutes, and a fold holds
 * nothing that may still change. The schema's triggers say 19 minutes:
 * keep them below this. */
#define FOLD_SETTLE_US (20 * 60 * INT64_C(1000000))
/* A logged failed connection is the captured SYN's when that SYN came
 * up to this long after the log line (clocks differ a little); spliced
 * into SQL. At least TWIN_WINDOW_US: the fold's check for late sessions
 * covers both with it. */
#define LOG_SYN_AFTER_US 2000000

/* DNS rounds of one analysis: PTR, the names it gave, their other
 * addresses' PTR, those names' A/AAAA take four; a bound all the same. */
#define DNS_ROUNDS_MAX 8

/* The DNS cache keeps an answer at least a minute (a TTL of 0 or 5 s would
 * make every analysis ask again) and at most a day (a long TTL must not
 * hide a fixed PTR from the next day's report). */
#define DNS_CACHE_TTL_MIN 60
#define DNS_CACHE_TTL_MAX 86400

/* The last second a capture timestamp may carry: 9999-12-31T23:59:59Z.
 * Past it, microseconds since 1970 still fit 64 bits only up to year
 * 294247, and RFC 3339 text needs a fifth year digit: such a record
 * header is damaged or forged, and its frame is counted and skipped. */
#define TIME_MAX_SEC 253402300799LL

/* Progress line refresh on a terminal. */
#define PROGRESS_EVERY_US 250000

#endif
