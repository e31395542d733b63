/*
 * pout_json.c -- the pout file format: JSON Lines, one entry a line, in
 * input order (doc/pout-format.md).  The same lines serve the cached pout,
 * the command's output and the journal, so every tool reads one format.
 *
 * File names are bytes.  jansson only writes valid UTF-8, so names are
 * encoded here: bytes that are not UTF-8 become "\udcXX", Python's
 * surrogateescape convention, which Python's json module reads and
 * os.fsencode() turns back into the exact bytes.  jansson cannot parse
 * lone surrogates, so the reader first maps "\udcXX" to the private-use
 * code point U+F7XX and maps those back to bytes inside names and error
 * texts only.  The writer, for its part, gives U+F780..U+F7FF in a name
 * as escaped bytes, so that no name holds them as characters.
 */
#include "pout_internal.h"

#include "atomic_file.h"
#include "json_dump.h"
#include "utf8.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends a string literal; used where `buf`, `len` and `cap` are the
 * line being built. */
#define LIT(text) bmp__text_append(buf, len, cap, text, sizeof text - 1)

int bmp__json_name_append(char **buf, size_t *len, size_t *cap,
                          const char *name)
{
    const unsigned char *s = (const unsigned char *)name;
    if (bmp__text_append(buf, len, cap, "\"", 1))
        return -ENOMEM;
    while (*s) {
        /* Printable ASCII needs no escape: copied a run at a time. */
        const unsigned char *plain = s;
        while (*s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\')
            s++;
        if (s > plain && bmp__text_append(buf, len, cap, (const char *)plain,
                                          (size_t)(s - plain)))
            return -ENOMEM;
        if (!*s)
            break;
        char esc[8];
        size_t n = bmp__utf8_len(s);
        int rc;
        /* U+F780..U+F7FF stand for single bytes inside the reader (see
         * alias_surrogates): written as such, they would come back as
         * bytes, so their own bytes are written as escapes. */
        if (n == 3 && s[0] == 0xef && (s[1] == 0x9e || s[1] == 0x9f))
            n = 0;
        if (n == 0) {
            snprintf(esc, sizeof esc, "\\udc%02x", *s);
            rc = bmp__text_append(buf, len, cap, esc, 6);
            n = 1;
        } else if (*s == '"' || *s == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*s;
            rc = bmp__text_append(buf, len, cap, esc, 2);
        } else if (*s < 0x20) {
            /* The short escapes Python's json module writes too. */
            char c = 0;
            switch (*s) {
            case '\b': c = 'b'; break;
            case '\f': c = 'f'; break;
            case '\n': c = 'n'; break;
            case '\r': c = 'r'; break;
            case '\t': c = 't'; break;
            default: break;
            }
            if (c) {
                esc[0] = '\\';
                esc[1] = c;
                rc = bmp__text_append(buf, len, cap, esc, 2);
            } else {
                snprintf(esc, sizeof esc, "\\u%04x", *s);
                rc = bmp__text_append(buf, len, cap, esc, 6);
            }
        } else {
            rc = bmp__text_append(buf, len, cap, (const char *)s, n);
        }
        if (rc)
            return -ENOMEM;
        s += n;
    }
    return bmp__text_append(buf, len, cap, "\"", 1);
}

static int name_tree_append(char **buf, size_t *len, size_t *cap,
                            const json_t *name)
{
    if (json_is_string(name))
        return bmp__json_name_append(buf, len, cap, json_string_value(name));
    if (!json_is_array(name))
        return bmp__text_append(buf, len, cap, "null", 4);
    if (bmp__text_append(buf, len, cap, "[", 1))
        return -ENOMEM;
    for (size_t i = 0; i < json_array_size(name); i++) {
        if ((i && bmp__text_append(buf, len, cap, ", ", 2)) ||
            name_tree_append(buf, len, cap, json_array_get(name, i)))
            return -ENOMEM;
    }
    return bmp__text_append(buf, len, cap, "]", 1);
}

/* The stats object as a JSON value, for bmp_pout_entry_json(). */
static json_t *stats_json(const bmp__stats *s)
{
    json_t *o = json_pack("{s:f, s:f, s:I, s:i, s:I, s:I, s:b}", "wall_s",
                          s->wall_s, "cpu_s", s->cpu_s, "peak_rss",
                          (json_int_t)s->peak_rss, "attempts", s->attempts,
                          "start_rss", (json_int_t)s->start_rss, "estimate",
                          (json_int_t)s->estimate, "over_estimate",
                          s->over_estimate != 0);
    /* For the report page, each only when known. */
    if (o &&
        ((s->start > 0 &&
          json_object_set_new(o, "start", json_real(s->start)) < 0) ||
         (s->worker >= 0 &&
          json_object_set_new(o, "worker", json_integer(s->worker)) < 0) ||
         (s->budget >= 0 &&
          json_object_set_new(o, "budget", json_integer(s->budget)) < 0))) {
        json_decref(o);
        return NULL;
    }
    /* Where it ran, only when not here: a one-machine pout is as it was. */
    if (o && s->host &&
        (json_object_set_new(o, "rank", json_integer(s->rank)) < 0 ||
         json_object_set_new(o, "host", json_string(s->host)) < 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* A decimal integer, written without printf: a pout line has five. */
static int append_int(char **buf, size_t *len, size_t *cap, long long v)
{
    char digits[24];
    char *at = digits + sizeof digits;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                                 : (unsigned long long)v;
    do {
        *--at = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--at = '-';
    return bmp__text_append(buf, len, cap, at,
                            (size_t)(digits + sizeof digits - at));
}

/* Seconds as a JSON real to the nanosecond, which is what the clocks
 * give: "0.000123456", "12.5", "3.0".  Integer arithmetic, because glibc's
 * "%.17g" takes a multi-precision path that cost more than the rest of
 * the line.  A float in Python, as the ".0" keeps it. */
static int append_seconds(char **buf, size_t *len, size_t *cap, double v)
{
    if (!isfinite(v) || v < 0 || v >= 9e9) {
        char text[40];
        int n = snprintf(text, sizeof text, "%.17g", isfinite(v) ? v : 0.0);
        return bmp__text_append(buf, len, cap, text, (size_t)n);
    }
    long long ns = llround(v * 1e9);
    long long whole = ns / 1000000000, frac = ns % 1000000000;
    if (frac == 0)
        return append_int(buf, len, cap, whole) ||
               bmp__text_append(buf, len, cap, ".0", 2);
    int digits = 9;
    while (frac % 10 == 0) {
        frac /= 10;
        digits--;
    }
    char text[9];
    for (int i = digits - 1; i >= 0; i--, frac /= 10)
        text[i] = (char)('0' + frac % 10);
    return append_int(buf, len, cap, whole) ||
           bmp__text_append(buf, len, cap, ".", 1) ||
           bmp__text_append(buf, len, cap, text, (size_t)digits);
}

/* A time of day as seconds since the epoch, to the microsecond (the
 * nanoseconds of a double that large are noise): "1764878101.250031". */
static int append_epoch(char **buf, size_t *len, size_t *cap, double v)
{
    long long us = llround(v * 1e6);
    char frac[7];
    long long f = us % 1000000;
    for (int i = 5; i >= 0; i--, f /= 10)
        frac[i] = (char)('0' + f % 10);
    frac[6] = 0;
    return append_int(buf, len, cap, us / 1000000) ||
           bmp__text_append(buf, len, cap, ".", 1) ||
           bmp__text_append(buf, len, cap, frac, 6);
}

/* ,"start":T,"worker":W,"budget":B, each only when known: what the
 * report page draws (doc/report.md). */
static int append_timing(char **buf, size_t *len, size_t *cap,
                         const bmp__stats *s)
{
    return (s->start > 0 && s->start < 1e11 &&
            (LIT(",\"start\":") || append_epoch(buf, len, cap, s->start))) ||
           (s->worker >= 0 &&
            (LIT(",\"worker\":") || append_int(buf, len, cap, s->worker))) ||
           (s->budget >= 0 &&
            (LIT(",\"budget\":") || append_int(buf, len, cap, s->budget)));
}

/* ,"rank":R,"host":"H" for an item that ran on another rank. */
static int append_origin(char **buf, size_t *len, size_t *cap,
                         const bmp__stats *s)
{
    json_t *host = json_string(s->host);
    char *text = host ? json_dumps(host, JSON_ENCODE_ANY) : NULL;
    json_decref(host);
    int rc = !text || LIT(",\"rank\":") ||
             append_int(buf, len, cap, s->rank) || LIT(",\"host\":") ||
             bmp__text_append(buf, len, cap, text, strlen(text));
    free(text);
    return rc;
}

/* The stats object as text for a pout line, written directly instead of
 * building and dumping a JSON object per entry. */
static int append_stats(char **buf, size_t *len, size_t *cap,
                        const bmp__stats *s)
{
    return LIT("{\"wall_s\":") || append_seconds(buf, len, cap, s->wall_s) ||
           LIT(",\"cpu_s\":") || append_seconds(buf, len, cap, s->cpu_s) ||
           LIT(",\"peak_rss\":") || append_int(buf, len, cap, s->peak_rss) ||
           LIT(",\"attempts\":") || append_int(buf, len, cap, s->attempts) ||
           LIT(",\"start_rss\":") || append_int(buf, len, cap, s->start_rss) ||
           LIT(",\"estimate\":") || append_int(buf, len, cap, s->estimate) ||
           LIT(",\"over_estimate\":") ||
           (s->over_estimate ? LIT("true") : LIT("false")) ||
           append_timing(buf, len, cap, s) ||
           (s->host && append_origin(buf, len, cap, s)) || LIT("}");
}

/* jansson's dump, straight into the line. */
typedef struct dump_target {
    char **buf;
    size_t *len, *cap;
} dump_target;

static int dump_into(const char *text, size_t size, void *data)
{
    dump_target *t = data;
    return bmp__text_append(t->buf, t->len, t->cap, text, size) ? -1 : 0;
}

int bmp__entry_append(char **buf, size_t *len, size_t *cap,
                      const json_t *in_name, const bmp__result *r, long index)
{
    int rc = 0;
    if (index >= 0) {
        rc = LIT("{\"index\": ") || append_int(buf, len, cap, index) ||
             LIT(", \"in_name\": ");
    } else {
        rc = LIT("{\"in_name\": ");
    }
    rc = rc || name_tree_append(buf, len, cap, in_name);
    rc = rc || LIT(", \"outname\": ");
    if (r->outname)
        rc = rc || bmp__json_name_append(buf, len, cap, r->outname);
    else
        rc = rc || LIT("null");
    rc = rc || LIT(", \"meta\": ");
    /* The object when someone made it (and may have changed it), else
     * the worker's text as it came. */
    const json_t *meta = bmp__result_meta_made(r);
    if (meta) {
        dump_target t = {buf, len, cap};
        rc = rc || bmp__json_dump_short(meta, dump_into, &t);
    } else if (r->meta_text) {
        rc = rc || bmp__text_append(buf, len, cap, r->meta_text,
                                    strlen(r->meta_text));
    } else {
        rc = rc || LIT("{}");
    }
    rc = rc || LIT(", \"status\": \"");
    const char *status = bmp_status_name(r->status);
    rc = rc || bmp__text_append(buf, len, cap, status, strlen(status));
    rc = rc || LIT("\", \"error\": ");
    if (r->error)
        rc = rc || bmp__json_name_append(buf, len, cap, r->error);
    else
        rc = rc || LIT("null");
    rc = rc || LIT(", \"stats\": ") || append_stats(buf, len, cap, &r->stats);
    rc = rc || LIT("}");
    return rc ? -ENOMEM : 0;
}

char *bmp__entry_line(const json_t *in_name, const bmp__result *r, long index)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    if (bmp__entry_append(&buf, &len, &cap, in_name, r, index) < 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

char *bmp__pout_entry_line(const bmp_pout *pout, size_t i)
{
    const bmp__pout_entry *e = &pout->entries[i];
    return bmp__entry_line(e->in_name, &e->r, -1);
}

json_t *bmp_pout_entry_json(const bmp_pout *pout, size_t i)
{
    if (i >= bmp_pout_count(pout))
        return NULL;
    const bmp__pout_entry *e = &pout->entries[i];
    /* meta as in the file: {} for an entry never filled. */
    json_t *meta = bmp__result_meta((bmp__result *)&e->r);
    if (!meta && e->r.meta_text)
        return NULL; /* out of memory parsing it */
    return json_pack("{s:O, s:o, s:o, s:s, s:o, s:o}", "in_name",
                     e->in_name ? e->in_name : json_null(), "outname",
                     e->r.outname ? json_string_nocheck(e->r.outname)
                                  : json_null(),
                     "meta", meta ? json_incref(meta) : json_object(),
                     "status", bmp_status_name(e->r.status), "error",
                     e->r.error ? json_string_nocheck(e->r.error)
                                : json_null(),
                     "stats", stats_json(&e->r.stats));
}

/* ---- reading ---------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Rewrites "\udcXX" (XX >= 80) as "\uf7XX" in place; same length.  A
 * low surrogate right after a high one is half of a pair, as Python's
 * json writes characters beyond U+FFFF (U+1F480 is "\ud83d\udc80"), not
 * a byte. */
static void alias_surrogates(char *s)
{
    int after_high = 0;
    for (char *p = s; *p;) {
        if (p[0] != '\\' || p[1] != 'u') {
            /* Step over a whole escape such as "\\", so that its second
             * character is not taken for the start of another. */
            p += p[0] == '\\' && p[1] ? 2 : 1;
            after_high = 0;
            continue;
        }
        unsigned cp = 0;
        int k;
        for (k = 0; k < 4; k++) {
            int v = hexval(p[2 + k]);
            if (v < 0)
                break;
            cp = cp << 4 | (unsigned)v;
        }
        if (k < 4) {
            p += 2;
            after_high = 0;
            continue;
        }
        if (!after_high && cp >= 0xdc80 && cp <= 0xdcff) {
            p[2] = 'f';
            p[3] = '7';
        }
        after_high = cp >= 0xd800 && cp <= 0xdbff;
        p += 6;
    }
}

/* Turns U+F780..U+F7FF (EF 9E 80 .. EF 9F BF) back into single bytes. */
static json_t *unalias_name(const json_t *v)
{
    if (json_is_array(v)) {
        json_t *out = json_array();
        for (size_t i = 0; out && i < json_array_size(v); i++) {
            if (json_array_append_new(out,
                                      unalias_name(json_array_get(v, i)))) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    if (!json_is_string(v))
        return json_incref((json_t *)v);
    const unsigned char *s = (const unsigned char *)json_string_value(v);
    size_t n = json_string_length(v);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        if (i + 2 < n && s[i] == 0xef &&
            (s[i + 1] == 0x9e || s[i + 1] == 0x9f) &&
            (s[i + 2] & 0xc0) == 0x80) {
            unsigned cp = ((s[i] & 0x0fu) << 12) | ((s[i + 1] & 0x3fu) << 6) |
                          (s[i + 2] & 0x3fu);
            if (cp >= 0xf780 && cp <= 0xf7ff) {
                out[k++] = (char)(cp - 0xf700);
                i += 3;
                continue;
            }
        }
        out[k++] = (char)s[i++];
    }
    out[k] = '\0';
    json_t *r = json_stringn_nocheck(out, k);
    free(out);
    return r;
}

/* A string of the file as a malloc'd C string, its byte aliases undone. */
static char *unalias_string(const json_t *v)
{
    json_t *o = unalias_name(v);
    char *s = o ? strdup(json_string_value(o)) : NULL;
    json_decref(o);
    return s;
}

static int status_from_name(const char *name, bmp_status *out)
{
    for (int i = BMP_ITEM_OK; i <= BMP_ITEM_NOT_RUN; i++) {
        if (strcmp(name, bmp_status_name((bmp_status)i)) == 0) {
            *out = (bmp_status)i;
            return 0;
        }
    }
    return -1;
}

int bmp__pout_entry_parse(const char *line, bmp__pout_entry *e,
                          const char **why)
{
    memset(e, 0, sizeof *e);
    bmp__stats_init(&e->r.stats);
    char *text = strdup(line);
    if (!text) {
        *why = "out of memory";
        return -ENOMEM;
    }
    alias_surrogates(text);
    json_error_t jerr;
    json_t *obj = json_loads(text, JSON_ALLOW_NUL, &jerr);
    free(text);
    *why = "not a JSON object";
    if (!json_is_object(obj))
        goto bad;
    json_t *in_name = json_object_get(obj, "in_name");
    json_t *outname = json_object_get(obj, "outname");
    json_t *meta = json_object_get(obj, "meta");
    json_t *status = json_object_get(obj, "status");
    json_t *error = json_object_get(obj, "error");
    *why = "missing or mistyped in_name, outname, meta or status";
    if (!in_name || !(json_is_null(outname) || json_is_string(outname)) ||
        !json_is_object(meta) || !json_is_string(status) ||
        (error && !json_is_null(error) && !json_is_string(error)))
        goto bad;
    *why = "unknown status";
    if (status_from_name(json_string_value(status), &e->r.status))
        goto bad;
    e->in_name = unalias_name(in_name);
    if (json_is_string(outname))
        e->r.outname = unalias_string(outname);
    if (json_is_string(error))
        e->r.error = unalias_string(error);
    e->r.meta = json_incref(meta);
    json_t *stats = json_object_get(obj, "stats");
    int has_host = 0;
    if (json_is_object(stats)) {
        e->r.stats.wall_s = bmp_kw_real(stats, "wall_s", 0);
        e->r.stats.cpu_s = bmp_kw_real(stats, "cpu_s", 0);
        e->r.stats.peak_rss = bmp_kw_int(stats, "peak_rss", -1);
        e->r.stats.attempts = (int)bmp_kw_int(stats, "attempts", 0);
        /* Files from before the scheduler have no estimate: unknown. */
        e->r.stats.start_rss = bmp_kw_int(stats, "start_rss", -1);
        e->r.stats.estimate = bmp_kw_int(stats, "estimate", -1);
        e->r.stats.over_estimate = bmp_kw_bool(stats, "over_estimate", 0);
        e->r.stats.start = bmp_kw_real(stats, "start", 0);
        if (!(e->r.stats.start > 0 && e->r.stats.start < 1e11))
            e->r.stats.start = 0;
        long long worker = bmp_kw_int(stats, "worker", -1);
        e->r.stats.worker = worker >= 0 && worker <= INT32_MAX ? (int)worker
                                                               : -1;
        e->r.stats.budget = bmp_kw_int(stats, "budget", -1);
        if (e->r.stats.budget < 0)
            e->r.stats.budget = -1;
        /* Where it ran: both keys, well typed, or neither is taken. */
        json_t *rank = json_object_get(stats, "rank");
        json_t *host = json_object_get(stats, "host");
        if (json_is_integer(rank) && json_integer_value(rank) >= 0 &&
            json_integer_value(rank) <= INT32_MAX && json_is_string(host)) {
            e->r.stats.rank = (int)json_integer_value(rank);
            e->r.stats.host = strdup(json_string_value(host));
            has_host = 1;
        }
    }
    int has_outname = json_is_string(outname);
    int has_error = json_is_string(error);
    json_decref(obj);
    *why = "out of memory";
    if (!e->in_name || (has_outname && !e->r.outname) ||
        (has_error && !e->r.error) || (has_host && !e->r.stats.host))
        return -ENOMEM;
    return 0;
bad:
    json_decref(obj);
    return BMP_EPOUT;
}

int bmp_pout_write(const bmp_pout *pout, const char *path, bmp_error *err)
{
    if (!pout || !path)
        return bmp_error_set(err, BMP_EINVAL, "write_pout", path,
                             "bmp_pout_write needs a pout and a path");
    bmp__atomic_file f;
    int rc = bmp__atomic_open(&f, path);
    if (rc < 0)
        return bmp_error_set(err, rc, "write_pout", path,
                             "cannot create %s: %s", path, bmp_strerror(rc));
    /* Lines are gathered and written a chunk at a time: one write()
     * per line cost more than making the line. */
    enum { CHUNK = 256 * 1024 };
    char *chunk = NULL;
    size_t used = 0, cap = 0;
    for (size_t i = 0; i < pout->count && rc == 0; i++) {
        const bmp__pout_entry *e = &pout->entries[i];
        if (bmp__entry_append(&chunk, &used, &cap, e->in_name, &e->r, -1) ||
            bmp__text_append(&chunk, &used, &cap, "\n", 1))
            rc = -ENOMEM;
        if (rc == 0 && (used >= CHUNK || i + 1 == pout->count)) {
            rc = bmp__atomic_write(&f, chunk, used);
            used = 0;
        }
    }
    free(chunk);
    /* A cache: replacing it is the point (no NOREPLACE). */
    if (rc == 0)
        rc = bmp__atomic_commit(&f, 0);
    else
        bmp__atomic_abort(&f);
    if (rc < 0)
        return bmp_error_set(err, rc, "write_pout", path,
                             "cannot write %s: %s", path, bmp_strerror(rc));
    return 0;
}

int bmp_pout_write_fp(const bmp_pout *pout, FILE *fp, bmp_error *err)
{
    if (!pout || !fp)
        return bmp_error_set(err, BMP_EINVAL, "write_pout", NULL,
                             "bmp_pout_write_fp needs a pout and a stream");
    int rc = 0;
    for (size_t i = 0; i < pout->count && rc == 0; i++) {
        char *line = bmp__pout_entry_line(pout, i);
        if (!line) {
            rc = -ENOMEM;
            break;
        }
        size_t n = strlen(line);
        line[n] = '\n'; /* the terminator becomes the line's newline */
        errno = 0;
        if (fwrite(line, 1, n + 1, fp) != n + 1)
            rc = errno ? -errno : -EIO;
        free(line);
    }
    if (rc == 0) {
        errno = 0;
        if (fflush(fp) != 0)
            rc = errno ? -errno : -EIO;
    }
    if (rc < 0)
        return bmp_error_set(err, rc, "write_pout", NULL,
                             "cannot write the pout: %s", bmp_strerror(rc));
    return 0;
}

int bmp_pout_read(const char *path, bmp_pout **pout, bmp_error *err)
{
    *pout = NULL;
    FILE *f = path ? fopen(path, "re") : NULL;
    if (!f) {
        int rc = path ? -errno : BMP_EINVAL;
        return bmp_error_set(err, rc, "read_pout", path, "cannot open %s: %s",
                             path ? path : "(null)", bmp_strerror(rc));
    }
    bmp_pout *out = bmp__pout_new(0);
    size_t cap = 0, lineno = 0;
    char *line = NULL;
    size_t linecap = 0;
    ssize_t n;
    int rc = out ? 0 : -ENOMEM;
    while (rc == 0 && (n = getline(&line, &linecap, f)) >= 0) {
        lineno++;
        if (n == 0 || line[0] == '\n')
            continue;
        /* A journal reads as the pout of what it recorded: its first
         * line, the run record (journal.c), is no entry. */
        if (lineno == 1 && strncmp(line, "{\"bmp_journal\":", 15) == 0)
            continue;
        if (out->count == cap) {
            size_t c = cap ? cap * 2 : 64;
            bmp__pout_entry *e = realloc(out->entries, c * sizeof *e);
            if (!e) {
                rc = -ENOMEM;
                break;
            }
            out->entries = e;
            cap = c;
        }
        const char *why;
        rc = bmp__pout_entry_parse(line, &out->entries[out->count], &why);
        out->count++; /* a half-parsed entry is still freed with the pout */
        if (rc < 0)
            bmp_error_set(err, rc, "read_pout", path, "%s line %zu: %s", path,
                          lineno, why);
    }
    /* getline() returns -1 at the end and on a read error alike. */
    if (rc == 0 && ferror(f)) {
        rc = errno ? -errno : -EIO;
        bmp_error_set(err, rc, "read_pout", path, "cannot read %s: %s", path,
                      bmp_strerror(rc));
    }
    free(line);
    fclose(f);
    if (rc < 0) {
        bmp_pout_free(out);
        return bmp_error_set(err, rc, "read_pout", path, "cannot read %s",
                             path);
    }
    *pout = out;
    return 0;
}
