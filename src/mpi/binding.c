/*
 * binding.c -- a rank bound to a few CPUs runs a few workers: say so.
 *
 * Launchers bind ranks by default (Open MPI binds each rank to a core or
 * a socket when there are few ranks; Slurm's srun gives a task one CPU
 * without -c).  The local pool sizes itself from the affinity mask, as
 * it should on a shared node, so a node of 64 CPUs would quietly run one
 * worker.  Warning once, with the fix, is the one thing the executor can
 * do: it cannot know whether the binding was meant.
 *
 * Under a batch system the node is not the measure: Slurm's cgroup gives
 * a task the CPUs it asked for (srun -c 32 on a node of 64), and a mask
 * equal to the cgroup's CPU set (cgroup v2 cpuset.cpus.effective, the
 * cgroup's path from /proc/self/cgroup) is what the job asked for: no
 * warning.  A mask narrower than the cgroup's, or than the node when no
 * cgroup CPU set can be read, is said, with the fix.
 */
#define _GNU_SOURCE
#include "binding.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int bmp__mpi_cpulist_count(const char *list)
{
    if (!list)
        return -1;
    int count = 0;
    const char *p = list;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\n' || *p == '\0')
        return -1; /* an empty set: no CPU to count on */
    for (;;) {
        char *end = NULL;
        if (*p < '0' || *p > '9')
            return -1;
        long lo = strtol(p, &end, 10), hi = lo;
        p = end;
        if (*p == '-') {
            p++;
            if (*p < '0' || *p > '9')
                return -1;
            hi = strtol(p, &end, 10);
            p = end;
        }
        if (lo < 0 || hi < lo || hi - lo >= 1L << 20 || count > (1 << 20))
            return -1;
        count += (int)(hi - lo + 1);
        if (*p == ',') {
            p++;
            continue;
        }
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        return *p == '\0' ? count : -1;
    }
}

/* The CPUs of this process's cgroup (v2): cpuset.cpus.effective of its
 * cgroup, or of the nearest parent that has the file; -1 when there is
 * none to read (cgroup v1, no cpuset controller, no /sys). */
static int cgroup_cpus(void)
{
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f)
        return -1;
    char line[4096], path[4200] = "";
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "0::", 3) == 0) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(path, sizeof path, "%s", line + 3);
            break;
        }
    fclose(f);
    if (path[0] != '/')
        return -1;
    for (;;) {
        char file[4300], list[8192];
        snprintf(file, sizeof file, "/sys/fs/cgroup%s%scpuset.cpus.effective",
                 path, path[1] ? "/" : "");
        FILE *c = fopen(file, "r");
        if (c) {
            int n = fgets(list, sizeof list, c) ? bmp__mpi_cpulist_count(list)
                                                : -1;
            fclose(c);
            if (n > 0)
                return n;
        }
        char *slash = strrchr(path, '/');
        if (!slash || !path[1])
            return -1;
        slash[slash == path ? 1 : 0] = '\0';
    }
}

int bmp__mpi_binding_limit(int bound, int online, int cgroup)
{
    if (bound < 1 || online < 1 || bound >= online)
        return 0;
    if (cgroup > 0 && bound >= cgroup)
        return 0; /* the cgroup's CPUs, all of them: as the job asked */
    return cgroup > 0 && cgroup < online ? cgroup : online;
}

void bmp__mpi_warn_bound(int rank, const char *host)
{
    static int said;
    int bound, online;
    if (said || bmp__mpi_bound_cpus(&bound, &online) != 1)
        return;
    int of = bmp__mpi_binding_limit(bound, online, cgroup_cpus());
    if (!of)
        return;
    said = 1;
    fprintf(
        stderr,
        "bigmultipipe: MPI rank %d on host %s is bound to %d of %d CPUs%s, "
        "so it runs at most %d worker%s; to give each rank its node, "
        "start the ranks with mpirun --bind-to none (one rank per node: "
        "--map-by ppr:1:node) or srun -c N (--cpus-per-task)\n",
        rank, host, bound, of, of < online ? " (its cgroup's CPU set)" : "",
        bound, bound == 1 ? "" : "s");
}
