/*
 * fits.c -- FITS images to and from bmp_array, through cfitsio.
 *
 * Choices a reader may question:
 *
 * - Files are opened with fits_open_diskfile / fits_create_diskfile, not
 *   fits_open_file: the latter parses cfitsio's extended file-name syntax,
 *   so a file named "run[1].fits" would be misread.  A pipeline's names
 *   come from users and globs and must be taken literally.
 * - The header is taken from fits_convert_hdr2str, which presents a
 *   tile-compressed image with the header of the image it holds; the one
 *   code path thus serves plain and compressed images alike.  Each card
 *   is split by cfitsio's own parser (fits_get_keyname, fits_parse_value,
 *   fits_get_keytype); only CONTINUE long strings are joined here.
 * - The dtype of scaled data follows astropy rather than cfitsio's
 *   fits_get_img_equivtype (which picks the narrowest integer type for
 *   integral scalings), so that both libraries give the same array for
 *   the same file and the interoperability tests can compare them.
 * - Messages quote fits_get_errstatus(), a function of the status alone.
 *   cfitsio's message stack is shared by all threads of a process, so
 *   reading it could report another thread's failure.
 * - Numbers in cards are formatted and parsed under the "C" locale set
 *   for this thread only (uselocale): a program running in a locale with
 *   a decimal comma would otherwise write "1,5" into a header.
 * - Writes go to a temporary name in the target's directory and are
 *   renamed into place, so a reader never sees half a file and a failed
 *   write leaves nothing behind.
 */
#include "bigmultipipe.h"

#include "atomic_file.h"
#include "file_kind.h"
#include "keywords_internal.h"
#include "write_flags.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fitsio.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define NATIVE_ORDER (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? '<' : '>')

/* ====================================================================== */
/*  Errors and locale                                                     */
/* ====================================================================== */

/* Records an error whose cause is cfitsio `status`, appending cfitsio's
 * description to the sentence made from `fmt`. */
static int fits_fail(bmp_error *err, int code, const char *stage,
                     const char *path, int status, const char *fmt, ...)
    BMP_PRINTF(6, 7);

static int fits_fail(bmp_error *err, int code, const char *stage,
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

typedef struct c_numeric {
    locale_t c, saved;
} c_numeric;

static int c_numeric_enter(c_numeric *s)
{
    s->c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (!s->c)
        return -ENOMEM;
    s->saved = uselocale(s->c);
    return 0;
}

static void c_numeric_leave(c_numeric *s)
{
    uselocale(s->saved);
    freelocale(s->c);
}

/* ====================================================================== */
/*  Header cards: parsing                                                 */
/* ====================================================================== */

static void rstrip(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == ' ')
        s[--n] = '\0';
}

/* 'it''s  ' -> it's : the quotes removed, doubled quotes undone, trailing
 * blanks dropped (they are not significant in FITS strings). */
static void unquote(const char *in, char *out)
{
    size_t o = 0;
    if (*in == '\'')
        in++;
    for (; *in; in++) {
        if (*in == '\'') {
            if (in[1] != '\'')
                break;
            in++;
        }
        out[o++] = *in;
    }
    out[o] = '\0';
    rstrip(out);
}

static int is_commentary(const char *key)
{
    return key[0] == '\0' || strcmp(key, "COMMENT") == 0 ||
           strcmp(key, "HISTORY") == 0;
}

static json_t *parse_real(const char *text)
{
    /* FLEN_CARD: a value can be as long as a card's text. */
    char buf[FLEN_CARD];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *p = buf; *p; p++)
        if (*p == 'D' || *p == 'd')
            *p = 'E';
    char *end;
    double v = strtod(buf, &end);
    if (end == buf)
        return json_string(text);
    return json_real(v);
}

static json_t *parse_integer(const char *text)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno == ERANGE)
        return parse_real(text); /* beyond 64 bits: keep its magnitude */
    if (end == text)
        return json_string(text);
    return json_integer(v);
}

/* "(1.5, -2.0)" -> [1.5, -2.0] */
static json_t *parse_complex(const char *text)
{
    /* FLEN_CARD: a value can be as long as a card's text. */
    char buf[FLEN_CARD];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *p = buf; *p; p++)
        if (*p == 'D' || *p == 'd')
            *p = 'E';
    char *p = strchr(buf, '('), *end;
    if (!p)
        return json_string(text);
    double re = strtod(p + 1, &end);
    p = strchr(end, ',');
    if (!p)
        return json_string(text);
    double im = strtod(p + 1, &end);
    return json_pack("[ff]", re, im);
}

/* The value of a card, typed, or JSON null when undefined. *str is set
 * to the unquoted text when the value is a string (for CONTINUE). */
static json_t *parse_value(const char *value, char *str, int *is_str)
{
    *is_str = 0;
    if (value[0] == '\0')
        return json_null();
    char type = 0;
    int st = 0;
    if (fits_get_keytype((char *)value, &type, &st) > 0)
        return json_string(value);
    switch (type) {
    case 'C':
        unquote(value, str);
        *is_str = 1;
        return json_string(str);
    case 'L':
        return json_boolean(value[0] == 'T');
    case 'I':
        return parse_integer(value);
    case 'F':
        return parse_real(value);
    case 'X':
        return parse_complex(value);
    default:
        return json_string(value);
    }
}

static json_t *make_card(const char *key, json_t *value, const char *comment)
{
    if (!value)
        return NULL;
    return json_pack("{s:s,s:o,s:s}", "key", key, "value", value, "comment",
                     comment);
}

/* Growable text for long strings. */
typedef struct text_buf {
    char *s;
    size_t len, cap;
} text_buf;

static int text_add(text_buf *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *p = realloc(t->s, cap);
        if (!p)
            return -ENOMEM;
        t->s = p;
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
    return 0;
}

/* A CONTINUE card's value and comment: cfitsio reads a card as a value
 * card only when columns 9-10 hold "= ", so the card is given a dummy
 * keyword and parsed as one. */
static void parse_continue(const char *card, char *str, char *comment)
{
    char fake[FLEN_CARD], value[FLEN_CARD];
    snprintf(fake, sizeof fake, "CONTINUX= %s", card + 10);
    int st = 0;
    value[0] = comment[0] = str[0] = '\0';
    if (fits_parse_value(fake, value, comment, &st) > 0 || value[0] != '\'')
        return;
    unquote(value, str);
}

/* Cards from fits_convert_hdr2str's text: `n` cards of 80 characters.
 * @return new reference, NULL on ENOMEM. */
