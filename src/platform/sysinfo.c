/*
 * sysinfo.c -- reading what the machine lets this process use.
 *
 * Cores.  The Python package counts all physical cores of the machine.
 * Under taskset, in a container or a batch job, a process may run on far
 * fewer, and one worker per machine core then only makes the workers
 * queue for the same CPUs while each holds an item's memory.  So the count
 * is hwloc's physical cores that have at least one logical CPU in the
 * affinity mask, capped by the cgroup CPU quota rounded up (a quota of
 * 1.5 CPUs keeps two workers busy enough to use it).
 *
 * Memory.  MemAvailable is the kernel's estimate of what new work can use
 * without swapping.  A cgroup memory limit bites earlier (the OOM killer,
 * not swap), so at each level of the process's cgroup ancestry the limit
 * less the usage caps it.  That usage leaves out inactive file cache
 * (memory.stat inactive_file): the kernel reclaims it under the limit,
 * and MemAvailable counts the same cache as available.  Counted in, the
 * cache left by reading big files -- this library's whole job -- would
 * make a container look full after one run.
 *
 * Cgroups.  /proc/self/cgroup names the process's cgroup in each
 * hierarchy; /proc/self/mountinfo says where each hierarchy is mounted and
 * which part of it (a container usually sees its own cgroup as the root
 * of the mount).  v2 is tried first; when no level of it has the
 * controller's files (the empty unified hierarchy of a hybrid system) v1
 * is tried.
 */
#include "sysinfo.h"

#include <ctype.h>
#include <errno.h>
#include <hwloc.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PATH_CAP 4096

/* v1 writes "no limit" as the largest page-aligned counter, which depends
 * on the page size; any limit this large means none. */
#define V1_UNLIMITED (INT64_MAX / 2)

/* ---- small file helpers ---------------------------------------------- */

static int join_path(char *buf, size_t size, const char *a, const char *b,
                     const char *c)
{
    int n = snprintf(buf, size, "%s%s%s", a ? a : "", b ? b : "", c ? c : "");
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Opens root+path+name for reading (close-on-exec: the library forks). */
static FILE *open_file(const char *root, const char *path, const char *name,
                       int *rc)
{
    char full[PATH_CAP];
    *rc = join_path(full, sizeof full, root, path, name);
    if (*rc)
        return NULL;
    FILE *f = fopen(full, "re");
    if (!f)
        *rc = -errno;
    return f;
}

/* The first line of a file, newline removed.  @return 0 or -errno. */
static int read_first_line(const char *root, const char *dir, const char *name,
                           char *buf, size_t size)
{
    int rc;
    FILE *f = open_file(root, dir, name, &rc);
    if (!f)
        return rc;
    if (!fgets(buf, (int)size, f))
        rc = ferror(f) ? -EIO : -ENODATA;
    fclose(f);
    if (rc == 0)
        buf[strcspn(buf, "\n")] = '\0';
    return rc;
}

/* Copies for display: a path too long for the record is cut short. */
static void copy_text(char *dst, size_t size, const char *src)
{
    size_t len = strlen(src);
    if (len >= size)
        len = size - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* A whole-string decimal integer, blanks around allowed. */
static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s)
        return -EINVAL;
    if (errno == ERANGE)
        return -ERANGE;
    while (isspace((unsigned char)*end))
        end++;
    if (*end)
        return -EINVAL;
    *out = v;
    return 0;
}

static int read_i64(const char *root, const char *dir, const char *name,
                    int64_t *out)
{
    char line[128];
    int rc = read_first_line(root, dir, name, line, sizeof line);
    return rc ? rc : parse_i64(line, out);
}

/* The value of `key` in a file of "key value" lines (memory.stat). */
static int read_keyed(const char *root, const char *dir, const char *name,
                      const char *key, int64_t *out)
{
    int rc;
    FILE *f = open_file(root, dir, name, &rc);
    if (!f)
        return rc;
    char line[256];
    size_t klen = strlen(key);
    rc = -ENOENT;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
            rc = parse_i64(line + klen + 1, out);
            break;
        }
    }
    fclose(f);
    return rc;
}

/* 1 when the comma-separated `list` holds `word`. */
static int list_has(const char *list, const char *word)
{
    size_t wlen = strlen(word);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        if (len == wlen && strncmp(p, word, wlen) == 0)
            return 1;
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* mountinfo escapes blanks, newlines and backslashes as \ooo. */
static void unescape_octal(char *s)
{
    char *out = s;
    for (char *in = s; *in;) {
        if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' &&
            in[2] <= '7' && in[3] >= '0' && in[3] <= '7') {
            *out++ = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 +
                            (in[3] - '0'));
            in += 4;
        } else {
            *out++ = *in++;
        }
    }
    *out = '\0';
}

