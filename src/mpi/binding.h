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

/* When the process is bound to fewer CPUs than the node has, says so on
 * standard error, naming `rank` and `host` and the fix; once per
 * process. */
void bmp__mpi_warn_bound(int rank, const char *host);

#endif
