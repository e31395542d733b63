/*
 * channel.h -- the messages between the caller and a worker process, over
 * one Unix stream socket per worker.  The caller sends item indices (one,
 * or several queued when items are short); the worker answers each, in
 * order, with the item's result: status, outname, meta (JSON text), error
 * message and measurements.  Names travel as raw bytes, so
 * file names that are not UTF-8 arrive exactly.
 *
 * Also the registry of descriptors a forked child must close, so that a
 * worker (or a nested pipeline's worker) never holds another worker's
 * socket: otherwise the caller would not see EOF when a worker dies.
 */
#ifndef BMP_CHANNEL_H
#define BMP_CHANNEL_H

#include "result.h"
#include "result_ring.h"
#include "temp_log.h"

#include <stdint.h>
#include <sys/types.h>

/* Writes exactly n bytes; EINTR retried.  @return 0, -errno. */
int bmp__write_all(int fd, const void *buf, size_t n);

/* One item to run: its index and its memory estimate in bytes (-1 none),
 * which becomes the item's limit with the enforce keyword and the memory
 * of a nested pipeline. */
typedef struct bmp__task {
    uint64_t index;
    int64_t estimate;
} bmp__task;
/* The most tasks a caller may have sent to a worker and not had answered:
 * the worker reads that many ahead at most. */
#define BMP__TASKS_MAX 64

/* Sends n tasks in one write.  @return 0 or -errno. */
int bmp__channel_send_tasks(int fd, const bmp__task *tasks, size_t n);
/* Worker side: the next task, from the tasks read ahead or from the
 * socket.  @return 1, 0 at end of file, or -errno. */
int bmp__channel_recv_task(int fd, uint64_t *index, int64_t *estimate);

/* Worker side: how many tasks were read ahead and wait behind the
 * running item (for tests: it shows that queueing happened). */
size_t bmp__channel_tasks_ahead(void);

/* Worker side: the socket to the caller, the slot's temporary-file log
 * and its result ring (either may be NULL), set once in a new worker; in
 * the caller the socket is -1.  With a ring, results and notices go into
 * it and the socket carries only wake-ups: a byte when the worker has
 * published results since the last one and takes a task with at most
 * one left behind it, or is about to wait for tasks; or when it waits
 * for room in the ring.  A caller that wakes for other
 * reasons reads the ring too, without a system call.
 * bmp__channel_item_starts() is called before each item with the item's
 * index and memory share (its estimate, -1 none): it empties the log.
 * bmp__channel_notify_temp() records a temporary output file, before it
 * is created, so that the caller can remove it when the worker dies
 * before renaming or removing it: in the log, or on the socket when the
 * log is full; a no-op outside a worker.  Thread-safe. */
void bmp__channel_set_worker(int fd, bmp__temp_log *temps,
                             bmp__result_ring *ring);
void bmp__channel_item_starts(uint64_t index, int64_t share);
void bmp__channel_notify_temp(const char *path);
/* Worker side: the file `path`, announced, was not created after all. */
void bmp__channel_forget_temp(const char *path);
/* Worker side: the running item's process groups (bmp_item_track_group),
 * in the slot's log, for the caller to kill should the worker die during
 * the item; 0 and nothing recorded outside a worker.  Thread-safe.
 * bmp__channel_item_ends() forgets them when the item is over. */
int bmp__channel_track_group(pid_t pgid);
void bmp__channel_untrack_group(pid_t pgid);
void bmp__channel_item_ends(void);
/* 1 in a worker process of a pipeline. */
int bmp__in_worker(void);
/* The memory share of the running item in a worker, -1 elsewhere: a
 * nested pipeline's budget when its keywords give no mem_available. */
int64_t bmp__worker_mem_share(void);

/* For tests of crash isolation: a worker publishing the result of item
 * `item` into its ring ends with _exit(BMP__DIE_EXIT) at `step`, one of
 * the points below (-1: never).  Set in the caller before the workers
 * are forked; they inherit it.  Costs a comparison per step. */