/* ---- finding the process's cgroup ------------------------------------ */

typedef struct cg_place {
    char dir[PATH_CAP]; /* the process's cgroup directory, without root */
    char top[PATH_CAP]; /* the hierarchy's mount point: the walk stops */
} cg_place;

/* The process's path in hierarchy v2 (version 2) or in the v1 hierarchy
 * holding `controller`, from root/proc/self/cgroup. */
static int self_cgroup(const char *root, int version, const char *controller,
                       char *path, size_t size)
{
    int rc;
    FILE *f = open_file(root, "/proc/self/cgroup", NULL, &rc);
    if (!f)
        return rc;
    char *line = NULL;
    size_t cap = 0;
    rc = -ENOENT;
    while (getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\n")] = '\0';
        /* hierarchy-ID:controller-list:cgroup-path */
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c1 = *c2 = '\0';
        int match = version == 2 ? strcmp(line, "0") == 0 && c1[1] == '\0'
                                 : list_has(c1 + 1, controller);
        if (match) {
            rc = snprintf(path, size, "%s", c2 + 1) < (int)size
                     ? 0
                     : -ENAMETOOLONG;
            break;
        }
    }
    free(line);
    fclose(f);
    return rc;
}

/* Fills `pl` for the hierarchy of `version` (and v1 `controller`). */
static int find_cgroup(const char *root, int version, const char *controller,
                       cg_place *pl)
{
    char cgpath[PATH_CAP];
    int rc = self_cgroup(root, version, controller, cgpath, sizeof cgpath);
    if (rc)
        return rc;
    FILE *f = open_file(root, "/proc/self/mountinfo", NULL, &rc);
    if (!f)
        return rc;
    char *line = NULL;
    size_t cap = 0;
    rc = -ENOENT;
    while (rc == -ENOENT && getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\n")] = '\0';
        /* id parent major:minor root mount-point options [optional...] -
         * fstype source super-options */
        char *field[6] = {0}, *save = NULL, *tok;
        int n = 0, after_dash = 0;
        char *fstype = NULL, *superopts = NULL;
        for (tok = strtok_r(line, " ", &save); tok;
             tok = strtok_r(NULL, " ", &save)) {
            if (after_dash == 0 && strcmp(tok, "-") == 0 && n >= 5)
                after_dash = 1;
            else if (after_dash == 0 && n < 6)
                field[n++] = tok;
            else if (after_dash == 1)
                fstype = tok, after_dash = 2;
            else if (after_dash == 2)
                after_dash = 3; /* source */
            else if (after_dash == 3)
                superopts = tok, after_dash = 4;
        }
        if (!fstype || n < 5)
            continue;
        if (version == 2 ? strcmp(fstype, "cgroup2") != 0
                         : strcmp(fstype, "cgroup") != 0 || !superopts ||
                               !list_has(superopts, controller))
            continue;
        char *mroot = field[3], *mpoint = field[4];
        unescape_octal(mroot);
        unescape_octal(mpoint);
        /* The mount shows the hierarchy from mroot down; the process's
         * path must lie below it to be reachable through this mount. */
        const char *rel;
        size_t rlen = strlen(mroot);
        if (strcmp(mroot, "/") == 0)
            rel = cgpath;
        else if (strncmp(cgpath, mroot, rlen) == 0 &&
                 (cgpath[rlen] == '/' || cgpath[rlen] == '\0'))
            rel = cgpath + rlen;
        else
            continue;
        /* A path outside the cgroup namespace ("/../x") has no directory
         * here: the mount's top is the nearest reachable ancestor. */
        if (strcmp(rel, "/") == 0 || strstr(rel, "/..") || rel[0] != '/')
            rel = "";
        if (join_path(pl->top, sizeof pl->top, mpoint, NULL, NULL) ||
            join_path(pl->dir, sizeof pl->dir, mpoint, rel, NULL))
            rc = -ENAMETOOLONG;
        else
            rc = 0;
    }
    free(line);
    fclose(f);
    return rc;
}

/* Steps `dir` to its parent; 0 once it would leave `top`. */
static int step_up(char *dir, const char *top)
{
    size_t toplen = strlen(top);
    if (strlen(dir) <= toplen)
        return 0;
    char *slash = strrchr(dir, '/');
    if (!slash || (size_t)(slash - dir) < toplen)
        return 0;
    *slash = '\0';
    return 1;
}