static json_t *parse_cards(const char *hdr, int n)
{
    json_t *cards = json_array();
    text_buf longstr = {0};
    if (!cards)
        return NULL;
    for (int i = 0; i < n; i++) {
        char card[FLEN_CARD], key[FLEN_KEYWORD], value[FLEN_CARD];
        char comment[FLEN_CARD], str[FLEN_CARD];
        memcpy(card, hdr + (size_t)i * 80, 80);
        card[80] = '\0';
        /* JSON strings must be valid text; a damaged header may not be. */
        for (int k = 0; k < 80; k++)
            if ((unsigned char)card[k] < 0x20 || (unsigned char)card[k] > 0x7e)
                card[k] = '?';

        int st = 0, keylen = 0;
        if (fits_get_keyname(card, key, &keylen, &st) > 0) {
            snprintf(key, sizeof key, "%.8s", card);
            rstrip(key);
            st = 0;
        }
        if (strcmp(key, "END") == 0)
            break;

        json_t *c;
        int is_value = strncmp(card + 8, "= ", 2) == 0 ||
                       (strncmp(card, "HIERARCH ", 9) == 0 && strchr(card, '='));
        if (is_commentary(key) || !is_value) {
            /* Commentary text keeps its leading blanks, as astropy does. */
            snprintf(str, sizeof str, "%s", card + 8);
            rstrip(str);
            c = make_card(key, json_string(str), "");
        } else {
            if (fits_parse_value(card, value, comment, &st) > 0) {
                snprintf(value, sizeof value, "%s", card + 10);
                comment[0] = '\0';
            }
            int is_str;
            json_t *v = parse_value(value, str, &is_str);
            size_t slen = is_str ? strlen(str) : 0;
            /* A string ending in '&' followed by CONTINUE cards is one long
             * string (FITS 4.0, section 4.2.1.2). */
            if (is_str && slen > 0 && str[slen - 1] == '&' && i + 1 < n &&
                strncmp(hdr + (size_t)(i + 1) * 80, "CONTINUE", 8) == 0) {
                longstr.len = 0;
                text_buf com = {0};
                int ok = text_add(&longstr, str, slen - 1) == 0 &&
                         text_add(&com, comment, strlen(comment)) == 0;
                int more = 1;
                while (ok && more && i + 1 < n &&
                       strncmp(hdr + (size_t)(i + 1) * 80, "CONTINUE", 8) == 0) {
                    char next[FLEN_CARD], piece[FLEN_CARD], pcom[FLEN_CARD];
                    i++;
                    memcpy(next, hdr + (size_t)i * 80, 80);
                    next[80] = '\0';
                    for (int k = 0; k < 80; k++)
                        if ((unsigned char)next[k] < 0x20 ||
                            (unsigned char)next[k] > 0x7e)
                            next[k] = '?';
                    parse_continue(next, piece, pcom);
                    size_t plen = strlen(piece);
                    more = plen > 0 && piece[plen - 1] == '&';
                    if (more)
                        plen--;
                    ok = text_add(&longstr, piece, plen) == 0;
                    if (ok && pcom[0])
                        ok = (com.len == 0 || text_add(&com, " ", 1) == 0) &&
                             text_add(&com, pcom, strlen(pcom)) == 0;
                }
                json_decref(v);
                v = ok ? json_string(longstr.s ? longstr.s : "") : NULL;
                c = ok ? make_card(key, v, com.s ? com.s : "") : NULL;
                free(com.s);
            } else {
                c = make_card(key, v, comment);
            }
        }
        if (!c || json_array_append_new(cards, c) != 0) {
            free(longstr.s);
            json_decref(cards);
            return NULL;
        }
    }
    free(longstr.s);
    return cards;
}

/* The current HDU's cards.  @return 0, a cfitsio status (> 0), or
 * -ENOMEM. */
static int read_cards(fitsfile *f, json_t **out)
{
    char *hdr = NULL;
    int nkeys = 0, status = 0;
    *out = NULL;
    if (fits_convert_hdr2str(f, 0, NULL, 0, &hdr, &nkeys, &status) > 0)
        return status;
    *out = parse_cards(hdr, nkeys);
    fits_free_memory(hdr, &status);
    return *out ? 0 : -ENOMEM;
}

/* ====================================================================== */
/*  Card helpers (public)                                                 */
/* ====================================================================== */

static size_t card_index(const json_t *cards, const char *key)
{
    size_t i;
    json_t *c;
    if (!json_is_array(cards) || !key)
        return (size_t)-1;
    json_array_foreach(cards, i, c) {
        const char *k = json_string_value(json_object_get(c, "key"));
        if (k && strcasecmp(k, key) == 0)
            return i;
    }
    return (size_t)-1;
}

json_t *bmp_fits_card_find(const json_t *cards, const char *key)
{
    size_t i = card_index(cards, key);
    return i == (size_t)-1 ? NULL : json_array_get(cards, i);
}

static json_t *card_value(const json_t *cards, const char *key)
{
    json_t *v = json_object_get(bmp_fits_card_find(cards, key), "value");
    return json_is_null(v) ? NULL : v;
}

int bmp_fits_card_get_real(const json_t *cards, const char *key, double *out)
{
    return bmp__value_real(card_value(cards, key), out);
}

int bmp_fits_card_get_int(const json_t *cards, const char *key,
                          long long *out)
{
    return bmp__value_int(card_value(cards, key), out);
}

