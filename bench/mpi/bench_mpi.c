/*
 * bench_mpi.c -- one run of the MPI benchmark (bench/run_mpi.sh).
 *
 *   mpirun -n R bench_mpi MODE WORKLOAD ITEMS
 *
 * MODE
 *   process   rank 0 alone runs the items with the process executor and
 *             ITEMS... R must be 1; the worker count is BENCH_WORKERS.
 *   dynamic   the MPI executor: rank 0 hands out items on request, each
 *             other rank runs one worker (num_processes 1).
 *   static    a static split like Montage's: rank r runs the items with
 *             index % R == r, one worker, with the process executor, and
 *             the job ends when the last rank does.
 * WORKLOAD
 *   seed      the seed's arithmetic (x10, median, average) on 200 000
 *             values made in memory from the item's index: every item
 *             alike, a few milliseconds
 *   uneven    CPU-bound items of 2 ms, one in sixteen (by a hash of
 *             the index) 100 ms: what a static split cannot balance (over
 *             240 items, 16 are long; the static split's busiest rank
 *             has 1.10 times the mean work with 2 ranks, 1.38 with 4)
 *   wait      the same lengths, spent waiting (a sleep) instead of
 *             computing: items bound by I/O -- a frame fetched from an
 *             archive, a file on a slow parallel file system.  Ranks do
 *             not compete for CPUs, so on a small machine it shows how
 *             ranks with resources of their own divide the work.
 *   noop      items that do nothing: the framework's cost, and rank 0's
 *             CPU time per item
 * With BENCH_PIN=1 every rank that runs items is bound to a CPU of its
 * own (rank r of a static split to CPU r, helper rank r of a dynamic run
 * to CPU r - 1; rank 0 of a dynamic run, which only hands out items, is
 * left free), as ranks on nodes of their own would be; with more such
 * ranks than CPUs it refuses.
 * Prints one line: MODE WORKLOAD RANKS ITEMS WALL_S RANK0_CPU_US_PER_ITEM
 * RANK0_WORK_US_PER_ITEM: rank 0's CPU time in bmp_pipeline() per item,
 * then (dynamic only, else -1) the part of it spent handling messages,
 * its waits left out (bmp_mpi_owner_stats()).
 * Items need no files: file_read makes the item's data from its name,
 * and the last step drops it, so no output is written (no_output).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_setaffinity, CPU_SET */
#endif
#include "bench_util.h"
#include "workload.h"

#include <bigmultipipe.h>
#include <bigmultipipe/mpi.h>

#include <math.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { SEED, UNEVEN, WAIT, NOOP };
static int workload;

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Burns `s` seconds of this process's CPU time. */
static void burn(double s)
{
    double end = cpu_now() + s;
    volatile double x = 1.0;
    while (cpu_now() < end)
        for (int i = 0; i < 1000; i++)
            x = x * 1.0000001 + 1e-9;
}

/* BENCH_PIN=1: this rank, if it runs items, to a CPU of its own. */
static void pin_rank(int rank, int dynamic, int split)
{
    const char *pin = getenv("BENCH_PIN");
    if (!pin || strcmp(pin, "1") != 0 || (!dynamic && !split) ||
        (dynamic && rank == 0))
        return;
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
        bu_die("sched_getaffinity failed");
    int want = dynamic ? rank - 1 : rank, seen = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &allowed))
            continue;
        if (seen++ == want) {
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(cpu, &one);
            if (sched_setaffinity(0, sizeof one, &one) != 0)
                bu_die("sched_setaffinity to CPU %d failed", cpu);
            return;
        }
    }
    bu_die("BENCH_PIN: rank %d needs a CPU of its own, and there are %d", rank,
           seen);
}

static int make_data(bmp_item *item, const char *in_name, void **data)
{
    (void)item;
    *data = strdup(in_name);
    return *data ? BMP_CONTINUE : BMP_STOP;
}