/* ---- CPU quota --------------------------------------------------------- */

/* One level's quota.  @return 1 when the controller's files are there
 * (*quota -1 for none), 0 when not. */
static int cpu_level(const char *root, int version, const char *dir,
                     int64_t *quota, int64_t *period)
{
    *quota = -1;
    *period = 0;
    if (version == 2) {
        char line[128], word[32];
        long long p;
        if (read_first_line(root, dir, "/cpu.max", line, sizeof line))
            return 0;
        /* "max 100000" or "150000 100000" */
        if (sscanf(line, "%31s %lld", word, &p) == 2 &&
            strcmp(word, "max") != 0 && parse_i64(word, quota) == 0)
            *period = p;
        return 1;
    }
    if (read_i64(root, dir, "/cpu.cfs_quota_us", quota))
        return 0;
    if (read_i64(root, dir, "/cpu.cfs_period_us", period))
        *period = 0;
    return 1;
}

static void read_cpu_quota(const char *root, bmp__sysinfo *si)
{
    for (int version = 2; version >= 1; version--) {
        cg_place pl;
        if (find_cgroup(root, version, "cpu", &pl))
            continue;
        int seen = 0;
        do {
            int64_t quota, period;
            if (!cpu_level(root, version, pl.dir, &quota, &period))
                continue;
            seen = 1;
            if (quota <= 0 || period <= 0)
                continue;
            if (si->cpu_quota_us == BMP__UNKNOWN ||
                (double)quota / (double)period <
                    (double)si->cpu_quota_us / (double)si->cpu_period_us) {
                si->cpu_quota_us = quota;
                si->cpu_period_us = period;
                copy_text(si->cpu_cgroup, sizeof si->cpu_cgroup, pl.dir);
            }
        } while (step_up(pl.dir, pl.top));
        if (seen) {
            si->cpu_cgroup_version = version;
            break;
        }
    }
    if (si->cpu_quota_us > 0) {
        int64_t q = si->cpu_quota_us, p = si->cpu_period_us;
        int64_t cores = q / p + (q % p != 0);
        si->cpu_quota_cores = cores > INT_MAX ? INT_MAX : (int)cores;
    }
}

/* ---- cores and affinity ----------------------------------------------- */

/* This process's affinity mask; grows the set for machines with more
 * CPUs than a default cpu_set_t holds. */
static int own_affinity(hwloc_bitmap_t mask)
{
    for (int ncpus = 1024; ncpus <= (1 << 20); ncpus *= 2) {
        cpu_set_t *set = CPU_ALLOC(ncpus);
        if (!set)
            return -ENOMEM;
        size_t size = CPU_ALLOC_SIZE(ncpus);
        if (sched_getaffinity(0, size, set) == 0) {
            int rc = 0;
            hwloc_bitmap_zero(mask);
            for (int i = 0; i < (int)(size * 8) && rc == 0; i++)
                if (CPU_ISSET_S(i, size, set))
                    rc = hwloc_bitmap_set(mask, (unsigned)i) ? -ENOMEM : 0;
            CPU_FREE(set);
            return rc;
        }
        int e = errno;
        CPU_FREE(set);
        if (e != EINVAL)
            return -e;
    }
    return -EINVAL;
}

/* Physical cores of the topology, and those with a CPU in `mask` (NULL:
 * all).  Unknown (left 0) when hwloc cannot load a topology. */
static void count_cores(const char *topology, hwloc_const_bitmap_t mask,
                        bmp__sysinfo *si)
{
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) != 0)
        return;
    /* Only cores and CPUs are needed: skipping caches and I/O devices
     * makes loading several times faster. */
    if ((topology && hwloc_topology_set_synthetic(topo, topology) != 0) ||
        hwloc_topology_set_cache_types_filter(topo,
                                              HWLOC_TYPE_FILTER_KEEP_NONE) ||
        hwloc_topology_set_icache_types_filter(topo,
                                               HWLOC_TYPE_FILTER_KEEP_NONE) ||
        hwloc_topology_set_io_types_filter(topo,
                                           HWLOC_TYPE_FILTER_KEEP_NONE) ||
        hwloc_topology_load(topo) != 0) {
        hwloc_topology_destroy(topo);
        return;
    }
    int total = 0, allowed = 0;
    for (hwloc_obj_t core = NULL;
         (core = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_CORE, core));) {
        total++;
        if (!mask || hwloc_bitmap_intersects(core->cpuset, mask))
            allowed++;
    }
    si->cores_total = total;
    si->cores_allowed = allowed;
    hwloc_topology_destroy(topo);
}