int bmp_fits_card_get_bool(const json_t *cards, const char *key, int *out)
{
    json_t *v = card_value(cards, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return BMP_EKWTYPE;
    *out = json_is_true(v);
    return 1;
}

int bmp_fits_card_get_str(const json_t *cards, const char *key,
                          const char **out)
{
    json_t *v = card_value(cards, key);
    if (!v)
        return 0;
    if (!json_is_string(v))
        return BMP_EKWTYPE;
    *out = json_string_value(v);
    return 1;
}

int bmp_fits_card_append(json_t *cards, const char *key, json_t *value,
                         const char *comment)
{
    if (!json_is_array(cards) || !key)
        return BMP_EINVAL;
    json_t *c = make_card(key, value ? json_incref(value) : json_null(),
                          comment ? comment : "");
    if (!c || json_array_append_new(cards, c) != 0)
        return -ENOMEM;
    return 0;
}

/* Steals `value` in every case. */
static int card_set(json_t *cards, const char *key, json_t *value,
                    const char *comment)
{
    if (!json_is_array(cards) || !key || !key[0]) {
        json_decref(value);
        return BMP_EINVAL;
    }
    if (!value)
        return -ENOMEM;
    json_t *c = bmp_fits_card_find(cards, key);
    if (!c) {
        int rc = bmp_fits_card_append(cards, key, value, comment);
        json_decref(value);
        return rc;
    }
    if (json_object_set_new(c, "value", value) != 0)
        return -ENOMEM;
    if (comment && json_object_set_new(c, "comment", json_string(comment)) != 0)
        return -ENOMEM;
    return 0;
}

int bmp_fits_card_set_real(json_t *cards, const char *key, double value,
                           const char *comment)
{
    if (!isfinite(value))
        return BMP_EINVAL; /* neither FITS nor JSON can hold it */
    return card_set(cards, key, json_real(value), comment);
}

int bmp_fits_card_set_int(json_t *cards, const char *key, long long value,
                          const char *comment)
{
    return card_set(cards, key, json_integer(value), comment);
}

int bmp_fits_card_set_bool(json_t *cards, const char *key, int value,
                           const char *comment)
{
    return card_set(cards, key, json_boolean(value), comment);
}

int bmp_fits_card_set_str(json_t *cards, const char *key, const char *value,
                          const char *comment)
{
    if (!value)
        return BMP_EINVAL;
    return card_set(cards, key, json_string(value), comment);
}

int bmp_fits_card_remove(json_t *cards, const char *key)
{
    if (!json_is_array(cards) || !key)
        return BMP_EINVAL;
    int removed = 0;
    size_t i;
    while ((i = card_index(cards, key)) != (size_t)-1) {
        json_array_remove(cards, i);
        removed++;
    }
    return removed;
}

int bmp_fits_thread_safe(void)
{
    return fits_is_reentrant() ? 1 : 0;
}

/* ====================================================================== */
/*  Reading                                                               */
/* ====================================================================== */

/* "HDU 2 ('SCI')" for messages. */
static void describe_hdu(fitsfile *f, char *buf, size_t size)
{
    int num = 0, st = 0;
    char name[FLEN_VALUE] = "";
    fits_get_hdu_num(f, &num);
    fits_read_key(f, TSTRING, "EXTNAME", name, NULL, &st);
    if (st == 0 && name[0])
        snprintf(buf, size, "HDU %d ('%s')", num - 1, name);
    else
        snprintf(buf, size, "HDU %d", num - 1);
}

/* Opens `path` for reading.  The file is first opened by hand so that a
 * missing or unreadable file gives its errno rather than cfitsio's one
 * "could not open" for every cause. */
static int open_read(const char *path, fitsfile **f, const char *stage,
                     bmp_error *err)
{
    *f = NULL;
    /* Never a blocking open: a FIFO is refused, not waited on (cfitsio
     * opens the name again below; a FIFO put in its place between the
     * two would still block it). */
    const char *kind;
    int fd = bmp__open_regular(path, &kind, NULL);
    if (fd < 0 && kind)
        return bmp_error_set(err, fd, stage, path,
                             "cannot read %s as FITS: it is %s, not a "
                             "regular file", path, kind);
    if (fd < 0)
        return bmp_error_set(err, fd, stage, path, "cannot open %s: %s", path,
                             bmp_strerror(fd));
    close(fd);
    int status = 0;
    if (fits_open_diskfile(f, path, READONLY, &status) > 0) {
        *f = NULL;
        return fits_fail(err, BMP_EFORMAT, stage, path, status,
                         "%s is not a FITS file, or its primary header is "
                         "damaged or truncated",
                         path);
    }
    return 0;
}

static int hdu_has_image(fitsfile *f, int *status)
{
    int type = 0, naxis = 0;
    if (fits_get_hdu_type(f, &type, status) > 0 || type != IMAGE_HDU)
        return 0;
    if (fits_get_img_dim(f, &naxis, status) > 0)
        return 0;
    return naxis > 0;
}

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* Moves to the HDU `hdu` names (see bmp_fits_read).  With `need_image`,
 * an explicitly selected HDU must be an image. */
static int select_hdu(fitsfile *f, const char *path, const char *hdu,
                      int need_image, const char *stage, bmp_error *err)
{
    int status = 0;
    char what[FLEN_VALUE + 32];

    if (!hdu || !hdu[0]) {
        if (hdu_has_image(f, &status))
            return 0;
        for (int num = 2;; num++) {
            status = 0;
            if (fits_movabs_hdu(f, num, NULL, &status) > 0) {
                if (status == END_OF_FILE)
                    return bmp_error_set(err, BMP_EUNSUPPORTED, stage, path,
                                         "%s has no image HDU with data (it "
                                         "has %d HDUs, none an image with "
                                         "NAXIS > 0)",
                                         path, num - 1);
                return fits_fail(err, BMP_EFORMAT, stage, path, status,
                                 "the header of HDU %d of %s is damaged or "
                                 "truncated",
                                 num - 1, path);
            }
            if (hdu_has_image(f, &status))
                return 0;
        }
    }

    if (all_digits(hdu)) {
        errno = 0;
        long idx = strtol(hdu, NULL, 10);
        if (errno == ERANGE || idx >= INT_MAX)
            return bmp_error_set(err, BMP_EFITS, stage, path,
                                 "%s has no HDU %s", path, hdu);
        if (fits_movabs_hdu(f, (int)idx + 1, NULL, &status) > 0) {
            if (status == END_OF_FILE || status == BAD_HDU_NUM)
                return fits_fail(err, BMP_EFITS, stage, path, status,
                                 "%s has no HDU %ld (HDUs are numbered from 0, "
                                 "the primary HDU)",
                                 path, idx);
            return fits_fail(err, BMP_EFORMAT, stage, path, status,
                             "HDU %ld of %s cannot be reached: the file is "
                             "damaged or truncated",
                             idx, path);
        }
    } else {
        char name[FLEN_VALUE];
        int ver = 0;
        snprintf(name, sizeof name, "%s", hdu);
        char *comma = strrchr(name, ',');
        if (comma && all_digits(comma + 1)) {
            ver = atoi(comma + 1);
            *comma = '\0';
        }
        if (strlen(hdu) >= sizeof name ||
            fits_movnam_hdu(f, ANY_HDU, name, ver, &status) > 0) {
            if (status == 0 || status == BAD_HDU_NUM)
                return fits_fail(err, BMP_EFITS, stage, path,
                                 status ? status : BAD_HDU_NUM,
                                 "%s has no HDU named '%s'", path, hdu);
            return fits_fail(err, BMP_EFORMAT, stage, path, status,
                             "%s is damaged or truncated before an HDU named "
                             "'%s'",
                             path, hdu);
        }
    }

    if (!need_image)
        return 0;
    int type = 0;
    fits_get_hdu_type(f, &type, &status);
    describe_hdu(f, what, sizeof what);
    if (type == BINARY_TBL || type == ASCII_TBL)
        return bmp_error_set(err, BMP_EUNSUPPORTED, stage, path,
                             "%s of %s is %s table, not an image", what, path,
                             type == BINARY_TBL ? "a binary" : "an ASCII");
    if (!hdu_has_image(f, &status))
        return bmp_error_set(err, BMP_EUNSUPPORTED, stage, path,
                             "%s of %s has no data (NAXIS = 0)", what, path);
    return 0;
}

/* The dtype of the array for an image of `bitpix` with these scaling
 * cards, and the cfitsio type to read it as (see the table in fits.h). */
static void choose_dtype(int bitpix, double bscale, double bzero,
                         int has_blank, bmp_dtype *dtype, int *ctype)
{
    if (bscale == 1.0) {
        if (bitpix == 8 && bzero == -128.0) {
            *dtype = BMP_DTYPE_INT8, *ctype = TSBYTE;
            return;
        }
        if (bitpix == 16 && bzero == 32768.0) {
            *dtype = BMP_DTYPE_UINT16, *ctype = TUSHORT;
            return;
        }
        if (bitpix == 32 && bzero == 2147483648.0) {
            *dtype = BMP_DTYPE_UINT32, *ctype = TUINT;
            return;
        }
        if (bitpix == 64 && bzero == 9223372036854775808.0) {
            *dtype = BMP_DTYPE_UINT64, *ctype = TULONGLONG;
            return;
        }
    }
    int scaled = bscale != 1.0 || bzero != 0.0 || has_blank;
    switch (bitpix) {
    case 8:
        if (!scaled) {
            *dtype = BMP_DTYPE_UINT8, *ctype = TBYTE;
            return;
        }
        break;
    case 16:
        if (!scaled) {
            *dtype = BMP_DTYPE_INT16, *ctype = TSHORT;
            return;
        }
        break;
    case 32:
        *dtype = scaled ? BMP_DTYPE_FLOAT64 : BMP_DTYPE_INT32;
        *ctype = scaled ? TDOUBLE : TINT;
        return;
    case 64:
        *dtype = scaled ? BMP_DTYPE_FLOAT64 : BMP_DTYPE_INT64;
        *ctype = scaled ? TDOUBLE : TLONGLONG;
        return;
    case -64:
        *dtype = BMP_DTYPE_FLOAT64, *ctype = TDOUBLE;
        return;
    default:
        break;
    }
    *dtype = BMP_DTYPE_FLOAT32, *ctype = TFLOAT;
}

/* Reads the current HDU's data into a new array. */
static int read_image(fitsfile *f, const char *path, json_t *cards,
                      bmp_array **out, bmp_error *err)
{
    int status = 0, bitpix = 0, naxis = 0;
    LONGLONG naxes[BMP_MAX_DIMS];
    char what[FLEN_VALUE + 32];
    describe_hdu(f, what, sizeof what);

    int groups = 0;
    if (bmp_fits_card_get_bool(cards, "GROUPS", &groups) == 1 && groups)
        return bmp_error_set(err, BMP_EUNSUPPORTED, "read", path,
                             "%s of %s holds random groups, not an image",
                             what, path);
    if (fits_get_img_type(f, &bitpix, &status) > 0 ||
        fits_get_img_dim(f, &naxis, &status) > 0)
        return fits_fail(err, BMP_EFORMAT, "read", path, status,
                         "the image header of %s of %s is invalid", what, path);
    if (naxis > BMP_MAX_DIMS)
        return bmp_error_set(err, BMP_EUNSUPPORTED, "read", path,
                             "%s of %s has %d axes; at most %d are supported",
                             what, path, naxis, BMP_MAX_DIMS);
    if (fits_get_img_sizell(f, naxis, naxes, &status) > 0)
        return fits_fail(err, BMP_EFORMAT, "read", path, status,
                         "the image header of %s of %s is invalid", what, path);

    double bscale = 1.0, bzero = 0.0;
    bmp_fits_card_get_real(cards, "BSCALE", &bscale);
    bmp_fits_card_get_real(cards, "BZERO", &bzero);
    int has_blank = bitpix > 0 && bmp_fits_card_find(cards, "BLANK") != NULL;
    bmp_dtype dtype;
    int ctype;
    choose_dtype(bitpix, bscale, bzero, has_blank, &dtype, &ctype);

    /* C order: NAXIS1, the fastest axis, is the last index. */
    size_t shape[BMP_MAX_DIMS], count = 1, itemsize = bmp_dtype_size(dtype);
    for (int i = 0; i < naxis; i++) {
        LONGLONG n = naxes[naxis - 1 - i];
        if (n < 0)
            return bmp_error_set(err, BMP_EFORMAT, "read", path,
                                 "%s of %s has a negative axis length", what,
                                 path);
        shape[i] = (size_t)n;
        if (shape[i] != 0 && count > SIZE_MAX / itemsize / shape[i])
            return bmp_error_set(err, -ENOMEM, "read", path,
                                 "%s of %s is too large for memory", what,
                                 path);
        count *= shape[i];
    }
    bmp_array *a = bmp_array_new(dtype, naxis, shape);
    if (!a)
        return bmp_error_set(err, -ENOMEM, "read", path,
                             "out of memory reading %s of %s (%zu bytes)",
                             what, path, count * itemsize);
    if (count > 0) {
        float fnan = NAN;
        double dnan = NAN;
        /* Blank pixels of scaled integers become NaN, and so do the nulls
         * of quantized tile-compressed images.  Plain float data are read
         * without null checking: cfitsio's check would also turn
         * infinities into NaN and flush subnormals to zero. */
        int st = 0;
        int want_nulls = bitpix > 0 || fits_is_compressed_image(f, &st);
        void *nulval = !want_nulls        ? NULL
                       : ctype == TFLOAT  ? (void *)&fnan
                       : ctype == TDOUBLE ? (void *)&dnan
                                          : NULL;
        int anynul = 0;
        if (fits_read_img(f, ctype, 1, (LONGLONG)count, nulval, a->data,
                          &anynul, &status) > 0) {
            bmp_object_free(a, NULL);
            if (status == END_OF_FILE || status == READ_ERROR)
                return fits_fail(err, BMP_EFORMAT, "read", path, status,
                                 "the data of %s of %s are truncated or "
                                 "unreadable",
                                 what, path);
            return fits_fail(err, BMP_EFITS, "read", path, status,
                             "cannot read the data of %s of %s", what, path);
        }
    }
    *out = a;
    return 0;
}

/* Opens `path`, selects the HDU and reads its cards, and its image when
 * `array` is not NULL; what bmp_fits_read and bmp_fits_read_header share.
 * On failure nothing is returned. */
static int read_hdu(const char *path, const char *hdu, json_t **cards,
                    bmp_array **array, bmp_error *err)
{
    fitsfile *f;
    int rc = open_read(path, &f, "read", err);
    if (rc < 0)
        return rc;
    c_numeric loc;
    if ((rc = c_numeric_enter(&loc)) < 0) {
        int st = 0;
        fits_close_file(f, &st);
        return bmp_error_set(err, rc, "read", path, "out of memory");
    }
    rc = select_hdu(f, path, hdu, array != NULL, "read", err);
    if (rc == 0) {
        int st = read_cards(f, cards);
        if (st < 0)
            rc = bmp_error_set(err, st, "read", path, "out of memory");
        else if (st > 0)
            rc = fits_fail(err, BMP_EFORMAT, "read", path, st,
                           "cannot read the header of %s", path);
    }
    if (rc == 0 && array)
        rc = read_image(f, path, *cards, array, err);
    c_numeric_leave(&loc);
    int st = 0;
    fits_close_file(f, &st);
    if (rc < 0) {
        json_decref(*cards);
        *cards = NULL;
    }
    return rc;
}

int bmp_fits_read(const char *path, const char *hdu, bmp_array **out,
                  bmp_error *err)
{
    if (out)
        *out = NULL;
    if (!path || !out)
        return bmp_error_set(err, BMP_EINVAL, "read", path,
                             "bmp_fits_read: path and out are required");
    json_t *cards = NULL;
    bmp_array *a = NULL;
    int rc = read_hdu(path, hdu, &cards, &a, err);
    if (rc < 0)
        return rc;
    a->header = cards;
    *out = a;
    return 0;
}

int bmp_fits_read_header(const char *path, const char *hdu, json_t **cards,
                         bmp_error *err)
{
    if (cards)
        *cards = NULL;
    if (!path || !cards)
        return bmp_error_set(err, BMP_EINVAL, "read", path,
                             "bmp_fits_read_header: path and cards are "
                             "required");
    return read_hdu(path, hdu, cards, NULL, err);
}

/* ====================================================================== */
/*  Writing                                                               */
/* ====================================================================== */

/* How an array is stored: the image type given to fits_create_img, the
 * cfitsio type of the values handed over, and, for scaled writes, the
 * scaling applied here. */
typedef struct layout {
    int imgtype;
    int ctype;
    size_t out_size; /* bytes per value handed to cfitsio */
    int is_float;
    int scaled;
    int bitpix;
    double bscale, bzero;
} layout;

static int layout_for_dtype(bmp_dtype d, layout *l)
{
    memset(l, 0, sizeof *l);
    switch (d) {
    case BMP_DTYPE_BOOL:
    case BMP_DTYPE_UINT8: l->imgtype = BYTE_IMG, l->ctype = TBYTE; break;
    case BMP_DTYPE_INT8: l->imgtype = SBYTE_IMG, l->ctype = TSBYTE; break;
    case BMP_DTYPE_INT16: l->imgtype = SHORT_IMG, l->ctype = TSHORT; break;
    case BMP_DTYPE_UINT16: l->imgtype = USHORT_IMG, l->ctype = TUSHORT; break;
    case BMP_DTYPE_INT32: l->imgtype = LONG_IMG, l->ctype = TINT; break;
    case BMP_DTYPE_UINT32: l->imgtype = ULONG_IMG, l->ctype = TUINT; break;
    case BMP_DTYPE_INT64: l->imgtype = LONGLONG_IMG, l->ctype = TLONGLONG; break;
    case BMP_DTYPE_UINT64:
        l->imgtype = ULONGLONG_IMG, l->ctype = TULONGLONG;
        break;
    case BMP_DTYPE_FLOAT32:
        l->imgtype = FLOAT_IMG, l->ctype = TFLOAT, l->is_float = 1;
        break;
    case BMP_DTYPE_FLOAT64:
        l->imgtype = DOUBLE_IMG, l->ctype = TDOUBLE, l->is_float = 1;
        break;
    default:
        return BMP_EUNSUPPORTED;
    }
    l->out_size = bmp_dtype_size(d);
    return 0;
}

static int layout_scaled(int bitpix, double bscale, double bzero, layout *l)
{
    memset(l, 0, sizeof *l);
    switch (bitpix) {
    case 8: l->imgtype = BYTE_IMG, l->ctype = TBYTE; break;
    case 16: l->imgtype = SHORT_IMG, l->ctype = TSHORT; break;
    case 32: l->imgtype = LONG_IMG, l->ctype = TINT; break;
    case 64: l->imgtype = LONGLONG_IMG, l->ctype = TLONGLONG; break;
    default:
        return BMP_EINVAL;
    }
    l->out_size = (size_t)bitpix / 8;
    l->scaled = 1;
    l->bitpix = bitpix;
    l->bscale = bscale;
    l->bzero = bzero;
    return 0;
}

/* An array made by this library or filled in by hand, checked so that a
 * wrong pointer gives BMP_EINVAL rather than a crash in cfitsio. */
static int array_plausible(const bmp_array *a)
{
    size_t size = bmp_dtype_size(a->dtype);
    if (size == 0 || a->itemsize != size || a->ndim < 0 ||
        a->ndim > BMP_MAX_DIMS)
        return 0;
    size_t count = 1;
    for (int i = 0; i < a->ndim; i++) {
        if (a->shape[i] != 0 && count > SIZE_MAX / a->shape[i])
            return 0;
        count *= a->shape[i];
    }
    if (count != a->count || a->nbytes != count * size)
        return 0;
    if (a->nbytes > 0 && !a->data)
        return 0;
    return a->byteorder == '<' || a->byteorder == '>' ||
           a->byteorder == '|' || a->byteorder == '=';
}

static int is_skipped_key(const char *key, int is_float)
{
    static const char *const always[] = {
        "SIMPLE", "XTENSION", "BITPIX", "NAXIS", "EXTEND", "PCOUNT",
        "GCOUNT", "BSCALE", "BZERO", "END", "CHECKSUM", "DATASUM", NULL};
    for (int i = 0; always[i]; i++)
        if (strcmp(key, always[i]) == 0)
            return 1;
    if (strncmp(key, "NAXIS", 5) == 0 && all_digits(key + 5))
        return 1;
    /* BLANK is defined for integer data only (FITS 4.0, 4.4.2.5). */
    return is_float && strcmp(key, "BLANK") == 0;
}

/* The shortest %G form that reads back as `v`, with a decimal point so
 * that readers see a real, not an integer. */
static void format_real(double v, char *out, size_t size)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, size, "%.*G", prec, v);
        if (strtod(out, NULL) == v)
            break;
    }
    if (strchr(out, '.'))
        return;
    char *e = strchr(out, 'E');
    if (e) {
        char exp[16];
        snprintf(exp, sizeof exp, "%s", e);
        snprintf(e, size - (size_t)(e - out), ".0%s", exp);
    } else {
        strncat(out, ".0", size - strlen(out) - 1);
    }
}

