/*
 * estimate.c -- the scheduler's inputs for one run: its keywords, the
 * memory budget, and each item's memory estimate (see scheduler.h for
 * the policy that uses them, doc/scheduler.md for the reasons).
 *
 * An item's estimate comes from the first of:
 *   process_size            the same for every item (SPEC.md)
 *   ops.size_estimate       the program's own figure per item
 *   process_expand_factor   x the item's input bytes (a group: the sum),
 *                           learned from finished items with adaptive
 * and none of them means no estimate: only num_processes limits, as in
 * the Python package.
 *
 * This runs in the calling process before any worker starts: the input
 * sizes come from stat(), never from reading the files.
 */
#include "channel.h"
#include "scheduler.h"
#include "sysinfo.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define STAGE "schedule"

int64_t (*bmp__sched_avail_hook)(void);

int64_t bmp__sched_sample_avail(void)
{
    return bmp__sched_avail_hook ? bmp__sched_avail_hook()
                                 : bmp_mem_available();
}

/* Bytes on disk of an item: a file's size, a group's sum; -1 when a
 * member cannot be stat'ed (it will fail on its own when read). */
static int64_t input_bytes(const json_t *item, int depth)
{
    if (json_is_string(item)) {
        struct stat st;
        if (stat(json_string_value(item), &st) != 0)
            return -1;
        return (int64_t)st.st_size;
    }
    if (!json_is_array(item) || depth > 64)
        return -1;
    int64_t sum = 0;
    for (size_t i = 0; i < json_array_size(item); i++) {
        int64_t b = input_bytes(json_array_get(item, i), depth + 1);
        if (b < 0)
            return -1;
        sum += b;
    }
    return sum;
}

static int kw_type_error(bmp_error *err, const char *key, const char *what)
{
    return bmp_error_set(err, BMP_EKWTYPE, STAGE, NULL,
                         "keyword %s must be %s", key, what);
}

/* Stops starting items below this much free system memory, unless the
 * keyword says otherwise: 5% of the memory this process may use, at most
 * 256 MiB, so that a large machine does not hold back gigabytes. */
static int64_t default_mem_low(void)
{
    bmp__sysinfo si;
    bmp__sysinfo_init(&si);
    bmp__sysinfo_read_mem("", &si);
    int64_t total = si.mem_total;
    if (si.cgroup_mem_limit > 0 && (total < 0 || si.cgroup_mem_limit < total))
        total = si.cgroup_mem_limit;
    int64_t cap = 256 * BMP__MIB;
    if (total <= 0)
        return cap;
    return total / 20 < cap ? total / 20 : cap;
}