int bmp__sysinfo_read_cpu(const char *root, const char *topology,
                          const char *affinity, bmp__sysinfo *si)
{
    hwloc_bitmap_t mask = hwloc_bitmap_alloc();
    int have_mask = 0;
    if (mask) {
        if (affinity)
            have_mask = hwloc_bitmap_list_sscanf(mask, affinity) == 0;
        else
            have_mask = own_affinity(mask) == 0;
        /* An empty or infinite list ("0-") is not a usable mask. */
        int weight = have_mask ? hwloc_bitmap_weight(mask) : -1;
        if (weight > 0)
            si->cpus_allowed = weight;
        else
            have_mask = 0;
    }
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    si->cpus_online = online > 0 && online <= INT_MAX ? (int)online : 0;
    count_cores(topology, have_mask ? mask : NULL, si);
    hwloc_bitmap_free(mask);
    read_cpu_quota(root, si);

    if (si->cores_allowed > 0) {
        si->cores = si->cores_allowed;
        si->cores_source = BMP__CPU_FROM_CORES;
    } else if (si->cpus_allowed > 0) {
        si->cores = si->cpus_allowed;
        si->cores_source = BMP__CPU_FROM_AFFINITY;
    } else if (si->cpus_online > 0) {
        si->cores = si->cpus_online;
        si->cores_source = BMP__CPU_FROM_ONLINE;
    } else {
        si->cores = 1;
        si->cores_source = BMP__CPU_FROM_NONE;
    }
    if (si->cpu_quota_cores > 0 && si->cpu_quota_cores < si->cores) {
        si->cores = si->cpu_quota_cores;
        si->cores_source = BMP__CPU_FROM_QUOTA;
    }
    return si->cores;
}

/* ---- memory ------------------------------------------------------------ */

/* kB figures of /proc/meminfo, in bytes. */
static int read_meminfo(const char *root, bmp__sysinfo *si)
{
    static const char *const keys[] = {"MemTotal", "MemAvailable",
                                       "MemFree",  "Buffers",
                                       "Cached",   "SReclaimable"};
    enum { TOTAL, AVAIL, FREE, BUFFERS, CACHED, SRECLAIM, NKEYS };
    int64_t v[NKEYS];
    int rc;
    for (int i = 0; i < NKEYS; i++)
        v[i] = BMP__UNKNOWN;
    FILE *f = open_file(root, "/proc/meminfo", NULL, &rc);
    if (!f)
        return rc;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        for (int i = 0; i < NKEYS; i++) {
            if (strcmp(line, keys[i]) != 0)
                continue;
            char *end;
            errno = 0;
            long long kb = strtoll(colon + 1, &end, 10);
            if (end != colon + 1 && errno == 0 && kb >= 0)
                v[i] = kb > INT64_MAX / 1024 ? INT64_MAX : kb * 1024;
        }
    }
    fclose(f);
    si->mem_total = v[TOTAL];
    if (v[AVAIL] >= 0) {
        si->mem_available_system = v[AVAIL];
    } else if (v[FREE] >= 0) {
        /* Kernels before 3.14 lack MemAvailable; free memory plus the
         * page cache and reclaimable slab is the usual estimate. */
        int64_t sum = v[FREE];
        for (int i = BUFFERS; i <= SRECLAIM; i++)
            if (v[i] > 0 && sum <= INT64_MAX - v[i])
                sum += v[i];
        si->mem_available_system = sum;
    } else {
        return -ENODATA;
    }
    return 0;
}

/* One level's limit and usage.  @return 1 when the controller's files
 * are there (*limit -1 for none), 0 when not. */
static int mem_level(const char *root, int version, const char *dir,
                     int64_t *limit, int64_t *usage)
{
    int64_t inactive = 0;
    *limit = *usage = BMP__UNKNOWN;
    if (version == 2) {
        char line[128];
        if (read_first_line(root, dir, "/memory.max", line, sizeof line))
            return 0;
        if (strcmp(line, "max") != 0 && parse_i64(line, limit) != 0)
            *limit = BMP__UNKNOWN;
        if (read_i64(root, dir, "/memory.current", usage))
            *usage = BMP__UNKNOWN;
        if (read_keyed(root, dir, "/memory.stat", "inactive_file", &inactive))
            inactive = 0;
    } else {
        if (read_i64(root, dir, "/memory.limit_in_bytes", limit))
            return 0;
        if (*limit >= V1_UNLIMITED)
            *limit = BMP__UNKNOWN;
        if (read_i64(root, dir, "/memory.usage_in_bytes", usage))
            *usage = BMP__UNKNOWN;
        /* total_ counts the whole subtree, as usage_in_bytes does. */
        if (read_keyed(root, dir, "/memory.stat", "total_inactive_file",
                       &inactive) &&
            read_keyed(root, dir, "/memory.stat", "inactive_file", &inactive))
            inactive = 0;
    }
    if (*usage >= 0 && inactive > 0)
        *usage = inactive < *usage ? *usage - inactive : 0;
    return 1;
}

