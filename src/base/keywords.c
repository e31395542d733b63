/*
 * keywords.c -- the control stream: typed access to a JSON object of
 * keywords, and the merge that layers construction < run < pre-process.
 *
 * JSON null means "not given", as Python's None, so that a run can unset
 * a construction keyword by passing null.
 */
#include "keywords_internal.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

const char *const bmp__library_keywords[] = {
    /* how many workers, memory */
    "num_processes", "mem_available", "mem_frac", "process_size",
    "error_if_zero", "process_expand_factor", "order", "adaptive", "enforce",
    "mem_low", "suspend",
    /* where and how items run */
    "executor", "timeout", "retries", "worker_max_items", "shard",
    /* output names, writing */
    "outdir", "outname_append", "outname", "create_outdir", "overwrite",
    "fsync",
    /* safety */
    "journal", "resume", "force_resume", "pipeline_id", "check_outnames",
    "handle_signals", "unknown_keywords",
    /* metadata, cached runs, the report page */
    "no_bmp_cleanup", "read_pout", "write_pout", "report",
    /* file formats */
    "npy_mmap", "npy_native", "fits_hdu", "fits_checksum", "fits_compress",
    NULL};

int bmp__is_library_keyword(const char *key)
{
    for (size_t i = 0; bmp__library_keywords[i]; i++)
        if (strcmp(bmp__library_keywords[i], key) == 0)
            return 1;
    return 0;
}

static _Thread_local bmp__kw_tracker *tracker;

static int compare_keys(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Marks `key` in this thread's tracker and in the trackers it hides: a
 * step of an outer run that runs a nested pipeline may hand it the
 * outer run's keywords, and their reads count for both runs. */
static void mark_read(const char *key)
{
    for (bmp__kw_tracker *t = tracker; t; t = t->outer) {
        if (t->count == 0)
            continue;
        char **hit = bsearch(&key, t->keys, t->count, sizeof *t->keys,
                             compare_keys);
        /* Relaxed: only "set" matters, read after the workers are gone. */
        if (hit)
            __atomic_store_n(&t->read[hit - t->keys], 1, __ATOMIC_RELAXED);
    }
}

static json_t *given(const json_t *kw, const char *key)
{
    if (!json_is_object(kw) || !key)
        return NULL;
    mark_read(key);
    json_t *v = json_object_get(kw, key);
    return json_is_null(v) ? NULL : v;
}

int bmp_kw_has(const json_t *kw, const char *key)
{
    return given(kw, key) != NULL;
}

int bmp__value_real(const json_t *v, double *out)
{
    if (!v)
        return 0;
    if (!json_is_number(v))
        return BMP_EKWTYPE;
    *out = json_number_value(v);
    return 1;
}

int bmp_kw_get_real(const json_t *kw, const char *key, double *out)
{
    return bmp__value_real(given(kw, key), out);
}

int bmp__value_int(const json_t *v, long long *out)
{
    if (!v)
        return 0;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 1;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != floor(d) || !(fabs(d) < 9.2e18))
            return BMP_EKWTYPE;
        *out = (long long)d;
        return 1;
    }
    return BMP_EKWTYPE;
}

int bmp_kw_get_int(const json_t *kw, const char *key, long long *out)
{
    return bmp__value_int(given(kw, key), out);
}

int bmp_kw_get_bool(const json_t *kw, const char *key, int *out)
{
    json_t *v = given(kw, key);
    if (!v)
        return 0;
    if (json_is_boolean(v))
        *out = json_is_true(v);
    else if (json_is_number(v))
        *out = json_number_value(v) != 0;
    else
        return BMP_EKWTYPE;
    return 1;
}

int bmp_kw_get_str(const json_t *kw, const char *key, const char **out)
{
    json_t *v = given(kw, key);
    if (!v)
        return 0;
    if (!json_is_string(v))
        return BMP_EKWTYPE;
    *out = json_string_value(v);
    return 1;
}

double bmp_kw_real(const json_t *kw, const char *key, double dflt)
{
    double v;
    return bmp_kw_get_real(kw, key, &v) == 1 ? v : dflt;
}

long long bmp_kw_int(const json_t *kw, const char *key, long long dflt)
{
    long long v;
    return bmp_kw_get_int(kw, key, &v) == 1 ? v : dflt;
}

int bmp_kw_bool(const json_t *kw, const char *key, int dflt)
{
    int v;
    return bmp_kw_get_bool(kw, key, &v) == 1 ? v : dflt;
}

const char *bmp_kw_str(const json_t *kw, const char *key, const char *dflt)
{
    const char *v;
    return bmp_kw_get_str(kw, key, &v) == 1 ? v : dflt;
}

/* Stores a new value, stealing it; -ENOMEM when it could not be made. */
static int set_new(json_t *kw, const char *key, json_t *value)
{
    if (!json_is_object(kw) || !key) {
        json_decref(value);
        return BMP_EINVAL;
    }
    if (!value)
        return -ENOMEM;
    return json_object_set_new(kw, key, value) == 0 ? 0 : -ENOMEM;
}

