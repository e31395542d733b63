/*
 * pout.c -- the results of a run: one entry per item, in input order, and
 * Python's prune_pout.  The file format is in pout_json.c.
 */
#include "pout_internal.h"
#include "units.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {
    [BMP_ITEM_OK] = "ok",
    [BMP_ITEM_NO_OUTPUT] = "no_output",
    [BMP_ITEM_FAILED] = "failed",
    [BMP_ITEM_CRASHED] = "crashed",
    [BMP_ITEM_TIMED_OUT] = "timed_out",
    [BMP_ITEM_NOT_RUN] = "not_run",
};

const char *bmp_status_name(bmp_status status)
{
    if ((unsigned)status < sizeof status_names / sizeof *status_names)
        return status_names[status];
    return "unknown";
}

bmp_pout *bmp__pout_new(size_t count)
{
    bmp_pout *pout = calloc(1, sizeof *pout);
    if (!pout)
        return NULL;
    pout->entries = calloc(count ? count : 1, sizeof *pout->entries);
    if (!pout->entries) {
        free(pout);
        return NULL;
    }
    pout->count = count;
    for (size_t i = 0; i < count; i++)
        bmp__stats_init(&pout->entries[i].r.stats);
    return pout;
}

bmp_pout *bmp__pout_adopt(bmp__pout_entry *entries, size_t count)
{
    bmp_pout *pout = calloc(1, sizeof *pout);
    if (!pout)
        return NULL;
    pout->entries = entries;
    pout->count = count;
    return pout;
}

void bmp_pout_free(bmp_pout *pout)
{
    if (!pout)
        return;
    for (size_t i = 0; i < pout->count; i++) {
        json_decref(pout->entries[i].in_name);
        bmp__result_clear(&pout->entries[i].r);
    }
    free(pout->entries);
    free(pout);
}

size_t bmp_pout_count(const bmp_pout *pout)
{
    return pout ? pout->count : 0;
}

const char *bmp_pout_outname(const bmp_pout *pout, size_t i)
{
    return i < bmp_pout_count(pout) ? pout->entries[i].r.outname : NULL;
}

json_t *bmp_pout_meta(const bmp_pout *pout, size_t i)
{
    /* Parsed at the first call (result.h): the pout is the
     * caller's to read, and the object, once made, is the same for every
     * call. */
    return i < bmp_pout_count(pout)
               ? bmp__result_meta((bmp__result *)&pout->entries[i].r)
               : NULL;
}

const json_t *bmp_pout_in_name(const bmp_pout *pout, size_t i)
{
    return i < bmp_pout_count(pout) ? pout->entries[i].in_name : NULL;
}

bmp_status bmp_pout_status(const bmp_pout *pout, size_t i)
{
    return i < bmp_pout_count(pout) ? pout->entries[i].r.status
                                    : BMP_ITEM_NOT_RUN;
}

const char *bmp_pout_error(const bmp_pout *pout, size_t i)
{
    return i < bmp_pout_count(pout) ? pout->entries[i].r.error : NULL;
}

/* Python prunes (None, {}).  A failed item is kept even when its meta is
 * empty: pruning it would hide the failure. */
static int prunable(const bmp__pout_entry *e)
{
    const json_t *meta = bmp__result_meta_made(&e->r);
    int empty = meta ? json_object_size(meta) == 0
                     : !e->r.meta_text || strcmp(e->r.meta_text, "{}") == 0;
    return e->r.status == BMP_ITEM_NO_OUTPUT && !e->r.outname && empty;
}

int bmp__pout_entry_copy(bmp__pout_entry *dst, const bmp__pout_entry *src)
{
    dst->in_name = json_incref((json_t *)src->in_name);
    /* Field by field: src's meta may be installed by another thread's
     * bmp_pout_meta() at this moment, and is read only atomically. */
    dst->r.status = src->r.status;
    dst->r.code = src->r.code;
    dst->r.stats = src->r.stats;
    dst->r.stats.host = src->r.stats.host ? strdup(src->r.stats.host) : NULL;
    dst->r.outname = src->r.outname ? strdup(src->r.outname) : NULL;
    dst->r.error = src->r.error ? strdup(src->r.error) : NULL;
    const json_t *meta = bmp__result_meta_made(&src->r);
    dst->r.meta = NULL;
    dst->r.meta_text = NULL;
    if (meta)
        dst->r.meta = json_deep_copy(meta);
    else if (src->r.meta_text)
        dst->r.meta_text = strdup(src->r.meta_text);
    else
        dst->r.meta = json_object();
    if ((src->r.outname && !dst->r.outname) ||
        (src->r.error && !dst->r.error) || (!dst->r.meta && !dst->r.meta_text))
        return -ENOMEM;
    return 0;
}

