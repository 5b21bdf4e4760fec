/* egressaudit - store/schema.h: schema and migrations (internal to store/).
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_SCHEMA_H
#define EA_SCHEMA_H

#include <sqlite3.h>
#include <stddef.h>

/* Newest schema version this build writes. */
#define STORE_SCHEMA_VERSION 15

/* Bring the database to STORE_SCHEMA_VERSION in one transaction. Refuses a
 * database newer than this build. Returns 0, or -1 with a reason in err. */
int store__migrate(sqlite3 *db, char *err, size_t errlen);

#endif
