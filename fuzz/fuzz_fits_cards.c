/*
 * fuzz_fits_cards.c -- libFuzzer target for the FITS header conversion:
 * 80-column cards to JSON card objects (fits_cards.c), the translation of
 * a tile-compressed HDU's table header to its image header
 * (fits_tiled.c), and the writing of cards back.
 *
 * The first byte chooses the mode (bit 0: read as a compressed HDU's
 * header); the rest is the header text, cut into cards of 80 bytes.
 * Besides crashes and sanitizer findings it checks what the conversion
 * promises: any bytes give a list of {key: string, value, comment:
 * string} objects; a compressed HDU's list starts with SIMPLE or XTENSION
 * and holds none of the table's or the compression's cards; and cards
 * with plain keys that could be written, once written and read again,
 * read again the same keys and values the second time (the writer and
 * the reader agree).
 */
#include "bigmultipipe.h"

#include "fits_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)           \
    do {                      \
        if (!(cond))          \
            __builtin_trap(); \
    } while (0)

static void check_cards(const json_t *cards, int compressed)
{
    CHECK(json_is_array(cards));
    size_t i;
    json_t *c;
    json_array_foreach(cards, i, c)
    {
        CHECK(json_is_object(c));
        const char *key = json_string_value(json_object_get(c, "key"));
        CHECK(key != NULL);
        CHECK(json_object_get(c, "value") != NULL);
        CHECK(json_is_string(json_object_get(c, "comment")));
        if (!compressed)
            continue;
        static const char *const gone[] = {"ZIMAGE",  "ZCMPTYPE", "ZBITPIX",
                                           "ZNAXIS",  "ZTENSION", "ZSIMPLE",
                                           "TFIELDS", "ZQUANTIZ", NULL};
        for (int k = 0; gone[k]; k++)
            CHECK(strcmp(key, gone[k]) != 0);
        CHECK(strncmp(key, "TTYPE", 5) != 0 || !all_digits(key + 5) ||
              key[5] == '0');
    }
    if (compressed) {
        const char *first = json_string_value(
            json_object_get(json_array_get(cards, 0), "key"));
        CHECK(first && (strcmp(first, "SIMPLE") == 0 ||
                        strcmp(first, "XTENSION") == 0));
    }
}

/* Writes `cards` into a new in-memory image HDU and reads them back;
 * NULL when they cannot be written (bad input, refused with an error). */
static json_t *write_and_read(const json_t *cards)
{
    fitsfile *f = NULL;
    int status = 0;
    if (fits_create_file(&f, "mem://", &status) > 0)
        return NULL;
    json_t *back = NULL;
    long naxes[1] = {1};
    bmp_error err = {0};
    size_t held = 0;
    if (fits_create_img(f, BYTE_IMG, 1, naxes, &status) > 0) {
        fits_close_file(f, &status);
        return NULL;
    }
    /* Without the two COMMENT cards cfitsio adds, as fits_write.c does. */
    while (status == 0)
        fits_delete_key(f, "COMMENT", &status);
    status = 0;
    if (bmp__fits_write_cards(f, cards, 0, NULL, &held, "mem", &err) == 0) {
        CHECK(err.code == 0);
        fits_set_hdustruc(f, &status);
        if (status == 0 && bmp__fits_read_cards(f, &back) != 0)
            back = NULL;
    } else {
        CHECK(err.code < 0 && err.text[0]);
    }
    status = 0;
    fits_close_file(f, &status);
    return back;
}

/* Keys whose round trip is promised: standard keywords (up to 8 of
 * A-Z 0-9 _ -) and HIERARCH keys of such words and blanks, up to 24
 * characters.  A longer HIERARCH key leaves too little of the card for
 * its value, which cfitsio then shortens (doc/fits.md, "Not done"). */
static int plain_key(const char *key)
{
    size_t n = strlen(key);
    /* An orphan CONTINUE card, written back as its text, would join a
     * string before it that happens to end in '&'. */
    if (n > 24 || strcmp(key, "CONTINUE") == 0)
        return 0;
    for (const char *p = key; *p; p++)
        if (!isupper((unsigned char)*p) && !isdigit((unsigned char)*p) &&
            *p != '_' && *p != '-' && !(*p == ' ' && n > 8))
            return 0;
    return 1;
}

/* The cards of `a` that the writer keeps: not the structural ones. */
static json_t *user_part(const json_t *a)
{
    static const char *const structural[] = {"SIMPLE", "BITPIX", "NAXIS",
                                             "NAXIS1", "EXTEND", NULL};
    json_t *out = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(a, i, c)
    {
        const char *key = json_string_value(json_object_get(c, "key"));
        int skip = 0;
        for (int k = 0; structural[k]; k++)
            skip |= strcmp(key, structural[k]) == 0;
        skip |= !plain_key(key);
        /* Keys and values only: cfitsio shortens a comment that does
         * not fit on its card, as astropy does (doc/fits.md). */
        if (!skip)
            json_array_append_new(out,
                                  json_pack("{s:O,s:O}", "key",
                                            json_object_get(c, "key"), "value",
                                            json_object_get(c, "value")));
    }
    /* Blank cards that end a header are kept by the file writer
     * (keep_end_blanks in fits_write.c, tested in test_fits_hdus.c), not
     * by the card writer this target calls. */
    size_t n;
    while ((n = json_array_size(out)) > 0) {
        json_t *last = json_array_get(out, n - 1);
        const char *k = json_string_value(json_object_get(last, "key"));
        const char *v = json_string_value(json_object_get(last, "value"));
        if (k[0] || (v && v[strspn(v, " ")]))
            break;
        json_array_remove(out, n - 1);
    }
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int compressed = data[0] & 1;
    size_t ncards = (size - 1) / 80;
    if (ncards == 0)
        return 0;
    c_numeric loc;
    if (c_numeric_enter(&loc) != 0)
        return 0;
    json_t *cards = NULL;
    int rc = bmp__fits_cards_parse((const char *)data + 1, ncards, compressed,
                                   &cards);
    CHECK(rc == 0 || rc == -ENOMEM);
    if (rc == 0) {
        check_cards(cards, compressed);
        json_t *once = write_and_read(cards);
        if (once) {
            check_cards(once, 0);
            json_t *u1 = user_part(once);
            json_t *twice = write_and_read(u1);
            CHECK(twice != NULL);
            json_t *u2 = user_part(twice);
            CHECK(json_equal(u1, u2));
            json_decref(u1);
            json_decref(u2);
            json_decref(twice);
            json_decref(once);
        }
    }
    json_decref(cards);
    c_numeric_leave(&loc);
    return 0;
}
