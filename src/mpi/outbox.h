/*
 * outbox.h -- a helper's messages to rank 0 while they are in flight.
 *
 * A helper must not wait for a send to finish: with Open MPI's shared
 * memory transport even a short message may stay pending until rank 0
 * next looks at the line, and rank 0 sleeps up to a couple of
 * milliseconds between looks.  A helper that waited there left its
 * worker idle after many items (on the benchmark's items of 2 ms, each
 * of 4 helpers spent 25 to 40 ms of a 0.66 s run waiting in sends).  So
 * each message is posted, and its buffer kept here until MPI says it
 * went; the helper's loop calls the progress function.  MPI keeps the
 * messages in the order they were posted (non-overtaking), so rank 0
 * still hears a result before the done that follows it.
 */
#ifndef BMP_MPI_OUTBOX_H
#define BMP_MPI_OUTBOX_H

#include <mpi.h>
#include <stddef.h>

typedef struct bmp__mpi_outbox_entry {
    MPI_Request req;
    void *buf;    /* malloc'd, freed when its send completes */
    double since; /* when it was posted (CLOCK_MONOTONIC seconds) */
    int tag;
} bmp__mpi_outbox_entry;

typedef struct bmp__mpi_outbox {
    bmp__mpi_outbox_entry *sent; /* pending, in posting order */
    size_t n, cap;
} bmp__mpi_outbox;

/* Posts `buf` (malloc'd, `count` of `type`; taken over in every case)
 * to `dest` with `tag`, at time `now`.  MPI_SUCCESS, or the failed MPI
 * call's code, or -ENOMEM when the outbox could not grow: the message
 * is then not sent at all (the outbox grows before it posts, so that a
 * posted message is never left without a place). */
int bmp__mpi_outbox_post(bmp__mpi_outbox *ob, MPI_Comm comm, int dest,
                         void *buf, int count, MPI_Datatype type, int tag,
                         double now);

/* Frees the buffers of the sends that completed.  MPI_SUCCESS or the
 * failed MPI_Test's code.  *oldest (may be NULL): when the oldest send
 * still pending was posted, 0 when none is. */
int bmp__mpi_outbox_progress(bmp__mpi_outbox *ob, double *oldest);

/* Sends still pending, those with tag `except` left out (-1: none left
 * out). */
size_t bmp__mpi_outbox_pending(const bmp__mpi_outbox *ob, int except);

/* Every pending send counted as posted at `now`: a message left pending
 * at the end of one run (a heartbeat rank 0 had no reason to take) is
 * judged by the next run's clock, not by the time between runs. */
void bmp__mpi_outbox_restamp(bmp__mpi_outbox *ob, double now);

/* Frees the outbox.  With `mpi_alive` (MPI not finalized), sends still
 * pending are let go with MPI_Request_free (MPI completes them, or the
 * job ends) and their buffers are left allocated on purpose, since MPI
 * may still read them; after MPI_Finalize nothing can be pending and
 * the buffers are freed. */
void bmp__mpi_outbox_free(bmp__mpi_outbox *ob, int mpi_alive);

#endif