static int write_real_card(fitsfile *f, const char *key, double v,
                           const char *comment, int *status)
{
    char val[40], card[FLEN_CARD];
    format_real(v, val, sizeof val);
    if (fits_make_key(key, val, comment, card, status) > 0)
        return *status;
    return fits_write_record(f, card, status);
}

/* Blank-keyword cards hold up to 72 characters of text each. */
static int write_blank_cards(fitsfile *f, const char *text, int *status)
{
    size_t n = strlen(text);
    do {
        char card[FLEN_CARD];
        size_t take = n > 72 ? 72 : n;
        snprintf(card, sizeof card, "        %.*s", (int)take, text);
        fits_write_record(f, card, status);
        text += take;
        n -= take;
    } while (n > 0 && *status == 0);
    return *status;
}

/* FITS headers hold printable ASCII only; cfitsio would quietly turn
 * other bytes into blanks, so they are refused instead. */
static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

static int write_cards(fitsfile *f, const json_t *cards, int is_float,
                       const char *path, bmp_error *err)
{
    size_t i;
    json_t *c;
    json_array_foreach(cards, i, c) {
        const char *key = json_string_value(json_object_get(c, "key"));
        if (!json_is_object(c) || !key)
            return bmp_error_set(err, BMP_EINVAL, "write", path,
                                 "header card %zu for %s is not an object "
                                 "with a string \"key\"",
                                 i, path);
        json_t *value = json_object_get(c, "value");
        json_t *jcom = json_object_get(c, "comment");
        if (jcom && !json_is_null(jcom) && !json_is_string(jcom))
            return bmp_error_set(err, BMP_EINVAL, "write", path,
                                 "header card %zu (%s) for %s has a comment "
                                 "that is not a string",
                                 i, key, path);
        const char *comment = jcom && json_is_string(jcom)
                                  ? json_string_value(jcom)
                                  : "";

        /* Normalise the key: cfitsio adds HIERARCH itself to long keys,
         * and standard keywords are upper case. */
        if (strncasecmp(key, "HIERARCH ", 9) == 0)
            key += 9;
        char ukey[FLEN_KEYWORD];
        if (strlen(key) >= sizeof ukey)
            return bmp_error_set(err, BMP_EINVAL, "write", path,
                                 "header card %zu for %s has a key longer "
                                 "than %d characters",
                                 i, path, FLEN_KEYWORD - 1);
        snprintf(ukey, sizeof ukey, "%s", key);
        if (strlen(ukey) <= 8 && !strchr(ukey, ' '))
            for (char *p = ukey; *p; p++)
                *p = (char)toupper((unsigned char)*p);
        if (is_skipped_key(ukey, is_float))
            continue;
        if (!printable(ukey) || !printable(comment) ||
            (json_is_string(value) && !printable(json_string_value(value))))
            return bmp_error_set(err, BMP_EINVAL, "write", path,
                                 "header card %zu (%s) for %s holds a "
                                 "character other than printable ASCII, "
                                 "which FITS headers cannot hold",
                                 i, ukey, path);

        int status = 0;
        if (is_commentary(ukey)) {
            if (value && !json_is_null(value) && !json_is_string(value))
                return bmp_error_set(err, BMP_EINVAL, "write", path,
                                     "header card %zu (%s) for %s must "
                                     "have a string value",
                                     i, ukey[0] ? ukey : "blank key", path);
            const char *text = json_is_string(value) ? json_string_value(value)
                                                      : "";
            if (strcmp(ukey, "COMMENT") == 0)
                fits_write_comment(f, text, &status);
            else if (strcmp(ukey, "HISTORY") == 0)
                fits_write_history(f, text, &status);
            else
                write_blank_cards(f, text, &status);
        } else if (!value || json_is_null(value)) {
            fits_write_key_null(f, ukey, comment, &status);
        } else if (json_is_boolean(value)) {
            fits_write_key_log(f, ukey, json_is_true(value), comment, &status);
        } else if (json_is_integer(value)) {
            fits_write_key_lng(f, ukey, json_integer_value(value), comment,
                               &status);
        } else if (json_is_real(value)) {
            double v = json_real_value(value);
            if (!isfinite(v))
                return bmp_error_set(err, BMP_EINVAL, "write", path,
                                     "header card %zu (%s) for %s is not "
                                     "finite; FITS cannot hold NaN or "
                                     "infinity in a header",
                                     i, ukey, path);
            write_real_card(f, ukey, v, comment, &status);
        } else if (json_is_string(value)) {
            fits_write_key_longstr(f, ukey, json_string_value(value), comment,
                                   &status);
        } else if (json_is_array(value) && json_array_size(value) == 2 &&
                   json_is_number(json_array_get(value, 0)) &&
                   json_is_number(json_array_get(value, 1))) {
            double cv[2] = {json_number_value(json_array_get(value, 0)),
                            json_number_value(json_array_get(value, 1))};
            fits_write_key_dblcmp(f, ukey, cv, -17, comment, &status);
        } else {
            return bmp_error_set(err, BMP_EINVAL, "write", path,
                                 "header card %zu (%s) for %s has a value "
                                 "FITS cannot hold (objects and arrays other "
                                 "than [re, im] are not allowed)",
                                 i, ukey, path);
        }
        if (status > 0)
            return fits_fail(err, BMP_EINVAL, "write", path, status,
                             "header card %zu (%s) cannot be written to %s", i,
                             ukey, path);
    }
    return 0;
}

