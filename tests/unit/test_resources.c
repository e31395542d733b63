/*
 * test_resources.c -- cores, memory and the worker count.
 *
 * The machine readers run against fake /proc and /sys/fs/cgroup trees in
 * a scratch directory, with hwloc synthetic topologies and CPU lists in
 * place of the real topology and affinity mask; the worker count runs
 * with injected core and memory figures.  Only resources_real_machine
 * looks at this machine, and only for plausibility.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bigmultipipe.h"
#include "sysinfo.h"
#include "sysinfo_show.h"
#include "testutil.h"

#define MiB (1024LL * 1024)
#define GiB (1024 * MiB)

/* ---- fake trees ------------------------------------------------------- */

static int setup_root(void **state)
{
    *state = tu_mkdtemp();
    return 0;
}

static int teardown_root(void **state)
{
    tu_rmtree(*state);
    free(*state);
    return 0;
}

/* Writes root/rel (rel starts with '/'), creating its directories. */
static void put(const char *root, const char *rel, const char *content)
{
    char *path = NULL;
    assert_true(asprintf(&path, "%s%s", root, rel) > 0);
    for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        assert_true(mkdir(path, 0777) == 0 || errno == EEXIST);
        *p = '/';
    }
    tu_write_file(path, content, strlen(content));
    free(path);
}

static const char meminfo_8g[] = "MemTotal:       16777216 kB\n"
                                 "MemFree:         1048576 kB\n"
                                 "MemAvailable:    8388608 kB\n"
                                 "Buffers:          102400 kB\n"
                                 "Cached:          4194304 kB\n";

/* A pure cgroup v2 system; the process in /job.slice/run. */
static void tree_v2(const char *root)
{
    put(root, "/proc/meminfo", meminfo_8g);
    put(root, "/proc/self/cgroup", "0::/job.slice/run\n");
    put(root, "/proc/self/mountinfo",
        "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
        "30 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev shared:4 - cgroup2 "
        "cgroup2 rw,nsdelegate,memory_recursiveprot\n");
    put(root, "/sys/fs/cgroup/cgroup.controllers", "cpu memory\n");
}

#define V2_LEAF "/sys/fs/cgroup/job.slice/run"
#define V2_PARENT "/sys/fs/cgroup/job.slice"

