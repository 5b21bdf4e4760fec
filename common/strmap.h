/* egressaudit - common/strmap.h: a small string-keyed hash map.
 * Keys are copied; values are the caller's. Keys can be chosen by others
 * (an echoed or quoted address, a HELO name): FNV-1a with a random seed per
 * map and a final mix, so colliding keys cannot be worked out in advance.
 * Not thread-safe: one owner.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_STRMAP_H
#define EA_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct strmap_ent {
  struct strmap_ent *next;
  char *key;
  void *val;
};

struct strmap {
  struct strmap_ent **b;
  size_t nb, n;
  uint64_t seed;                /* drawn when the buckets are first made */
};

/* The slot of key (its value, NULL when just made), or NULL when key is
 * absent and create is 0, or on out-of-memory. */
void **strmap_slot(struct strmap *m, const char *key, int create);

/* The value of key, or NULL. */
void *strmap_get(const struct strmap *m, const char *key);

/* Call fn on every entry, in no promised order. */
void strmap_each(const struct strmap *m,
                 void (*fn)(const char *key, void *val, void *ctx), void *ctx);

/* Free every entry (free_val on each value, when given); m is empty after. */
void strmap_free(struct strmap *m, void (*free_val)(void *));

#endif
