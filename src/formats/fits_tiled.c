/*
 * fits_tiled.c -- the header a tile-compressed image shows its users.
 *
 * A tile-compressed image (the "tiled image convention", FITS 4.0
 * section 10) is stored as a binary table.  Its header holds the table's
 * structure (XTENSION = 'BINTABLE', TFORMn, ...), the compression's
 * (ZIMAGE, ZCMPTYPE, ZTILEn, ...), the image's structure under other
 * names (ZBITPIX, ZNAXISn, ZTENSION or ZSIMPLE, ...) and the user's cards.
 * The reader presents the image header the file was made from, as
 * astropy's CompImageHDU.header does.
 *
 * - The translation is ours, over the cards already parsed, rather than
 *   cfitsio's fits_img_decompress_header: that one builds a whole HDU in a
 *   memory file, fails on files astropy writes (BZERO before ZTENSION
 *   gives "1st key not SIMPLE or XTENSION"), and invents a primary
 *   header with SIMPLE, EXTEND and cfitsio's COMMENT cards when ZTENSION
 *   is absent.
 * - The rules are astropy's (CompImageHDU.header), so both show the same
 *   cards in the same order, except that ZBLANK and THEAP, which describe
 *   the compressed table only, are dropped as cfitsio drops them.
 */
#include "fits_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The name astropy and cfitsio give a compressed HDU without EXTNAME. */
#define DEFAULT_EXTNAME "COMPRESSED_IMAGE"

static int has_prefix_and_number(const char *key, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(key, prefix, n) == 0 && all_digits(key + n) &&
           key[n] != '0';
}

/* Cards of the table or of the compression, never shown (astropy's
 * CompImageHeader._is_reserved_keyword, plus ZBLANK and THEAP). */
static int is_table_or_compression_key(const char *key)
{
    static const char *const plain[] = {
        "XTENSION", "SIMPLE",   "BITPIX",  "NAXIS",    "PCOUNT",   "GCOUNT",
        "EXTEND",   "TFIELDS",  "THEAP",   "ZIMAGE",   "ZCMPTYPE", "ZMASKCMP",
        "ZQUANTIZ", "ZDITHER0", "ZSIMPLE", "ZTENSION", "ZBITPIX",  "ZNAXIS",
        "ZEXTEND",  "ZBLOCKED", "ZPCOUNT", "ZGCOUNT",  "ZHECKSUM", "ZDATASUM",
        "ZBLANK",   "CHECKSUM", "DATASUM", NULL};
    for (int i = 0; plain[i]; i++)
        if (strcmp(key, plain[i]) == 0)
            return 1;
    static const char *const indexed[] = {"NAXIS", "ZNAXIS", "ZTILE", "ZNAME",
                                          "ZVAL",  "TTYPE",  "TFORM", "TUNIT",
                                          "TNULL", "TSCAL",  "TZERO", "TDISP",
                                          "TBCOL", "TDIM",   "TCTYP", "TCUNI",
                                          "TCRPX", "TCRVL",  "TCDLT", "TRPOS",
                                          NULL};
    for (int i = 0; indexed[i]; i++)
        if (has_prefix_and_number(key, indexed[i]))
            return 1;
    return 0;
}

static const char *card_key(const json_t *card)
{
    const char *k = json_string_value(json_object_get(card, "key"));
    return k ? k : "";
}

/* The first card with `key`, or NULL. */
static json_t *find(const json_t *cards, const char *key)
{
    size_t i;
    json_t *c;
    json_array_foreach(cards, i, c)
    {
        if (strcmp(card_key(c), key) == 0)
            return c;
    }
    return NULL;
}

/* Appends {key, value of `from`, comment of `from`}; `from` may be NULL
 * (then `value`, stolen, and "" are used).  @return 0 or -ENOMEM. */
