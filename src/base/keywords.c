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
#include <string.h>

static json_t *given(const json_t *kw, const char *key)
{
    if (!json_is_object(kw) || !key)
        return NULL;
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
