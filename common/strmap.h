/* egressaudit - common/strmap.h: a small string-keyed hash map.
 * Keys are copied; values are the caller's. Keys are our own text (names,
 * addresses) hashed with FNV-1a: no seed, so a map must never be keyed by
 * raw wire text an attacker chooses in bulk. Not thread-safe: one owner.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_STRMAP_H
#define EA_STRMAP_H

#include <stddef.h>

struct strmap_ent {
  struct strmap_ent *next;
  char *key;
  void *val;
};

struct strmap {
  struct strmap_ent **b;
  size_t nb, n;
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