int bmp_prune_pout(const bmp_pout *pout, const json_t *in_names,
                   bmp_pout **pruned, json_t **pruned_names)
{
    *pruned = NULL;
    if (pruned_names)
        *pruned_names = NULL;
    if (!pout || (in_names && (!json_is_array(in_names) ||
                               json_array_size(in_names) != pout->count)))
        return BMP_EINVAL;
    size_t keep = 0;
    for (size_t i = 0; i < pout->count; i++)
        keep += !prunable(&pout->entries[i]);
    bmp_pout *out = bmp__pout_new(keep);
    json_t *names = in_names && pruned_names ? json_array() : NULL;
    if (!out || (in_names && pruned_names && !names)) {
        bmp_pout_free(out);
        json_decref(names);
        return -ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < pout->count; i++) {
        if (prunable(&pout->entries[i]))
            continue;
        if (bmp__pout_entry_copy(&out->entries[k++], &pout->entries[i]) < 0 ||
            (names && json_array_append(names, json_array_get(in_names, i)))) {
            bmp_pout_free(out);
            json_decref(names);
            return -ENOMEM;
        }
    }
    *pruned = out;
    if (pruned_names)
        *pruned_names = names;
    return 0;
}

int bmp_pout_stats(const bmp_pout *pout, size_t i, bmp_item_stats *out)
{
    if (!out || i >= bmp_pout_count(pout) ||
        out->version > BMP_ITEM_STATS_VERSION)
        return BMP_EINVAL;
    /* Version 1 is every field below; a later version fills its own
     * additions only when the caller's version asks for them. */
    const bmp__stats *s = &pout->entries[i].r.stats;
    out->attempts = s->attempts;
    out->wall_s = s->wall_s;
    out->cpu_s = s->cpu_s;
    out->peak_rss = s->peak_rss;
    out->start_rss = s->start_rss;
    out->estimate = s->estimate;
    out->over_estimate = s->over_estimate != 0;
    if (out->version >= 2) {
        out->rank = s->host ? s->rank : -1;
        out->host = s->host;
    }
    if (out->version >= 3) {
        out->start = s->start;
        out->worker = s->worker;
        out->budget = s->budget;
    }
    return 0;
}

int bmp_pout_summary(const bmp_pout *pout, bmp_run_summary *out)
{
    if (!pout || !out || out->version > BMP_RUN_SUMMARY_VERSION)
        return BMP_EINVAL;
    unsigned version = out->version;
    memset(out, 0, sizeof *out);
    out->version = version;
    out->count = pout->count;
    out->peak_rss_max = -1;
    size_t worst = SIZE_MAX;
    double worst_ratio = 0;
    for (size_t i = 0; i < pout->count; i++) {
        const bmp__result *r = &pout->entries[i].r;
        const bmp__stats *s = &r->stats;
        size_t st = (size_t)r->status;
        if (st < sizeof out->by_status / sizeof *out->by_status)
            out->by_status[st]++;
        out->failures += bmp__status_is_failure(r->status);
        out->retried += s->attempts > 1;
        out->estimated += s->estimate >= 0;
        out->wall_s += s->wall_s;
        out->cpu_s += s->cpu_s;
        if (s->peak_rss > out->peak_rss_max) {
            out->peak_rss_max = s->peak_rss;
            out->peak_rss_index = i;
        }
        if (!s->over_estimate)
            continue;
        out->over_estimate++;
        int64_t used = s->peak_rss - (s->start_rss > 0 ? s->start_rss : 0);
        double ratio = (double)used /
                       (double)(s->estimate > 0 ? s->estimate : 1);
        if (worst == SIZE_MAX || ratio > worst_ratio) {
            worst = i;
            worst_ratio = ratio;
        }
    }
    if (worst != SIZE_MAX) {
        const bmp__stats *s = &pout->entries[worst].r.stats;
        int64_t used = s->peak_rss - (s->start_rss > 0 ? s->start_rss : 0);
        snprintf(out->warning, sizeof out->warning,
                 "%zu of %zu items used more memory than estimated (the "
                 "most: entry %zu, %.1f MiB against %.1f MiB); raise "
                 "process_size or process_expand_factor, or set adaptive",
                 out->over_estimate, out->count, worst, used / BMP__MIB_F,
                 (double)s->estimate / BMP__MIB_F);
    }
    return 0;
}