/* Walks an array's elements in C (logical) order and gives each one's
 * position in storage order, so that Fortran-ordered arrays are written
 * as the logical array they hold. */
typedef struct walker {
    int ndim, fortran;
    size_t idx[BMP_MAX_DIMS];
    size_t stride[BMP_MAX_DIMS]; /* storage stride of each C axis */
    const size_t *shape;
    size_t pos; /* storage index of the current element */
} walker;

static void walker_init(walker *w, const bmp_array *a)
{
    memset(w, 0, sizeof *w);
    w->ndim = a->ndim;
    w->fortran = a->fortran_order && a->ndim > 1;
    w->shape = a->shape;
    size_t s = 1;
    for (int i = 0; i < a->ndim; i++) {
        w->stride[i] = s; /* Fortran order: the first axis is fastest */
        s *= a->shape[i];
    }
}

static void walker_next(walker *w)
{
    if (!w->fortran) {
        w->pos++;
        return;
    }
    for (int i = w->ndim - 1; i >= 0; i--) {
        if (++w->idx[i] < w->shape[i]) {
            w->pos += w->stride[i];
            return;
        }
        w->pos -= w->stride[i] * (w->idx[i] - 1);
        w->idx[i] = 0;
    }
}

/* Converts `n` elements from the walker into `buf` as cfitsio values. */
static int fill_chunk(const bmp_array *a, const layout *l, walker *w,
                      unsigned char *buf, size_t n, size_t first,
                      const char *path, bmp_error *err)
{
    int swap = a->byteorder != '|' && a->byteorder != '=' &&
               a->byteorder != NATIVE_ORDER;
    for (size_t j = 0; j < n; j++, walker_next(w)) {
        unsigned char *dst = buf + j * l->out_size;
        if (!l->scaled) {
            const unsigned char *src =
                (const unsigned char *)a->data + w->pos * a->itemsize;
            if (swap)
                for (size_t k = 0; k < a->itemsize; k++)
                    dst[k] = src[a->itemsize - 1 - k];
            else
                memcpy(dst, src, a->itemsize);
            continue;
        }
        double v = bmp_array_get_double(a, w->pos);
        double s = round((v - l->bzero) / l->bscale);
        double lo, hi; /* hi is exclusive */
        switch (l->bitpix) {
        case 8: lo = 0.0, hi = 256.0; break;
        case 16: lo = -32768.0, hi = 32768.0; break;
        case 32: lo = -2147483648.0, hi = 2147483648.0; break;
        default: lo = -9223372036854775808.0, hi = 9223372036854775808.0;
        }
        if (!(s >= lo && s < hi))
            return bmp_error_set(err, BMP_EINVAL, "write", path,
                                 "element %zu (value %g) cannot be stored "
                                 "in %s as BITPIX %d with BSCALE %g and "
                                 "BZERO %g",
                                 first + j, v, path, l->bitpix, l->bscale,
                                 l->bzero);
        switch (l->bitpix) {
        case 8: { uint8_t t = (uint8_t)s; memcpy(dst, &t, 1); break; }
        case 16: { int16_t t = (int16_t)s; memcpy(dst, &t, 2); break; }
        case 32: { int32_t t = (int32_t)s; memcpy(dst, &t, 4); break; }
        default: { int64_t t = (int64_t)s; memcpy(dst, &t, 8); break; }
        }
    }
    return 0;
}

