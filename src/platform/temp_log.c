/*
 * temp_log.c -- see temp_log.h.
 *
 * Layout: a byte count, then entries back to back, each a flag byte ('T'
 * a temporary, 'X' one forgotten, 'G' a process group of the item, 'g'
 * one untracked) and a NUL-terminated name (a group's number in
 * decimal).  The worker
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
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Room for at least fifteen names of PATH_MAX; an item that creates more
 * temporaries than that at once sends the rest on its socket. */
#define LOG_BYTES (64 * 1024)
#define LIVE 'T'
#define FORGOTTEN 'X'
#define GROUP 'G'
#define GROUP_GONE 'g'

struct bmp__temp_log {
    pthread_mutex_t lock;
    _Atomic size_t used;
    _Atomic size_t groups; /* 'G' entries appended since the item began */
    char entries[LOG_BYTES - sizeof(pthread_mutex_t) - 2 * sizeof(size_t)];
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
    atomic_init(&log->groups, 0);
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
    atomic_store_explicit(&log->groups, 0, memory_order_relaxed);
    pthread_mutex_unlock(&log->lock);
}

/* Appends an entry of kind `flag`.  The bytes are written before the
 * count that publishes them. */
static int append(bmp__temp_log *log, char flag, const char *text)
{
    size_t n = strlen(text) + 1;
    pthread_mutex_lock(&log->lock);
    size_t used = atomic_load_explicit(&log->used, memory_order_relaxed);
    int rc = 0;
    if (n + 1 > sizeof log->entries - used) {
        rc = -ENOSPC;
    } else {
        log->entries[used] = flag;
        memcpy(log->entries + used + 1, text, n);
        atomic_store_explicit(&log->used, used + 1 + n, memory_order_release);
    }
    pthread_mutex_unlock(&log->lock);
    return rc;
}

/* Marks the last live entry of kind `live` named `text` as `gone`. */
static void mark(bmp__temp_log *log, char live, const char *text, char gone)
{
    pthread_mutex_lock(&log->lock);
    size_t used = atomic_load_explicit(&log->used, memory_order_relaxed);
    char *found = NULL;
    for (size_t at = 0; at < used;) {
        char *name = log->entries + at + 1;
        if (log->entries[at] == live && strcmp(name, text) == 0)
            found = log->entries + at; /* the last one of that name */
        at += 1 + strlen(name) + 1;
    }
    if (found)
        *found = gone;
    pthread_mutex_unlock(&log->lock);
}

int bmp__temp_log_add(bmp__temp_log *log, const char *path)
{
    return append(log, LIVE, path);
}

void bmp__temp_log_forget(bmp__temp_log *log, const char *path)
{
    if (log)
        mark(log, LIVE, path, FORGOTTEN);
}

int bmp__temp_log_add_group(bmp__temp_log *log, pid_t pgid)
{
    char text[24];
    snprintf(text, sizeof text, "%ld", (long)pgid);
    int rc = append(log, GROUP, text);
    if (rc == 0)
        atomic_fetch_add_explicit(&log->groups, 1, memory_order_relaxed);
    return rc;
}

void bmp__temp_log_forget_group(bmp__temp_log *log, pid_t pgid)
{
    char text[24];
    snprintf(text, sizeof text, "%ld", (long)pgid);
    mark(log, GROUP, text, GROUP_GONE);
}

void bmp__temp_log_forget_groups(bmp__temp_log *log)
{
    /* Most items track no group: one load, no lock. */
    if (!log || atomic_load_explicit(&log->groups, memory_order_relaxed) == 0)
        return;
    pthread_mutex_lock(&log->lock);
    size_t used = atomic_load_explicit(&log->used, memory_order_relaxed);
    for (size_t at = 0; at < used;) {
        char *name = log->entries + at + 1;
        if (log->entries[at] == GROUP)
            log->entries[at] = GROUP_GONE;
        at += 1 + strlen(name) + 1;
    }
    atomic_store_explicit(&log->groups, 0, memory_order_relaxed);
    pthread_mutex_unlock(&log->lock);
}

/* Calls fn(kind, name, arg) for every whole entry below the published
 * count; the caller side, with the worker dead. */
static void each_entry(bmp__temp_log *log,
                       void (*fn)(char kind, const char *name, void *arg),
                       void *arg)
{
    size_t used = atomic_load_explicit(&log->used, memory_order_acquire);
    if (used > sizeof log->entries)
        used = sizeof log->entries; /* a worker's stray write: stay inside */
    for (size_t at = 0; at + 1 < used;) {
        const char *name = log->entries + at + 1;
        size_t len = strnlen(name, used - at - 1);
        if (len == used - at - 1)
            break; /* no terminator below the count: not a whole entry */
        fn(log->entries[at], name, arg);
        at += 1 + len + 1;
    }
}

static void kill_group(char kind, const char *name, void *arg)
{
    if (kind != GROUP)
        return;
    char *end;
    long pgid = strtol(name, &end, 10);
    /* 0, 1 and negative numbers would signal the caller's own group,
     * init, or everything: only a real group's number is used. */
    if (*end == '\0' && pgid > 1 && kill((pid_t)-pgid, SIGKILL) == 0)
        ++*(size_t *)arg;
}

size_t bmp__temp_log_kill_groups(bmp__temp_log *log)
{
    size_t killed = 0;
    if (log)
        each_entry(log, kill_group, &killed);
    return killed;
}

static void unlink_temp(char kind, const char *name, void *arg)
{
    if (kind == LIVE && unlink(name) == 0)
        ++*(size_t *)arg;
}

size_t bmp__temp_log_remove_all(bmp__temp_log *log)
{
    if (!log)
        return 0;
    size_t removed = 0;
    each_entry(log, unlink_temp, &removed);
    atomic_store_explicit(&log->used, 0, memory_order_release);
    atomic_store_explicit(&log->groups, 0, memory_order_relaxed);
    /* The dead worker may have held the lock (killed inside an append):
     * the slot's next worker must find it free. */
    pthread_mutex_init(&log->lock, NULL);
    return removed;
}