static int work(bmp_item *item, void **data)
{
    const char *name = *data;
    unsigned long index = strtoul(strchr(name, '-') + 1, NULL, 10);
    if (workload == SEED) {
        size_t n = 200000;
        double *v = malloc(n * sizeof *v);
        if (!v)
            return bmp_item_fail(item, -12, "out of memory");
        for (size_t i = 0; i < n; i++)
            v[i] = (double)((index * 2654435761u + i * 40503u) % 1000);
        wl_scale_add(v, n, WL_MULTIPLY, 0);
        json_t *meta = bmp_item_meta(item);
        json_object_set_new(meta, "median", json_real(wl_median(v, n)));
        json_object_set_new(meta, "average", json_real(wl_average(v, n)));
        free(v);
    } else if (workload == UNEVEN || workload == WAIT) {
        /* A mixed hash of the index: which items are long has no
         * pattern a split by index could follow or suffer from. */
        uint32_t h = (uint32_t)index * 2654435761u;
        h ^= h >> 15;
        h *= 0x2c1b3c6du;
        h ^= h >> 12;
        double s = (h >> 28) == 0 ? 0.100 : 0.002;
        if (workload == UNEVEN) {
            burn(s);
        } else {
            struct timespec ts = {0, (long)(s * 1e9)};
            while (nanosleep(&ts, &ts) != 0)
                ;
        }
    }
    free(*data);
    *data = NULL; /* no output: the framework and the work, no disk */
    return BMP_CONTINUE;
}

static void drop(void *data, void *user)
{
    (void)user;
    free(data);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc != 4)
        bu_die("usage: bench_mpi process|dynamic|static "
               "seed|uneven|wait|noop ITEMS");
    const char *mode = argv[1];
    workload = strcmp(argv[2], "seed") == 0     ? SEED
               : strcmp(argv[2], "uneven") == 0 ? UNEVEN
               : strcmp(argv[2], "wait") == 0   ? WAIT
               : strcmp(argv[2], "noop") == 0   ? NOOP
                                                : -1;
    long long items = bu_parse_count(argv[3], "ITEMS");
    int dynamic = strcmp(mode, "dynamic") == 0;
    int split = strcmp(mode, "static") == 0;
    if (workload < 0 || (!dynamic && !split && strcmp(mode, "process") != 0))
        bu_die("unknown mode %s or workload %s", mode, argv[2]);
    if (strcmp(mode, "process") == 0 && size != 1)
        bu_die("process runs on one rank");
    pin_rank(rank, dynamic, split);

    json_t *names = json_array();
    for (long long i = 0; i < items; i++) {
        if (split && i % size != rank)
            continue;
        char name[64];
        snprintf(name, sizeof name, "item-%06lld", i);
        json_array_append_new(names, json_string(name));
    }
    const char *w = getenv("BENCH_WORKERS");
    json_t *kw = json_pack("{s:i}", "num_processes",
                           dynamic || split || !w ? 1 : atoi(w));
    bmp_ops ops = {.version = BMP_OPS_VERSION,
                   .file_read = make_data,
                   .data_process = work,
                   .data_free = drop};
    bmp_pipe *pipe = bmp_pipe_new(&ops, NULL);
    bmp_executor ex;
    bmp_error err = {0};
    if (dynamic) {
        if (bmp_mpi_executor(MPI_COMM_WORLD, &ex, &err) != 0)
            bu_die("%s", err.text);
        bmp_pipe_set_executor(pipe, &ex);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = bu_now(), c0 = bu_cpu_self();
    bmp_pout *pout = NULL;
    int rc = bmp_pipeline(pipe, names, kw, NULL, NULL, &pout, &err);
    double c1 = bu_cpu_self();
    if (rc != 0) {
        fprintf(stderr, "bench_mpi: rank %d: %s\n", rank, err.text);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    size_t bad = 0;
    for (size_t i = 0; i < bmp_pout_count(pout); i++)
        bad += bmp_pout_status(pout, i) != BMP_ITEM_NO_OUTPUT &&
               (!dynamic || rank == 0);
    MPI_Barrier(MPI_COMM_WORLD);
    double wall = bu_now() - t0;
    if (rank == 0) {
        if (bad)
            bu_die("%zu items did not end as no_output", bad);
        const char *keep = getenv("BENCH_POUT"); /* to look at the run */
        if (keep && *keep && bmp_pout_write(pout, keep, &err) != 0)
            bu_die("%s", err.text);
        /* Rank 0's own account of its work, its waits left out. */
        bmp_mpi_stats st = {.version = BMP_MPI_STATS_VERSION};
        double work_us = -1;
        if (dynamic && size > 1 && bmp_mpi_owner_stats(&ex, &st) == 0 &&
            st.results)
            work_us = (st.cpu_s - st.wait_cpu_s) * 1e6 / (double)st.results;
        printf("%s %s %d %lld %.4f %.2f %.2f\n", mode, argv[2], size, items,
               wall, (c1 - c0) * 1e6 / (double)items, work_us);
    }
    bmp_pout_free(pout);
    bmp_pipe_free(pipe);
    if (dynamic)
        bmp_mpi_executor_release(&ex);
    json_decref(kw);
    json_decref(names);
    MPI_Finalize();
    return 0;
}
