/*
 * meta.c -- helpers for the metadata stream: bmp_cleanup registers large
 * values for removal before the meta travels back to the caller, and
 * bmp_multi_logging collects messages per level.
 */
#include "meta_internal.h"
#include "utf8.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bmp_cleanup(json_t *meta, const char *const keys[])
{
    if (!json_is_object(meta))
        return BMP_EINVAL;
    json_t *list = json_object_get(meta, BMP__CLEANUP_KEY);
    if (!list) {
        list = json_array();
        if (!list || json_object_set_new(meta, BMP__CLEANUP_KEY, list))
            return -ENOMEM;
    } else if (!json_is_array(list)) {
        return BMP_EINVAL;
    }
    for (size_t i = 0; keys && keys[i]; i++) {
        if (json_array_append_new(list, json_string(keys[i])))
            return -ENOMEM;
    }
    return 0;
}

void bmp__meta_apply_cleanup(json_t *meta)
{
    json_t *list = json_object_get(meta, BMP__CLEANUP_KEY);
    if (!list)
        return;
    /* Hold the list: it may name itself, and deleting that key must not
     * free it while it is walked. */
    json_incref(list);
    size_t i;
    json_t *key;
    json_array_foreach(list, i, key)
    {
        if (json_is_string(key))
            json_object_del(meta, json_string_value(key));
    }
    json_object_del(meta, BMP__CLEANUP_KEY);
    json_decref(list);
}

int bmp_multi_logging(json_t *meta, const char *level, const char *fmt, ...)
{
    if (!json_is_object(meta) || !level || !fmt)
        return BMP_EINVAL;
    json_t *list = json_object_get(meta, level);
    if (!list) {
        list = json_array();
        if (!list || json_object_set_new(meta, level, list))
            return -ENOMEM;
    } else if (!json_is_array(list)) {
        return BMP_EINVAL;
    }
    char *message = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&message, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -ENOMEM;
    /* Messages often quote file names, which need not be UTF-8. */
    char *text = bmp__utf8_sanitize(message);
    free(message);
    if (!text)
        return -ENOMEM;
    int rc = json_array_append_new(list, json_string(text));
    free(text);
    return rc ? -ENOMEM : 0;
}
