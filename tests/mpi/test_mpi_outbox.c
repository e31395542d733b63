/*
 * test_mpi_outbox.c -- a helper's sends in flight (src/mpi/outbox.c),
 * under `mpirun -n 2` (CTest: mpi_outbox).
 *
 * Rank 1 posts five messages to rank 0 through an outbox: two ints, one
 * of 4 MiB (far past any eager limit: it cannot go before rank 0 posts
 * its receive), an int, and an int with a heartbeat's tag.  Rank 0
 * receives nothing until both ranks meet at a barrier that rank 1
 * reaches only after its posts: had a post waited for rank 0, the test
 * would hang (and fail on CTest's time limit), no timing needed.  Before
 * that barrier the big one is pending, its posting time is at most the
 * outbox's oldest, pending counts leave out the tag asked, and a
 * restamp moves every posting time.  Then rank 0 takes the five in
 * order and checks each one's content, while rank 1 drives its outbox
 * until it is empty.  Last, rank 1 posts another big message and frees
 * the outbox before rank 0 has taken it: the buffer must outlive the
 * free (rank 0 checks the bytes).  Exit 0 when all holds on both ranks;
 * AddressSanitizer's stage catches a buffer freed too soon or twice.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <mpi.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "outbox.h"

#define BIG (4 << 20) /* bytes */
#define TAG_SMALL 1
#define TAG_BIG 2
#define TAG_BEAT 3

static int failures;

#define CHECK(cond)                                                   \
    do {                                                              \
        if (!(cond)) {                                                \
            fprintf(stderr, "test_mpi_outbox: %s:%d: %s\n", __FILE__, \
                    __LINE__, #cond);                                 \
            failures++;                                               \
        }                                                             \
    } while (0)

static int post_int(bmp__mpi_outbox *ob, int value, int tag, double at)
{
    int *buf = malloc(sizeof *buf);
    if (!buf)
        return -ENOMEM;
    *buf = value;
    return bmp__mpi_outbox_post(ob, MPI_COMM_WORLD, 0, buf, 1, MPI_INT, tag,
                                at);
}

static unsigned char *big_message(int seed)
{
    unsigned char *big = malloc(BIG);
    if (!big)
        MPI_Abort(MPI_COMM_WORLD, 1);
    for (int i = 0; i < BIG; i++)
        big[i] = (unsigned char)(i * 7 + seed);
    return big;
}

static void sender(void)
{
    bmp__mpi_outbox ob = {0};
    CHECK(bmp__mpi_outbox_pending(&ob, -1) == 0);
    unsigned char *big = big_message(3);
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK(post_int(&ob, 11, TAG_SMALL, 1.0) == MPI_SUCCESS);
    CHECK(post_int(&ob, 22, TAG_SMALL, 2.0) == MPI_SUCCESS);
    CHECK(bmp__mpi_outbox_post(&ob, MPI_COMM_WORLD, 0, big, BIG, MPI_BYTE,
                               TAG_BIG, 3.0) == MPI_SUCCESS);
    CHECK(post_int(&ob, 44, TAG_SMALL, 4.0) == MPI_SUCCESS);
    CHECK(post_int(&ob, 55, TAG_BEAT, 5.0) == MPI_SUCCESS);
    double oldest = -1;
    CHECK(bmp__mpi_outbox_progress(&ob, &oldest) == MPI_SUCCESS);
    /* Rank 0 has posted no receive: the big one is still here, and
     * what is pending is kept in posting order. */
    size_t pending = bmp__mpi_outbox_pending(&ob, -1);
    CHECK(pending >= 1);
    CHECK(bmp__mpi_outbox_pending(&ob, TAG_BIG) == pending - 1);
    CHECK(oldest >= 1.0 && oldest <= 3.0);
    bmp__mpi_outbox_restamp(&ob, 100.0);
    CHECK(bmp__mpi_outbox_progress(&ob, &oldest) == MPI_SUCCESS);
    CHECK(oldest == 100.0);
    MPI_Barrier(MPI_COMM_WORLD); /* now rank 0 receives */
    while (bmp__mpi_outbox_pending(&ob, -1) > 0) {
        CHECK(bmp__mpi_outbox_progress(&ob, &oldest) == MPI_SUCCESS);
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    CHECK(oldest == 0);
    /* Freed with a send pending: MPI still reads the buffer. */
    CHECK(bmp__mpi_outbox_post(&ob, MPI_COMM_WORLD, 0, big_message(5), BIG,
                               MPI_BYTE, TAG_BIG, 6.0) == MPI_SUCCESS);
    CHECK(bmp__mpi_outbox_pending(&ob, -1) == 1);
    bmp__mpi_outbox_free(&ob, 1);
    CHECK(ob.n == 0 && ob.sent == NULL);
    MPI_Barrier(MPI_COMM_WORLD); /* now rank 0 takes the last */
}

/* Receives the next message from rank 1 and checks its tag and bytes
 * (want >= 0: an int of that value; else a big message of seed -want). */
static void take(int want, int tag)
{
    MPI_Status st;
    MPI_Probe(1, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
    CHECK(st.MPI_TAG == tag);
    if (want >= 0) {
        int v = 0;
        MPI_Recv(&v, 1, MPI_INT, 1, st.MPI_TAG, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
        CHECK(v == want);
        return;
    }
    int count = 0;
    MPI_Get_count(&st, MPI_BYTE, &count);
    CHECK(count == BIG);
    unsigned char *big = malloc(BIG);
    if (!big)
        MPI_Abort(MPI_COMM_WORLD, 1);
    MPI_Recv(big, BIG, MPI_BYTE, 1, st.MPI_TAG, MPI_COMM_WORLD,
             MPI_STATUS_IGNORE);
    int same = count == BIG;
    for (int i = 0; i < BIG && same; i++)
        same = big[i] == (unsigned char)(i * 7 - want);
    CHECK(same);
    free(big);
}

static void receiver(void)
{
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD); /* rank 1 posted and checked */
    take(11, TAG_SMALL);
    take(22, TAG_SMALL);
    take(-3, TAG_BIG);
    take(44, TAG_SMALL);
    take(55, TAG_BEAT);
    MPI_Barrier(MPI_COMM_WORLD); /* rank 1 freed its outbox */
    take(-5, TAG_BIG);
}
int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size != 2) {
        if (rank == 0)
            fprintf(stderr, "test_mpi_outbox: run with 2 ranks\n");
        MPI_Finalize();
        return 2;
    }
    if (rank == 1)
        sender();
    else
        receiver();
    int mine = failures, all = 0;
    MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Finalize();
    if (rank == 0)
        printf("test_mpi_outbox: %s\n", all ? "FAILED" : "ok");
    return all ? 1 : 0;
}