/* A hybrid v1 system: memory and cpu in v1, an empty unified v2. */
static void tree_v1(const char *root)
{
    put(root, "/proc/meminfo", meminfo_8g);
    put(root, "/proc/self/cgroup",
        "7:pids:/job\n"
        "5:memory:/job\n"
        "3:cpu,cpuacct:/job\n"
        "1:name=systemd:/job\n"
        "0::/job\n");
    put(root, "/proc/self/mountinfo",
        "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
        "31 22 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
        "32 31 0:29 / /sys/fs/cgroup/unified rw shared:5 - cgroup2 cgroup2 "
        "rw\n"
        "33 31 0:30 / /sys/fs/cgroup/cpu,cpuacct rw shared:6 - cgroup cgroup "
        "rw,cpu,cpuacct\n"
        "34 31 0:31 / /sys/fs/cgroup/memory rw shared:7 - cgroup cgroup "
        "rw,memory\n"
        "35 31 0:32 / /sys/fs/cgroup/pids rw shared:8 - cgroup cgroup "
        "rw,pids\n");
    put(root, "/sys/fs/cgroup/unified/job/cgroup.procs", "1\n");
    put(root, "/sys/fs/cgroup/memory/memory.limit_in_bytes",
        "9223372036854771712\n");
    put(root, "/sys/fs/cgroup/memory/memory.usage_in_bytes", "4000000000\n");
    put(root, "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
    put(root, "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
}

#define V1_MEM "/sys/fs/cgroup/memory/job"
#define V1_CPU "/sys/fs/cgroup/cpu,cpuacct/job"

static int64_t read_mem(const char *root, bmp__sysinfo *si)
{
    bmp__sysinfo_init(si);
    return bmp__sysinfo_read_mem(root, si);
}

/* Four cores of two CPUs each, all allowed unless `affinity` says. */
static int read_cpu(const char *root, const char *affinity, bmp__sysinfo *si)
{
    bmp__sysinfo_init(si);
    return bmp__sysinfo_read_cpu(root, "package:1 core:4 pu:2",
                                 affinity ? affinity : "0-7", si);
}

/* ---- /proc/meminfo ------------------------------------------------------ */

static void resources_meminfo_available(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    put(root, "/proc/meminfo", meminfo_8g);
    assert_int_equal(read_mem(root, &si), 8 * GiB);
    assert_int_equal(si.mem_total, 16 * GiB);
    assert_int_equal(si.mem_available_system, 8 * GiB);
    assert_int_equal(si.mem_source, BMP__MEM_FROM_MEMINFO);
    assert_int_equal(si.mem_cgroup_version, 0);
    assert_int_equal(si.cgroup_mem_limit, BMP__UNKNOWN);
}

static void resources_meminfo_without_memavailable(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    put(root, "/proc/meminfo",
        "MemTotal:        4194304 kB\n"
        "MemFree:         1000000 kB\n"
        "Buffers:           20000 kB\n"
        "Cached:           300000 kB\n"
        "SwapCached:            0 kB\n"
        "SReclaimable:       4000 kB\n");
    assert_int_equal(read_mem(root, &si),
                     (1000000 + 20000 + 300000 + 4000) * 1024LL);
    assert_int_equal(si.mem_source, BMP__MEM_FROM_MEMINFO);
}

static void resources_meminfo_missing(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    assert_int_equal(read_mem(root, &si), -ENOENT);
    assert_int_equal(si.mem_source, BMP__MEM_FROM_NONE);
}

static void resources_meminfo_no_figures(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    put(root, "/proc/meminfo", "Nothing: here\n");
    assert_true(read_mem(root, &si) < 0);
}

/* ---- cgroup v2 memory --------------------------------------------------- */

static void resources_cgroup_v2_memory_limit(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    tree_v2(root);
    put(root, V2_LEAF "/memory.max", "1073741824\n");
    put(root, V2_LEAF "/memory.current", "268435456\n");
    assert_int_equal(read_mem(root, &si), 768 * MiB);
    assert_int_equal(si.mem_source, BMP__MEM_FROM_CGROUP);
    assert_int_equal(si.mem_cgroup_version, 2);
    assert_string_equal(si.mem_cgroup, V2_LEAF);
    assert_int_equal(si.cgroup_mem_limit, GiB);
    assert_int_equal(si.cgroup_mem_usage, 256 * MiB);
    assert_int_equal(si.mem_available_system, 8 * GiB);
}

static void resources_cgroup_v2_memory_max(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    tree_v2(root);
    put(root, V2_LEAF "/memory.max", "max\n");
    put(root, V2_LEAF "/memory.current", "268435456\n");
    assert_int_equal(read_mem(root, &si), 8 * GiB);
    assert_int_equal(si.mem_source, BMP__MEM_FROM_MEMINFO);
    assert_int_equal(si.mem_cgroup_version, 2);
    assert_int_equal(si.cgroup_mem_limit, BMP__UNKNOWN);
    assert_string_equal(si.mem_cgroup, "");
}

/* The limit is above what the machine has free: MemAvailable wins. */
static void resources_cgroup_v2_limit_above_system(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    tree_v2(root);
    put(root, V2_LEAF "/memory.max", "34359738368\n");
    put(root, V2_LEAF "/memory.current", "0\n");
    assert_int_equal(read_mem(root, &si), 8 * GiB);
    assert_int_equal(si.mem_source, BMP__MEM_FROM_MEMINFO);
    assert_int_equal(si.cgroup_mem_available, 32 * GiB);
}

/* Inactive file cache is reclaimable: not counted as usage. */
static void resources_cgroup_v2_inactive_file(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    tree_v2(root);
    put(root, V2_LEAF "/memory.max", "1073741824\n");
    put(root, V2_LEAF "/memory.current", "805306368\n");
    put(root, V2_LEAF "/memory.stat",
        "anon 268435456\nfile 536870912\nactive_file 134217728\n"
        "inactive_file 402653184\n");
    assert_int_equal(read_mem(root, &si), 640 * MiB);
    assert_int_equal(si.cgroup_mem_usage, 384 * MiB);
}

/* A parent's limit binds its children. */
static void resources_cgroup_v2_parent_limit(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    tree_v2(root);
    put(root, V2_LEAF "/memory.max", "max\n");
    put(root, V2_LEAF "/memory.current", "104857600\n");
    put(root, V2_PARENT "/memory.max", "536870912\n");
    put(root, V2_PARENT "/memory.current", "209715200\n");
    assert_int_equal(read_mem(root, &si), 312 * MiB);
    assert_string_equal(si.mem_cgroup, V2_PARENT);
}

static void resources_cgroup_v2_usage_over_limit(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    tree_v2(root);
    put(root, V2_LEAF "/memory.max", "1048576\n");
    put(root, V2_LEAF "/memory.current", "2097152\n");
    assert_int_equal(read_mem(root, &si), 0);
    assert_int_equal(si.mem_source, BMP__MEM_FROM_CGROUP);
}

/* No MemAvailable to read: the cgroup alone answers. */
static void resources_cgroup_v2_without_meminfo(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    tree_v2(root);
    char *meminfo = tu_join(root, "proc/meminfo");
    assert_int_equal(remove(meminfo), 0);
    free(meminfo);
    put(root, V2_LEAF "/memory.max", "1073741824\n");
    put(root, V2_LEAF "/memory.current", "0\n");
    assert_int_equal(read_mem(root, &si), GiB);
    assert_int_equal(si.mem_available_system, BMP__UNKNOWN);
}

/* A container: the mount shows the hierarchy from its own cgroup. */
static void resources_cgroup_v2_container_mount(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    put(root, "/proc/meminfo", meminfo_8g);
    put(root, "/proc/self/cgroup", "0::/docker/abc123\n");
    put(root, "/proc/self/mountinfo",
        "500 400 0:26 /docker/abc123 /sys/fs/cgroup ro,nosuid - cgroup2 "
        "cgroup rw\n");
    put(root, "/sys/fs/cgroup/memory.max", "2147483648\n");
    put(root, "/sys/fs/cgroup/memory.current", "1073741824\n");
    assert_int_equal(read_mem(root, &si), GiB);
    assert_string_equal(si.mem_cgroup, "/sys/fs/cgroup");
}

/* Mount points with blanks are escaped in mountinfo. */
static void resources_cgroup_mountinfo_escapes(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    put(root, "/proc/meminfo", meminfo_8g);
    put(root, "/proc/self/cgroup", "0::/a\n");
    put(root, "/proc/self/mountinfo",
        "30 22 0:26 / /my\\040cgroups rw - cgroup2 cgroup2 rw\n");
    put(root, "/my cgroups/a/memory.max", "1073741824\n");
    put(root, "/my cgroups/a/memory.current", "0\n");
    assert_int_equal(read_mem(root, &si), GiB);
    assert_string_equal(si.mem_cgroup, "/my cgroups/a");
}

/* ---- cgroup v1 memory --------------------------------------------------- */

static void resources_cgroup_v1_memory(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    tree_v1(root);
    put(root, V1_MEM "/memory.limit_in_bytes", "2147483648\n");
    put(root, V1_MEM "/memory.usage_in_bytes", "1073741824\n");
    put(root, V1_MEM "/memory.stat",
        "cache 300000000\ninactive_file 1\n"
        "total_inactive_file 268435456\n");
    assert_int_equal(read_mem(root, &si), 1280 * MiB);
    assert_int_equal(si.mem_source, BMP__MEM_FROM_CGROUP);
    assert_int_equal(si.mem_cgroup_version, 1);
    assert_string_equal(si.mem_cgroup, V1_MEM);
    assert_int_equal(si.cgroup_mem_limit, 2 * GiB);
    assert_int_equal(si.cgroup_mem_usage, 768 * MiB);
}

static void resources_cgroup_v1_unlimited(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    tree_v1(root);
    put(root, V1_MEM "/memory.limit_in_bytes", "9223372036854771712\n");
    put(root, V1_MEM "/memory.usage_in_bytes", "1073741824\n");
    assert_int_equal(read_mem(root, &si), 8 * GiB);
    assert_int_equal(si.mem_source, BMP__MEM_FROM_MEMINFO);
    assert_int_equal(si.mem_cgroup_version, 1);
    assert_int_equal(si.cgroup_mem_limit, BMP__UNKNOWN);
}

/* ---- no cgroup ---------------------------------------------------------- */

static void resources_cgroup_none(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    put(root, "/proc/meminfo", meminfo_8g);
    put(root, "/proc/self/cgroup", "0::/\n");
    put(root, "/proc/self/mountinfo",
        "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n");
    assert_int_equal(read_mem(root, &si), 8 * GiB);
    assert_int_equal(si.mem_cgroup_version, 0);
    assert_int_equal(read_cpu(root, NULL, &si), 4);
    assert_int_equal(si.cpu_cgroup_version, 0);
    assert_int_equal(si.cpu_quota_cores, 0);
}

/* No /proc/self files at all (not Linux, or /proc not mounted). */
static void resources_cgroup_no_proc(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    assert_int_equal(read_cpu(root, NULL, &si), 4);
    assert_int_equal(si.cores_source, BMP__CPU_FROM_CORES);
}

/* ---- CPUs --------------------------------------------------------------- */

static void resources_cpu_max_unlimited(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    tree_v2(root);
    put(root, V2_LEAF "/cpu.max", "max 100000\n");
    assert_int_equal(read_cpu(root, NULL, &si), 4);
    assert_int_equal(si.cores_source, BMP__CPU_FROM_CORES);
    assert_int_equal(si.cpu_cgroup_version, 2);
    assert_int_equal(si.cpu_quota_us, BMP__UNKNOWN);
    assert_int_equal(si.cpu_quota_cores, 0);
    assert_int_equal(si.cores_total, 4);
    assert_int_equal(si.cores_allowed, 4);
    assert_int_equal(si.cpus_allowed, 8);
}

/* 1.5 CPUs of quota: two workers. */
static void resources_cpu_max_quota(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    tree_v2(root);
    put(root, V2_LEAF "/cpu.max", "150000 100000\n");
    assert_int_equal(read_cpu(root, NULL, &si), 2);
    assert_int_equal(si.cores_source, BMP__CPU_FROM_QUOTA);
    assert_int_equal(si.cpu_quota_us, 150000);
    assert_int_equal(si.cpu_period_us, 100000);
    assert_int_equal(si.cpu_quota_cores, 2);
    assert_string_equal(si.cpu_cgroup, V2_LEAF);
}

static void resources_cpu_quota_below_one(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    tree_v2(root);
    put(root, V2_LEAF "/cpu.max", "20000 100000\n");
    assert_int_equal(read_cpu(root, NULL, &si), 1);
    assert_int_equal(si.cores_source, BMP__CPU_FROM_QUOTA);
}

static void resources_cpu_quota_not_tighter(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    tree_v2(root);
    put(root, V2_LEAF "/cpu.max", "800000 100000\n");
    assert_int_equal(read_cpu(root, NULL, &si), 4);
    assert_int_equal(si.cores_source, BMP__CPU_FROM_CORES);
    assert_int_equal(si.cpu_quota_cores, 8);
}

/* The tightest quota of the ancestry counts, with its own period. */
static void resources_cpu_parent_quota(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    tree_v2(root);
    put(root, V2_LEAF "/cpu.max", "300000 100000\n");
    put(root, V2_PARENT "/cpu.max", "100000 50000\n");
    assert_int_equal(read_cpu(root, NULL, &si), 2);
    assert_string_equal(si.cpu_cgroup, V2_PARENT);
    assert_int_equal(si.cpu_period_us, 50000);
}

static void resources_cpu_v1_quota(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    tree_v1(root);
    put(root, V1_CPU "/cpu.cfs_quota_us", "250000\n");
    put(root, V1_CPU "/cpu.cfs_period_us", "100000\n");
    assert_int_equal(read_cpu(root, NULL, &si), 3);
    assert_int_equal(si.cpu_cgroup_version, 1);
    assert_int_equal(si.cores_source, BMP__CPU_FROM_QUOTA);
    assert_string_equal(si.cpu_cgroup, V1_CPU);
}

static void resources_cpu_v1_no_quota(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    tree_v1(root);
    put(root, V1_CPU "/cpu.cfs_quota_us", "-1\n");
    put(root, V1_CPU "/cpu.cfs_period_us", "100000\n");
    assert_int_equal(read_cpu(root, NULL, &si), 4);
    assert_int_equal(si.cpu_cgroup_version, 1);
    assert_int_equal(si.cpu_quota_cores, 0);
}

/* CPUs 0-2 touch cores 0 and 1 (two CPUs each). */
static void resources_affinity_restricts_cores(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    assert_int_equal(read_cpu(root, "0,1,2", &si), 2);
    assert_int_equal(si.cores_total, 4);
    assert_int_equal(si.cores_allowed, 2);
    assert_int_equal(si.cpus_allowed, 3);
    assert_int_equal(si.cores_source, BMP__CPU_FROM_CORES);
    /* One CPU of each core: all four cores. */
    assert_int_equal(read_cpu(root, "0,2,4,6", &si), 4);
    assert_int_equal(read_cpu(root, "7", &si), 1);
}

static void resources_affinity_and_quota(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    tree_v2(root);
    put(root, V2_LEAF "/cpu.max", "250000 100000\n");
    assert_int_equal(read_cpu(root, "0-3", &si), 2); /* affinity tighter */
    assert_int_equal(si.cores_source, BMP__CPU_FROM_CORES);
    assert_int_equal(read_cpu(root, "0-7", &si), 3); /* quota tighter */
    assert_int_equal(si.cores_source, BMP__CPU_FROM_QUOTA);
}

/* Without a topology the logical CPUs of the mask are counted. */
static void resources_affinity_fallback(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    bmp__sysinfo_init(&si);
    assert_int_equal(bmp__sysinfo_read_cpu(root, "not a topology", "0-5", &si),
                     6);
    assert_int_equal(si.cores_source, BMP__CPU_FROM_AFFINITY);
    assert_int_equal(si.cores_total, 0);
    tree_v2(root);
    put(root, V2_LEAF "/cpu.max", "150000 100000\n");
    bmp__sysinfo_init(&si);
    assert_int_equal(bmp__sysinfo_read_cpu(root, "not a topology", "0-5", &si),
                     2);
    assert_int_equal(si.cores_source, BMP__CPU_FROM_QUOTA);
}

/* ---- summary
 * ---------------------------------------------------------------- */

static void resources_summary(void **state)
{
    const char *root = *state;
    bmp__sysinfo si;
    tree_v2(root);
    put(root, V2_LEAF "/cpu.max", "150000 100000\n");
    put(root, V2_LEAF "/memory.max", "1073741824\n");
    put(root, V2_LEAF "/memory.current", "268435456\n");
    assert_int_equal(bmp__sysinfo_read(root, "package:1 core:4 pu:2", "0-7",
                                       &si),
                     0);

    json_t *j = bmp__sysinfo_json(&si);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "cores")), 2);
    assert_string_equal(json_string_value(json_object_get(j, "cores_source")),
                        "quota");
    assert_int_equal(json_integer_value(json_object_get(j, "cores_total")), 4);
    assert_int_equal(json_integer_value(json_object_get(j, "cpu_quota_cores")),
                     2);
    assert_int_equal(json_integer_value(json_object_get(j, "mem_available")),
                     768 * MiB);
    assert_string_equal(json_string_value(json_object_get(j, "mem_source")),
                        "cgroup");
    assert_string_equal(json_string_value(json_object_get(j, "mem_cgroup")),
                        V2_LEAF);
    assert_true(json_is_integer(json_object_get(j, "cpus_online")));
    json_decref(j);

    char buf[512];
    int n = bmp__sysinfo_summary(&si, buf, sizeof buf);
    assert_int_equal((size_t)n, strlen(buf));
    assert_non_null(strstr(buf, "cores: 2 (quota)"));
    assert_non_null(strstr(buf, "cgroup v2 CPU quota 150000/100000 us = 2"));
    assert_non_null(strstr(buf, "memory: 768.0 MiB available (cgroup)"));
    assert_non_null(strstr(buf, "MemAvailable 8192.0 MiB of 16384.0 MiB"));
    /* Too small a buffer: truncated, terminated, full length returned. */
    char small[10];
    assert_int_equal(bmp__sysinfo_summary(&si, small, sizeof small), n);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_int_equal(bmp__sysinfo_summary(&si, NULL, 0), n);
}

