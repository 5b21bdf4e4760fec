/* egressaudit - capture/rd.h: bounds-checked cursor reads over wire bytes.
 * Every read checks what is left first; a short read returns -1 and leaves
 * the cursor where it was (tcpdump's GET_* / ND_TTEST_LEN are the model).
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_RD_H
#define EA_RD_H

#include <stddef.h>
#include <stdint.h>

struct rd {
  const uint8_t *p;
  size_t left;
};

static inline int rd_skip(struct rd *r, size_t n) {
  if (r->left < n) return -1;
  r->p += n;
  r->left -= n;
  return 0;
}

static inline int rd_u8(struct rd *r, uint8_t *v) {
  if (r->left < 1) return -1;
  *v = r->p[0];
  r->p++;
  r->left--;
  return 0;
}

static inline int rd_be16(struct rd *r, uint16_t *v) {
  if (r->left < 2) return -1;
  *v = (uint16_t)(r->p[0] << 8 | r->p[1]);
  r->p += 2;
  r->left -= 2;
  return 0;
}

static inline int rd_be32(struct rd *r, uint32_t *v) {
  if (r->left < 4) return -1;
  *v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
       (uint32_t)r->p[2] << 8 | r->p[3];
  r->p += 4;
  r->left -= 4;
  return 0;
}

/* Peek without moving: byte at offset off, or -1. */
static inline int rd_peek8(const struct rd *r, size_t off) {
  return off < r->left ? r->p[off] : -1;
}

static inline uint16_t be16_at(const uint8_t *p) {
  return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t be32_at(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

#endif
