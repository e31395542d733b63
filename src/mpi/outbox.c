/*
 * outbox.c -- a helper's messages to rank 0 while they are in flight
 * (outbox.h): posted with MPI_Isend, their buffers kept until MPI_Test
 * says they went.
 */
#include "outbox.h"

#include <errno.h>
#include <stdlib.h>

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
    ob->cap = cap;
    return 0;
}

int bmp__mpi_outbox_post(bmp__mpi_outbox *ob, MPI_Comm comm, int dest,
                         void *buf, int count, MPI_Datatype type, int tag,
                         double now)
{
    MPI_Request req;
    int rc = MPI_Isend(buf, count, type, dest, tag, comm, &req);
    if (rc != MPI_SUCCESS) {
        free(buf);
        return rc;
    }
    int flag = 0;
    rc = MPI_Test(&req, &flag, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS || flag) {
        if (flag)
            free(buf);
        return rc;
    }
    if (grow(ob) < 0) {
        /* No room to remember it: wait for it here rather than lose it. */
        rc = MPI_Wait(&req, MPI_STATUS_IGNORE);
        free(buf);
        return rc != MPI_SUCCESS ? rc : -ENOMEM;
    }
    ob->reqs[ob->n] = req;
    ob->bufs[ob->n] = buf;
    ob->since[ob->n] = now;
    ob->n++;
    return MPI_SUCCESS;
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
        kept++;
    }
    ob->n = kept;
    if (oldest)
        *oldest = ob->n ? ob->since[0] : 0;
    return rc;
}

size_t bmp__mpi_outbox_pending(const bmp__mpi_outbox *ob)
{
    return ob->n;
}

void bmp__mpi_outbox_free(bmp__mpi_outbox *ob)
{
    for (size_t i = 0; i < ob->n; i++)
        MPI_Request_free(&ob->reqs[i]);
    free(ob->reqs);
    free(ob->bufs);
    free(ob->since);
    *ob = (bmp__mpi_outbox){0};
}