static int write_data(fitsfile *f, const bmp_array *a, const layout *l,
                      const char *path, bmp_error *err)
{
    int status = 0;
    if (a->count == 0)
        return 0;
    int native = a->byteorder == '|' || a->byteorder == '=' ||
                 a->byteorder == NATIVE_ORDER;
    if (!l->scaled && native && !(a->fortran_order && a->ndim > 1)) {
        /* cfitsio copies (and byte-swaps) through its own buffers and
         * never writes to the caller's array, so the cast is safe. */
        if (fits_write_img(f, l->ctype, 1, (LONGLONG)a->count, (void *)a->data,
                           &status) > 0)
            return fits_fail(err, BMP_EFITS, "write", path, status,
                             "cannot write the data of %s", path);
        return 0;
    }
    size_t chunk = a->count < 65536 ? a->count : 65536;
    unsigned char *buf = malloc(chunk * l->out_size);
    if (!buf)
        return bmp_error_set(err, -ENOMEM, "write", path, "out of memory");
    walker w;
    walker_init(&w, a);
    int rc = 0;
    for (size_t first = 0; first < a->count && rc == 0; first += chunk) {
        size_t n = a->count - first < chunk ? a->count - first : chunk;
        rc = fill_chunk(a, l, &w, buf, n, first, path, err);
        if (rc == 0 && fits_write_img(f, l->ctype, (LONGLONG)first + 1,
                                      (LONGLONG)n, buf, &status) > 0)
            rc = fits_fail(err, BMP_EFITS, "write", path, status,
                           "cannot write the data of %s", path);
    }
    free(buf);
    return rc;
}

