/*
 * result_ring.h -- the bytes a worker sends its caller (result frames,
 * temporary-file notices), through memory the two share instead of the
 * socket.
 *
 * Why: a result on the socket cost the worker a sendmsg() per item (1 to
 * 1.5 us with the socket buffer's allocation and accounting) and the
 * caller a recv() per wake-up.  Here the worker copies a frame into the
 * ring and publishes it with one release store; the caller reads what is
 * published with one acquire load whenever it looks, and the socket only
 * wakes it when it sleeps (channel.h says when).
 *
 * One ring per worker slot, mapped shared before the slot's workers are
 * forked (as the temporary-file log is).  A single writer (the worker,
 * its threads serialised by the channel) and a single reader (the
 * caller).  The ring is a byte stream, not a queue of frames: the frames
 * are channel.c's, and a frame larger than the free room goes in pieces,
 * each published as it is copied, while the worker waits (on a futex,
 * with a time-out) for the caller to make room.
 *
 * What survives a worker's death: every byte published before it.  A
 * worker killed while copying a frame leaves it unpublished, or partly
 * published when it was going in pieces; either way the caller, which
 * reads the ring once more after it has seen the socket close, finds
 * the whole frames before it and a partial frame that it treats as the
 * item's death, exactly as it treated a frame cut on the socket.
 */
#ifndef BMP_RESULT_RING_H
#define BMP_RESULT_RING_H

#include <stddef.h>
#include <stdint.h>

typedef struct bmp__result_ring bmp__result_ring;

/* A new, empty ring in shared anonymous memory; NULL with errno set. */
bmp__result_ring *bmp__result_ring_new(void);
void bmp__result_ring_free(bmp__result_ring *ring);
/* Caller side, with no worker attached (before a fork, after a reap):
 * empties the ring. */
void bmp__result_ring_reset(bmp__result_ring *ring);

/* Worker side: copies n bytes after those staged before, unpublished.
 * When the ring has no room, what is staged is published and the worker
 * calls wake(arg) (which must make the caller read) and waits for room.
 * @return 0, or -EPIPE when wake() fails (the caller is gone). */
int bmp__result_ring_put(bmp__result_ring *ring, const void *bytes, size_t n,
                         int (*wake)(void *), void *arg);
/* Worker side: makes every staged byte visible to the caller (one
 * release store). */
void bmp__result_ring_publish(bmp__result_ring *ring);

/* Worker side: the worker begins item `index` (one release store). */
void bmp__result_ring_note_start(bmp__result_ring *ring, uint64_t index);
/* Caller side, once the worker is dead (after waitpid, before a reset):
 * the index of the last item it began.  @return 1 and *index, or 0 when
 * it began none.  The worker wrote it: a hint, never an address. */
int bmp__result_ring_last_start(const bmp__result_ring *ring, uint64_t *index);

/* Caller side.  The caller's read position `*taken` lives in its own
 * memory (the ring holds only a copy, for the worker): the counters in
 * the ring are the worker's to write, so a worker gone wrong (a wild
 * write, a hostile step) could otherwise make the caller copy from
 * outside the ring or overrun `dst`.  Start *taken at 0 with the ring
 * reset.
 * bmp__result_ring_ready(): *n, the published bytes not yet taken (one
 * acquire load).  bmp__result_ring_take(): copies them into dst (room
 * for `room` bytes; at most that many are taken), sets *n to the bytes
 * copied, moves *taken on and lets a worker waiting for room go on.
 * @return 0, or -EPROTO when the worker's count is behind *taken or
 * ahead of it by more than the ring holds (nothing is copied: the
 * caller ends that worker). */
int bmp__result_ring_ready(const bmp__result_ring *ring, uint64_t taken,
                           size_t *n);
int bmp__result_ring_take(bmp__result_ring *ring, uint64_t *taken, char *dst,
                          size_t room, size_t *n);

/* For tests of a worker gone wrong: stores `taken + delta` (wrapping)
 * as the published count, as a wild write would. */
void bmp__result_ring_skew_written(bmp__result_ring *ring, int64_t delta);

#endif
