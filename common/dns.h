/* egressaudit - common/dns.h: DNS facts as plain data.
 * What one question got back: an outcome that keeps NXDOMAIN, NODATA and
 * the temporary failures apart (RFC 8601 iprev needs all of them), the
 * answers as text, their TTL, and the SOA that came with a negative answer.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_DNS_H
#define EA_DNS_H

#include <stddef.h>
#include <stdint.h>

/* RR types we ask for (RFC 1035 3.2.2, RFC 3596). */
#define DNS_T_A 1
#define DNS_T_CNAME 5
#define DNS_T_SOA 6
#define DNS_T_PTR 12
#define DNS_T_MX 15
#define DNS_T_AAAA 28

enum dns_status {
  DNS_OK = 0,    /* NOERROR with answers of the type asked          */
  DNS_NODATA,    /* NOERROR, the name exists, no such records       */
  DNS_NXDOMAIN,  /* the name does not exist                         */
  DNS_SERVFAIL,  /* temporary: the server could not answer          */
  DNS_REFUSED,   /* temporary: the server would not answer          */
  DNS_TIMEOUT,   /* temporary: nothing answered in time             */
  DNS_ERROR,     /* temporary: anything else (bad reply, no server) */
  DNS_STATUS_COUNT_
};

const char *dns_status_name(unsigned s);
int dns_status_parse(const char *s); /* -1 when unknown */
/* Temporary outcomes are never evidence that a record is missing. */
static inline int dns_status_temporary(int s) { return s >= DNS_SERVFAIL; }
const char *dns_type_name(unsigned t);

#define DNS_ANSWERS_MAX 16
#define DNS_NAME_MAX 256

struct dns_result {
  uint16_t type;                 /* the type asked                          */
  uint8_t status;                /* enum dns_status                         */
  uint8_t n;                     /* answers kept                            */
  uint16_t total;                /* answers of the type the message held:
                                    more than n when some were not kept
                                    (never judge "not among them" then)   */
  uint32_t ttl;                  /* smallest answer TTL, or the negative TTL */
  char name[DNS_NAME_MAX];       /* the question                            */
  /* Names (PTR, MX exchange, no trailing dot, lower case) or canonical
   * addresses (A, AAAA); SOA: "zone mname rname". */
  char answer[DNS_ANSWERS_MAX][DNS_NAME_MAX];
  /* The SOA of the zone that answered (answer or authority section). */
  char soa_zone[DNS_NAME_MAX], soa_mname[DNS_NAME_MAX],
      soa_rname[DNS_NAME_MAX];
};

/* The reverse name of an address: "10.113.0.203.in-addr.arpa" or the 32
 * nibbles under ip6.arpa (RFC 3596 2.5). out needs 74 bytes. */
int dns_reverse_name(uint8_t family, const uint8_t *a, char *out, size_t cap);
/* The other way: the address a reverse name stands for (family 4 or 6
 * and the bytes into a, which holds 16). 0, or -1 when name is not a
 * whole address's reverse name. */
int dns_reverse_addr(const char *name, uint8_t *family, uint8_t *a);

#endif