/* Reserves a fresh temporary name beside `path` and creates the FITS file
 * there.  bmp__atomic_create_unique() picks the name and announces it to
 * the caller before the file exists; the placeholder it makes is removed
 * again because cfitsio only creates files that do not exist, which also
 * makes a collision with another writer fail rather than clobber. */
static int create_temp(const char *path, char **tmp_out, fitsfile **f,
                       int *lock_fd, bmp_error *err)
{
    *lock_fd = -1;
    char *tmp = NULL;
    int rc = bmp__atomic_temp_pattern(path, &tmp);
    if (rc == -EISDIR)
        return bmp_error_set(err, BMP_EINVAL, "write", path,
                             "cannot write FITS to %s: the name is a "
                             "directory",
                             path);
    if (rc < 0)
        return bmp_error_set(err, rc, "write", path, "out of memory");
    size_t len = strlen(tmp);
    int status = 0;
    for (int attempt = 0; attempt < 8; attempt++) {
        memcpy(tmp + len - 6, "XXXXXX", 6); /* a fresh name each time */
        /* A placeholder reserves a fresh name, announced to the caller
         * before it exists, so that a killed worker's file is removed. */
        int fd = bmp__atomic_create_unique(tmp);
        if (fd < 0) {
            free(tmp);
            return bmp_error_set(err, fd, "write", path,
                                 "cannot create a temporary file beside %s: "
                                 "%s",
                                 path, bmp_strerror(fd));
        }
        close(fd);
        unlink(tmp);
        status = 0;
        if (fits_create_diskfile(f, tmp, &status) == 0) {
            /* The writers' lock on a live temporary (atomic_file.h),
             * taken on cfitsio's file through a descriptor of our own
             * and held until the file is renamed. */
            *lock_fd = open(tmp, O_RDONLY | O_CLOEXEC);
            if (*lock_fd >= 0 && flock(*lock_fd, LOCK_EX | LOCK_NB) != 0) {
                close(*lock_fd);
                *lock_fd = -1;
            }
            *tmp_out = tmp;
            return 0;
        }
        bmp__atomic_forget_temp(tmp);
        if (status != FILE_NOT_CREATED)
            break;
    }
    free(tmp);
    *f = NULL;
    return fits_fail(err, BMP_EFITS, "write", path, status,
                     "cannot create a temporary FITS file beside %s", path);
}

/* Moves the finished temporary file to `path`. */
static int publish(const char *tmp, const char *path, unsigned flags,
                   bmp_error *err)
{
    int rc = bmp__atomic_rename(tmp, path,
                                bmp__commit_flags(flags, BMP__FITS_WRITE_BITS));
    if (rc == 0)
        return 0;
    if (rc == -EEXIST)
        return bmp_error_set(err, rc, "write", path,
                             "cannot write %s: the file exists; set "
                             "overwrite to replace it",
                             path);
    return bmp_error_set(err, rc, "write", path, "cannot write %s: %s", path,
                         bmp_strerror(rc));
}

