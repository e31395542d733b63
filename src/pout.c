/*
 * pout.c -- the results of a run: one entry per item, in input order, and
 * Python's prune_pout.  The file format is in pout_json.c.
 */
#include "pout_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {
    [BMP_ITEM_OK] = "ok",           [BMP_ITEM_NO_OUTPUT] = "no_output",
    [BMP_ITEM_FAILED] = "failed",   [BMP_ITEM_CRASHED] = "crashed",
    [BMP_ITEM_TIMED_OUT] = "timed_out", [BMP_ITEM_NOT_RUN] = "not_run",
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
        pout->entries[i].r.stats.peak_rss = -1;
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
    return i < bmp_pout_count(pout) ? pout->entries[i].r.meta : NULL;
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
    return e->r.status == BMP_ITEM_NO_OUTPUT && !e->r.outname &&
           (!e->r.meta || json_object_size(e->r.meta) == 0);
}

static int copy_entry(bmp__pout_entry *dst, const bmp__pout_entry *src)
{
    dst->in_name = json_incref((json_t *)src->in_name);
    dst->r = src->r;
    dst->r.outname = src->r.outname ? strdup(src->r.outname) : NULL;
    dst->r.error = src->r.error ? strdup(src->r.error) : NULL;
    dst->r.meta = src->r.meta ? json_deep_copy(src->r.meta) : json_object();
    if ((src->r.outname && !dst->r.outname) ||
        (src->r.error && !dst->r.error) || !dst->r.meta)
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
        if (copy_entry(&out->entries[k++], &pout->entries[i]) < 0 ||
            (names && json_array_append(names,
                                        json_array_get(in_names, i)))) {
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
