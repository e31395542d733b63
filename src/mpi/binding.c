/*
 * binding.c -- a rank bound to a few CPUs runs a few workers: say so.
 *
 * Launchers bind ranks by default (Open MPI binds each rank to a core or
 * a socket when there are few ranks; Slurm's srun gives a task one CPU
 * without -c).  The local pool sizes itself from the affinity mask, as
 * it should on a shared node, so a node of 64 CPUs would quietly run one
 * worker.  Warning once, with the fix, is the one thing the executor can
 * do: it cannot know whether the binding was meant.
 */
#define _GNU_SOURCE
#include "binding.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int bmp__mpi_bound_cpus(int *bound, int *online)
{
    *bound = 0;
    *online = 0;
    long on = sysconf(_SC_NPROCESSORS_ONLN);
    if (on < 1)
        return -1;
    /* A mask big enough for the machine's CPU numbers, which may pass
     * the count online (CPUs taken offline keep their numbers). */
    long conf = sysconf(_SC_NPROCESSORS_CONF);
    int ncpu = (int)(conf > on ? conf : on);
    if (ncpu < CPU_SETSIZE)
        ncpu = CPU_SETSIZE;
    size_t size = CPU_ALLOC_SIZE(ncpu);
    cpu_set_t *set = CPU_ALLOC(ncpu);
    if (!set)
        return -1;
    CPU_ZERO_S(size, set);
    int rc = sched_getaffinity(0, size, set);
    int count = rc == 0 ? CPU_COUNT_S(size, set) : 0;
    CPU_FREE(set);
    if (rc != 0 || count < 1)
        return -1;
    *bound = count;
    *online = (int)on;
    return count < on;
}

void bmp__mpi_warn_bound(int rank, const char *host)
{
    static int said;
    int bound, online;
    if (said || bmp__mpi_bound_cpus(&bound, &online) != 1)
        return;
    said = 1;
    fprintf(stderr,
            "bigmultipipe: MPI rank %d on host %s is bound to %d of the %d "
            "CPUs of its node, so it runs at most %d worker%s; to give each "
            "rank its node, start the ranks with mpirun --bind-to none (one "
            "rank per node: --map-by ppr:1:node) or srun -c N "
            "(--cpus-per-task)\n",
            rank, host, bound, online, bound, bound == 1 ? "" : "s");
}
