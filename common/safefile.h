/* egressaudit - common/safefile.h: opening the files we create where
 * another account may plant links (the database in the service account's
 * state directory, the pidfile), and the pidfile's lock.
 * SPDX-License-Identifier: MIT
 */
#ifndef EA_SAFEFILE_H
#define EA_SAFEFILE_H

#include <stddef.h>
#include <sys/types.h>

/* Who may write in the directory that holds path (the part before the
 * last '/', "." without one): 0 when only root and we can (owner root or
 * our euid, no group or other write bit), 1 when another account can
 * (another owner, or a group/other write bit with the sticky bit), and a
 * negative errno otherwise, with err filled: the directory cannot be
 * stat'ed, or everyone may write there without the sticky bit (anyone can
 * replace what we keep there). *owner gets the directory's owner. */
int safefile_dir_shared(const char *path, uid_t *owner, char *err,
                        size_t errlen);

/* Open path with O_NOFOLLOW and O_CLOEXEC, creating it with mode (less the
 * umask) when create is set and it does not exist; *created says which.
 * Refuses, with a negative errno and err filled, a symbolic link (-ELOOP),
 * anything but a regular file (-EINVAL) and a file with more than one
 * name (-EMLINK: a hard link planted to make us write elsewhere). flags
 * is O_RDONLY or O_RDWR. Returns the descriptor; the caller closes it. */
int safefile_open(const char *path, int flags, int create, mode_t mode,
                  int *created, char *err, size_t errlen);

/* The companion files a name may have (SQLite's -wal, -shm, -journal):
 * each one that exists must be a regular file with one name, and is not
 * a symbolic link. 0, or a negative errno with err filled. */
int safefile_check_companions(const char *path, const char *const *suffix,
                              char *err, size_t errlen);

/* Take the pidfile: opened (created 0644) with O_NOFOLLOW, then locked
 * with flock(LOCK_EX|LOCK_NB) for the life of the process. Returns the
 * descriptor, or -EWOULDBLOCK when another process holds it (*holder gets
 * the pid it wrote, 0 if none yet), or another negative errno; err is
 * filled on failure. The file stays empty until pidfile_write. */
int pidfile_take(const char *path, pid_t *holder, char *err, size_t errlen);

/* Write our pid into the pidfile (truncated first, one write). 0 or a
 * negative errno. */
int pidfile_write(int fd);

/* Replace path with data, atomically: written to a new file beside it
 * (path.tmp.PID, O_EXCL|O_NOFOLLOW, mode 0644 less the umask), then
 * renamed over path, so that a reader (node_exporter's textfile
 * collector) sees the old or the new content, never half. A link at
 * path is replaced, never followed. 0, or a negative errno with err. */
int safefile_replace(const char *path, const void *data, size_t len,
                     char *err, size_t errlen);

#endif
