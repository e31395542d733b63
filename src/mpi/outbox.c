/*
 * outbox.c -- a helper's messages to rank 0 while they are in flight
 * (outbox.h): posted with MPI_Isend, their buffers kept until MPI_Test
 * says they went.
 */
#include "outbox.h"

#include <errno.h>
#include <stdlib.h>

/* Room for one more entry. */
static int grow(bmp__mpi_outbox *ob)
{
    if (ob->n < ob->cap)
        return 0;
    size_t cap = ob->cap ? 2 * ob->cap : 16;
    bmp__mpi_outbox_entry *sent = realloc(ob->sent, cap * sizeof *sent);
    if (!sent)
        return -ENOMEM;
    ob->sent = sent;
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
    ob->sent[ob->n++] = (bmp__mpi_outbox_entry){req, buf, now, tag};
    return rc;
}

int bmp__mpi_outbox_progress(bmp__mpi_outbox *ob, double *oldest)
{
    int rc = MPI_SUCCESS;
    size_t kept = 0;
    for (size_t i = 0; i < ob->n; i++) {
        int flag = 0;
        if (rc == MPI_SUCCESS)
            rc = MPI_Test(&ob->sent[i].req, &flag, MPI_STATUS_IGNORE);
        if (flag) {
            free(ob->sent[i].buf);
            continue;
        }
        /* Kept in posting order: the first is the oldest. */
        ob->sent[kept++] = ob->sent[i];
    }
    ob->n = kept;
    if (oldest)
        *oldest = ob->n ? ob->sent[0].since : 0;
    return rc;
}

size_t bmp__mpi_outbox_pending(const bmp__mpi_outbox *ob, int except)
{
    size_t n = 0;
    for (size_t i = 0; i < ob->n; i++)
        n += except < 0 || ob->sent[i].tag != except;
    return n;
}

void bmp__mpi_outbox_restamp(bmp__mpi_outbox *ob, double now)
{
    for (size_t i = 0; i < ob->n; i++)
        ob->sent[i].since = now;
}

void bmp__mpi_outbox_free(bmp__mpi_outbox *ob, int mpi_alive)
{
    for (size_t i = 0; i < ob->n; i++) {
        if (mpi_alive)
            MPI_Request_free(&ob->sent[i].req);
        else
            free(ob->sent[i].buf);
    }
    free(ob->sent);
    *ob = (bmp__mpi_outbox){0};
}
