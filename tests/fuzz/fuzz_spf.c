/* egressaudit - tests/fuzz/fuzz_spf.c: libFuzzer target for our use of
 * libspf2 (DESIGN.md: SPF records come from domains we do not control, and
 * libspf2 has had memory-safety bugs in macro expansion, CVE-2023-42118).
 * The input is the TXT record of the domain asked about, served by
 * libspf2's in-memory zone layer (no DNS), evaluated for an IPv4 and an
 * IPv6 client with an EHLO name, as preflight asks.
 * SPDX-License-Identifier: MIT
 */
#define _DEFAULT_SOURCE
#include <netdb.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <spf2/spf.h>
#include <spf2/spf_dns_zone.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ask(SPF_server_t *srv, int v6) {
  SPF_request_t *req = SPF_request_new(srv);
  SPF_response_t *resp = NULL;

  if (req == NULL) return;
  if ((v6 ? SPF_request_set_ipv6_str(req, "2001:db8:10::25")
          : SPF_request_set_ipv4_str(req, "203.0.113.10")) == SPF_E_SUCCESS &&
      SPF_request_set_env_from(req, "postmaster@fuzz.example") == 0 &&
      SPF_request_set_helo_dom(req, "mail01.example.com") == SPF_E_SUCCESS) {
    SPF_request_query_mailfrom(req, &resp);
    if (resp) {
      (void)SPF_response_get_received_spf_value(resp);
      SPF_response_free(resp);
    }
  }
  SPF_request_free(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  SPF_dns_server_t *zone;
  SPF_server_t *srv;
  char *txt;

  if (size > 4096) return 0;
  txt = malloc(size + 1);
  if (txt == NULL) return 0;
  memcpy(txt, data, size);
  txt[size] = '\0';
  zone = SPF_dns_zone_new(NULL, "fuzz", 0);
  if (zone != NULL) {
    SPF_dns_zone_add_str(zone, "fuzz.example", ns_t_txt, NETDB_SUCCESS, txt);
    /* what a record may point at: answered from the zone too */
    SPF_dns_zone_add_str(zone, "a.fuzz.example", ns_t_a, NETDB_SUCCESS, "203.0.113.10");
    SPF_dns_zone_add_str(zone, "fuzz.example", ns_t_mx, NETDB_SUCCESS, "a.fuzz.example");
    srv = SPF_server_new_dns(zone, 0);
    if (srv != NULL) {
      ask(srv, 0);
      ask(srv, 1);
      SPF_server_free(srv); /* the resolver layer stays the caller's */
    }
    SPF_dns_free(zone);
  }
  free(txt);
  return 0;
}
