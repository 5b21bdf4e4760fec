/* egressaudit - common/http.h: the little of HTTP/1.x the metrics
 * endpoint needs: find the end of a request head, read its request line.
 * Whoever can reach the port writes these bytes: every read is bounded by
 * the length given, and a head is scanned once however it arrives.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_HTTP_H
#define EA_HTTP_H

#include <stddef.h>

#define HTTP_PATH_MAX 256 /* longer targets are refused (414)            */

/* Where the head in buf[0..len) ends (just past its blank line), or 0
 * when it does not end yet. *scanned carries how far earlier calls
 * looked (start it at 0): bytes arriving one at a time cost no more than
 * all at once. */
size_t http_head_end(const char *buf, size_t len, size_t *scanned);

struct http_request {
  char method[8];             /* "GET", "HEAD", ...                    */
  char path[HTTP_PATH_MAX];   /* the target less any "?query"          */
};

/* Read the request line of a complete head (buf[0..len)): 0, or the
 * status to answer with: 400 (not "METHOD SP /target SP HTTP/1.x"), 414
 * (target of HTTP_PATH_MAX bytes or more), 505 (not HTTP/1.x). */
int http_request_line(const char *buf, size_t len, struct http_request *r);

#endif
