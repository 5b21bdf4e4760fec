/* egressaudit - capture/decode.h: link layer -> IPv4/IPv6 -> TCP.
 * Decodes one captured frame into a struct pkt of (pointer, length) pairs
 * that borrow the frame's bytes. No allocation, every read bounds-checked.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_DECODE_H
#define EA_DECODE_H

#include "common/types.h"

/* Why a frame was not decoded into a TCP segment. The first group are
 * errors (malformed or truncated headers); the second are frames that are
 * simply not ours. */
enum dec_result {
  DEC_OK = 0,
  DEC_LINK_SHORT,     /* shorter than its link header                      */
  DEC_VLAN_SHORT,     /* 802.1Q tag cut off                                */
  DEC_IP_SHORT,       /* shorter than the IP header                        */
  DEC_IP_BADVER,      /* IP version does not match the link's claim        */
  DEC_IP_BADHDR,      /* IPv4 IHL < 5 or total length < header             */
  DEC_IP6_EXT_SHORT,  /* IPv6 extension header chain cut off or too long   */
  DEC_TCP_SHORT,      /* shorter than the TCP header                       */
  DEC_TCP_BADOFF,     /* TCP data offset < 5 or past the end of the segment */
  DEC_BAD_TIME,       /* timestamp before 1970 or after 9999 (a forged or
                         damaged record header)                           */
  DEC_ERRORS_,        /* --- not errors below this line ---               */
  DEC_NOT_IP = DEC_ERRORS_, /* ARP, LLDP, ...                              */
  DEC_FRAGMENT,       /* IP fragment past the first: counted, skipped
                         (a first fragment is DEC_OK with pk.fragment)   */
  DEC_NOT_TCP,        /* UDP, ICMP, ESP, ...                               */
  DEC_COUNT_
};

const char *dec_result_name(unsigned r);

/* TCP flags (RFC 9293 3.1). */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

/* One decoded TCP segment; payload borrows the frame. */
struct pkt {
  int32_t vlan;          /* outermost VLAN id, -1 when untagged            */
  uint8_t family;        /* 4 or 6                                          */
  uint8_t flags;         /* TH_*                                            */
  const uint8_t *src, *dst; /* 4 or 16 address bytes in the frame         */
  uint16_t sport, dport;
  uint32_t seq, ack;
  const uint8_t *payload;
  uint32_t caplen;       /* payload bytes captured                         */
  uint32_t wirelen;      /* payload bytes on the wire (IP length based)    */
  int32_t ifindex;       /* LINUX_SLL2: the interface's index, else -1     */
  uint8_t fragment;      /* the first fragment of a fragmented datagram:
                            ports, sequence and flags are real (so the
                            session is not hidden), the payload is not
                            here (caplen and wirelen 0); the rest of the
                            datagram is DEC_FRAGMENT                       */
};

/* Link types we decode (libpcap DLT_* values on Linux). */
int decode_linktype_ok(int dlt);

/* Decode one frame of link type dlt. Returns DEC_OK and fills *pk, or the
 * reason the frame is not a TCP segment. */
enum dec_result decode_frame(int dlt, const uint8_t *frame, uint32_t caplen,
                             struct pkt *pk);

#endif
