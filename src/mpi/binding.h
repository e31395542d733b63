/*
 * binding.h -- whether this rank is bound to fewer CPUs than its node
 * has, which shrinks its worker count (bmp_physical_cores() counts the
 * CPUs of the affinity mask).
 */
#ifndef BMP_MPI_BINDING_H
#define BMP_MPI_BINDING_H

/* The CPUs this process may run on (its affinity mask) in *bound, and
 * those online on the node in *online.  Returns 1 when *bound < *online,
 * 0 when not, -1 when either cannot be read (both then 0). */
int bmp__mpi_bound_cpus(int *bound, int *online);

/* The number of CPUs in a Linux CPU list such as "0-3,8,10-11\n" (the
 * format of cpuset.cpus.effective); -1 when it is empty or not such a
 * list. */
int bmp__mpi_cpulist_count(const char *list);

/* Whether a mask of `bound` CPUs, on a node of `online`, in a cgroup
 * whose CPU set holds `cgroup` (-1: unknown), is worth a warning: the
 * count the mask falls short of (the cgroup's when it is known and
 * smaller than the node), or 0 when the mask holds every CPU the process
 * was given. */
int bmp__mpi_binding_limit(int bound, int online, int cgroup);

/* When the process is bound to fewer CPUs than the node has and than
 * its cgroup's CPU set holds, says so on standard error, naming `rank` and
 * `host` and the fix; once per process. */
void bmp__mpi_warn_bound(int rank, const char *host);

#endif
