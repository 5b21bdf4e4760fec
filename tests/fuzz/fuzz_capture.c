/* egressaudit - tests/fuzz/fuzz_capture.c: libFuzzer target for a whole
 * capture file through libpcap and our reader: record headers (their
 * timestamps above all: 64-bit in pcapng), link types, frames, flows.
 * Input: the bytes of a pcap or pcapng file. Every session must have
 * times that print as RFC 3339 with a four-digit year, in order.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture/capture.h"
#include "common/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_session(const struct session *s, void *ctx) {
  char t[TIME_STRLEN];
  (void)ctx;
  if (s->first_us > s->last_us) __builtin_trap();
  if (strlen(time_str(s->first_us, t)) != 27) __builtin_trap();
  if (strlen(time_str(s->last_us, t)) != 27) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static uint8_t ports[8192];
  static int fd = -1;
  struct capture_cfg cfg;
  struct capture *c = NULL;
  char path[64], err[512];

  if (fd < 0) {
    fd = memfd_create("fuzz_capture", 0);
    if (fd < 0) return 0;
    ports_parse("25", ports);
  }
  if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size) return 0;
  snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  memset(&cfg, 0, sizeof(cfg));
  cfg.ports = ports;
  cfg.max_flows = 64;  /* small: evictions reachable, runs cheap */
  cfg.no_filter = true; /* every frame through our decoder, no BPF */
  cfg.seed[0] = 1;
  cfg.seed[1] = 2;
  if (capture_new(&c, &cfg, on_session, NULL) < 0) return 0;
  if (capture_open_file(c, path, err, sizeof(err)) == 0) {
    capture_run(c, 1, NULL, NULL, err, sizeof(err));
    capture_finish(c);
    capture_close_file(c);
  }
  capture_free(c);
  return 0;
}
