/*
 * utf8.c -- see utf8.h.  Messages that quote file names are the usual
 * source of bytes that are not UTF-8.
 */
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

size_t bmp__utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, min = 0x10000;
    else
        return 0;
    unsigned cp = c & (0x3f >> (n - 1));
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

char *bmp__utf8_sanitize(const char *text)
{
    /* Each bad byte (1) becomes 3 bytes of U+FFFD at most. */
    size_t len = strlen(text);
    char *out = malloc(len * 3 + 1);
    if (!out)
        return NULL;
    const unsigned char *s = (const unsigned char *)text;
    size_t k = 0;
    while (*s) {
        size_t n = bmp__utf8_len(s);
        if (n == 0) {
            memcpy(out + k, "\xef\xbf\xbd", 3);
            k += 3;
            s++;
            continue;
        }
        memcpy(out + k, s, n);
        k += n;
        s += n;
    }
    out[k] = '\0';
    return out;
}
