/*
 * text_buf.c -- growable text (text_buf.h).
 */
#include "text_buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int bmp__text_append(char **buf, size_t *len, size_t *cap, const char *s,
                     size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 256;
        while (*len + n + 1 > c)
            c *= 2;
        char *b = realloc(*buf, c);
        if (!b)
            return -ENOMEM;
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}
