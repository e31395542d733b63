/*
 * sysinfo.h -- what the machine lets this process use: physical cores,
 * CPU quota, available memory.  The internal interface of the resources
 * module (sysinfo.c reads the machine, resources.c applies SPEC.md's
 * worker-count rules to the figures).
 *
 * Every reader takes `root`, a prefix put in front of each /proc and
 * /sys path ("" for the real system), so that tests can build a fake tree
 * of those files in a scratch directory.  The CPU topology and affinity
 * mask come from hwloc and sched_getaffinity, which a prefix cannot fake;
 * the readers take them as optional text instead (an hwloc synthetic
 * topology and a CPU list).
 */
#ifndef BMP_SYSINFO_H
#define BMP_SYSINFO_H

#include "bigmultipipe.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Where the final core count came from: the tightest of the figures. */
typedef enum bmp__cpu_source {
    BMP__CPU_FROM_NONE = 0, /* nothing could be read: 1 core assumed */
    BMP__CPU_FROM_CORES,    /* hwloc's physical cores in the affinity mask */
    BMP__CPU_FROM_AFFINITY, /* no topology: logical CPUs in the mask */
    BMP__CPU_FROM_ONLINE,   /* no mask either: online logical CPUs */
    BMP__CPU_FROM_QUOTA     /* the cgroup CPU quota was tighter */
} bmp__cpu_source;

/* Where the final available-memory figure came from. */
typedef enum bmp__mem_source {
    BMP__MEM_FROM_NONE = 0, /* nothing could be read */
    BMP__MEM_FROM_MEMINFO,  /* /proc/meminfo's MemAvailable (or estimate) */
    BMP__MEM_FROM_CGROUP    /* a cgroup limit less its usage was tighter */
} bmp__mem_source;

/* A figure not known, or no limit set. */
#define BMP__UNKNOWN (-1)

typedef struct bmp__sysinfo {
    /* CPUs.  Counts are 0 when unknown. */
    int cores_total;        /* physical cores hwloc sees (cgroup cpuset
                               applied, affinity not) */
    int cores_allowed;      /* of those, cores with a CPU in the mask */
    int cpus_allowed;       /* logical CPUs in the affinity mask */
    int cpus_online;        /* logical CPUs online */
    int cpu_cgroup_version; /* cgroup version whose CPU controller was
                               read: 0 none found, 1, 2 */
    char cpu_cgroup[512];   /* directory of the tightest quota (without
                               root), or "" */
    int64_t cpu_quota_us;   /* tightest quota in the cgroup's ancestry,
                               BMP__UNKNOWN when none */
    int64_t cpu_period_us;  /* its period */
    int cpu_quota_cores;    /* ceil(quota / period); 0 when no quota */
    int cores;              /* the answer: at least 1 */
    bmp__cpu_source cores_source;

    /* Memory, in bytes; BMP__UNKNOWN when unknown or unlimited. */
    int64_t mem_total;            /* MemTotal */
    int64_t mem_available_system; /* MemAvailable, or its estimate on
                                     kernels before 3.14 */
    int mem_cgroup_version;       /* as cpu_cgroup_version */
    char mem_cgroup[512];         /* directory of the tightest limit, or
                                     "" */
    int64_t cgroup_mem_limit;     /* that limit */
    int64_t cgroup_mem_usage;     /* its usage, reclaimable file cache
                                     (inactive_file) not counted */
    int64_t cgroup_mem_available; /* limit - usage, at least 0 */
    int64_t mem_available;        /* the answer, or a negative error */
    bmp__mem_source mem_source;
} bmp__sysinfo;

/*! bmp__sysinfo_init() : every figure unknown, answers not yet made. */
void bmp__sysinfo_init(bmp__sysinfo *si);

/*! bmp__sysinfo_read_cpu() : fills the CPU part of `si` and si->cores.
 *  `topology`: an hwloc synthetic description ("package:1 core:4 pu:2"),
 *  or NULL for this machine.  `affinity`: a CPU list ("0-3,8"), or NULL
 *  for this process's mask.  The cgroup CPU quota is read under `root`.
 *  Never fails: what cannot be read is left unknown and si->cores falls
 *  back as bmp__cpu_source says.  @return si->cores. */
int bmp__sysinfo_read_cpu(const char *root, const char *topology,
                          const char *affinity, bmp__sysinfo *si);

/*! bmp__sysinfo_read_mem() : fills the memory part of `si` from
 *  root/proc/meminfo and the process's memory cgroup under `root`.
 *  @return si->mem_available: bytes, or -errno when neither source could
 *          be read. */
int64_t bmp__sysinfo_read_mem(const char *root, bmp__sysinfo *si);

/* ---- processes ------------------------------------------------------- */

/*! bmp__proc_mem() : resident and virtual bytes of process `pid` (0: this
 *  process) from root/proc/PID/statm; either pointer may be NULL.
 *  @return 0 or -errno (-ENOENT once the process is gone). */
int bmp__proc_mem(const char *root, pid_t pid, int64_t *rss, int64_t *vm);
/*! bmp__statm_read() : the same from an open statm file, read from its
 *  start: one system call, for a worker that measures every item.
 *  @return 0 or -errno. */
int bmp__statm_read(int fd, int64_t *rss, int64_t *vm);

/*! bmp__oom_kills() : the kernel's count of processes killed for lack of
 *  memory since boot (oom_kill in root/proc/vmstat; cgroup limits
 *  included), or -errno on kernels without it (before 4.13). */
int64_t bmp__oom_kills(const char *root);

/* ---- resources.c ----------------------------------------------------- */

/* Ask the machine instead of using an injected figure. */
#define BMP__ASK_CORES 0
#define BMP__ASK_MEM INT64_MIN

/*! bmp__num_can_process_with() : bmp_num_can_process() with the machine's
 *  figures given: `cores` physical cores (BMP__ASK_CORES: ask
 *  bmp_physical_cores() when needed) and `mem_avail` bytes available now
 *  (BMP__ASK_MEM: ask bmp_mem_available() when needed; another negative
 *  value: the error that asking would have returned). */
int bmp__num_can_process_with(size_t num_items, const json_t *kw, int cores,
                              int64_t mem_avail, bmp_error *err);

#endif
