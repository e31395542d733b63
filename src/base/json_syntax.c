/*
 * json_syntax.c -- see json_syntax.h.  A recursive descent over the text
 * that only moves a cursor: no value is built.
 */
#include "json_syntax.h"

#include "utf8.h"

#include <jansson.h>

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

/* jansson counts every value, scalars too, against JSON_PARSER_MAX_DEPTH,
 * and the meta is read inside the pout line's object, one level down. */
#define MAX_DEPTH (JSON_PARSER_MAX_DEPTH - 1)

typedef struct cursor {
    const unsigned char *at, *end;
} cursor;

static int value(cursor *c, int depth);

/* Spaces and tabs only: jansson would take line breaks too, but the text
 * goes into a file of one entry a line, where a line break inside the
 * meta would split the entry, or start a forged one.  A worker's compact
 * dump has no white space at all. */
static void skip_space(cursor *c)
{
    while (c->at < c->end && (*c->at == ' ' || *c->at == '\t'))
        c->at++;
}

static int hex4(cursor *c, unsigned *out)
{
    if (c->end - c->at < 4)
        return 0;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char h = c->at[i];
        unsigned d = h >= '0' && h <= '9'   ? (unsigned)(h - '0')
                     : h >= 'a' && h <= 'f' ? (unsigned)(h - 'a' + 10)
                     : h >= 'A' && h <= 'F' ? (unsigned)(h - 'A' + 10)
                                            : 16u;
        if (d == 16)
            return 0;
        v = v * 16 + d;
    }
    c->at += 4;
    *out = v;
    return 1;
}

/* After a backslash and 'u': one code point, or a surrogate pair; U+0000
 * only where `nul_ok` (jansson refuses it in a key, JSON_ALLOW_NUL or
 * not). */
static int unicode_escape(cursor *c, int nul_ok)
{
    unsigned u;
    if (!hex4(c, &u) || (u == 0 && !nul_ok))
        return 0;
    if (u >= 0xdc00 && u <= 0xdfff)
        return 0; /* a low surrogate alone */
    if (u < 0xd800 || u > 0xdbff)
        return 1;
    unsigned low;
    if (c->end - c->at < 2 || c->at[0] != '\\' || c->at[1] != 'u')
        return 0;
    c->at += 2;
    return hex4(c, &low) && low >= 0xdc00 && low <= 0xdfff;
}

static int string(cursor *c, int is_key)
{
    c->at++; /* the opening quote */
    while (c->at < c->end) {
        unsigned char ch = *c->at;
        if (ch == '"') {
            c->at++;
            return 1;
        }
        if (ch < 0x20)
            return 0;
        if (ch == '\\') {
            if (c->end - c->at < 2)
                return 0;
            unsigned char e = c->at[1];
            c->at += 2;
            if (e == 'u') {
                if (!unicode_escape(c, !is_key))
                    return 0;
            } else if (e != '"' && e != '\\' && e != '/' && e != 'b' &&
                       e != 'f' && e != 'n' && e != 'r' && e != 't') {
                return 0;
            }
            continue;
        }
        /* The text ends in a NUL at c->end, where a sequence cut short
         * stops bmp__utf8_len. */
        size_t n = bmp__utf8_len(c->at);
        if (n == 0 || n > (size_t)(c->end - c->at))
            return 0;
        c->at += n;
    }
    return 0;
}

static int digits(cursor *c)
{
    const unsigned char *start = c->at;
    while (c->at < c->end && *c->at >= '0' && *c->at <= '9')
        c->at++;
    return c->at > start;
}

/* The "C" locale, for strtod_l(): the text's decimal point is '.'
 * whatever the program's locale. */
static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_make(void)
{
    c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

/* jansson refuses an integer beyond long long and a real beyond double's
 * range ("too big integer", "real number overflow"): so does the check,
 * so that what it lets through reads back.  errno is the caller's. */
static int number_fits(const unsigned char *start, int is_integer)
{
    int saved = errno, fits;
    errno = 0;
    if (is_integer) {
        (void)strtoll((const char *)start, NULL, 10);
        fits = errno != ERANGE;
    } else {
        pthread_once(&c_locale_once, c_locale_make);
        double v = c_locale ? strtod_l((const char *)start, NULL, c_locale)
                            : 0;
        fits = c_locale && !(errno == ERANGE && isinf(v));
    }
    errno = saved;
    return fits;
}

static int number(cursor *c)
{
    const unsigned char *start = c->at;
    int is_integer = 1;
    if (*c->at == '-')
        c->at++;
    if (c->at < c->end && *c->at == '0')
        c->at++;
    else if (!digits(c))
        return 0;
    if (c->at < c->end && *c->at == '.') {
        c->at++;
        is_integer = 0;
        if (!digits(c))
            return 0;
    }
    if (c->at < c->end && (*c->at == 'e' || *c->at == 'E')) {
        c->at++;
        is_integer = 0;
        if (c->at < c->end && (*c->at == '+' || *c->at == '-'))
            c->at++;
        if (!digits(c))
            return 0;
    }
    return number_fits(start, is_integer);
}

static int literal(cursor *c, const char *word, size_t len)
{
    if ((size_t)(c->end - c->at) < len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (c->at[i] != (unsigned char)word[i])
            return 0;
    c->at += len;
    return 1;
}

/* An object or an array, from its opening bracket; members are
 * "key": value for an object, values for an array. */
static int container(cursor *c, int depth, int is_object)
{
    unsigned char close = is_object ? '}' : ']';
    if (depth > MAX_DEPTH)
        return 0;
    c->at++;
    skip_space(c);
    if (c->at < c->end && *c->at == close) {
        c->at++;
        return 1;
    }
    for (;;) {
        if (is_object) {
            if (c->at >= c->end || *c->at != '"' || !string(c, 1))
                return 0;
            skip_space(c);
            if (c->at >= c->end || *c->at != ':')
                return 0;
            c->at++;
            skip_space(c);
        }
        if (!value(c, depth + 1))
            return 0;
        skip_space(c);
        if (c->at >= c->end)
            return 0;
        if (*c->at == close) {
            c->at++;
            return 1;
        }
        if (*c->at != ',')
            return 0;
        c->at++;
        skip_space(c);
    }
}

static int value(cursor *c, int depth)
{
    if (c->at >= c->end || depth > MAX_DEPTH)
        return 0;
    switch (*c->at) {
    case '{': return container(c, depth, 1);
    case '[': return container(c, depth, 0);
    case '"': return string(c, 0);
    case 't': return literal(c, "true", 4);
    case 'f': return literal(c, "false", 5);
    case 'n': return literal(c, "null", 4);
    default:
        return (*c->at == '-' || (*c->at >= '0' && *c->at <= '9')) &&
               number(c);
    }
}

int bmp__json_is_object_text(const char *text, size_t len)
{
    cursor c = {(const unsigned char *)text,
                (const unsigned char *)text + len};
    return len > 0 && text[0] == '{' && container(&c, 1, 1) && c.at == c.end;
}
