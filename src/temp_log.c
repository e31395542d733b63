/*
 * temp_log.c -- see temp_log.h.
 *
 * Layout: a byte count, then entries back to back, each a flag byte ('T'
 * a temporary, 'X' one forgotten) and a NUL-terminated name.  The worker
 * writes an entry's bytes first and then publishes the new count with
 * release order, so a worker killed in the middle of an append leaves
 * only whole entries below the count.  Appends and forgets take the
 * log's mutex, for workers whose items write from several threads; only
 * the worker's threads take it, and the caller reads the log only once
 * the worker is dead, without it.
 */
#include "temp_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Room for at least fifteen names of PATH_MAX; an item that creates more
 * temporaries than that at once sends the rest on its socket. */
#define LOG_BYTES (64 * 1024)
#define LIVE 'T'
#define FORGOTTEN 'X'

struct bmp__temp_log {
    pthread_mutex_t lock;
    _Atomic size_t used;
    char entries[LOG_BYTES - sizeof(pthread_mutex_t) - sizeof(size_t)];
};

bmp__temp_log *bmp__temp_log_new(void)
{
    void *m = mmap(NULL, sizeof(bmp__temp_log), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    bmp__temp_log *log = m;
    pthread_mutex_init(&log->lock, NULL);
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
    if (!log)
        return;
    pthread_mutex_lock(&log->lock);
    atomic_store_explicit(&log->used, 0, memory_order_release);
    pthread_mutex_unlock(&log->lock);
}

int bmp__temp_log_add(bmp__temp_log *log, const char *path)
{
    size_t n = strlen(path) + 1;
    pthread_mutex_lock(&log->lock);
    size_t used = atomic_load_explicit(&log->used, memory_order_relaxed);
    int rc = 0;
    if (n + 1 > sizeof log->entries - used) {
        rc = -ENOSPC;
    } else {
        log->entries[used] = LIVE;
        memcpy(log->entries + used + 1, path, n);
        atomic_store_explicit(&log->used, used + 1 + n, memory_order_release);
    }
    pthread_mutex_unlock(&log->lock);
    return rc;
}

void bmp__temp_log_forget(bmp__temp_log *log, const char *path)
{
    if (!log)
        return;
    pthread_mutex_lock(&log->lock);
    size_t used = atomic_load_explicit(&log->used, memory_order_relaxed);
    char *found = NULL;
    for (size_t at = 0; at < used;) {
        char *name = log->entries + at + 1;
        if (log->entries[at] == LIVE && strcmp(name, path) == 0)
            found = log->entries + at; /* the last one of that name */
        at += 1 + strlen(name) + 1;
    }
    if (found)
        *found = FORGOTTEN;
    pthread_mutex_unlock(&log->lock);
}

size_t bmp__temp_log_remove_all(bmp__temp_log *log)
{
    if (!log)
        return 0;
    size_t used = atomic_load_explicit(&log->used, memory_order_acquire);
    if (used > sizeof log->entries)
        used = sizeof log->entries; /* a worker's stray write: stay inside */
    size_t removed = 0;
    for (size_t at = 0; at + 1 < used;) {
        const char *name = log->entries + at + 1;
        size_t len = strnlen(name, used - at - 1);
        if (len == used - at - 1)
            break; /* no terminator below the count: not a whole entry */
        if (log->entries[at] == LIVE)
            removed += unlink(name) == 0;
        at += 1 + len + 1;
    }
    atomic_store_explicit(&log->used, 0, memory_order_release);
    /* The dead worker may have held the lock (killed inside an append):
     * the slot's next worker must find it free. */
    pthread_mutex_init(&log->lock, NULL);
    return removed;
}
