/*
 * resources.c -- how many workers a run gets (SPEC.md's num_can_process),
 * from the cores and memory that sysinfo.c reads.
 *
 * The rules are the Python package's, with the cases it leaves open
 * decided as follows:
 *  - A fraction of the cores is rounded as Python's round() rounds a
 *    float, half to even (0.5 of 3 cores -> 2, of 5 -> 2), then raised
 *    to 1.  Half to even is computed here, not taken from rint(), so a
 *    caller's floating-point rounding mode cannot change the count.
 *  - A count of 1 or more given as a real is floored: 2.9 -> 2.
 *  - The memory check comes before the item count, as in Python: with no
 *    items and a process_size that fits nothing, error_if_zero still
 *    fails; otherwise no items give 0 workers.
 *  - Every keyword is checked for type and range even when the rule that
 *    uses it does not apply (mem_frac with mem_available given), so a
 *    mistake shows on the first run, not on the machine where it matters.
 */
#include "channel.h"
#include "scheduler.h"
#include "sysinfo.h"

#include <errno.h>
#include <limits.h>
#include <math.h>

#define STAGE "schedule"

int bmp_physical_cores(void)
{
    bmp__sysinfo si;
    bmp__sysinfo_init(&si);
    return bmp__sysinfo_read_cpu("", NULL, NULL, &si);
}

int64_t bmp_mem_available(void)
{
    bmp__sysinfo si;
    bmp__sysinfo_init(&si);
    return bmp__sysinfo_read_mem("", &si);
}

int bmp__mem_budget(double frac, int64_t avail, double *budget, bmp_error *err)
{
    if (avail < 0) {
        /* A failed read is a negative errno; anything else is no code. */
        int code = avail >= -4095 ? (int)avail : -EIO;
        return bmp_error_set(err, code, STAGE, NULL,
                             "cannot tell how much memory is available "
                             "(%s); give the keyword mem_available",
                             bmp_strerror(code));
    }
    *budget = frac * (double)avail;
    return 0;
}

int bmp_num_can_process(size_t num_items, const json_t *kw, bmp_error *err)
{
    return bmp__num_can_process_with(num_items, kw, BMP__ASK_CORES,
                                     BMP__ASK_MEM, err);
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* A number keyword: 1 given, 0 not given, or BMP_EKWTYPE (err filled). */
static int get_number(const json_t *kw, const char *key, double *out,
                      bmp_error *err)
{
    int rc = bmp_kw_get_real(kw, key, out);
    if (rc == BMP_EKWTYPE)
        return bmp_error_set(err, rc, STAGE, NULL,
                             "keyword %s must be a number, not %s", key,
                             type_name(json_object_get(kw, key)));
    return rc;
}

/* Python's round() of a float: to nearest, ties to even.  x - floor(x) is
 * exact in binary floating point, so the tie test is too. */
static double round_half_even(double x)
{
    double f = floor(x), d = x - f;
    if (d > 0.5 || (d == 0.5 && fmod(f, 2.0) != 0.0))
        return f + 1.0;
    return f;
}

static long long clamp_count(double x)
{
    return x >= (double)INT_MAX ? INT_MAX : (long long)x;
}

int bmp__num_can_process_with(size_t num_items, const json_t *kw, int cores,
                              int64_t mem_avail, bmp_error *err)
{
    if (kw && !json_is_object(kw))
        return bmp_error_set(err, BMP_EINVAL, STAGE, NULL,
                             "keywords must be a JSON object, not %s",
                             type_name(kw));

    double nproc = 0, mem_given = 0, frac = 0.8, psize = 0;
    int error_if_zero = 1, rc, has_mem, has_psize;
    if ((rc = get_number(kw, "num_processes", &nproc, err)) < 0)
        return rc;
    if ((has_mem = get_number(kw, "mem_available", &mem_given, err)) < 0)
        return has_mem;
    /* In a worker, a nested pipeline's memory is its item's share of the
     * parent's budget, not the whole machine's. */
    int64_t share = has_mem ? -1 : bmp__worker_mem_share();
    if (share >= 0) {
        mem_given = (double)share;
        has_mem = 1;
    }
    if ((rc = get_number(kw, "mem_frac", &frac, err)) < 0)
        return rc;
    if ((has_psize = get_number(kw, "process_size", &psize, err)) < 0)
        return has_psize;
    if (bmp_kw_get_bool(kw, "error_if_zero", &error_if_zero) == BMP_EKWTYPE)
        return bmp_error_set(err, BMP_EKWTYPE, STAGE, NULL,
                             "keyword error_if_zero must be true or false, "
                             "not %s",
                             type_name(json_object_get(kw, "error_if_zero")));

    if (!(nproc >= 0))
        return bmp_error_set(err, BMP_EINVAL, STAGE, NULL,
                             "num_processes must not be negative (got %g): "
                             "give 0 for all physical cores, a fraction "
                             "below 1 for a share of them, or a count",
                             nproc);
    if (has_mem && !(mem_given >= 0))
        return bmp_error_set(err, BMP_EINVAL, STAGE, NULL,
                             "mem_available must not be negative (got %g "
                             "bytes)",
                             mem_given);
    if (!(frac > 0 && frac <= 1))
        return bmp_error_set(err, BMP_EINVAL, STAGE, NULL,
                             "mem_frac must be above 0 and at most 1 "
                             "(got %g)",
                             frac);
    if (has_psize && !(psize > 0))
        return bmp_error_set(err, BMP_EINVAL, STAGE, NULL,
                             "process_size must be positive (got %g bytes)",
                             psize);

    /* Workers the CPUs allow. */
    long long workers;
    if (nproc < 1) {
        if (cores <= 0)
            cores = bmp_physical_cores();
        workers = nproc == 0 ? cores
                             : clamp_count(round_half_even(nproc * cores));
        if (workers < 1)
            workers = 1;
    } else {
        workers = clamp_count(nproc); /* floors: nproc is positive */
    }

    /* Workers the memory allows. */
    long long by_mem = INT_MAX;
    if (has_psize) {
        double memory = mem_given;
        if (!has_mem) {
            if (mem_avail == BMP__ASK_MEM)
                mem_avail = bmp_mem_available();
            if ((rc = bmp__mem_budget(frac, mem_avail, &memory, err)) < 0)
                return rc;
        }
        double fit = floor(memory / psize);
        if (fit < 1 && error_if_zero) {
            if (has_mem)
                return bmp_error_set(
                    err, BMP_ENOMEM_BUDGET, STAGE, NULL,
                    "process_size %.1f MiB exceeds the memory available "
                    "for processes, %.1f MiB (%s)",
                    psize / BMP__MIB_F, memory / BMP__MIB_F,
                    share >= 0 ? "the share of the item running this "
                                 "nested pipeline"
                               : "keyword mem_available");
            return bmp_error_set(
                err, BMP_ENOMEM_BUDGET, STAGE, NULL,
                "process_size %.1f MiB exceeds the memory available for "
                "processes, %.1f MiB (mem_frac %g of %.1f MiB available "
                "now)",
                psize / BMP__MIB_F, memory / BMP__MIB_F, frac,
                (double)mem_avail / BMP__MIB_F);
        }
        by_mem = fit < 1 ? 0 : clamp_count(fit);
    }

    long long count = workers < by_mem ? workers : by_mem;
    if ((unsigned long long)num_items < (unsigned long long)count)
        count = (long long)num_items;
    return (int)count;
}
