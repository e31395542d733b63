/*
 * error.c -- error codes, their names and texts, and the bmp_error record.
 *
 * One table (BMP_ERROR_MAP in the public header) generates the enum, the
 * names and the texts, so they cannot drift apart.  System failures pass
 * through as -errno and are described by strerror_r.
 */
#include "bigmultipipe.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *bmp_strerror(int code)
{
    static _Thread_local char unknown[128];
    switch (code) {
    case 0: return "success";
#define BMP__ERR_TEXT(name, value, text) \
    case BMP_##name: return text;
        BMP_ERROR_MAP(BMP__ERR_TEXT)
#undef BMP__ERR_TEXT
    default: break;
    }
    if (code < 0 && code > -4096) {
        /* GNU strerror_r may return a static string instead of filling. */
        return strerror_r(-code, unknown, sizeof unknown);
    }
    snprintf(unknown, sizeof unknown, "unknown error %d", code);
    return unknown;
}

const char *bmp_err_name(int code)
{
    switch (code) {
    case 0: return "OK";
#define BMP__ERR_NAME(name, value, text) \
    case BMP_##name: return "BMP_" #name;
        BMP_ERROR_MAP(BMP__ERR_NAME)
#undef BMP__ERR_NAME
    default: break;
    }
    if (code < 0 && code > -4096) {
        const char *name = strerrorname_np(-code);
        if (name)
            return name;
    }
    return "UNKNOWN";
}

int bmp_error_set(bmp_error *err, int code, const char *stage,
                  const char *source, const char *fmt, ...)
{
    if (code >= 0)
        code = BMP_EINVAL;
    if (!err || err->code != 0)
        return code;
    err->code = code;
    snprintf(err->stage, sizeof err->stage, "%s", stage ? stage : "");
    snprintf(err->source, sizeof err->source, "%s", source ? source : "");
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->text, sizeof err->text, fmt, ap);
        va_end(ap);
    } else {
        snprintf(err->text, sizeof err->text, "%s", bmp_strerror(code));
    }
    return code;
}