static int write_file(const char *path, const bmp_array *a,
                      const json_t *cards, const layout *l, unsigned flags,
                      bmp_error *err)
{
    if (!cards)
        cards = a->header;
    if (cards && !json_is_array(cards))
        return bmp_error_set(err, BMP_EINVAL, "write", path,
                             "the header cards for %s are not a JSON array",
                             path);
    /* Only to spare building a file that cannot be put in place: the
     * rename in publish() is what refuses an existing file, also one
     * that appears meanwhile. */
    if ((flags & BMP_FITS_NO_CLOBBER) && access(path, F_OK) == 0)
        return bmp_error_set(err, -EEXIST, "write", path,
                             "cannot write %s: the file exists", path);

    char *tmp = NULL;
    fitsfile *f = NULL;
    int lock_fd;
    int rc = create_temp(path, &tmp, &f, &lock_fd, err);
    if (rc < 0)
        return rc;
    c_numeric loc;
    if ((rc = c_numeric_enter(&loc)) < 0) {
        int st = 0;
        fits_close_file(f, &st);
        unlink(tmp);
        if (lock_fd >= 0)
            close(lock_fd);
        free(tmp);
        return bmp_error_set(err, rc, "write", path, "out of memory");
    }

    int status = 0;
    LONGLONG naxes[BMP_MAX_DIMS];
    for (int i = 0; i < a->ndim; i++)
        naxes[i] = (LONGLONG)a->shape[a->ndim - 1 - i];
    if (fits_create_imgll(f, l->imgtype, a->ndim, naxes, &status) > 0) {
        rc = fits_fail(err, BMP_EFITS, "write", path, status,
                       "cannot create the image in %s", path);
        goto out;
    }
    /* cfitsio adds two COMMENT cards citing the FITS paper; a file read
     * and written again would gain two more each time. */
    while (status == 0)
        fits_delete_key(f, "COMMENT", &status);
    status = 0;

    if (l->scaled) {
        write_real_card(f, "BSCALE", l->bscale, "physical = BZERO + BSCALE * stored",
                        &status);
        write_real_card(f, "BZERO", l->bzero, "physical = BZERO + BSCALE * stored",
                        &status);
        if (status > 0) {
            rc = fits_fail(err, BMP_EFITS, "write", path, status,
                           "cannot write BSCALE and BZERO to %s", path);
            goto out;
        }
    }
    if (cards && (rc = write_cards(f, cards, l->is_float, path, err)) < 0)
        goto out;
    if (l->scaled) {
        /* The values handed over are already the stored integers: define
         * the HDU from the header just written, then switch cfitsio's own
         * scaling off so it does not apply BSCALE/BZERO a second time. */
        fits_set_hdustruc(f, &status);
        fits_set_bscale(f, 1.0, 0.0, &status);
        if (status > 0) {
            rc = fits_fail(err, BMP_EFITS, "write", path, status,
                           "cannot set up scaled data in %s", path);
            goto out;
        }
    }
    if ((rc = write_data(f, a, l, path, err)) < 0)
        goto out;
    if ((flags & BMP_FITS_CHECKSUM) && fits_write_chksum(f, &status) > 0) {
        rc = fits_fail(err, BMP_EFITS, "write", path, status,
                       "cannot write the checksum of %s", path);
        goto out;
    }
    /* Closing flushes cfitsio's buffers: a full disk shows up here. */
    fits_close_file(f, &status);
    f = NULL;
    if (status > 0) {
        rc = fits_fail(err, BMP_EFITS, "write", path, status,
                       "cannot finish writing %s", path);
        goto out;
    }
    if ((flags & BMP_FITS_FSYNC) && (rc = bmp__fsync_path(tmp)) < 0) {
        bmp_error_set(err, rc, "write", path, "cannot fsync %s: %s", path,
                      bmp_strerror(rc));
        goto out;
    }
    rc = publish(tmp, path, flags, err);
    if (rc == 0 && (flags & BMP_FITS_FSYNC))
        bmp__fsync_parent(path);

out:
    c_numeric_leave(&loc);
    if (f) {
        int st = 0;
        fits_close_file(f, &st);
    }
    if (rc < 0)
        unlink(tmp);
    if (lock_fd >= 0)
        close(lock_fd);
    free(tmp);
    return rc;
}

static int check_write_args(const char *path, const bmp_array *a,
                            unsigned flags, bmp_error *err)
{
    if (!path || !*path || !a)
        return bmp_error_set(err, BMP_EINVAL, "write", path,
                             "writing FITS needs a file name and an array");
    if (flags & ~(BMP_FITS_NO_CLOBBER | BMP_FITS_CHECKSUM | BMP_FITS_FSYNC))
        return bmp_error_set(err, BMP_EINVAL, "write", path,
                             "unknown flags 0x%x for writing %s", flags, path);
    if (!array_plausible(a))
        return bmp_error_set(err, BMP_EINVAL, "write", path,
                             "the data for %s are not a consistent bmp_array",
                             path);
    if (a->ndim == 0)
        return bmp_error_set(err, BMP_EUNSUPPORTED, "write", path,
                             "cannot write a 0-dimensional array to %s: FITS "
                             "images have at least one axis",
                             path);
    return 0;
}

int bmp_fits_write(const char *path, const bmp_array *a, const json_t *cards,
                   unsigned flags, bmp_error *err)
{
    int rc = check_write_args(path, a, flags, err);
    if (rc < 0)
        return rc;
    layout l;
    if (layout_for_dtype(a->dtype, &l) < 0)
        return bmp_error_set(err, BMP_EUNSUPPORTED, "write", path,
                             "cannot write %s data to %s: FITS has no such "
                             "image type",
                             bmp_dtype_name(a->dtype), path);
    return write_file(path, a, cards, &l, flags, err);
}

int bmp_fits_write_scaled(const char *path, const bmp_array *a,
                          const json_t *cards, int bitpix, double bscale,
                          double bzero, unsigned flags, bmp_error *err)
{
    int rc = check_write_args(path, a, flags, err);
    if (rc < 0)
        return rc;
    layout l;
    if (layout_scaled(bitpix, bscale, bzero, &l) < 0)
        return bmp_error_set(err, BMP_EINVAL, "write", path,
                             "BITPIX %d is not an integer FITS type (8, 16, "
                             "32 or 64) for scaled data in %s",
                             bitpix, path);
    if (!isfinite(bscale) || bscale == 0.0 || !isfinite(bzero))
        return bmp_error_set(err, BMP_EINVAL, "write", path,
                             "BSCALE must be finite and non-zero and BZERO "
                             "finite for %s",
                             path);
    if (a->dtype == BMP_DTYPE_COMPLEX64 || a->dtype == BMP_DTYPE_COMPLEX128)
        return bmp_error_set(err, BMP_EUNSUPPORTED, "write", path,
                             "cannot write complex data to %s", path);
    return write_file(path, a, cards, &l, flags, err);
}
