/*
 * fits_internal.h -- what the three FITS files share: fits_cards.c
 * (header cards as JSON, both ways, and the public card helpers),
 * fits_read.c (FITS to bmp_array) and fits_write.c (bmp_array to FITS).
 *
 * - Messages quote fits_get_errstatus(), a function of the status alone.
 *   cfitsio's message stack is shared by all threads of a process, so
 *   reading it could report another thread's failure.
 * - Numbers in cards are formatted and parsed under the "C" locale set
 *   for this thread only (uselocale): a program running in a locale with
 *   a decimal comma would otherwise write "1,5" into a header.
 */
#ifndef BMP_FITS_INTERNAL_H
#define BMP_FITS_INTERNAL_H

#include "bigmultipipe.h"

#include <ctype.h>
#include <errno.h>
#include <fitsio.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>

/* Records an error whose cause is cfitsio `status`, appending cfitsio's
 * description to the phrase made from `fmt`. */
static inline int fits_fail(bmp_error *err, int code, const char *stage,
                            const char *path, int status, const char *fmt, ...)
    BMP_PRINTF(6, 7);

static inline int fits_fail(bmp_error *err, int code, const char *stage,
                            const char *path, int status, const char *fmt, ...)
{
    char what[384], text[FLEN_STATUS];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    fits_get_errstatus(status, text);
    return bmp_error_set(err, code, stage, path, "%s (cfitsio: %s, status %d)",
                         what, text, status);
}

/* The "C" numeric locale for this thread, between enter and leave. */
typedef struct c_numeric {
    locale_t c, saved;
} c_numeric;

static inline int c_numeric_enter(c_numeric *s)
{
    s->c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (!s->c)
        return -ENOMEM;
    s->saved = uselocale(s->c);
    return 0;
}

static inline void c_numeric_leave(c_numeric *s)
{
    uselocale(s->saved);
    freelocale(s->c);
}

/* 1 when `s` is a non-empty run of decimal digits ("NAXIS12", HDU "3"). */
static inline int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* ---- fits_cards.c ---------------------------------------------------- */

/* `ncards` cards of 80 characters each from `text` (a header as stored;
 * an END card ends it early) as a JSON array of card objects; with
 * `compressed`, translated to the header of the image a tile-compressed
 * HDU holds (bmp__fits_image_cards).  Any bytes are accepted.  Call under
 * the "C" numeric locale.  @return 0 with *out a new reference, or
 * -ENOMEM. */
int bmp__fits_cards_parse(const char *text, size_t ncards, int compressed,
                          json_t **out);

/* The current HDU's cards as a JSON array of card objects.  Call under
 * the "C" numeric locale.  @return 0, a cfitsio status (> 0), or
 * -ENOMEM. */
int bmp__fits_read_cards(fitsfile *f, json_t **out);

/* Writes `cards` after the structural cards of the current HDU, skipping
 * those cfitsio writes or derives (BLANK too when `is_float`).  With an
 * `extname`, writes it as EXTNAME first and skips the EXTNAME cards of
 * the list.  Blank cards that end the list are not written: cfitsio
 * would put END over them.  *held_blanks gets their number, for
 * bmp__fits_keep_end_blanks() once the file is closed.  Call under the
 * "C" numeric locale.  @return 0 or a negative error, `err` filled. */
int bmp__fits_write_cards(fitsfile *f, const json_t *cards, int is_float,
                          const char *extname, size_t *held_blanks,
                          const char *path, bmp_error *err);

/* A real-valued card in the shortest form that reads back as `v`, with a
 * decimal point (BSCALE and BZERO too).  @return the cfitsio status. */
int bmp__fits_write_real_card(fitsfile *f, const char *key, double v,
                              const char *comment, int *status);

/* ---- fits_tiled.c ---------------------------------------------------- */

/* The header of the image a tile-compressed HDU holds, from the cards of
 * its binary table: the mandatory image cards from ZSIMPLE/ZTENSION,
 * ZBITPIX, ZNAXISn, ZPCOUNT, ZGCOUNT, ZEXTEND; then the user's cards in
 * order, without the table's and the compression's own; then CHECKSUM
 * and DATASUM from ZHECKSUM and ZDATASUM.  `table` is borrowed.
 * @return 0 with *out a new reference, or -ENOMEM. */
int bmp__fits_image_cards(const json_t *table, json_t **out);

#endif