static void resources_source_names(void **state)
{
    (void)state;
    assert_string_equal(bmp__cpu_source_name(BMP__CPU_FROM_CORES), "cores");
    assert_string_equal(bmp__cpu_source_name(BMP__CPU_FROM_AFFINITY),
                        "affinity");
    assert_string_equal(bmp__cpu_source_name(BMP__CPU_FROM_ONLINE), "online");
    assert_string_equal(bmp__cpu_source_name(BMP__CPU_FROM_QUOTA), "quota");
    assert_string_equal(bmp__cpu_source_name(BMP__CPU_FROM_NONE), "none");
    assert_string_equal(bmp__mem_source_name(BMP__MEM_FROM_MEMINFO),
                        "meminfo");
    assert_string_equal(bmp__mem_source_name(BMP__MEM_FROM_CGROUP), "cgroup");
    assert_string_equal(bmp__mem_source_name(BMP__MEM_FROM_NONE), "none");
}

/* ---- the worker count --------------------------------------------------- */

/* Worker count for keywords given as JSON text, with fixed figures. */
static int ncp(size_t items, const char *kw_json, int cores, int64_t mem,
               bmp_error *err)
{
    json_t *kw = NULL;
    if (kw_json) {
        json_error_t jerr;
        kw = json_loads(kw_json, 0, &jerr);
        if (!kw)
            fail_msg("bad test JSON %s: %s", kw_json, jerr.text);
    }
    memset(err, 0, sizeof *err);
    int n = bmp__num_can_process_with(items, kw, cores, mem, err);
    json_decref(kw);
    return n;
}

