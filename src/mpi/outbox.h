/*
 * outbox.h -- a helper's messages to rank 0 while they are in flight.
 *
 * A helper must not wait for a send to finish: with Open MPI's shared
 * memory transport even a short message may stay pending until rank 0
 * next looks at the line, and rank 0 sleeps up to a couple of
 * milliseconds between looks.  A helper that waited there left its
 * worker idle that long after each item (on items of 2 ms, a third of
 * the time).  So each message is posted, and its buffer kept here until
 * MPI says it went; the helper's loop calls the progress function.
 * MPI keeps the messages in the order they were posted (non-overtaking),
 * so rank 0 still hears a result before the done that follows it.
 */
#ifndef BMP_MPI_OUTBOX_H
#define BMP_MPI_OUTBOX_H

#include <mpi.h>
#include <stddef.h>

typedef struct bmp__mpi_outbox {
    MPI_Request *reqs;
    void **bufs;   /* malloc'd, freed when their send completes */
    double *since; /* when each was posted (CLOCK_MONOTONIC seconds) */
    size_t n, cap;
} bmp__mpi_outbox;

/* Posts `buf` (malloc'd, `count` of `type`; taken over in every case)
 * to `dest` with `tag`, at time `now`.  MPI_SUCCESS, or the failed MPI
 * call's code, or -ENOMEM when the outbox could not grow (the message is
 * then sent and waited for instead, so nothing is lost). */
int bmp__mpi_outbox_post(bmp__mpi_outbox *ob, MPI_Comm comm, int dest,
                         void *buf, int count, MPI_Datatype type, int tag,
                         double now);

/* Frees the buffers of the sends that completed.  MPI_SUCCESS or the
 * failed MPI_Test's code.  *oldest (may be NULL): when the oldest send
 * still pending was posted, 0 when none is. */
int bmp__mpi_outbox_progress(bmp__mpi_outbox *ob, double *oldest);

/* Sends still pending. */
size_t bmp__mpi_outbox_pending(const bmp__mpi_outbox *ob);

/* Frees the outbox; sends still pending are let go (MPI_Request_free:
 * MPI completes them or the job ends) and their buffers leaked on
 * purpose, since MPI may still read them. */
void bmp__mpi_outbox_free(bmp__mpi_outbox *ob);

#endif
