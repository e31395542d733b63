/*
 * atomic_file.c -- see atomic_file.h.
 */
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int bmp__atomic_open(bmp__atomic_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    const char *base = slash ? slash + 1 : path;
    if (!*base)
        return -EISDIR;
    f->final_path = strdup(path);
    if (!f->final_path ||
        asprintf(&f->temp_path, "%.*s.%s.bmp-XXXXXX", dirlen, path, base) < 0) {
        free(f->final_path);
        f->final_path = NULL;
        f->temp_path = NULL;
        return -ENOMEM;
    }
    f->fd = mkostemp(f->temp_path, O_CLOEXEC);
    if (f->fd < 0) {
        int rc = -errno;
        free(f->final_path);
        free(f->temp_path);
        f->final_path = f->temp_path = NULL;
        return rc;
    }
    /* mkstemp makes 0600; outputs get the usual 0666 & ~umask. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(f->fd, 0666 & ~mask);
    return 0;
}

int bmp__atomic_write(bmp__atomic_file *f, const void *bytes, size_t size)
{
    const unsigned char *p = bytes;
    while (size > 0) {
        ssize_t n = write(f->fd, p, size);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        size -= (size_t)n;
    }
    return 0;
}

static void release(bmp__atomic_file *f)
{
    free(f->final_path);
    free(f->temp_path);
    f->final_path = f->temp_path = NULL;
    f->fd = -1;
}

int bmp__atomic_commit(bmp__atomic_file *f, int do_fsync)
{
    int rc = 0;
    if (do_fsync && fsync(f->fd) != 0)
        rc = -errno;
    /* close() reports delayed write errors (NFS, quota): check it. */
    if (close(f->fd) != 0 && rc == 0)
        rc = -errno;
    f->fd = -1;
    if (rc == 0 && rename(f->temp_path, f->final_path) != 0)
        rc = -errno;
    if (rc != 0) {
        unlink(f->temp_path);
    } else if (do_fsync) {
        /* Make the rename itself durable. */
        char *dir = strdup(f->final_path);
        if (dir) {
            int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
            free(dir);
        }
    }
    release(f);
    return rc;
}

void bmp__atomic_abort(bmp__atomic_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    if (f->temp_path)
        unlink(f->temp_path);
    release(f);
}