int bmp__sched_configure(bmp__sched *s, bmp__run *run, int max_running,
                         int estimated, bmp_error *err)
{
    const json_t *kw = run->kw;
    bmp__sched_config cfg = {.budget = -1,
                             .max_running = max_running,
                             .error_if_zero = 1,
                             .margin = BMP__ADAPTIVE_MARGIN};
    const char *order = NULL;
    int rc = bmp_kw_get_str(kw, "order", &order);
    if (rc == BMP_EKWTYPE)
        return kw_type_error(err, "order",
                             "a string (\"input\" or \"largest_first\")");
    if (rc == 1 && strcmp(order, "largest_first") == 0)
        cfg.order = BMP__ORDER_LARGEST_FIRST;
    else if (rc == 1 && strcmp(order, "input") != 0)
        return bmp_error_set(err, BMP_EINVAL, STAGE, NULL,
                             "unknown order \"%s\" (input or "
                             "largest_first)",
                             order);
    static const char *const bools[] = {"adaptive", "suspend", "enforce",
                                        "error_if_zero"};
    int values[4] = {0, 0, 0, 1};
    for (size_t k = 0; k < 4; k++) {
        if (bmp_kw_get_bool(kw, bools[k], &values[k]) == BMP_EKWTYPE)
            return kw_type_error(err, bools[k], "true or false");
    }
    cfg.adaptive = values[0];
    cfg.suspend = values[1];
    cfg.error_if_zero = values[3];
    double factor = 0, mem_low = 0, psize = 0, mem_given = 0, frac = 0.8;
    int has_factor = bmp_kw_get_real(kw, "process_expand_factor", &factor);
    if (has_factor == BMP_EKWTYPE)
        return kw_type_error(err, "process_expand_factor", "a number");
    if (has_factor && !(factor > 0))
        return bmp_error_set(err, BMP_EINVAL, STAGE, NULL,
                             "process_expand_factor must be positive (got "
                             "%g)",
                             factor);
    int has_low = bmp_kw_get_real(kw, "mem_low", &mem_low);
    if (has_low == BMP_EKWTYPE)
        return kw_type_error(err, "mem_low", "a number of bytes");
    if (has_low && !(mem_low >= 0))
        return bmp_error_set(err, BMP_EINVAL, STAGE, NULL,
                             "mem_low must not be negative (got %g bytes)",
                             mem_low);
    /* bmp_num_can_process() has checked these already. */
    int has_psize = bmp_kw_get_real(kw, "process_size", &psize) == 1;
    int has_mem = bmp_kw_get_real(kw, "mem_available", &mem_given) == 1;
    bmp_kw_get_real(kw, "mem_frac", &frac);
    cfg.expand_factor = has_factor ? factor : 0;
    cfg.mem_low = has_low ? (int64_t)mem_low : default_mem_low();

    bmp_ops *ops = &run->pipe->ops;
    int any_estimate = has_psize || ops->size_estimate || has_factor ||
                       cfg.adaptive || estimated;
    if (any_estimate) {
        int64_t share = bmp__worker_mem_share();
        if (has_mem) {
            cfg.budget = (int64_t)mem_given;
        } else if (share >= 0) {
            cfg.budget = share; /* a nested run: the parent item's share */
        } else {
            double budget;
            rc = bmp__mem_budget(frac, bmp__sched_sample_avail(), &budget,
                                 err);
            if (rc < 0)
                return rc;
            cfg.budget = (int64_t)budget;
        }
    }
    rc = bmp__sched_init(s, &cfg, run->count);
    if (rc < 0)
        return bmp_error_set(err, rc, STAGE, NULL,
                             "out of memory for %zu items", run->count);

    /* Input sizes feed the expand factor, and order the queue when
     * nothing better is known. */
    s->rule.size = has_psize ? (int64_t)psize : -1;
    s->rule.op = !has_psize && ops->size_estimate;
    s->rule.factor = has_factor || cfg.adaptive;
    s->rule.input = !has_psize && (has_factor || cfg.adaptive ||
                                   (cfg.order == BMP__ORDER_LARGEST_FIRST &&
                                    !ops->size_estimate));
    run->mem_budget = cfg.budget;
    return 0;
}

int bmp__sched_setup_item(bmp__sched *s, bmp__run *run, size_t i,
                          int64_t estimate)
{
    const json_t *item = json_array_get(run->items, i);
    if (estimate >= 0) {
        /* The caller's own figure: nothing to learn from, nothing to
         * sort by but it. */
        bmp__sched_set_item(s, i, estimate, -1);
        return 0;
    }
    int64_t fixed = s->rule.size;
    if (s->rule.op) {
        int64_t bytes = -1;
        int rc = run->pipe->ops.size_estimate(item, run->kw, &bytes,
                                              run->pipe->user);
        if (rc < 0) {
            bmp__result_fail(&run->results[i], BMP_ITEM_FAILED, rc,
                             "size_estimate failed: %s", bmp_strerror(rc));
            return rc;
        }
        fixed = bytes >= 0 ? bytes : -1;
    }
    int64_t in = -1;
    if (s->rule.input || (fixed < 0 && s->rule.factor))
        in = input_bytes(item, 0);
    bmp__sched_set_item(s, i, fixed, in);
    return 0;
}
