/*
 * channel.h -- the messages between the caller and a worker process, over
 * one Unix stream socket per worker.  The caller sends an item index; the
 * worker answers with the item's result: status, outname, meta (JSON
 * text), error message and measurements.  Names travel as raw bytes, so
 * file names that are not UTF-8 arrive exactly.
 *
 * Also the registry of descriptors a forked child must close, so that a
 * worker (or a nested pipeline's worker) never holds another worker's
 * socket: otherwise the caller would not see EOF when a worker dies.
 */
#ifndef BMP_CHANNEL_H
#define BMP_CHANNEL_H

#include "pipe_internal.h"

#include <stdint.h>

/* Writes/reads exactly n bytes; EINTR retried.  @return 0, -errno, or
 * -EPIPE on end of file before n bytes. */
int bmp__write_all(int fd, const void *buf, size_t n);
int bmp__read_all(int fd, void *buf, size_t n);

/* Sends one item to run: its index and its memory estimate in bytes (-1
 * none), which becomes the item's limit with the enforce keyword and the
 * memory of a nested pipeline.  @return 0 or -errno. */
int bmp__channel_send_task(int fd, uint64_t index, int64_t estimate);
/* Receives one item.  @return 1, 0 at end of file, or -errno. */
int bmp__channel_recv_task(int fd, uint64_t *index, int64_t *estimate);

/* Worker side: the socket to the caller, set once in a new worker; -1
 * in the caller.  bmp__channel_notify_temp() tells the caller about a
 * temporary output file, so that it can remove the file when the worker
 * dies before renaming or removing it; a no-op outside a worker. */
void bmp__channel_set_worker_fd(int fd);
void bmp__channel_notify_temp(const char *path);
/* 1 in a worker process of a pipeline. */
int bmp__in_worker(void);
/* Worker side: the memory share of the item about to run (its estimate,
 * -1 none), set before each item.  bmp__worker_mem_share() gives it in a
 * worker and -1 elsewhere: a nested pipeline's budget when its keywords
 * give no mem_available. */
void bmp__channel_set_share(int64_t bytes);
int64_t bmp__worker_mem_share(void);

/* Sends a result.  @return 0 or -errno. */
int bmp__channel_send_result(int fd, const bmp__result *r);
/* Receives one message.  A result fills *r (cleared first) and gives 1; a
 * temporary-file notice sets *temp_path (malloc'd) and gives 0.
 * @return 1, 0, -EPIPE when the worker closed the socket (it died),
 * BMP_EPROTO, or -errno. */
int bmp__channel_recv(int fd, bmp__result *r, char **temp_path);

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