static int add(json_t *out, const char *key, const json_t *from, json_t *value)
{
    json_t *v = from ? json_object_get(from, "value") : NULL;
    const char *com = from
                          ? json_string_value(json_object_get(from, "comment"))
                          : NULL;
    json_t *card = json_pack("{s:s,s:O,s:s}", "key", key, "value",
                             v       ? v
                             : value ? value
                                     : json_null(),
                             "comment", com ? com : "");
    json_decref(value);
    if (!card || json_array_append_new(out, card) != 0)
        return -ENOMEM;
    return 0;
}

static int is_default_extname(const json_t *card)
{
    const char *v = json_string_value(json_object_get(card, "value"));
    return v && strcmp(v, DEFAULT_EXTNAME) == 0;
}

int bmp__fits_image_cards(const json_t *table, json_t **out)
{
    *out = NULL;
    json_t *img = json_array();
    if (!img)
        return -ENOMEM;
    int rc = 0;
    const json_t *zsimple = find(table, "ZSIMPLE");
    long long naxis = 0;
    json_t *znaxis = find(table, "ZNAXIS");
    if (json_is_integer(json_object_get(znaxis, "value")))
        naxis = json_integer_value(json_object_get(znaxis, "value"));
    if (naxis < 0 || naxis > 999)
        naxis = 0; /* not an image's; NAXISn cannot be named */

    /* The mandatory cards, in the order FITS requires. */
    if (zsimple)
        rc = add(img, "SIMPLE", zsimple, NULL);
    else if (find(table, "ZTENSION"))
        rc = add(img, "XTENSION", find(table, "ZTENSION"), NULL); /* 'IMAGE' */
    else
        rc = add(img, "XTENSION", NULL, json_string("IMAGE"));
    if (rc == 0 && find(table, "ZBITPIX"))
        rc = add(img, "BITPIX", find(table, "ZBITPIX"), NULL);
    if (rc == 0 && znaxis)
        rc = add(img, "NAXIS", znaxis, NULL);
    for (long long i = 1; rc == 0 && i <= naxis; i++) {
        char zkey[16];
        snprintf(zkey, sizeof zkey, "ZNAXIS%lld", i);
        const json_t *c = find(table, zkey);
        if (c)
            rc = add(img, zkey + 1, c, NULL);
    }
    if (rc == 0 && zsimple && find(table, "ZEXTEND"))
        rc = add(img, "EXTEND", find(table, "ZEXTEND"), NULL);
    if (rc == 0 && !zsimple) {
        const json_t *pc = find(table, "ZPCOUNT"),
                     *gc = find(table, "ZGCOUNT");
        rc = add(img, "PCOUNT", pc, pc ? NULL : json_integer(0));
        if (rc == 0)
            rc = add(img, "GCOUNT", gc, gc ? NULL : json_integer(1));
    }
    if (rc == 0 && !zsimple && find(table, "ZEXTEND"))
        rc = add(img, "EXTEND", find(table, "ZEXTEND"), NULL);
    if (rc == 0 && find(table, "ZBLOCKED"))
        rc = add(img, "BLOCKED", find(table, "ZBLOCKED"), NULL);

    /* The user's cards, in their order. */
    size_t i;
    json_t *c;
    json_array_foreach(table, i, c)
    {
        if (rc != 0)
            break;
        const char *key = card_key(c);
        if (is_table_or_compression_key(key))
            continue;
        if (strcmp(key, "EXTNAME") == 0 && is_default_extname(c))
            continue;
        if (json_array_append(img, c) != 0)
            rc = -ENOMEM;
    }

    /* The image's own checksums, which the table keeps under Z names. */
    if (rc == 0 && find(table, "ZHECKSUM"))
        rc = add(img, "CHECKSUM", find(table, "ZHECKSUM"), NULL);
    if (rc == 0 && find(table, "ZDATASUM"))
        rc = add(img, "DATASUM", find(table, "ZDATASUM"), NULL);
    if (rc != 0) {
        json_decref(img);
        return rc;
    }
    *out = img;
    return 0;
}
