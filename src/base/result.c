/*
 * result.c -- see result.h.
 */
#include "result.h"

#include "json_syntax.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *bmp__install_once(json_t **slot, json_t *made)
{
    json_t *there = NULL;
    if (__atomic_compare_exchange_n(slot, &there, made, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return made;
    json_decref(made);
    return there;
}

void bmp__result_clear(bmp__result *r)
{
    free(r->outname);
    free(r->error);
    json_decref(r->meta);
    free(r->meta_text);
    free(r->stats.host);
    memset(r, 0, sizeof *r);
    bmp__stats_init(&r->stats);
}

void bmp__result_fail(bmp__result *r, bmp_status status, int code,
                      const char *fmt, ...)
{
    r->status = status;
    r->code = code < 0 ? code : BMP_ESTEP;
    free(r->outname);
    r->outname = NULL;
    free(r->error);
    r->error = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&r->error, fmt, ap) < 0)
        r->error = NULL;
    va_end(ap);
    if (!r->meta && !r->meta_text)
        r->meta = json_object();
}

json_t *bmp__result_meta(bmp__result *r)
{
    json_t *meta = bmp__result_meta_made(r);
    if (meta || !r->meta_text)
        return meta;
    json_error_t why;
    json_t *parsed = json_loads(r->meta_text, JSON_ALLOW_NUL, &why);
    if (!parsed && json_error_code(&why) == json_error_out_of_memory)
        return NULL; /* nothing installed: a later call may succeed */
    if (!json_is_object(parsed)) {
        /* The text passed the syntax check on arrival (json_syntax.h),
         * so this is not expected: an error object, not a crash. */
        json_decref(parsed);
        parsed = json_pack("{s:s, s:s}", "bmp_error",
                           "the meta the worker sent cannot be read", "reason",
                           why.text);
        if (!parsed)
            return NULL;
    }
    return bmp__install_once(&r->meta, parsed);
}

const char *bmp__result_check(const bmp__result *r)
{
    if ((unsigned)r->status >= BMP_ITEM_NOT_RUN)
        return "the status is not one of a finished item (ok, no_output, "
               "failed, crashed, timed_out)";
    if (r->status == BMP_ITEM_OK && (!r->outname || !*r->outname))
        return "an ok item needs its output name";
    if (r->status != BMP_ITEM_OK && r->outname)
        return "only an ok item has an output name";
    if (r->meta_text &&
        !bmp__json_is_object_text(r->meta_text, strlen(r->meta_text)))
        return "the meta is not the text of one JSON object on one line";
    return NULL;
}
