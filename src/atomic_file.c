/*
 * atomic_file.c -- see atomic_file.h.
 */
#include "atomic_file.h"

#include "bigmultipipe.h"
#include "channel.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The process umask, read without changing it: umask(2) can only be read
 * by setting it, which races with other threads creating files. */
static mode_t read_umask(void)
{
    FILE *status = fopen("/proc/self/status", "re");
    if (status) {
        char line[256];
        while (fgets(line, sizeof line, status)) {
            unsigned mask;
            if (sscanf(line, "Umask: %o", &mask) == 1) {
                fclose(status);
                return (mode_t)mask;
            }
        }
        fclose(status);
    }
    return 022; /* the usual default, when /proc cannot say */
}

/* Read once per process: reading /proc costs as much as the rest of
 * writing a small output.  A umask changed after the first output of the
 * process is not seen. */
static pthread_once_t umask_once = PTHREAD_ONCE_INIT;
static mode_t umask_value;

static void umask_init(void)
{
    umask_value = read_umask();
}

static mode_t current_umask(void)
{
    pthread_once(&umask_once, umask_init);
    return umask_value;
}

int bmp__atomic_open(bmp__atomic_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    const char *base = slash ? slash + 1 : path;
    if (!*base)
        return -EISDIR;
    /* The temporary adds 12 bytes to the name; a base name near NAME_MAX
     * is shortened in the temporary only. */
    int baselen = (int)strlen(base);
    if (baselen > 200)
        baselen = 200;
    f->final_path = strdup(path);
    if (!f->final_path ||
        asprintf(&f->temp_path, "%.*s.%.*s.bmp-XXXXXX", dirlen, path, baselen,
                 base) < 0) {
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
    bmp__channel_notify_temp(f->temp_path);
    /* mkstemp makes 0600; outputs get the usual 0666 & ~umask. */
    fchmod(f->fd, 0666 & ~current_umask());
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

/* rename() that refuses to replace: renameat2 where the file system has
 * it, else link() + unlink(), which is atomic in the same way. */
static int rename_noreplace(const char *from, const char *to)
{
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -errno;
    if (link(from, to) != 0)
        return -errno;
    unlink(from);
    return 0;
}

/* Opens `path` with `flags` and fsyncs it.  @return 0 or -errno. */
static int fsync_opened(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

int bmp__fsync_path(const char *path)
{
    return fsync_opened(path, O_RDONLY);
}

int bmp__fsync_parent(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    int rc = fsync_opened(dirname(copy), O_RDONLY | O_DIRECTORY);
    free(copy);
    return rc;
}

void bmp__atomic_register_temp(const char *temp_path)
{
    bmp__channel_notify_temp(temp_path);
}

int bmp__atomic_rename(const char *from, const char *to, unsigned flags)
{
    if (flags & BMP__ATOMIC_NOREPLACE)
        return rename_noreplace(from, to);
    return rename(from, to) == 0 ? 0 : -errno;
}

int bmp__atomic_commit(bmp__atomic_file *f, unsigned flags)
{
    int rc = 0;
    int do_fsync = (flags & BMP__ATOMIC_FSYNC) != 0;
    if (do_fsync && fsync(f->fd) != 0)
        rc = -errno;
    /* close() reports delayed write errors (NFS, quota): check it. */
    if (close(f->fd) != 0 && rc == 0)
        rc = -errno;
    f->fd = -1;
    if (rc == 0)
        rc = bmp__atomic_rename(f->temp_path, f->final_path, flags);
    if (rc != 0)
        unlink(f->temp_path);
    else if (do_fsync)
        bmp__fsync_parent(f->final_path); /* make the rename durable */
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

unsigned bmp__atomic_flags_for(struct bmp_item *item)
{
    json_t *kw = bmp_item_kw(item), *meta = bmp_item_meta(item);
    unsigned flags = 0;
    if (bmp_kw_bool(meta, "fsync", bmp_kw_bool(kw, "fsync", 0)))
        flags |= BMP__ATOMIC_FSYNC;
    if (!bmp_kw_bool(meta, "overwrite", bmp_kw_bool(kw, "overwrite", 0)))
        flags |= BMP__ATOMIC_NOREPLACE;
    return flags;
}
