/* egressaudit - common/types.h: small shared types and helpers.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_TYPES_H
#define EA_TYPES_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#ifndef MIN /* <sys/param.h> has the same */
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif

#if defined(__GNUC__)
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#else
#define likely(x) (x)
#define unlikely(x) (x)
#endif

/* A borrowed run of bytes; never assumed to be NUL-terminated. */
struct slice {
  const char *p;
  size_t len;
};

/* An IP address in network byte order; family is 4 or 6, 0 when absent. */
struct ea_addr {
  uint8_t family;
  uint8_t a[16];
};

/* Sysexits codes used by the CLI (sysexits.h names, DESIGN.md). */
#define EX_OK_ 0
#define EXIT_USAGE 64
#define EXIT_DATAERR 65
#define EXIT_NOINPUT 66
#define EXIT_SOFTWARE 70
#define EXIT_CANTCREAT 73
#define EXIT_IOERR 74
#define EXIT_TEMPFAIL 75
#define EXIT_NOPERM 77
#define EXIT_CONFIG 78

#endif
