/*
 * item.c -- one item's context and its run inside a worker.
 *
 * bmp__run_item() is the only entry point the executors use: whatever the
 * executor (in the caller, a worker process, later a thread or an MPI
 * rank), an item runs the same way and ends as a bmp__result.
 */
#include "run.h"

#include "channel.h"
#include "meter.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

const json_t *bmp_item_in_name(const bmp_item *item)
{
    return item->in_name;
}

const char *bmp_item_name(const bmp_item *item)
{
    return json_is_string(item->in_name) ? json_string_value(item->in_name)
                                         : NULL;
}

size_t bmp_item_index(const bmp_item *item)
{
    return item->index;
}

json_t *bmp_item_kw(bmp_item *item)
{
    json_t *kw = __atomic_load_n(&item->kw, __ATOMIC_ACQUIRE);
    if (kw)
        return kw;
    json_t *copy = json_deep_copy(item->run->kw);
    if (!copy) {
        /* No keywords would be wrong ones: the item fails. */
        item->kw_failed = 1;
        bmp_item_fail(item, -ENOMEM,
                      "out of memory copying the item's "
                      "keywords");
        return NULL;
    }
    return bmp__install_once(&item->kw, copy);
}

const json_t *bmp__item_kw_view(const bmp_item *item)
{
    json_t *kw = __atomic_load_n(&item->kw, __ATOMIC_ACQUIRE);
    return kw ? kw : item->run->kw;
}

json_t *bmp_item_meta(bmp_item *item)
{
    return item->meta;
}

void *bmp_item_user(const bmp_item *item)
{
    return item->run->pipe->user;
}

bmp_pipe *bmp_item_pipe(const bmp_item *item)
{
    return item->run->pipe;
}

void bmp_item_data_free(bmp_item *item, void *data)
{
    if (data)
        item->run->pipe->ops.data_free(data, item->run->pipe->user);
}

int bmp_item_fail(bmp_item *item, int code, const char *fmt, ...)
{
    if (code >= 0)
        code = BMP_ESTEP;
    if (item->error)
        return code;
    item->code = code;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&item->error, fmt, ap) < 0)
            item->error = NULL;
        va_end(ap);
    }
    return code;
}

int bmp_item_track_group(bmp_item *item, pid_t pgid)
{
    /* 0 and 1 would make the caller signal its own group or init's. */
    if (!item || pgid <= 1)
        return BMP_EINVAL;
    return bmp__channel_track_group(pgid);
}

void bmp_item_untrack_group(bmp_item *item, pid_t pgid)
{
    if (item && pgid > 1)
        bmp__channel_untrack_group(pgid);
}

int bmp_item_add_child_usage(bmp_item *item, double cpu_s, int64_t peak_rss)
{
    if (!item || !(cpu_s >= 0))
        return BMP_EINVAL;
    /* One item's processes run one after another, as a step waits for
     * each: the peak is the largest, the CPU time the sum. */
    item->child_cpu_s += cpu_s;
    if (peak_rss > item->child_peak_rss)
        item->child_peak_rss = peak_rss;
    return 0;
}

/* The CPU seconds a getrusage() reports. */
static double cpu_seconds(const struct rusage *ru)
{
    return (double)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) +
           (ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) * 1e-6;
}

void bmp__run_item(bmp__run *run, size_t index, bmp__result *out,
                   struct rusage *usage, int64_t *child_peak)
{
    struct rusage own[2];
    if (!usage) {
        usage = own;
        bmp__usage_now(&usage[0]);
    }
    memset(out, 0, sizeof *out);
    bmp__stats_init(&out->stats);
    double wall0 = bmp__now();
    out->stats.start = bmp__epoch_now();

    bmp_item item = {.run = run, .index = index};
    item.in_name = json_array_get(run->items, index);
    item.meta = json_object();
    if (!item.meta) {
        bmp__result_fail(out, BMP_ITEM_FAILED, -ENOMEM,
                         "out of memory starting the item");
        bmp__usage_now(&usage[1]);
        return;
    }

