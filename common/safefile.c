/* egressaudit - common/safefile.c: see safefile.h.
 * The threat: root runs `egressaudit analyze` (or `watch --user`) on the
 * database in /var/lib/egressaudit, a directory the service account owns.
 * That account can put a symbolic link where root will create a file, or a
 * hard link to a file root owns where root will write or chown. So what we
 * create is opened with O_NOFOLLOW, what we write must be a regular file
 * with a single name, and ownership is handed over through the descriptor
 * we checked, never by name (the reasoning of fs.protected_symlinks and
 * fs.protected_hardlinks, which a machine may have switched off).
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "common/safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int safefile_dir_shared(const char *path, uid_t *owner, char *err,
                        size_t errlen) {
  char dir[4096];
  const char *slash = strrchr(path, '/');
  size_t len;
  struct stat sb;

  if (slash == NULL) {
    snprintf(dir, sizeof(dir), ".");
  } else {
    len = slash == path ? 1 : (size_t)(slash - path);
    if (len >= sizeof(dir)) {
      snprintf(err, errlen, "%s: path too long", path);
      return -ENAMETOOLONG;
    }
    memcpy(dir, path, len);
    dir[len] = '\0';
  }
  if (stat(dir, &sb) < 0) {
    int e = errno;
    snprintf(err, errlen, "%s: %s", dir, strerror(e));
    return -e;
  }
  if (!S_ISDIR(sb.st_mode)) {
    snprintf(err, errlen, "%s: not a directory", dir);
    return -ENOTDIR;
  }
  *owner = sb.st_uid;
  if ((sb.st_mode & S_IWOTH) && !(sb.st_mode & S_ISVTX)) {
    snprintf(err, errlen,
             "%s: everyone may write in this directory (mode %04o) and so "
             "replace what egressaudit keeps there; use a directory of its own",
             dir, (unsigned)(sb.st_mode & 07777));
    return -EPERM;
  }
  if (sb.st_uid != 0 && sb.st_uid != geteuid()) return 1;
  return (sb.st_mode & (S_IWGRP | S_IWOTH)) ? 1 : 0;
}

/* Is it a regular file with one name? */
static int check_stat(const struct stat *sb, const char *path, char *err,
                      size_t errlen) {
  if (!S_ISREG(sb->st_mode)) {
    snprintf(err, errlen, "%s: not a regular file", path);
    return -EINVAL;
  }
  if (sb->st_nlink > 1) {
    snprintf(err, errlen,
             "%s: has %lu names (a hard link): refusing to write through it",
             path, (unsigned long)sb->st_nlink);
    return -EMLINK;
  }
  return 0;
}

static int check_fd(int fd, const char *path, char *err, size_t errlen) {
  struct stat sb;

  if (fstat(fd, &sb) < 0) {
    int e = errno;
    snprintf(err, errlen, "%s: %s", path, strerror(e));
    return -e;
  }
  return check_stat(&sb, path, err, errlen);
}

static int open_error(const char *path, int e, char *err, size_t errlen) {
  if (e == ELOOP)
    snprintf(err, errlen,
             "%s: is a symbolic link: refusing to follow it (whoever can "
             "write in its directory may have planted it)",
             path);
  else
    snprintf(err, errlen, "%s: %s", path, strerror(e));
  return -e;
}

int safefile_open(const char *path, int flags, int create, mode_t mode,
                  int *created, char *err, size_t errlen) {
  int fd = -1, rc;

  *created = 0;
  flags |= O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
  if (create) {
    fd = open(path, flags | O_CREAT | O_EXCL, mode);
    if (fd >= 0) *created = 1;
    else if (errno != EEXIST) return open_error(path, errno, err, errlen);
  }
  if (fd < 0) {
    /* O_NONBLOCK: a FIFO planted here must not hang us before fstat. */
    fd = open(path, flags | O_NONBLOCK);
    if (fd < 0) return open_error(path, errno, err, errlen);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  }
  if ((rc = check_fd(fd, path, err, errlen)) < 0) {
    close(fd);
    return rc;
  }
  return fd;
}

int safefile_check_companions(const char *path, const char *const *suffix,
                              char *err, size_t errlen) {
  char name[4200];
  struct stat sb;
  size_t i;
  int rc;

  for (i = 0; suffix[i] != NULL; i++) {
    snprintf(name, sizeof(name), "%s%s", path, suffix[i]);
    if (lstat(name, &sb) < 0) {
      if (errno == ENOENT) continue;
      return open_error(name, errno, err, errlen);
    }
    if (S_ISLNK(sb.st_mode)) return open_error(name, ELOOP, err, errlen);
    if ((rc = check_stat(&sb, name, err, errlen)) < 0) return rc;
  }
  return 0;
}

int pidfile_take(const char *path, pid_t *holder, char *err, size_t errlen) {
  int fd = -1, created, tries;
  char buf[32];
  ssize_t n;
  struct stat a, b;

  *holder = 0;
  /* An instance that exits unlinks the file after we opened it: then the
   * lock we got is on a name nobody else sees. Try again on the new one. */
  for (tries = 0; tries < 3; tries++) {
    fd = safefile_open(path, O_RDWR, 1, 0644, &created, err, errlen);
    if (fd < 0) return fd;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
      int e = errno;
      n = pread(fd, buf, sizeof(buf) - 1, 0);
      if (n > 0) {
        buf[n] = '\0';
        *holder = (pid_t)strtol(buf, NULL, 10);
      }
      close(fd);
      if (e == EWOULDBLOCK) {
        snprintf(err, errlen,
                 "%s: held by another running egressaudit (pid %ld)", path,
                 (long)*holder);
        return -EWOULDBLOCK;
      }
      snprintf(err, errlen, "%s: cannot lock: %s", path, strerror(e));
      return -e;
    }
    if (fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino)
      break;
    close(fd);
    fd = -1;
  }
  if (fd < 0) {
    snprintf(err, errlen, "%s: keeps being replaced while we lock it", path);
    return -EAGAIN;
  }
  /* A stale pid from a process that died: ours will replace it. */
  if (ftruncate(fd, 0) < 0) {
    int e = errno;
    snprintf(err, errlen, "%s: %s", path, strerror(e));
    close(fd);
    return -e;
  }
  return fd;
}

int pidfile_write(int fd) {
  char buf[32];
  int len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

  if (ftruncate(fd, 0) < 0) return -errno;
  if (pwrite(fd, buf, (size_t)len, 0) != len) return errno ? -errno : -EIO;
  return 0;
}

int safefile_replace(const char *path, const void *data, size_t len,
                     char *err, size_t errlen) {
  char tmp[4200];
  const char *p = data;
  size_t done = 0;
  int fd, e;

  if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
                       (long)getpid()) >= sizeof(tmp))
    return open_error(path, ENAMETOOLONG, err, errlen);
  unlink(tmp); /* ours, left by a crash: the pid is ours now */
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return open_error(tmp, errno, err, errlen);
  while (done < len) {
    ssize_t n = write(fd, p + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += (size_t)n;
  }
  e = done < len ? (errno ? errno : EIO) : 0;
  if (close(fd) < 0 && e == 0) e = errno;
  if (e == 0 && rename(tmp, path) < 0) e = errno;
  if (e != 0) {
    unlink(tmp);
    return open_error(path, e, err, errlen);
  }
  return 0;
}
