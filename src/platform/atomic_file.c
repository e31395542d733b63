/*
 * atomic_file.c -- see atomic_file.h.
 */
#include "atomic_file.h"

#include "channel.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- unique temporary names ------------------------------------------
 * mkostemp() creates the file 0600, and outputs want 0666 & ~umask: a
 * fchmod() per output, and reading the umask, which can only be read from
 * /proc without a race.  Opening with mode 0666 lets the kernel apply the
 * umask.  The six random characters come from a generator per thread,
 * seeded anew in every process, so that workers forked from one caller
 * do not draw the same names. */
static unsigned fork_generation;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void after_fork_in_child(void)
{
    fork_generation++;
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, after_fork_in_child);
}

static uint64_t next_random(void)
{
    static _Thread_local uint64_t state;
    static _Thread_local unsigned seeded_in; /* fork_generation + 1 */
    pthread_once(&atfork_once, register_atfork);
    if (seeded_in != fork_generation + 1) {
        uint64_t seed = 0;
        if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != sizeof seed) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^
                   (uint64_t)(uintptr_t)&state;
        }
        state = seed | 1;
        seeded_in = fork_generation + 1;
    }
    /* xorshift64*: plenty for names that O_EXCL checks anyway. */
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545F4914F6CDD1DULL;
}

int bmp__atomic_create_unique(char *path)
{
    static const char chars[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    char *x = path + strlen(path) - 6;
    for (int tries = 0; tries < 1000; tries++) {
        uint64_t r = next_random();
        for (int i = 0; i < 6; i++, r /= 62)
            x[i] = chars[r % 62];
        /* Announced before it exists: a worker killed inside open()
         * leaves no file its caller does not know of. */
        bmp__channel_notify_temp(path);
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        /* The lock says "a live writer holds this temporary": a run that
         * starts after a kill removes only temporaries it can lock
         * (run_paths.c).  Such a run may have locked this one in the
         * instant since open(), to remove it: then it is not ours to
         * use, and another name is drawn.  A file system without locks
         * (ENOLCK, ENOSYS, EOPNOTSUPP) still gets its outputs, unlocked:
         * no later run can prove such a temporary dead, so none removes
         * it. */
        if (fd >= 0 &&
            (flock(fd, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK))
            return fd;
        int e = fd >= 0 ? EEXIST : errno;
        if (fd >= 0)
            close(fd); /* the run that holds it removes it */
        bmp__channel_forget_temp(path);
        if (e != EEXIST)
            return -e;
    }
    return -EEXIST;
}

int bmp__atomic_temp_pattern(const char *path, char **pattern)
{
    *pattern = NULL;
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dirlen;
    if (!*base)
        return -EISDIR;
    /* The temporary adds 13 bytes to the name; a base name near NAME_MAX
     * is shortened in the temporary only.  Built by copying: one per
     * output, and printf's parsing of a format cost more. */
    static const char suffix[] = ".bmp-XXXXXX";
    size_t baselen = strlen(base);
    if (baselen > 200)
        baselen = 200;
    char *p = malloc(dirlen + 1 + baselen + sizeof suffix);
    if (!p)
        return -ENOMEM;
    memcpy(p, path, dirlen);
    p[dirlen] = '.';
    memcpy(p + dirlen + 1, base, baselen);
    memcpy(p + dirlen + 1 + baselen, suffix, sizeof suffix);
    *pattern = p;
    return 0;
}

int bmp__atomic_open(bmp__atomic_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    int rc = bmp__atomic_temp_pattern(path, &f->temp_path);
    if (rc < 0)
        return rc;
    f->final_path = strdup(path);
    if (!f->final_path) {
        free(f->temp_path);
        f->final_path = NULL;
        f->temp_path = NULL;
        return -ENOMEM;
    }
    f->fd = bmp__atomic_create_unique(f->temp_path);
    if (f->fd < 0) {
        rc = f->fd;
        free(f->final_path);
        free(f->temp_path);
        f->final_path = f->temp_path = NULL;
        return rc;
    }
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

void bmp__atomic_forget_temp(const char *temp_path)
{
    bmp__channel_forget_temp(temp_path);
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
