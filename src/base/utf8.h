/* utf8.h -- UTF-8 checks for text that must become JSON strings. */
#ifndef BMP_UTF8_H
#define BMP_UTF8_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (1 to 4), or 0 when the bytes
 * there are not valid UTF-8 (overlong forms and surrogates included).
 * s must be NUL-terminated. */
size_t bmp__utf8_len(const unsigned char *s);

/* A copy of `text` with each byte that is not valid UTF-8 replaced by
 * U+FFFD, so it can be stored as a JSON string.  malloc'd; NULL on
 * ENOMEM. */
char *bmp__utf8_sanitize(const char *text);

#endif
