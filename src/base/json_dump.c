/*
 * json_dump.c -- a JSON value as compact text, its reals as short as
 * they read back (json_dump.h says why).
 */
#include "json_dump.h"
#include "text_buf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fewest digits of 15, 16 and 17 that read back to v, with ".0"
 * when the text would read as an integer (jansson's rule, so that the
 * value stays a real).  @return the length. */
static int real_text(double v, char *text, size_t size)
{
    int n = 0;
    for (int digits = 15; digits <= 17; digits++) {
        n = snprintf(text, size, "%.*g", digits, v);
        if (strtod(text, NULL) == v)
            break;
    }
    if (!strpbrk(text, ".eEn") && (size_t)n + 2 < size) {
        memcpy(text + n, ".0", 3);
        n += 2;
    }
    return n;
}

/* Deeper than jansson reads (2048): a tree that holds itself, which
 * jansson's dump refuses, ends here too. */
#define MAX_DEPTH 2048

static int dump(const json_t *v, json_dump_callback_t emit, void *data,
                int depth)
{
    if (depth > MAX_DEPTH)
        return -1;
    if (json_is_real(v)) {
        char text[40];
        double x = json_real_value(v);
        if (!isfinite(x))
            return -1; /* jansson refuses them too */
        int n = real_text(x, text, sizeof text);
        return emit(text, (size_t)n, data);
    }
    if (json_is_array(v)) {
        if (emit("[", 1, data))
            return -1;
        for (size_t i = 0; i < json_array_size(v); i++)
            if ((i && emit(",", 1, data)) ||
                dump(json_array_get(v, i), emit, data, depth + 1))
                return -1;
        return emit("]", 1, data);
    }
    if (json_is_object(v)) {
        if (emit("{", 1, data))
            return -1;
        const char *key;
        json_t *value;
        int first = 1;
        /* jansson's iteration keeps the order the keys were set in. */
        json_object_foreach((json_t *)v, key, value)
        {
            json_t *k = json_stringn(key, strlen(key));
            int rc = !k || (!first && emit(",", 1, data)) ||
                     json_dump_callback(k, emit, data, JSON_ENCODE_ANY) ||
                     emit(":", 1, data) || dump(value, emit, data, depth + 1);
            json_decref(k);
            if (rc)
                return -1;
            first = 0;
        }
        return emit("}", 1, data);
    }
    return json_dump_callback(v, emit, data, JSON_COMPACT | JSON_ENCODE_ANY);
}

int bmp__json_dump_short(const json_t *v, json_dump_callback_t emit,
                         void *data)
{
    return dump(v, emit, data, 0);
}

/* json_dump_callback_t over a text buffer. */
static int append(const char *text, size_t size, void *data)
{
    return bmp__text_buf_append(data, text, size) == 0 ? 0 : -1;
}

char *bmp__json_dumps_short(const json_t *v)
{
    bmp__text_buf b = {0};
    if (bmp__json_dump_short(v, append, &b) < 0 ||
        (!b.s && append("", 0, &b))) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
