/*
 * sysinfo_show.c -- the figures of bmp__sysinfo as JSON and as text, and
 * the readers in one call.  No part of the library shows them, so they
 * live with the tests, which read the figures of a fake machine through
 * them; a command that shows the plan of a run may take them over.
 */
#include "sysinfo_show.h"
#include "units.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int bmp__sysinfo_read(const char *root, const char *topology,
                      const char *affinity, bmp__sysinfo *si)
{
    bmp__sysinfo_init(si);
    bmp__sysinfo_read_cpu(root, topology, affinity, si);
    int64_t mem = bmp__sysinfo_read_mem(root, si);
    return mem < 0 ? (int)mem : 0;
}

const char *bmp__cpu_source_name(bmp__cpu_source source)
{
    switch (source) {
    case BMP__CPU_FROM_CORES: return "cores";
    case BMP__CPU_FROM_AFFINITY: return "affinity";
    case BMP__CPU_FROM_ONLINE: return "online";
    case BMP__CPU_FROM_QUOTA: return "quota";
    default: return "none";
    }
}

const char *bmp__mem_source_name(bmp__mem_source source)
{
    switch (source) {
    case BMP__MEM_FROM_MEMINFO: return "meminfo";
    case BMP__MEM_FROM_CGROUP: return "cgroup";
    default: return "none";
    }
}

/* A figure, or null when below `least` (unknown). */
static json_t *figure(int64_t v, int64_t least)
{
    return v >= least ? json_integer(v) : json_null();
}

json_t *bmp__sysinfo_json(const bmp__sysinfo *si)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    struct {
        const char *key;
        json_t *value;
    } f[] = {
        {"cores", json_integer(si->cores)},
        {"cores_source", json_string(bmp__cpu_source_name(si->cores_source))},
        {"cores_total", figure(si->cores_total, 1)},
        {"cores_allowed", figure(si->cores_allowed, 1)},
        {"cpus_allowed", figure(si->cpus_allowed, 1)},
        {"cpus_online", figure(si->cpus_online, 1)},
        {"cpu_cgroup_version", json_integer(si->cpu_cgroup_version)},
        {"cpu_cgroup",
         si->cpu_cgroup[0] ? json_string(si->cpu_cgroup) : json_null()},
        {"cpu_quota_us", figure(si->cpu_quota_us, 1)},
        {"cpu_period_us",
         figure(si->cpu_quota_us > 0 ? si->cpu_period_us : BMP__UNKNOWN, 1)},
        {"cpu_quota_cores", figure(si->cpu_quota_cores, 1)},
        {"mem_available", figure(si->mem_available, 0)},
        {"mem_source", json_string(bmp__mem_source_name(si->mem_source))},
        {"mem_total", figure(si->mem_total, 0)},
        {"mem_available_system", figure(si->mem_available_system, 0)},
        {"mem_cgroup_version", json_integer(si->mem_cgroup_version)},
        {"mem_cgroup",
         si->mem_cgroup[0] ? json_string(si->mem_cgroup) : json_null()},
        {"cgroup_mem_limit", figure(si->cgroup_mem_limit, 0)},
        {"cgroup_mem_usage", figure(si->cgroup_mem_usage, 0)},
        {"cgroup_mem_available", figure(si->cgroup_mem_available, 0)},
    };
    int ok = 1;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        ok &= json_object_set_new(o, f[i].key, f[i].value) == 0;
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Appends to a text buffer, keeping the length the whole text needs. */
typedef struct text {
    char *buf;
    size_t size;
    size_t len;
} text;

BMP_PRINTF(2, 3)
static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *at = t->len < t->size ? t->buf + t->len : NULL;
    size_t room = t->len < t->size ? t->size - t->len : 0;
    int n = vsnprintf(at, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len += (size_t)n;
}

static void put_mib(text *t, int64_t bytes)
{
    if (bytes >= 0)
        put(t, "%.1f MiB", (double)bytes / BMP__MIB_F);
    else
        put(t, "?");
}

static void put_count(text *t, int n)
{
    if (n > 0)
        put(t, "%d", n);
    else
        put(t, "?");
}

int bmp__sysinfo_summary(const bmp__sysinfo *si, char *buf, size_t size)
{
    text t = {buf, size, 0};
    if (buf && size)
        buf[0] = '\0';
    put(&t, "cores: %d (%s): physical ", si->cores,
        bmp__cpu_source_name(si->cores_source));
    put_count(&t, si->cores_allowed);
    put(&t, " of ");
    put_count(&t, si->cores_total);
    put(&t, ", logical CPUs allowed ");
    put_count(&t, si->cpus_allowed);
    put(&t, " of ");
    put_count(&t, si->cpus_online);
    put(&t, " online; ");
    if (si->cpu_quota_cores > 0)
        put(&t, "cgroup v%d CPU quota %" PRId64 "/%" PRId64 " us = %d",
            si->cpu_cgroup_version, si->cpu_quota_us, si->cpu_period_us,
            si->cpu_quota_cores);
    else
        put(&t, "no CPU quota");
    put(&t, "\nmemory: ");
    put_mib(&t, si->mem_available);
    put(&t, " available (%s): MemAvailable ",
        bmp__mem_source_name(si->mem_source));
    put_mib(&t, si->mem_available_system);
    put(&t, " of ");
    put_mib(&t, si->mem_total);
    put(&t, "; ");
    if (si->cgroup_mem_limit >= 0) {
        put(&t, "cgroup v%d limit ", si->mem_cgroup_version);
        put_mib(&t, si->cgroup_mem_limit);
        put(&t, ", usage ");
        put_mib(&t, si->cgroup_mem_usage);
    } else {
        put(&t, "no cgroup memory limit");
    }
    put(&t, "\n");
    return t.len > INT_MAX ? INT_MAX : (int)t.len;
}