enum {
    BMP__DIE_BEFORE_COPY,    /* nothing of the frame copied */
    BMP__DIE_HEADER_COPIED,  /* its header copied, not published */
    BMP__DIE_PART_PUBLISHED, /* a frame larger than the free room: its
                                first piece published, the caller woken
                                to make room (inside the ring's put) */
    BMP__DIE_COPIED,         /* all of it copied, not published */
    BMP__DIE_PUBLISHED,      /* published; the caller not woken */
    BMP__DIE_WOKEN,          /* the caller woken, before the next task */
    BMP__DIE_STEPS
};
#define BMP__DIE_EXIT 71
void bmp__channel_die_at(uint64_t item, int step);
/* For tests of a worker gone wrong: in a worker with a ring, stores the
 * count `delta` bytes off what the caller took as published (as a wild
 * write would), wakes the caller and waits to be killed; a no-op
 * elsewhere. */
void bmp__channel_skew_ring(int64_t delta);

/* Sends a result: into the ring in a worker that has one and sends on
 * its own socket, else on the socket `fd`.  @return 0 or -errno. */
int bmp__channel_send_result(int fd, const bmp__result *r);

/* Caller side: the bytes a worker has sent and the caller not yet parsed.
 * Zero-initialise; bmp__reader_free() releases and resets. */
typedef struct bmp__reader {
    char *buf;
    size_t start, end, cap;
    size_t need;         /* bytes of the frame being waited for */
    uint64_t ring_taken; /* the caller's own read position in the ring
                            (result_ring.h); 0 with the ring reset */
} bmp__reader;
void bmp__reader_free(bmp__reader *rd);
/* One non-blocking read of what the socket holds.  @return 1 bytes came,
 * 0 end of file (the worker closed or reset its socket: it died), -EAGAIN
 * nothing yet, -ENOMEM or -errno. */
int bmp__reader_fill(bmp__reader *rd, int fd);
/* As bmp__reader_fill() for a worker whose results come through `ring`:
 * drains the wake-ups on the socket (seeing its end first), then takes
 * every byte the ring holds.  @return 1 bytes came, 0 end of file (the
 * ring was read after it), -EAGAIN, -ENOMEM, BMP_EPROTO (the ring's
 * counters are impossible: the caller ends the worker) or -errno. */
int bmp__reader_fill_ring(bmp__reader *rd, int fd, bmp__result_ring *ring);
/* Takes what the ring holds, without a system call.  @return 1 bytes
 * came, -EAGAIN none, -ENOMEM, BMP_EPROTO as above. */
int bmp__reader_take_ring(bmp__reader *rd, bmp__result_ring *ring);
/* 1 when the ring holds bytes not yet taken, or counters the caller must
 * see as a protocol error (bmp__reader_take_ring() then says so); one
 * load. */
int bmp__reader_ring_ready(const bmp__reader *rd,
                           const bmp__result_ring *ring);
/* For tests: with 1, bmp__reader_ring_ready() says 0 for a sound ring,
 * so that the caller reads a ring only when the worker wakes it or
 * ends -- as when it is killed just after publishing. */
void bmp__channel_lazy_rings(int lazy);
/* The next whole frame buffered: a result fills *r (cleared first) and
 * gives 1; a temporary-file notice sets *temp_path (malloc'd) and gives
 * 0.  @return 1, 0, -EAGAIN when no whole frame is buffered (nothing is
 * consumed), BMP_EPROTO or -ENOMEM (the stream cannot be trusted any
 * more: the caller ends the worker). */
int bmp__reader_next(bmp__reader *rd, bmp__result *r, char **temp_path);

/* The fork registry: the caller-side sockets of every worker of this
 * process, which a new child must close.  bmp__fork_worker() makes a
 * worker's socket pair and forks with the registry held still; it
 * returns as fork(), with *caller_fd (in the caller, registered) or
 * *worker_fd (in the worker, the only registered one, so that a nested
 * pipeline's workers close it) set. */
void bmp__fd_register(int fd);
void bmp__fd_unregister(int fd);
pid_t bmp__fork_worker(int *caller_fd, int *worker_fd);

#endif
