/*
 * format_ops.h -- what the formats' bmp_ops entries (npy_ops.c,
 * fits_ops.c) share: their keywords read the same way, so that a keyword
 * of the wrong type fails the item with the same kind of message in
 * every format instead of being taken as its default.
 */
#ifndef BMP_FORMAT_OPS_H
#define BMP_FORMAT_OPS_H

#include "bigmultipipe.h"

#include "run.h"
#include "write_flags.h"

/* *value = the boolean keyword `key` of the item (untouched when not
 * given).  @return 0, or BMP_EKWTYPE with the item failed, naming the
 * keyword and the type wanted, when the keyword holds another type. */
static inline int bmp__ops_kw_bool(bmp_item *item, const char *key, int *value)
{
    if (bmp_kw_get_bool(bmp__item_kw_view(item), key, value) < 0)
        return bmp_item_fail(item, BMP_EKWTYPE, "keyword %s must be a boolean",
                             key);
    return 0;
}

#endif