static void read_mem_cgroup(const char *root, bmp__sysinfo *si)
{
    for (int version = 2; version >= 1; version--) {
        cg_place pl;
        if (find_cgroup(root, version, "memory", &pl))
            continue;
        int seen = 0;
        do {
            int64_t limit, usage;
            if (!mem_level(root, version, pl.dir, &limit, &usage))
                continue;
            seen = 1;
            if (limit < 0)
                continue;
            /* Usage unknown: the limit alone still bounds the answer. */
            int64_t avail = usage < 0       ? limit
                            : usage < limit ? limit - usage
                                            : 0;
            if (si->cgroup_mem_available == BMP__UNKNOWN ||
                avail < si->cgroup_mem_available) {
                si->cgroup_mem_limit = limit;
                si->cgroup_mem_usage = usage;
                si->cgroup_mem_available = avail;
                copy_text(si->mem_cgroup, sizeof si->mem_cgroup, pl.dir);
            }
        } while (step_up(pl.dir, pl.top));
        if (seen) {
            si->mem_cgroup_version = version;
            break;
        }
    }
}

int64_t bmp__sysinfo_read_mem(const char *root, bmp__sysinfo *si)
{
    int rc = read_meminfo(root, si);
    read_mem_cgroup(root, si);
    int64_t sys = si->mem_available_system, cg = si->cgroup_mem_available;
    if (cg >= 0 && (sys < 0 || cg < sys)) {
        si->mem_available = cg;
        si->mem_source = BMP__MEM_FROM_CGROUP;
    } else if (sys >= 0) {
        si->mem_available = sys;
        si->mem_source = BMP__MEM_FROM_MEMINFO;
    } else {
        si->mem_available = rc < 0 ? rc : -ENODATA;
        si->mem_source = BMP__MEM_FROM_NONE;
    }
    return si->mem_available;
}

/* ---- the whole picture -------------------------------------------------- */

void bmp__sysinfo_init(bmp__sysinfo *si)
{
    memset(si, 0, sizeof *si);
    si->cpu_quota_us = BMP__UNKNOWN;
    si->cpu_period_us = BMP__UNKNOWN;
    si->mem_total = BMP__UNKNOWN;
    si->mem_available_system = BMP__UNKNOWN;
    si->cgroup_mem_limit = BMP__UNKNOWN;
    si->cgroup_mem_usage = BMP__UNKNOWN;
    si->cgroup_mem_available = BMP__UNKNOWN;
    si->mem_available = -ENODATA;
}

/* ---- per-process figures, for the scheduler's sampling ---------------- */

/* "size resident ..." in pages, as statm gives them. */
static int parse_statm(const char *line, int64_t *rss, int64_t *vm)
{
    long long size = 0, resident = 0;
    if (sscanf(line, "%lld %lld", &size, &resident) != 2)
        return -EINVAL;
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0)
        page = 4096;
    if (rss)
        *rss = (int64_t)resident * page;
    if (vm)
        *vm = (int64_t)size * page;
    return 0;
}

int bmp__proc_mem(const char *root, pid_t pid, int64_t *rss, int64_t *vm)
{
    char dir[64];
    if (pid > 0)
        snprintf(dir, sizeof dir, "/proc/%ld/", (long)pid);
    else
        snprintf(dir, sizeof dir, "/proc/self/");
    char line[256];
    int rc = read_first_line(root, dir, "statm", line, sizeof line);
    return rc ? rc : parse_statm(line, rss, vm);
}

int bmp__statm_read(int fd, int64_t *rss, int64_t *vm)
{
    char line[256];
    ssize_t n = pread(fd, line, sizeof line - 1, 0);
    if (n <= 0)
        return n < 0 ? -errno : -EINVAL;
    line[n] = '\0';
    return parse_statm(line, rss, vm);
}

int64_t bmp__oom_kills(const char *root)
{
    int64_t n = -1;
    int rc = read_keyed(root, "/proc/", "vmstat", "oom_kill", &n);
    return rc ? rc : n;
}
