/*
 * test_mpi_outbox.c -- a helper's sends in flight (src/mpi/outbox.c),
 * under `mpirun -n 2` (CTest: mpi_outbox).
 *
 * Rank 1 posts five messages to rank 0 through an outbox: two ints, one
 * of 4 MiB (far past any eager limit: it cannot go before rank 0 posts
 * its receive), then two ints.  Posting must not wait for rank 0, which
 * sleeps 0.3 s before it receives anything: the five posts return at
 * once, the big one (and what follows it, or at least the big one) stays
 * pending, its posting time is the outbox's oldest, and nothing is
 * reported gone before it went.  Rank 0 then takes the five in order
 * with blocking receives and checks each one's content: MPI's order is
 * the posting order.  Rank 1 drives the outbox until it is empty and
 * frees it (under AddressSanitizer, a buffer not freed or freed twice
 * fails the run).  Exit 0 when all holds on both ranks.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep */
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

static int failures;

#define CHECK(cond)                                                   \
    do {                                                              \
        if (!(cond)) {                                                \
            fprintf(stderr, "test_mpi_outbox: %s:%d: %s\n", __FILE__, \
                    __LINE__, #cond);                                 \
            failures++;                                               \
        }                                                             \
    } while (0)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int post_int(bmp__mpi_outbox *ob, int value, double at)
{
    int *buf = malloc(sizeof *buf);
    if (!buf)
        return -ENOMEM;
    *buf = value;
    return bmp__mpi_outbox_post(ob, MPI_COMM_WORLD, 0, buf, 1, MPI_INT,
                                TAG_SMALL, at);
}

static void sender(void)
{
    bmp__mpi_outbox ob = {0};
    CHECK(bmp__mpi_outbox_pending(&ob) == 0);
    double t0 = now_s();
    CHECK(post_int(&ob, 11, 1.0) == MPI_SUCCESS);
    CHECK(post_int(&ob, 22, 2.0) == MPI_SUCCESS);
    unsigned char *big = malloc(BIG);
    CHECK(big != NULL);
    if (!big)
        MPI_Abort(MPI_COMM_WORLD, 1);
    for (int i = 0; i < BIG; i++)
        big[i] = (unsigned char)(i * 7 + 3);
    CHECK(bmp__mpi_outbox_post(&ob, MPI_COMM_WORLD, 0, big, BIG, MPI_BYTE,
                               TAG_BIG, 3.0) == MPI_SUCCESS);
    CHECK(post_int(&ob, 44, 4.0) == MPI_SUCCESS);
    CHECK(post_int(&ob, 55, 5.0) == MPI_SUCCESS);
    /* Rank 0 sleeps 0.3 s before its first receive: posting waited for
     * none of it. */
    CHECK(now_s() - t0 < 0.25);
    double oldest = -1;
    CHECK(bmp__mpi_outbox_progress(&ob, &oldest) == MPI_SUCCESS);
    /* The big one cannot have gone yet, and what is pending is kept in
     * posting order: the oldest is at most the big one's. */
    CHECK(bmp__mpi_outbox_pending(&ob) >= 1);
    CHECK(oldest >= 1.0 && oldest <= 3.0);
    while (bmp__mpi_outbox_pending(&ob) > 0) {
        CHECK(bmp__mpi_outbox_progress(&ob, &oldest) == MPI_SUCCESS);
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
        if (now_s() - t0 > 60) {
            fprintf(stderr, "test_mpi_outbox: sends never completed\n");
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
    }
    CHECK(oldest == 0);
    bmp__mpi_outbox_free(&ob);
    CHECK(ob.n == 0 && ob.reqs == NULL);
}

static void receiver(void)
{
    struct timespec ts = {0, 300000000L};
    nanosleep(&ts, NULL);
    int want[] = {11, 22, -1, 44, 55};
    unsigned char *big = malloc(BIG);
    if (!big)
        MPI_Abort(MPI_COMM_WORLD, 1);
    for (int k = 0; k < 5; k++) {
        MPI_Status st;
        MPI_Probe(1, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
        if (want[k] < 0) {
            CHECK(st.MPI_TAG == TAG_BIG);
            int count = 0;
            MPI_Get_count(&st, MPI_BYTE, &count);
            CHECK(count == BIG);
            MPI_Recv(big, BIG, MPI_BYTE, 1, TAG_BIG, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            int same = 1;
            for (int i = 0; i < BIG && same; i++)
                same = big[i] == (unsigned char)(i * 7 + 3);
            CHECK(same);
        } else {
            CHECK(st.MPI_TAG == TAG_SMALL);
            int v = 0;
            MPI_Recv(&v, 1, MPI_INT, 1, TAG_SMALL, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            CHECK(v == want[k]);
        }
    }
    free(big);
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
