/* egressaudit - common/strmap.c: a small string-keyed hash map.
 * SPDX-License-Identifier: MIT
 */
#define _DEFAULT_SOURCE
#include "common/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static uint64_t hash_str(const char *s, uint64_t seed) {
  uint64_t h = 1469598103934665603ULL ^ seed; /* FNV-1a, seeded */
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ULL;
  /* MurmurHash3's fmix64: every key bit reaches the low (bucket) bits. */
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 33);
}

/* Double the buckets (first use: 1024). */
static int grow(struct strmap *m) {
  size_t nb = m->nb ? m->nb * 2 : 1024, i;
  struct strmap_ent **b = calloc(nb, sizeof(*b)), *e;

  if (b == NULL) return -1;
  if (m->nb == 0 &&
      getrandom(&m->seed, sizeof(m->seed), GRND_NONBLOCK) != sizeof(m->seed))
    m->seed = (uint64_t)(uintptr_t)m ^ (uint64_t)(uintptr_t)b; /* no entropy yet */
  for (i = 0; i < m->nb; i++)
    while ((e = m->b[i]) != NULL) {
      m->b[i] = e->next;
      e->next = b[hash_str(e->key, m->seed) & (nb - 1)];
      b[hash_str(e->key, m->seed) & (nb - 1)] = e;
    }
  free(m->b);
  m->b = b;
  m->nb = nb;
  return 0;
}

void **strmap_slot(struct strmap *m, const char *key, int create) {
  struct strmap_ent *e;
  size_t i;

  if (m->nb == 0 && !create) return NULL;
  if ((m->nb == 0 || (create && m->n >= m->nb)) && grow(m) < 0) return NULL;
  for (e = m->b[hash_str(key, m->seed) & (m->nb - 1)]; e; e = e->next)
    if (strcmp(e->key, key) == 0) return &e->val;
  if (!create) return NULL;
  e = calloc(1, sizeof(*e));
  if (e == NULL || (e->key = strdup(key)) == NULL) {
    free(e);
    return NULL;
  }
  i = hash_str(key, m->seed) & (m->nb - 1);
  e->next = m->b[i];
  m->b[i] = e;
  m->n++;
  return &e->val;
}

void *strmap_get(const struct strmap *m, const char *key) {
  void **slot = strmap_slot((struct strmap *)m, key, 0);
  return slot ? *slot : NULL;
}

void strmap_each(const struct strmap *m,
                 void (*fn)(const char *key, void *val, void *ctx), void *ctx) {
  const struct strmap_ent *e;
  size_t i;

  for (i = 0; i < m->nb; i++)
    for (e = m->b[i]; e; e = e->next) fn(e->key, e->val, ctx);
}

void strmap_free(struct strmap *m, void (*free_val)(void *)) {
  struct strmap_ent *e;
  size_t i;

  for (i = 0; i < m->nb; i++)
    while ((e = m->b[i]) != NULL) {
      m->b[i] = e->next;
      if (free_val) free_val(e->val);
      free(e->key);
      free(e);
    }
  free(m->b);
  memset(m, 0, sizeof(*m));
}
