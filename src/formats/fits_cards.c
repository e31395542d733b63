/*
 * fits_cards.c -- FITS header cards as JSON: the current HDU's cards
 * parsed into card objects, card objects written back as cards, and the
 * public helpers that find, read and change cards in a list.
 *
 * - The cards are taken as stored (fits_hdr2str); a tile-compressed
 *   image's table header is then turned into the image's header by
 *   fits_tiled.c.  Each card is split by cfitsio's own parser
 *   (fits_get_keyname, fits_parse_value, fits_get_keytype); only CONTINUE
 *   long strings are joined here.
 */
#include "fits_internal.h"

#include "keywords_internal.h"
#include "text_buf.h"

/* ffgbyt and REPORT_EOF: reading a header's bytes as stored (see
 * bmp__fits_read_cards).  cfitsio installs fitsio2.h with fitsio.h. */
#include <fitsio2.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
    /* JSON has no infinity: a value beyond double ("1E999") keeps its
     * text. */
    if (end == buf || !isfinite(v))
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
    while (*end == ' ')
        end++;
    if (*end)
        return parse_real(text); /* "1E5" or "1.": not an integer */
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
    if (!isfinite(re) || !isfinite(im))
        return json_string(text);
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
    case 'L': return json_boolean(value[0] == 'T');
    case 'I': return parse_integer(value);
    case 'F': return parse_real(value);
    case 'X': return parse_complex(value);
    default: return json_string(value);
    }
}