static void expect_error(int rc, const bmp_error *err, int code,
                         const char *text)
{
    assert_int_equal(rc, code);
    assert_int_equal(err->code, code);
    assert_string_equal(err->stage, "schedule");
    if (!strstr(err->text, text))
        fail_msg("error text \"%s\" lacks \"%s\"", err->text, text);
}

static void resources_ncp_default_cores(void **state)
{
    (void)state;
    bmp_error err;
    assert_int_equal(ncp(100, NULL, 6, 0, &err), 6);
    assert_int_equal(err.code, 0);
    assert_int_equal(ncp(100, "{}", 6, 0, &err), 6);
    assert_int_equal(ncp(100, "{\"num_processes\": 0}", 6, 0, &err), 6);
    assert_int_equal(ncp(100, "{\"num_processes\": 0.0}", 6, 0, &err), 6);
    assert_int_equal(ncp(100, "{\"num_processes\": null}", 6, 0, &err), 6);
}

/* Python's round(): half to even. */
static void resources_ncp_fraction_rounding(void **state)
{
    (void)state;
    static const struct {
        const char *frac;
        int cores, expect;
    } cases[] = {
        {"0.5", 3, 2},   /* 1.5 -> 2 */
        {"0.5", 5, 2},   /* 2.5 -> 2 */
        {"0.5", 7, 4},   /* 3.5 -> 4 */
        {"0.25", 10, 2}, /* 2.5 -> 2 */
        {"0.75", 2, 2},  /* 1.5 -> 2 */
        {"0.5", 1, 1},   /* 0.5 -> 0, raised to 1 */
        {"0.1", 4, 1},   /* 0.4 -> 0, raised to 1 */
        {"0.3", 4, 1},   /* 1.2 -> 1 */
        {"0.9", 4, 4},   /* 3.6 -> 4 */
        {"0.6", 4, 2},   /* 2.4 -> 2 */
        {"0.999", 64, 64},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char kw[64];
        bmp_error err;
        snprintf(kw, sizeof kw, "{\"num_processes\": %s}", cases[i].frac);
        int n = ncp(1000, kw, cases[i].cores, 0, &err);
        if (n != cases[i].expect)
            fail_msg("%s of %d cores: %d workers, expected %d", cases[i].frac,
                     cases[i].cores, n, cases[i].expect);
    }
}

