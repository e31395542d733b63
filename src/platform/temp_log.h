/*
 * temp_log.h -- the temporary output files of the item a worker is
 * running, in memory the worker shares with its caller.
 *
 * Why: a worker that dies between creating a temporary output and
 * renaming it leaves a partial file, which the caller must remove.  The
 * caller must therefore know every temporary's name before the worker
 * can die.  A message on the socket per temporary cost the caller a
 * wake-up per item; a write into a shared page costs a memcpy, and the
 * caller reads the page only when a worker dies.
 *
 * One log per worker slot, mapped shared before the slot's workers are
 * forked.  The worker empties it at the start of each item and appends
 * the name of each temporary before it creates it (and forgets the name
 * when the creation fails); the caller reads it after reaping a dead
 * worker, when nothing writes it any more.  A name that does not fit
 * (the log is full) is not lost: bmp__temp_log_add() says so, and the
 * worker sends it on the socket instead.
 *
 * The same page holds the process groups the running item tracks
 * (bmp_item_track_group): the caller kills them when the worker dies
 * during the item.  They are forgotten when the item ends, so that a
 * group a step reaped and forgot to untrack is never signalled after its
 * number may have been given to another group.
 */
#ifndef BMP_TEMP_LOG_H
#define BMP_TEMP_LOG_H

#include <stddef.h>
#include <sys/types.h>

typedef struct bmp__temp_log bmp__temp_log;

/* A new, empty log in shared anonymous memory; NULL with errno set. */
bmp__temp_log *bmp__temp_log_new(void);
void bmp__temp_log_free(bmp__temp_log *log);

/* Worker side: forgets every name (a new item starts). */
void bmp__temp_log_clear(bmp__temp_log *log);
/* Worker side: appends `path`, before the file is created (a worker
 * killed inside open() must not leave a file nobody knows of).
 * Thread-safe within the worker.  @return 0, or -ENOSPC when it does not
 * fit. */
int bmp__temp_log_add(bmp__temp_log *log, const char *path);
/* Worker side: `path` was not created after all (the name was taken, or
 * open() failed): the caller must not remove it.  Thread-safe. */
void bmp__temp_log_forget(bmp__temp_log *log, const char *path);

/* Worker side: records the process group `pgid` of the running item.
 * Thread-safe.  @return 0, or -ENOSPC when it does not fit. */
int bmp__temp_log_add_group(bmp__temp_log *log, pid_t pgid);
/* Worker side: the group is gone; not killed any more.  Thread-safe. */
void bmp__temp_log_forget_group(bmp__temp_log *log, pid_t pgid);
/* Worker side: the item ended: its groups are forgotten (its temporaries
 * are kept until the next item starts).  Cheap when it tracked none. */
void bmp__temp_log_forget_groups(bmp__temp_log *log);

/* Caller side, once the worker is dead (before or after it is reaped):
 * SIGKILL to every group still recorded.  @return how many were
 * signalled. */
size_t bmp__temp_log_kill_groups(bmp__temp_log *log);

/* Caller side, once the worker is reaped: unlinks every logged name (one
 * already renamed to its final name is gone, and unlink fails
 * harmlessly) and empties the log.  @return how many were removed. */
size_t bmp__temp_log_remove_all(bmp__temp_log *log);

#endif
