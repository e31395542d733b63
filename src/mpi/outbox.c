/*
 * outbox.c -- a helper's messages to rank 0 while they are in flight
 * (outbox.h): posted with MPI_Isend, their buffers kept until MPI_Test
 * says they went.
 */
#include "outbox.h"

#include <errno.h>
#include <stdlib.h>

/* Room for one more entry.  Each array is grown on its own: one that
 * grew keeps its entries when the next fails, and the capacity moves
 * only when all four have it. */
static int grow(bmp__mpi_outbox *ob)
{
    if (ob->n < ob->cap)
        return 0;
    size_t cap = ob->cap ? 2 * ob->cap : 16;
    MPI_Request *reqs = realloc(ob->reqs, cap * sizeof *reqs);
    if (!reqs)
        return -ENOMEM;
    ob->reqs = reqs;
    void **bufs = realloc(ob->bufs, cap * sizeof *bufs);
    if (!bufs)
        return -ENOMEM;
    ob->bufs = bufs;
    double *since = realloc(ob->since, cap * sizeof *since);
    if (!since)
        return -ENOMEM;
    ob->since = since;
    int *tags = realloc(ob->tags, cap * sizeof *tags);
    if (!tags)
        return -ENOMEM;
    ob->tags = tags;
    ob->cap = cap;
    return 0;
}

int bmp__mpi_outbox_post(bmp__mpi_outbox *ob, MPI_Comm comm, int dest,
                         void *buf, int count, MPI_Datatype type, int tag,
                         double now)
{
    if (grow(ob) < 0) {
        free(buf);
        return -ENOMEM;
    }
    MPI_Request req;
    int rc = MPI_Isend(buf, count, type, dest, tag, comm, &req);
    if (rc != MPI_SUCCESS) {
        free(buf);
        return rc;
    }
    int flag = 0;
    rc = MPI_Test(&req, &flag, MPI_STATUS_IGNORE);
    if (flag) {
        free(buf);
        return rc;
    }
    /* Pending, or its test failed (only with errors not fatal): kept,
     * so that its buffer outlives whatever MPI still does with it. */
    ob->reqs[ob->n] = req;
    ob->bufs[ob->n] = buf;
    ob->since[ob->n] = now;
    ob->tags[ob->n] = tag;
    ob->n++;
    return rc;
}

int bmp__mpi_outbox_progress(bmp__mpi_outbox *ob, double *oldest)
{
    int rc = MPI_SUCCESS;
    size_t kept = 0;
    for (size_t i = 0; i < ob->n; i++) {
        int flag = 0;
        if (rc == MPI_SUCCESS)
            rc = MPI_Test(&ob->reqs[i], &flag, MPI_STATUS_IGNORE);
        if (flag) {
            free(ob->bufs[i]);
            continue;
        }
        /* Kept in posting order: the first is the oldest. */
        ob->reqs[kept] = ob->reqs[i];
        ob->bufs[kept] = ob->bufs[i];
        ob->since[kept] = ob->since[i];
        ob->tags[kept] = ob->tags[i];
        kept++;
    }
    ob->n = kept;
    if (oldest)
        *oldest = ob->n ? ob->since[0] : 0;
    return rc;
}

size_t bmp__mpi_outbox_pending(const bmp__mpi_outbox *ob, int except)
{
    size_t n = 0;
    for (size_t i = 0; i < ob->n; i++)
        n += except < 0 || ob->tags[i] != except;
    return n;
}

void bmp__mpi_outbox_restamp(bmp__mpi_outbox *ob, double now)
{
    for (size_t i = 0; i < ob->n; i++)
        ob->since[i] = now;
}

void bmp__mpi_outbox_free(bmp__mpi_outbox *ob, int mpi_alive)
{
    for (size_t i = 0; i < ob->n; i++) {
        if (mpi_alive)
            MPI_Request_free(&ob->reqs[i]);
        else
            free(ob->bufs[i]);
    }
    free(ob->reqs);
    free(ob->bufs);
    free(ob->since);
    free(ob->tags);
    *ob = (bmp__mpi_outbox){0};
}