static void resources_ncp_count_given(void **state)
{
    (void)state;
    bmp_error err;
    assert_int_equal(ncp(100, "{\"num_processes\": 3}", 6, 0, &err), 3);
    assert_int_equal(ncp(100, "{\"num_processes\": 12}", 6, 0, &err), 12);
    assert_int_equal(ncp(100, "{\"num_processes\": 1}", 6, 0, &err), 1);
    assert_int_equal(ncp(100, "{\"num_processes\": 1.0}", 6, 0, &err), 1);
    assert_int_equal(ncp(100, "{\"num_processes\": 2.9}", 6, 0, &err), 2);
    assert_int_equal(ncp(100, "{\"num_processes\": 1e300}", 6, 0, &err), 100);
}

static void resources_ncp_negative(void **state)
{
    (void)state;
    bmp_error err;
    int rc = ncp(100, "{\"num_processes\": -1}", 6, 0, &err);
    expect_error(rc, &err, BMP_EINVAL, "num_processes must not be negative");
    rc = ncp(100, "{\"num_processes\": -0.5}", 6, 0, &err);
    expect_error(rc, &err, BMP_EINVAL, "num_processes");
}

static void resources_ncp_items_limit(void **state)
{
    (void)state;
    bmp_error err;
    assert_int_equal(ncp(3, NULL, 8, 0, &err), 3);
    assert_int_equal(ncp(1, "{\"num_processes\": 4}", 8, 0, &err), 1);
    assert_int_equal(ncp(0, NULL, 8, 0, &err), 0);
    assert_int_equal(err.code, 0);
    assert_int_equal(ncp(SIZE_MAX, NULL, 8, 0, &err), 8);
}