static json_t *make_card(const char *key, json_t *value, const char *comment)
{
    if (!value)
        return NULL;
    return json_pack("{s:s,s:o,s:s}", "key", key, "value", value, "comment",
                     comment);
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
    bmp__text_buf longstr = {0};
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
                       (strncmp(card, "HIERARCH ", 9) == 0 &&
                        strchr(card, '='));
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
                bmp__text_buf com = {0};
                int ok = bmp__text_buf_append(&longstr, str, slen - 1) == 0 &&
                         bmp__text_buf_append(&com, comment,
                                              strlen(comment)) == 0;
                int more = 1;
                while (ok && more && i + 1 < n &&
                       strncmp(hdr + (size_t)(i + 1) * 80, "CONTINUE", 8) ==
                           0) {
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
                    /* A final '&' continues the string only when a
                     * CONTINUE card follows; otherwise it is text. */
                    more = plen > 0 && piece[plen - 1] == '&' && i + 1 < n &&
                           strncmp(hdr + (size_t)(i + 1) * 80, "CONTINUE",
                                   8) == 0;
                    if (more)
                        plen--;
                    ok = bmp__text_buf_append(&longstr, piece, plen) == 0;
                    if (ok && pcom[0])
                        ok = (com.len == 0 ||
                              bmp__text_buf_append(&com, " ", 1) == 0) &&
                             bmp__text_buf_append(&com, pcom, strlen(pcom)) ==
                                 0;
                }
                json_decref(v);
                /* Trailing blanks are not significant in FITS strings,
                 * a long one's included. */
                if (ok && longstr.s)
                    rstrip(longstr.s);
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

int bmp__fits_cards_parse(const char *text, size_t ncards, int compressed,
                          json_t **out)
{
    *out = NULL;
    if (ncards > INT_MAX)
        return -ENOMEM;
    json_t *cards = parse_cards(text, (int)ncards);
    if (!cards)
        return -ENOMEM;
    if (!compressed) {
        *out = cards;
        return 0;
    }
    int rc = bmp__fits_image_cards(cards, out);
    json_decref(cards);
    return rc;
}

int bmp__fits_read_cards(fitsfile *f, json_t **out)
{
    LONGLONG head = 0, data = 0, end = 0;
    int status = 0;
    *out = NULL;
    /* The header's bytes as stored, up to its END card.  cfitsio's own
     * readers (fits_hdr2str, fits_read_record) leave out the blank cards
     * just before END, taking them for free space; they are cards of the
     * header all the same, and astropy shows them.  A compressed image's
     * table header is then translated by fits_tiled.c. */
    if (fits_get_hduaddrll(f, &head, &data, &end, &status) > 0)
        return status;
    if (data <= head || (data - head) % 80 != 0 ||
        (unsigned long long)(data - head) > SIZE_MAX)
        return BAD_HEADER_FILL;
    size_t size = (size_t)(data - head);
    char *text = malloc(size);
    if (!text)
        return -ENOMEM;
    if (ffmbyt(f, head, REPORT_EOF, &status) > 0 ||
        ffgbyt(f, (LONGLONG)size, text, &status) > 0) {
        free(text);
        return status;
    }
    int compressed = fits_is_compressed_image(f, &status);
    int rc = bmp__fits_cards_parse(text, size / 80, compressed, out);
    free(text);
    return rc;
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
    json_array_foreach(cards, i, c)
    {
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

int bmp_fits_card_get_int(const json_t *cards, const char *key, long long *out)
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
    if (comment &&
        json_object_set_new(c, "comment", json_string(comment)) != 0)
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

/* ====================================================================== */
/*  Header cards: writing                                                 */
/* ====================================================================== */

static int is_skipped_key(const char *key, int is_float)
{
    static const char *const always[] = {"SIMPLE", "XTENSION", "BITPIX",
                                         "NAXIS",  "EXTEND",   "PCOUNT",
                                         "GCOUNT", "BSCALE",   "BZERO",
                                         "END",    "CHECKSUM", "DATASUM",
                                         NULL};
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

int bmp__fits_write_real_card(fitsfile *f, const char *key, double v,
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

/* Whether a string value fits beside its key.  cfitsio continues long
 * strings over CONTINUE cards for standard keys, but a HIERARCH card's
 * value it cuts to what is left of the card: "HIERARCH KEY = 'value'". */
static int fits_hierarch_string_fits(const char *key, const char *value)
{
    if (strlen(key) <= 8 && !strchr(key, ' '))
        return 1;
    size_t quoted = 2;
    for (const char *p = value; *p; p++)
        quoted += *p == '\'' ? 2 : 1;
    return 9 + strlen(key) + 3 + quoted <= 80;
}

/* A string value holding quotes, over CONTINUE cards when it is long
 * (FITS 4.0, section 4.2.1.2), split here rather than by cfitsio: its
 * fits_write_key_longstr (4.2) never returns for some strings with many
 * quotes (found by fuzz_fits_cards).  Each card holds as much of the
 * value as fits with its quotes doubled, and '&' when more follows; the
 * comment goes on the last card, shortened to what is left of it. */
static int write_quoted_string(fitsfile *f, const char *key, const char *value,
                               const char *comment, int *status)
{
    const char *p = value;
    int first = 1;
    do {
        char body[80], card[FLEN_CARD];
        size_t o = 0, room = 80 - 10 - 2 - 1; /* name, quotes, '&' */
        while (*p && o + (*p == '\'' ? 2 : 1) <= room) {
            if (*p == '\'')
                body[o++] = '\'';
            body[o++] = *p++;
        }
        body[o] = '\0';
        int more = *p != '\0';
        int n = snprintf(card, sizeof card, "%-8.8s%s'%s%s'",
                         first ? key : "CONTINUE", first ? "= " : "  ", body,
                         more ? "&" : "");
        if (!more && comment && comment[0] && n + 3 < 80)
            snprintf(card + n, sizeof card - (size_t)n, " / %.*s", 80 - n - 3,
                     comment);
        fits_write_record(f, card, status);
        first = 0;
    } while (*p && *status <= 0);
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

/* Writes `n` blank cards. */
static int write_blanks(fitsfile *f, size_t n, int *status)
{
    for (size_t k = 0; k < n && *status <= 0; k++)
        fits_write_record(f, "", status);
    return *status;
}

int bmp__fits_write_cards(fitsfile *f, const json_t *cards, int is_float,
                          const char *extname, size_t *held_blanks,
                          const char *path, bmp_error *err)
{
    size_t i, blanks = 0; /* blank cards not yet written */
    json_t *c;
    *held_blanks = 0;
    if (extname) {
        int status = 0;
        if (!printable(extname) ||
            fits_write_key_longstr(f, "EXTNAME", extname, "extension name",
                                   &status) > 0)
            return bmp_error_set(err, BMP_EINVAL, "write", path,
                                 "the EXTNAME '%s' cannot be written to %s: "
                                 "FITS headers hold printable ASCII only",
                                 extname, path);
    }
    json_array_foreach(cards, i, c)
    {
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
        if (is_skipped_key(ukey, is_float) ||
            (extname && strcmp(ukey, "EXTNAME") == 0))
            continue;
        if (!printable(ukey) || !printable(comment) ||
            (json_is_string(value) && !printable(json_string_value(value))))
            return bmp_error_set(err, BMP_EINVAL, "write", path,
                                 "header card %zu (%s) for %s holds a "
                                 "character other than printable ASCII, "
                                 "which FITS headers cannot hold",
                                 i, ukey, path);

        int status = 0;
        /* A CONTINUE card that follows no long string is read as its
         * text, and written back as that text. */
        int raw = is_commentary(ukey) || strcmp(ukey, "CONTINUE") == 0;
        if (raw && value && !json_is_null(value) && !json_is_string(value))
            return bmp_error_set(err, BMP_EINVAL, "write", path,
                                 "header card %zu (%s) for %s must "
                                 "have a string value",
                                 i, ukey[0] ? ukey : "blank key", path);
        const char *text = json_is_string(value) ? json_string_value(value)
                                                 : "";
        /* Blank cards wait until a card follows them: cfitsio would put
         * END over blank cards that end a header (see held_blanks). */
        if (!ukey[0] && text[strspn(text, " ")] == '\0') {
            blanks++;
            continue;
        }
        if (write_blanks(f, blanks, &status) > 0)
            return fits_fail(err, BMP_EINVAL, "write", path, status,
                             "blank header cards cannot be written to %s",
                             path);
        blanks = 0;
        if (strcmp(ukey, "CONTINUE") == 0) {
            if (strlen(text) > 72)
                return bmp_error_set(err, BMP_EINVAL, "write", path,
                                     "header card %zu (CONTINUE) for %s has "
                                     "more than the 72 characters a card "
                                     "holds",
                                     i, path);
            char rec[FLEN_CARD];
            snprintf(rec, sizeof rec, "CONTINUE%s", text);
            fits_write_record(f, rec, &status);
        } else if (is_commentary(ukey)) {
            /* An empty COMMENT or HISTORY is a card too: cfitsio's
             * fits_write_comment would write none for "". */
            if (!text[0])
                fits_write_record(f, ukey, &status);
            else if (strcmp(ukey, "COMMENT") == 0)
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
            bmp__fits_write_real_card(f, ukey, v, comment, &status);
        } else if (json_is_string(value)) {
            const char *str = json_string_value(value);
            if (!fits_hierarch_string_fits(ukey, str))
                return bmp_error_set(err, BMP_EINVAL, "write", path,
                                     "header card %zu (%s) for %s: a long "
                                     "key and its string value do not fit "
                                     "on one card, and cfitsio would cut "
                                     "the value",
                                     i, ukey, path);
            if (strchr(str, '\'') && strlen(ukey) <= 8 && !strchr(ukey, ' '))
                write_quoted_string(f, ukey, str, comment, &status);
            else
                fits_write_key_longstr(f, ukey, str, comment, &status);
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
    *held_blanks = blanks;
    return 0;
}
