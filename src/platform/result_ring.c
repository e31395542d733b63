/*
 * result_ring.c -- see result_ring.h.
 *
 * Counters run on for ever (64 bits do not wrap); a byte's place in the
 * ring is its count modulo the ring's size.  `written` is the worker's,
 * `taken` the caller's; each is stored by one process only and loaded by
 * the other with acquire order, so that the bytes below a count are
 * there before the count is seen.  The caller keeps its own `taken` in
 * private memory and never trusts the shared page's (result_ring.h).
 */
#include "result_ring.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The counters and futex words are shared between processes: an atomic
 * that needs a lock would take a lock private to each process. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2,
               "64-bit counters shared between processes must be lock-free");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2,
               "32-bit futex words shared between processes must be "
               "lock-free");

/* Room for a queue of short items' frames many times over, and for most
 * metas at once; untouched pages cost nothing. */
#define RING_BYTES (256 * 1024)
/* How long a worker waiting for room sleeps before it rings again: a
 * lost wake-up costs that much, never a hang. */
#define WAIT_NS (50 * 1000 * 1000)

struct bmp__result_ring {
    _Atomic uint64_t written; /* published by the worker */
    uint64_t staged;          /* copied, not yet published (worker's own) */
    _Atomic uint64_t started; /* 1 + the last item begun; 0 none */
    char pad1[40];            /* the two processes' counters apart */
    _Atomic uint64_t taken;   /* read by the caller */
    _Atomic uint32_t drained; /* bumped at each take: the futex word */
    _Atomic uint32_t waiting; /* the worker waits for room */
    char pad2[48];
    char bytes[RING_BYTES];
};

bmp__result_ring *bmp__result_ring_new(void)
{
    void *m = mmap(NULL, sizeof(bmp__result_ring), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    bmp__result_ring *ring = m;
    bmp__result_ring_reset(ring);
    return ring;
}

void bmp__result_ring_free(bmp__result_ring *ring)
{
    if (ring)
        munmap(ring, sizeof *ring);
}

void bmp__result_ring_reset(bmp__result_ring *ring)
{
    if (!ring)
        return;
    atomic_store(&ring->written, 0);
    ring->staged = 0;
    atomic_store(&ring->started, 0);
    atomic_store(&ring->taken, 0);
    atomic_store(&ring->drained, 0);
    atomic_store(&ring->waiting, 0);
}

void bmp__result_ring_note_start(bmp__result_ring *ring, uint64_t index)
{
    atomic_store_explicit(&ring->started, index + 1, memory_order_release);
}

int bmp__result_ring_last_start(const bmp__result_ring *ring, uint64_t *index)
{
    uint64_t s = atomic_load_explicit(&((bmp__result_ring *)ring)->started,
                                      memory_order_acquire);
    if (s == 0)
        return 0;
    *index = s - 1;
    return 1;
}

void bmp__result_ring_publish(bmp__result_ring *ring)
{
    atomic_store_explicit(&ring->written, ring->staged, memory_order_release);
}

/* Sleeps until the caller takes bytes (drained moves on from `seen`) or
 * WAIT_NS passes.  The futex word is shared between processes: no
 * FUTEX_PRIVATE_FLAG. */
static void wait_for_room(bmp__result_ring *ring, uint32_t seen)
{
    struct timespec t = {0, WAIT_NS};
    syscall(SYS_futex, (uint32_t *)&ring->drained, FUTEX_WAIT, seen, &t, NULL,
            0);
}

int bmp__result_ring_put(bmp__result_ring *ring, const void *bytes, size_t n,
                         int (*wake)(void *), void *arg)
{
    const char *from = bytes;
    while (n > 0) {
        uint64_t taken = atomic_load_explicit(&ring->taken,
                                              memory_order_acquire);
        size_t room = RING_BYTES - (size_t)(ring->staged - taken);
        if (room == 0) {
            /* The caller can only take what is published. */
            uint32_t seen = atomic_load(&ring->drained);
            bmp__result_ring_publish(ring);
            atomic_store(&ring->waiting, 1);
            if (wake(arg) < 0) {
                atomic_store(&ring->waiting, 0);
                return -EPIPE;
            }
            if (atomic_load(&ring->taken) == taken)
                wait_for_room(ring, seen);
            atomic_store(&ring->waiting, 0);
            continue;
        }
        size_t k = n < room ? n : room;
        size_t at = (size_t)(ring->staged % RING_BYTES);
        size_t first = RING_BYTES - at < k ? RING_BYTES - at : k;
        memcpy(ring->bytes + at, from, first);
        memcpy(ring->bytes, from + first, k - first);
        ring->staged += k;
        from += k;
        n -= k;
    }
    return 0;
}

/* The worker's published count, checked against the caller's own read
 * position: never more than the ring ahead of it, never behind it. */
static int published(const bmp__result_ring *ring, uint64_t taken, size_t *n)
{
    uint64_t written = atomic_load_explicit(
        &((bmp__result_ring *)ring)->written, memory_order_acquire);
    uint64_t d = written - taken; /* behind: wraps to a huge count */
    if (d > RING_BYTES) {
        *n = 0;
        return -EPROTO;
    }
    *n = (size_t)d;
    return 0;
}

int bmp__result_ring_ready(const bmp__result_ring *ring, uint64_t taken,
                           size_t *n)
{
    return published(ring, taken, n);
}

int bmp__result_ring_take(bmp__result_ring *ring, uint64_t *taken, char *dst,
                          size_t room, size_t *n)
{
    size_t k;
    int rc = published(ring, *taken, &k);
    *n = 0;
    if (rc < 0)
        return rc;
    if (k > room)
        k = room;
    if (k == 0)
        return 0;
    size_t at = (size_t)(*taken % RING_BYTES);
    size_t first = RING_BYTES - at < k ? RING_BYTES - at : k;
    memcpy(dst, ring->bytes + at, first);
    memcpy(dst + first, ring->bytes, k - first);
    *taken += k;
    *n = k;
    /* Release: the bytes are copied out before the worker may reuse
     * their room.  Only a copy: the caller never reads it back. */
    atomic_store_explicit(&ring->taken, *taken, memory_order_release);
    atomic_fetch_add(&ring->drained, 1);
    if (atomic_load(&ring->waiting))
        syscall(SYS_futex, (uint32_t *)&ring->drained, FUTEX_WAKE, 1, NULL,
                NULL, 0);
    return 0;
}

void bmp__result_ring_skew_written(bmp__result_ring *ring, int64_t delta)
{
    uint64_t taken = atomic_load(&ring->taken);
    atomic_store_explicit(&ring->written, taken + (uint64_t)delta,
                          memory_order_release);
}