static void resources_ncp_memory_limit(void **state)
{
    (void)state;
    bmp_error err;
    /* 3.5 GiB for 1 GiB processes: 3. */
    assert_int_equal(ncp(10,
                         "{\"process_size\": 1073741824, "
                         "\"mem_available\": 3758096384}",
                         8, 0, &err),
                     3);
    /* Memory for more than the cores: the cores limit. */
    assert_int_equal(ncp(10,
                         "{\"process_size\": 1048576, "
                         "\"mem_available\": 3758096384}",
                         8, 0, &err),
                     8);
    /* Exactly enough for 2. */
    assert_int_equal(ncp(10,
                         "{\"process_size\": 1000, "
                         "\"mem_available\": 2000}",
                         8, 0, &err),
                     2);
    /* Items limit below memory and cores. */
    assert_int_equal(ncp(2,
                         "{\"process_size\": 1000, "
                         "\"mem_available\": 5000}",
                         8, 0, &err),
                     2);
    /* Without process_size, memory does not limit. */
    assert_int_equal(ncp(10, "{\"mem_available\": 1}", 8, 0, &err), 8);
}

/* mem_frac of the machine's memory when mem_available is not given. */
static void resources_ncp_mem_frac(void **state)
{
    (void)state;
    bmp_error err;
    /* 0.8 x 10 GiB = 8 GiB, 3 GiB each: 2. */
    assert_int_equal(ncp(10, "{\"process_size\": 3221225472}", 8, 10 * GiB,
                         &err),
                     2);
    assert_int_equal(ncp(10,
                         "{\"process_size\": 1073741824, "
                         "\"mem_frac\": 0.5}",
                         8, 10 * GiB, &err),
                     5);
    assert_int_equal(ncp(10,
                         "{\"process_size\": 1073741824, "
                         "\"mem_frac\": 1}",
                         20, 10 * GiB, &err),
                     10);
    /* mem_available given: mem_frac does not scale it. */
    assert_int_equal(ncp(10,
                         "{\"process_size\": 1073741824, "
                         "\"mem_frac\": 0.5, \"mem_available\": "
                         "4294967296}",
                         8, 10 * GiB, &err),
                     4);
}

