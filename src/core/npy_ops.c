/*
 * npy_ops.c -- bmp_ops entries for .npy data: bmp_npy_file_read and
 * bmp_npy_file_write.  They translate item keywords into flags of the core
 * API (npy.c) and its bmp_error into the item's failure message; they are
 * kept apart from the core so that the core stays usable, and testable,
 * without a pipeline.
 */
#include "bigmultipipe.h"

#include "atomic_file.h"
#include "format_ops.h"
#include "objects_internal.h"
#include "run.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int bmp_npy_file_read(bmp_item *item, const char *in_name, void **data)
{
    *data = NULL;
    int use_mmap = 0, native = 1;
    if (bmp__ops_kw_bool(item, "npy_mmap", &use_mmap) < 0 ||
        bmp__ops_kw_bool(item, "npy_native", &native) < 0)
        return BMP_EKWTYPE;
    unsigned flags = (use_mmap ? BMP_NPY_MMAP : 0) |
                     (native ? BMP_NPY_NATIVE : 0);
    bmp_error err = {0};
    bmp_array *a = NULL;
    int rc = bmp_npy_read(in_name, flags, &a, &err);
    if (rc < 0)
        return bmp_item_fail(item, rc, "%s: %s", in_name, err.text);
    *data = a;
    return 0;
}

int bmp_npy_file_write(bmp_item *item, void *data, const char *outname,
                       char **written)
{
    *written = NULL;
    if (!bmp__is_array(data))
        return bmp_item_fail(item, BMP_EINVAL,
                             "bmp_npy_file_write writes bmp_array data only");
    int rc = bmp__prepare_outdir(item, outname);
    if (rc < 0)
        return rc;
    unsigned flags = bmp__write_flags(bmp__atomic_flags_for(item),
                                      BMP__NPY_WRITE_BITS);
    bmp_error err = {0};
    rc = bmp_npy_write(outname, data, flags, &err);
    if (rc == -EEXIST || rc == -ENOENT)
        return bmp__write_failed(item, outname, rc);
    if (rc < 0)
        return bmp_item_fail(item, rc, "%s: %s", outname, err.text);
    return 0;
}
