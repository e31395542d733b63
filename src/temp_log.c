/*
 * temp_log.c -- see temp_log.h.
 *
 * Layout: a byte count, then NUL-terminated names back to back.  The
 * worker writes a name's bytes first and then publishes the new count
 * with release order, so a worker killed in the middle of an append
 * leaves only whole names below the count.
 */
#include "temp_log.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Room for at least sixteen names of PATH_MAX; an item that creates more
 * temporaries than that at once sends the rest on its socket. */
#define LOG_BYTES (64 * 1024)

struct bmp__temp_log {
    _Atomic size_t used;
    char names[LOG_BYTES - sizeof(size_t)];
};

bmp__temp_log *bmp__temp_log_new(void)
{
    void *m = mmap(NULL, sizeof(bmp__temp_log), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    bmp__temp_log *log = m;
    atomic_init(&log->used, 0);
    return log;
}

void bmp__temp_log_free(bmp__temp_log *log)
{
    if (log)
        munmap(log, sizeof *log);
}

void bmp__temp_log_clear(bmp__temp_log *log)
{
    if (log)
        atomic_store_explicit(&log->used, 0, memory_order_release);
}

int bmp__temp_log_add(bmp__temp_log *log, const char *path)
{
    size_t used = atomic_load_explicit(&log->used, memory_order_relaxed);
    size_t n = strlen(path) + 1;
    if (n > sizeof log->names - used)
        return -ENOSPC;
    memcpy(log->names + used, path, n);
    atomic_store_explicit(&log->used, used + n, memory_order_release);
    return 0;
}

size_t bmp__temp_log_remove_all(bmp__temp_log *log)
{
    if (!log)
        return 0;
    size_t used = atomic_load_explicit(&log->used, memory_order_acquire);
    if (used > sizeof log->names)
        used = sizeof log->names; /* a worker's stray write: stay inside */
    size_t removed = 0;
    for (size_t at = 0; at < used;) {
        const char *name = log->names + at;
        size_t len = strnlen(name, used - at);
        if (len == used - at)
            break; /* no terminator below the count: not a whole name */
        removed += unlink(name) == 0;
        at += len + 1;
    }
    atomic_store_explicit(&log->used, 0, memory_order_release);
    return removed;
}