    char *outname = NULL;
    int rc = run->pipe->ops.file_process(&item, &outname);
    if (rc >= 0 && item.kw_failed)
        rc = -ENOMEM; /* a step went on without its keywords */
    if (rc < 0) {
        free(outname);
        out->meta = item.meta;
        item.meta = NULL;
        bmp__result_fail(out, BMP_ITEM_FAILED, rc, "%s",
                         item.error ? item.error : bmp_strerror(rc));
    } else {
        out->status = outname ? BMP_ITEM_OK : BMP_ITEM_NO_OUTPUT;
        out->outname = outname;
        out->meta = item.meta;
        item.meta = NULL;
    }
    free(item.error);
    json_decref(item.kw);
    json_decref(item.meta);
    out->stats.wall_s = bmp__now() - wall0;
    bmp__usage_now(&usage[1]);
    /* getrusage(RUSAGE_SELF) leaves out the processes the step ran: their
     * own figures, as the step reported them, are the item's too. */
    out->stats.cpu_s = cpu_seconds(&usage[1]) - cpu_seconds(&usage[0]) +
                       item.child_cpu_s;
    if (child_peak)
        *child_peak = item.child_peak_rss;
    out->stats.attempts = 1;
}

size_t bmp_run_count(const bmp_run *run)
{
    return run ? run->count : 0;
}

const json_t *bmp_run_in_name(const bmp_run *run, size_t index)
{
    return run && index < run->count ? json_array_get(run->items, index)
                                     : NULL;
}

const json_t *bmp_run_kw(const bmp_run *run)
{
    return run ? run->kw : NULL;
}

int bmp_run_item_done(const bmp_run *run, size_t index)
{
    if (!run || index >= run->count)
        return 0;
    return (run->skip && run->skip[index]) ||
           __atomic_load_n(&run->results[index].status, __ATOMIC_ACQUIRE) !=
               BMP_ITEM_NOT_RUN;
}

/* Finishes through the public functions are made one at a time: a user
 * executor's threads may finish items at once, and the journal line,
 * the counts and the progress report of one item must not interleave
 * with another's (the progress callback then sees `done` grow by one
 * each time, as with the library's executors). */
static pthread_mutex_t user_final_lock = PTHREAD_MUTEX_INITIALIZER;

/* Puts `r` in as item `index`'s result, and sends it out through the
 * run's outlet, as the library's executors send theirs, with a progress
 * report.  The status is stored last, with release order, so that a
 * thread that sees it done (bmp_run_item_done) sees the whole result.
 * An item run again replaces its result and is journalled again, but
 * counted once. */
static void user_item_final(bmp__run *run, size_t index, bmp__result *r)
{
    /* A result made elsewhere without its start (bmp_run_set_result()
     * has no field for it) ended about now, as far as the run knows: so
     * the report's timeline shows it. */
    if (r->stats.start <= 0)
        r->stats.start = bmp__epoch_now() -
                         (r->stats.wall_s > 0 ? r->stats.wall_s : 0);
    pthread_mutex_lock(&user_final_lock);
    bmp__result *slot = &run->results[index];
    int first = slot->status == BMP_ITEM_NOT_RUN;
    bmp_status status = r->status;
    bmp__result_clear(slot);
    r->status = BMP_ITEM_NOT_RUN;
    *slot = *r;
    __atomic_store_n(&slot->status, status, __ATOMIC_RELEASE);
    bmp__item_final(run, index);
    if (first) {
        run->user_done++;
        run->user_failed += bmp__status_is_failure(status);
    }
    bmp__report_progress(run, run->resumed + run->user_done, run->user_failed,
                         0, 0, -1);
    pthread_mutex_unlock(&user_final_lock);
}

void bmp_run_item(bmp_run *run, size_t index)
{
    if (!run || index >= run->count || (run->skip && run->skip[index]))
        return;
    bmp__result r = {0};
    bmp__stats_init(&r.stats);
    bmp__run_item(run, index, &r, NULL, NULL);
    user_item_final(run, index, &r);
}

static int set_failed(bmp_error *err, const char *fmt, size_t index,
                      const char *what)
{
    return bmp_error_set(err, BMP_EINVAL, "set_result", NULL, fmt, index,
                         what);
}

/* Whether item `index` may take `r` from outside (bmp_run_set_result,
 * bmp__run_set_final): in range, this shard's, not finished yet, and a
 * result a worker's frame could carry too.  @return 0, or BMP_EINVAL with
 * `err` filled. */