static void resources_ncp_mem_frac_range(void **state)
{
    (void)state;
    static const char *const bad[] = {"0", "-0.1", "1.5", "2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char kw[64];
        bmp_error err;
        snprintf(kw, sizeof kw, "{\"mem_frac\": %s}", bad[i]);
        expect_error(ncp(10, kw, 4, GiB, &err), &err, BMP_EINVAL,
                     "mem_frac must be above 0 and at most 1");
    }
}

static void resources_ncp_bad_sizes(void **state)
{
    (void)state;
    bmp_error err;
    expect_error(ncp(10, "{\"process_size\": 0}", 4, GiB, &err), &err,
                 BMP_EINVAL, "process_size must be positive");
    expect_error(ncp(10, "{\"process_size\": -5}", 4, GiB, &err), &err,
                 BMP_EINVAL, "process_size must be positive");
    expect_error(ncp(10, "{\"mem_available\": -1}", 4, GiB, &err), &err,
                 BMP_EINVAL, "mem_available must not be negative");
}

static void resources_ncp_error_if_zero(void **state)
{
    (void)state;
    bmp_error err;
    int rc = ncp(10,
                 "{\"process_size\": 3221225472, "
                 "\"mem_available\": 1073741824}",
                 4, 0, &err);
    expect_error(rc, &err, BMP_ENOMEM_BUDGET,
                 "process_size 3072.0 MiB exceeds the memory available for "
                 "processes, 1024.0 MiB");
    /* From mem_frac: 0.8 x 1280 MiB = 1024 MiB. */
    rc = ncp(10, "{\"process_size\": 3221225472}", 4, 1280 * MiB, &err);
    expect_error(rc, &err, BMP_ENOMEM_BUDGET,
                 "process_size 3072.0 MiB exceeds the memory available for "
                 "processes, 1024.0 MiB");
    assert_non_null(strstr(err.text, "1280.0 MiB"));
    rc = ncp(10,
             "{\"process_size\": 3221225472, "
             "\"mem_available\": 1073741824, \"error_if_zero\": true}",
             4, 0, &err);
    assert_int_equal(rc, BMP_ENOMEM_BUDGET);
    /* As in Python, the memory check comes before the item count. */
    rc = ncp(0,
             "{\"process_size\": 3221225472, "
             "\"mem_available\": 1073741824}",
             4, 0, &err);
    assert_int_equal(rc, BMP_ENOMEM_BUDGET);
}

static void resources_ncp_error_if_zero_false(void **state)
{
    (void)state;
    bmp_error err;
    assert_int_equal(ncp(10,
                         "{\"process_size\": 3221225472, "
                         "\"mem_available\": 1073741824, "
                         "\"error_if_zero\": false}",
                         4, 0, &err),
                     0);
    assert_int_equal(err.code, 0);
    assert_int_equal(ncp(10,
                         "{\"process_size\": 3221225472, "
                         "\"error_if_zero\": 0}",
                         4, GiB, &err),
                     0);
    assert_int_equal(err.code, 0);
    /* Enough memory: error_if_zero changes nothing. */
    assert_int_equal(ncp(10,
                         "{\"process_size\": 1, \"mem_available\": 10, "
                         "\"error_if_zero\": false}",
                         4, 0, &err),
                     4);
}

