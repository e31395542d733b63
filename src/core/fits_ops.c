/*
 * fits_ops.c -- FITS reading and writing as ready-made bmp_ops entries.
 *
 * Kept apart from formats/fits_*.c so that the format code depends on
 * nothing of the pipeline: these adapters only translate keywords into
 * arguments and bmp_error records into item failures.
 */
#include "bigmultipipe.h"

#include "atomic_file.h"
#include "format_ops.h"
#include "objects_internal.h"
#include "run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bmp_fits_file_read(bmp_item *item, const char *in_name, void **data)
{
    const json_t *kw = bmp__item_kw_view(item);
    json_t *sel = json_object_get(kw, "fits_hdu");
    const char *hdu = NULL;
    char index[32];
    *data = NULL;
    if (json_is_string(sel)) {
        hdu = json_string_value(sel);
    } else if (json_is_integer(sel) && json_integer_value(sel) >= 0) {
        snprintf(index, sizeof index, "%lld",
                 (long long)json_integer_value(sel));
        hdu = index;
    } else if (sel && !json_is_null(sel)) {
        return bmp_item_fail(item, BMP_EKWTYPE,
                             "keyword fits_hdu must be an HDU index (an "
                             "integer >= 0) or an EXTNAME string");
    }
    bmp_error err = {0};
    bmp_array *a = NULL;
    int rc = bmp_fits_read(in_name, hdu, &a, &err);
    if (rc < 0)
        return bmp_item_fail(item, rc, "%s", err.text);
    *data = a;
    return 0;
}

int bmp_fits_file_write(bmp_item *item, void *data, const char *outname,
                        char **written)
{
    *written = NULL; /* written where asked */
    if (!bmp__is_array(data))
        return bmp_item_fail(item, BMP_EINVAL,
                             "bmp_fits_file_write writes bmp_array data "
                             "only; reduce a group to one array first");
    /* Before the directory is made: a failed item leaves nothing. */
    int checksum = 0, compress = 0;
    if (bmp__ops_kw_bool(item, "fits_checksum", &checksum) < 0 ||
        bmp__ops_kw_bool(item, "fits_compress", &compress) < 0)
        return BMP_EKWTYPE;
    int rc = bmp__prepare_outdir(item, outname);
    if (rc < 0)
        return rc;
    unsigned flags = (checksum ? BMP_FITS_CHECKSUM : 0u) |
                     (compress ? BMP_FITS_COMPRESS : 0u) |
                     bmp__write_flags(bmp__atomic_flags_for(item),
                                      BMP__FITS_WRITE_BITS);
    bmp_error err = {0};
    rc = bmp_fits_write(outname, (const bmp_array *)data, NULL, flags, &err);
    if (rc == -EEXIST || rc == -ENOENT)
        return bmp__write_failed(item, outname, rc);
    if (rc < 0)
        return bmp_item_fail(item, rc, "%s", err.text);
    return 0;
}
