/*
 * pout_merge.c -- bmp_pout_merge(): one pout from the pouts of a run's
 * shards.  Everything is checked before anything is copied, so that a
 * refusal names the first difference and costs no allocation.
 */
#include "pout_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A name for messages: a file name as the pout writes it (its bytes kept
 * as escapes), or "a group" with its position. */
static void merge_name(const json_t *in_name, size_t i, char *buf, size_t size)
{
    char *text = NULL;
    size_t len = 0, cap = 0;
    if (json_is_string(in_name) &&
        bmp__json_name_append(&text, &len, &cap, json_string_value(in_name)) ==
            0)
        snprintf(buf, size, "item %zu (%s)", i, text);
    else
        snprintf(buf, size, "item %zu (a group)", i);
    free(text);
}

static int same_text(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Two finished entries of one item say the same when status, output,
 * error and meta agree; their measurements may differ (a shard run
 * twice, or resumed), and are not compared.  1 when they agree, 0 when
 * not, -ENOMEM when a meta kept as text cannot be parsed for want of
 * memory. */
static int same_outcome(bmp__pout_entry *a, bmp__pout_entry *b)
{
    if (a->r.status != b->r.status || !same_text(a->r.outname, b->r.outname) ||
        !same_text(a->r.error, b->r.error))
        return 0;
    json_t *ma = bmp__result_meta(&a->r), *mb = bmp__result_meta(&b->r);
    if ((!ma && a->r.meta_text) || (!mb && b->r.meta_text))
        return -ENOMEM;
    return ma && mb ? json_equal(ma, mb) != 0 : ma == mb;
}

int bmp_pout_merge(const bmp_pout *const *pouts, size_t n, bmp_pout **out,
                   size_t *missing, bmp_error *err)
{
    if (out)
        *out = NULL;
    if (missing)
        *missing = 0;
    if (!pouts || n == 0 || !out)
        return bmp_error_set(err, BMP_EINVAL, "merge", NULL,
                             "bmp_pout_merge needs one pout or more and a "
                             "place for the result");
    for (size_t k = 0; k < n; k++)
        if (!pouts[k])
            return bmp_error_set(err, BMP_EINVAL, "merge", NULL,
                                 "pout %zu is NULL", k);
    size_t count = pouts[0]->count;
    for (size_t k = 1; k < n; k++)
        if (pouts[k]->count != count)
            return bmp_error_set(err, BMP_EINVAL, "merge", NULL,
                                 "pout %zu has %zu items and pout 0 has %zu: "
                                 "not shards of one run",
                                 k, pouts[k]->count, count);
    char name[600];
    int same;
    /* Every check before anything is copied: a refusal costs nothing. */
    for (size_t i = 0; i < count; i++) {
        const json_t *in0 = pouts[0]->entries[i].in_name;
        bmp__pout_entry *first = NULL;
        size_t first_k = 0;
        for (size_t k = 0; k < n; k++) {
            bmp__pout_entry *e = &pouts[k]->entries[i];
            if (!json_equal(e->in_name, (json_t *)in0)) {
                merge_name(in0, i, name, sizeof name);
                return bmp_error_set(err, BMP_EINVAL, "merge", NULL,
                                     "pout %zu differs from pout 0 at %s: "
                                     "not shards of one run",
                                     k, name);
            }
            if (e->r.status == BMP_ITEM_NOT_RUN)
                continue;
            if (!first) {
                first = e;
                first_k = k;
            } else if ((same = same_outcome(first, e)) <= 0) {
                if (same < 0)
                    return bmp_error_set(err, -ENOMEM, "merge", NULL,
                                         "out of memory");
                merge_name(in0, i, name, sizeof name);
                return bmp_error_set(err, BMP_EINVAL, "merge", NULL,
                                     "%s finished in pouts %zu and %zu with "
                                     "different results (%s, %s)",
                                     name, first_k, k,
                                     bmp_status_name(first->r.status),
                                     bmp_status_name(e->r.status));
            }
        }
    }
    bmp_pout *merged = bmp__pout_new(count);
    if (!merged)
        return bmp_error_set(err, -ENOMEM, "merge", NULL, "out of memory");
    size_t none = 0;
    for (size_t i = 0; i < count; i++) {
        /* The finished entry; else, for an item finished nowhere, an
         * entry whose error names its shard ("item of shard K/N", as
         * every other shard's pout says), else pout 0's (its own shard's,
         * cut short: not_run with error NULL, as nothing says N). */
        const bmp__pout_entry *pick = NULL, *named = NULL;
        for (size_t k = 0; k < n && !pick; k++) {
            const bmp__pout_entry *e = &pouts[k]->entries[i];
            if (e->r.status != BMP_ITEM_NOT_RUN)
                pick = e;
            else if (!named && e->r.error &&
                     strncmp(e->r.error, "item of shard ", 14) == 0)
                named = e;
        }
        if (!pick) {
            none++;
            pick = named ? named : &pouts[0]->entries[i];
        }
        /* The new pout's entries start empty (no meta, no strings). */
        bmp__result_clear(&merged->entries[i].r);
        if (bmp__pout_entry_copy(&merged->entries[i], pick) < 0) {
            bmp_pout_free(merged);
            return bmp_error_set(err, -ENOMEM, "merge", NULL, "out of memory");
        }
    }
    *out = merged;
    if (missing)
        *missing = none;
    return 0;
}
