/*
 * text_buf.h -- growable text: bytes appended at the end, always
 * followed by a NUL, the storage doubled as it fills.  The pout's lines,
 * the journal's run record, the JSON dump's string and the FITS
 * reader's long strings are built with it.
 */
#ifndef BMP_TEXT_BUF_H
#define BMP_TEXT_BUF_H

#include <stddef.h>

/* Appends `n` bytes of `s` (which need not end in a NUL) to the text
 * *buf (malloc'd, grown as needed, kept NUL-terminated), of length *len
 * in room *cap.
 * @return 0 or -ENOMEM (*buf, *len and *cap left as they were). */
int bmp__text_append(char **buf, size_t *len, size_t *cap, const char *s,
                     size_t n);

/* The three together, for a text that is one object. */
typedef struct bmp__text_buf {
    char *s; /* malloc'd (free() it), NULL until the first append */
    size_t len, cap;
} bmp__text_buf;

static inline int bmp__text_buf_append(bmp__text_buf *t, const char *s,
                                       size_t n)
{
    return bmp__text_append(&t->s, &t->len, &t->cap, s, n);
}

#endif