static int check_settable(const bmp__run *run, size_t index,
                          const bmp__result *r, bmp_error *err)
{
    if (index >= run->count)
        return bmp_error_set(err, BMP_EINVAL, "set_result", NULL,
                             "item %zu is out of range (the run has %zu)",
                             index, run->count);
    if (!bmp__run_in_shard(run, index))
        return bmp_error_set(err, BMP_EINVAL, "set_result", NULL,
                             "item %zu belongs to shard %zu/%zu, not to "
                             "this run's %zu/%zu",
                             index, index % run->shard_count, run->shard_count,
                             run->shard_index, run->shard_count);
    if (bmp_run_item_done(run, index))
        return set_failed(err, "item %zu %s", index,
                          run->skip && run->skip[index]
                              ? "was taken from the journal: it is not run "
                                "again"
                              : "has its result already");
    const char *why = bmp__result_check(r);
    if (why)
        return set_failed(err, "item %zu: %s", index, why);
    return 0;
}

int bmp__run_set_final(bmp__run *run, size_t index, bmp__result *r,
                       bmp_error *err)
{
    int rc = check_settable(run, index, r, err);
    if (rc < 0)
        return rc;
    if (bmp__status_is_failure(r->status) && r->code >= 0)
        r->code = BMP_ESTEP;
    if (!r->meta && !r->meta_text && !(r->meta = json_object()))
        return bmp_error_set(err, -ENOMEM, "set_result", NULL,
                             "out of memory");
    user_item_final(run, index, r);
    /* Its strings and meta are the slot's now. */
    *r = (bmp__result){.status = BMP_ITEM_NOT_RUN};
    return 0;
}

int bmp_run_set_result(bmp_run *run, size_t index,
                       const bmp_item_result *result, bmp_error *err)
{
    if (!run || !result)
        return bmp_error_set(err, BMP_EINVAL, "set_result", NULL,
                             "bmp_run_set_result needs a run and a result");
    if (result->version > BMP_ITEM_RESULT_VERSION)
        return bmp_error_set(err, BMP_EINVAL, "set_result", NULL,
                             "result version %u is newer than this "
                             "library's (%u)",
                             result->version, BMP_ITEM_RESULT_VERSION);
    const bmp_item_stats *s = result->stats;
    if (s && s->version > BMP_ITEM_STATS_VERSION)
        return bmp_error_set(err, BMP_EINVAL, "set_result", NULL,
                             "stats version %u is newer than this "
                             "library's (%u)",
                             s->version, BMP_ITEM_STATS_VERSION);
    /* The strings are checked where they stand, before anything is
     * copied: the same checks as a worker's result frame. */
    bmp__result view = {.status = result->status,
                        .outname = (char *)result->outname,
                        .meta_text = (char *)result->meta_json};
    int rc = check_settable(run, index, &view, err);
    if (rc < 0)
        return rc;
    bmp_status st = result->status;
    bmp__result r = {.status = st};
    bmp__stats_init(&r.stats);
    r.stats.attempts = 1;
    if (bmp__status_is_failure(st))
        r.code = result->code < 0 ? result->code : BMP_ESTEP;
    if (s) {
        r.stats.attempts = s->attempts > 0 ? s->attempts : 1;
        r.stats.wall_s = s->wall_s;
        r.stats.cpu_s = s->cpu_s;
        r.stats.peak_rss = s->peak_rss;
        r.stats.start_rss = s->start_rss;
        r.stats.estimate = s->estimate;
        r.stats.over_estimate = s->over_estimate != 0;
        if (s->version >= 3 && s->start > 0 && s->start < 1e11) {
            r.stats.start = s->start;
            r.stats.worker = s->worker >= 0 ? s->worker : -1;
            r.stats.budget = s->budget > 0 ? s->budget : -1;
        }
        if (s->version >= 2 && s->host && s->rank >= 0) {
            r.stats.rank = s->rank;
            if (!(r.stats.host = strdup(s->host)))
                return bmp_error_set(err, -ENOMEM, "set_result", NULL,
                                     "out of memory");
        }
    }
    /* A failure without words gets its code's, as an item run here. */
    const char *error = result->error;
    if (!error && bmp__status_is_failure(st))
        error = bmp_strerror(r.code);
    const char *out = result->outname, *meta = result->meta_json;
    if ((out && !(r.outname = strdup(out))) ||
        (meta && !(r.meta_text = strdup(meta))) ||
        (!meta && !(r.meta = json_object())) ||
        (error && !(r.error = strdup(error)))) {
        bmp__result_clear(&r);
        return bmp_error_set(err, -ENOMEM, "set_result", NULL,
                             "out of memory");
    }
    user_item_final(run, index, &r);
    return 0;
}