int bmp_kw_set_real(json_t *kw, const char *key, double value)
{
    /* JSON has no NaN or infinity: jansson refuses them, which is not a
     * lack of memory. */
    if (!isfinite(value))
        return BMP_EINVAL;
    return set_new(kw, key, json_real(value));
}

int bmp_kw_set_int(json_t *kw, const char *key, long long value)
{
    return set_new(kw, key, json_integer(value));
}

int bmp_kw_set_bool(json_t *kw, const char *key, int value)
{
    return set_new(kw, key, json_boolean(value));
}

int bmp_kw_set_str(json_t *kw, const char *key, const char *value)
{
    if (!value)
        return set_new(kw, key, json_null());
    return set_new(kw, key, json_string_nocheck(value));
}

json_t *bmp_kw_merge(const json_t *base, const json_t *over)
{
    json_t *merged = json_is_object(base) ? json_deep_copy(base)
                                          : json_object();
    if (!merged)
        return NULL;
    if (json_is_object(over)) {
        const char *key;
        json_t *value;
        /* The cast is safe: jansson's iteration does not modify `over`. */
        json_object_foreach((json_t *)over, key, value)
        {
            json_t *copy = json_deep_copy(value);
            if (!copy || json_object_set_new(merged, key, copy) != 0) {
                json_decref(merged);
                return NULL;
            }
        }
    }
    return merged;
}

/* Digits only: no sign, no spaces, no base prefix, so that "1/ 2",
 * "-0/2" or "0x1/2" are refused instead of read as something else. */
static int shard_number(const char *s, size_t len, size_t *out)
{
    if (len == 0)
        return -1;
    size_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        size_t d = (size_t)(s[i] - '0');
        if (v > (SIZE_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int bmp_shard_parse(const char *text, size_t *index, size_t *count)
{
    if (!text)
        return BMP_EINVAL;
    const char *slash = strchr(text, '/');
    size_t i, n;
    if (!slash || shard_number(text, (size_t)(slash - text), &i) < 0 ||
        shard_number(slash + 1, strlen(slash + 1), &n) < 0 || n < 1 || i >= n)
        return BMP_EINVAL;
    if (index)
        *index = i;
    if (count)
        *count = n;
    return 0;
}

/* ---- keywords nobody reads --------------------------------------------- */

int bmp__kw_track_begin(bmp__kw_tracker *t, const json_t *kw)
{
    *t = (bmp__kw_tracker){.outer = tracker};
    size_t n = json_object_size(kw);
    if (n == 0) {
        tracker = t;
        return 0;
    }
    t->keys = calloc(n, sizeof *t->keys);
    /* Shared, so that the workers' marks reach the caller. */
    t->map_size = n;
    void *map = mmap(NULL, n, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    t->read = map == MAP_FAILED ? NULL : map;
    if (!t->keys || !t->read)
        goto oom;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)kw, key, value)
    {
        (void)value;
        if (!(t->keys[t->count] = strdup(key)))
            goto oom;
        t->count++;
    }
    qsort(t->keys, t->count, sizeof *t->keys, compare_keys);
    tracker = t;
    return 0;
oom:
    t->outer = NULL;
    bmp__kw_track_end(t);
    return -ENOMEM;
}

void bmp__kw_track_end(bmp__kw_tracker *t)
{
    if (tracker == t)
        tracker = t->outer;
    for (size_t i = 0; i < t->count; i++)
        free(t->keys[i]);
    free(t->keys);
    if (t->read)
        munmap(t->read, t->map_size);
    *t = (bmp__kw_tracker){0};
}

/* Edit distance (insertions, deletions, substitutions, and swaps of two
 * neighbours: the usual typos), for names of at most 63 bytes. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return (size_t)-1;
    size_t d[64][64];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
                a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

/* The known keyword nearest to `key`: the library's, and the run's keys
 * that were read.  NULL when none is known. */
static const char *nearest(const bmp__kw_tracker *t, const char *key)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; bmp__library_keywords[i]; i++) {
        size_t d = distance(key, bmp__library_keywords[i]);
        if (d < best_d) {
            best_d = d;
            best = bmp__library_keywords[i];
        }
    }
    for (size_t i = 0; i < t->count; i++) {
        if (!t->read[i])
            continue;
        size_t d = distance(key, t->keys[i]);
        if (d < best_d) {
            best_d = d;
            best = t->keys[i];
        }
    }
    return best;
}

size_t bmp__kw_unread(const bmp__kw_tracker *t, char *out, size_t size)
{
    size_t n = 0, at = 0;
    if (size)
        out[0] = '\0';
    for (size_t i = 0; i < t->count; i++) {
        if (t->read[i] || bmp__is_library_keyword(t->keys[i]))
            continue;
        const char *near = nearest(t, t->keys[i]);
        if (at < size) {
            int len = near ? snprintf(out + at, size - at,
                                      "%s%s (did you mean %s?)", n ? ", " : "",
                                      t->keys[i], near)
                           : snprintf(out + at, size - at, "%s%s",
                                      n ? ", " : "", t->keys[i]);
            at += len > 0 ? (size_t)len : 0;
        }
        n++;
    }
    return n;
}