static void resources_ncp_wrong_types(void **state)
{
    (void)state;
    static const struct {
        const char *kw, *text;
    } cases[] = {
        {"{\"num_processes\": \"4\"}",
         "keyword num_processes must be a number, not a string"},
        {"{\"mem_available\": true}",
         "keyword mem_available must be a number, not a boolean"},
        {"{\"mem_frac\": [0.5]}",
         "keyword mem_frac must be a number, not an array"},
        {"{\"process_size\": {}}",
         "keyword process_size must be a number, not an object"},
        {"{\"error_if_zero\": \"yes\"}",
         "keyword error_if_zero must be true or false, not a string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bmp_error err;
        expect_error(ncp(10, cases[i].kw, 4, GiB, &err), &err, BMP_EKWTYPE,
                     cases[i].text);
    }
}

static void resources_ncp_kw_not_object(void **state)
{
    (void)state;
    bmp_error err;
    expect_error(ncp(10, "[1, 2]", 4, GiB, &err), &err, BMP_EINVAL,
                 "keywords must be a JSON object, not an array");
}

/* A failure to read the machine's memory is reported, and only when the
 * memory is needed. */
static void resources_ncp_mem_read_error(void **state)
{
    (void)state;
    bmp_error err;
    expect_error(ncp(10, "{\"process_size\": 1000}", 4, -ENOENT, &err), &err,
                 -ENOENT, "give the keyword mem_available");
    assert_int_equal(ncp(10,
                         "{\"process_size\": 1000, "
                         "\"mem_available\": 4000}",
                         8, -ENOENT, &err),
                     4);
    assert_int_equal(ncp(10, NULL, 4, -ENOENT, &err), 4);
}

/* err may be NULL; the first error recorded wins. */
static void resources_ncp_err_handling(void **state)
{
    (void)state;
    json_t *kw = json_pack("{s:i}", "num_processes", -2);
    assert_non_null(kw);
    assert_int_equal(bmp__num_can_process_with(5, kw, 4, GiB, NULL),
                     BMP_EINVAL);
    bmp_error err;
    memset(&err, 0, sizeof err);
    err.code = BMP_ESTEP;
    snprintf(err.text, sizeof err.text, "first");
    assert_int_equal(bmp__num_can_process_with(5, kw, 4, GiB, &err),
                     BMP_EINVAL);
    assert_int_equal(err.code, BMP_ESTEP);
    assert_string_equal(err.text, "first");
    json_decref(kw);
}

/* ---- the real machine --------------------------------------------------- */

static void resources_real_machine(void **state)
{
    (void)state;
    int cores = bmp_physical_cores();
    int64_t mem = bmp_mem_available();
    assert_true(cores >= 1);
    assert_true(cores <= 65536);
    assert_true(mem > 0);

    bmp__sysinfo si;
    assert_int_equal(bmp__sysinfo_read("", NULL, NULL, &si), 0);
    assert_int_equal(si.cores, cores);
    assert_true(si.cpus_allowed >= 1);
    assert_true(si.mem_total > 0);
    assert_true(si.mem_available > 0 && si.mem_available <= si.mem_total);

    bmp_error err = {0};
    int n = bmp_num_can_process(100000, NULL, &err);
    assert_int_equal(err.code, 0);
    assert_int_equal(n, cores);
    assert_int_equal(bmp_num_can_process(1, NULL, &err), 1);
    json_t *kw = json_pack("{s:f}", "process_size", 1.0);
    assert_non_null(kw);
    assert_int_equal(bmp_num_can_process(100000, kw, &err), cores);
    json_decref(kw);
}

#define T(name) \
    cmocka_unit_test_setup_teardown(name, setup_root, teardown_root)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(resources_meminfo_available),
        T(resources_meminfo_without_memavailable),
        T(resources_meminfo_missing),
        T(resources_meminfo_no_figures),
        T(resources_cgroup_v2_memory_limit),
        T(resources_cgroup_v2_memory_max),
        T(resources_cgroup_v2_limit_above_system),
        T(resources_cgroup_v2_inactive_file),
        T(resources_cgroup_v2_parent_limit),
        T(resources_cgroup_v2_usage_over_limit),
        T(resources_cgroup_v2_without_meminfo),
        T(resources_cgroup_v2_container_mount),
        T(resources_cgroup_mountinfo_escapes),
        T(resources_cgroup_v1_memory),
        T(resources_cgroup_v1_unlimited),
        T(resources_cgroup_none),
        T(resources_cgroup_no_proc),
        T(resources_cpu_max_unlimited),
        T(resources_cpu_max_quota),
        T(resources_cpu_quota_below_one),
        T(resources_cpu_quota_not_tighter),
        T(resources_cpu_parent_quota),
        T(resources_cpu_v1_quota),
        T(resources_cpu_v1_no_quota),
        T(resources_affinity_restricts_cores),
        T(resources_affinity_and_quota),
        T(resources_affinity_fallback),
        T(resources_summary),
        cmocka_unit_test(resources_source_names),
        cmocka_unit_test(resources_ncp_default_cores),
        cmocka_unit_test(resources_ncp_fraction_rounding),
        cmocka_unit_test(resources_ncp_count_given),
        cmocka_unit_test(resources_ncp_negative),
        cmocka_unit_test(resources_ncp_items_limit),
        cmocka_unit_test(resources_ncp_memory_limit),
        cmocka_unit_test(resources_ncp_mem_frac),
        cmocka_unit_test(resources_ncp_mem_frac_range),
        cmocka_unit_test(resources_ncp_bad_sizes),
        cmocka_unit_test(resources_ncp_error_if_zero),
        cmocka_unit_test(resources_ncp_error_if_zero_false),
        cmocka_unit_test(resources_ncp_wrong_types),
        cmocka_unit_test(resources_ncp_kw_not_object),
        cmocka_unit_test(resources_ncp_mem_read_error),
        cmocka_unit_test(resources_ncp_err_handling),
        cmocka_unit_test(resources_real_machine),
    };
    return cmocka_run_group_tests_name("resources", tests, NULL, NULL);
}
