/*
 * fits_read.c -- FITS images to bmp_array, through cfitsio: opening,
 * choosing the HDU, the dtype of scaled data, reading the data.
 *
 * - Files are opened with fits_open_diskfile, not fits_open_file: the
 *   latter parses cfitsio's extended file-name syntax, so a file named
 *   "run[1].fits" would be misread.  A pipeline's names come from users
 *   and globs and must be taken literally.
 * - The dtype of scaled data follows astropy rather than cfitsio's
 *   fits_get_img_equivtype (which picks the narrowest integer type for
 *   integral scalings), so that both libraries give the same array for
 *   the same file and the interoperability tests can compare them.
 */
#include "fits_internal.h"

#include "file_kind.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

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
                             "regular file",
                             path, kind);
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

/* "SCI", "SCI,2", "SCI, 2", " sci , 2 " -> name "SCI"/"sci" and EXTVER
 * (0: any), as astropy takes hdul["SCI", 2]; blanks around the parts are
 * not part of them.  @return 0, or -1 when the name does not fit. */
static int parse_hdu_name(const char *hdu, char *name, size_t size, int *ver)
{
    *ver = 0;
    while (*hdu == ' ')
        hdu++;
    size_t len = strlen(hdu);
    if (len >= size)
        return -1;
    memcpy(name, hdu, len + 1);
    char *comma = strrchr(name, ',');
    if (comma) {
        const char *v = comma + 1;
        while (*v == ' ')
            v++;
        char digits[16];
        size_t n = strcspn(v, " ");
        if (n > 0 && n < sizeof digits && v[n + strspn(v + n, " ")] == '\0') {
            memcpy(digits, v, n);
            digits[n] = '\0';
            if (all_digits(digits) && n <= 9) {
                *ver = atoi(digits);
                *comma = '\0';
            }
        }
    }
    len = strlen(name);
    while (len > 0 && name[len - 1] == ' ')
        name[--len] = '\0';
    return 0;
}

/* "PRIMARY" (any case, EXTVER absent or 1) is HDU 0 when HDU 0 has no
 * EXTNAME or HDUNAME of its own, as astropy names its primary HDU. */
static int is_primary_name(fitsfile *f, const char *name, int ver)
{
    if (strcasecmp(name, "PRIMARY") != 0 || ver > 1)
        return 0;
    int status = 0;
    char value[FLEN_VALUE];
    if (fits_movabs_hdu(f, 1, NULL, &status) > 0)
        return 0;
    if (fits_read_key(f, TSTRING, "EXTNAME", value, NULL, &status) == 0)
        return strcasecmp(value, "PRIMARY") == 0;
    status = 0;
    if (fits_read_key(f, TSTRING, "HDUNAME", value, NULL, &status) == 0)
        return strcasecmp(value, "PRIMARY") == 0;
    return 1;
}

static int check_image(fitsfile *f, const char *path, const char *stage,
                       bmp_error *err);

/* Moves to the HDU `hdu` names (see bmp_fits_read).  With `need_image`,
 * an explicitly selected HDU must be an image. */
static int select_hdu(fitsfile *f, const char *path, const char *hdu,
                      int need_image, const char *stage, bmp_error *err)
{
    int status = 0;

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
                return fits_fail(
                    err, BMP_EFITS, stage, path, status,
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
        if (parse_hdu_name(hdu, name, sizeof name, &ver) == 0 &&
            is_primary_name(f, name, ver))
            return need_image ? check_image(f, path, stage, err) : 0;
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
    return check_image(f, path, stage, err);
}

/* The current HDU must be an image with data. */
static int check_image(fitsfile *f, const char *path, const char *stage,
                       bmp_error *err)
{
    int type = 0, status = 0;
    char what[FLEN_VALUE + 32];
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
    case -64: *dtype = BMP_DTYPE_FLOAT64, *ctype = TDOUBLE; return;
    default: break;
    }
    *dtype = BMP_DTYPE_FLOAT32, *ctype = TFLOAT;
}

/* What the caller asks of the data: a dtype (0: the default choice) and
 * a section (start NULL: the whole image). */
typedef struct read_request {
    bmp_dtype dtype;
    int ndim;
    const size_t *start, *stop;
} read_request;

/* The cfitsio type that converts to `d`, or 0 when cfitsio has none. */
static int ctype_for_dtype(bmp_dtype d)
{
    switch (d) {
    case BMP_DTYPE_INT8: return TSBYTE;
    case BMP_DTYPE_UINT8: return TBYTE;
    case BMP_DTYPE_INT16: return TSHORT;
    case BMP_DTYPE_UINT16: return TUSHORT;
    case BMP_DTYPE_INT32: return TINT;
    case BMP_DTYPE_UINT32: return TUINT;
    case BMP_DTYPE_INT64: return TLONGLONG;
    case BMP_DTYPE_UINT64: return TULONGLONG;
    case BMP_DTYPE_FLOAT32: return TFLOAT;
    case BMP_DTYPE_FLOAT64: return TDOUBLE;
    default: return 0;
    }
}

/* The header of a section: NAXISn its lengths, and the reference pixels
 * CRPIXn (and CRPIXna of alternate coordinates) moved by its start, so
 * that its world coordinates stay right. */
static int section_cards(json_t *cards, int naxis, const size_t *start,
                         const size_t *shape)
{
    size_t i;
    json_t *c;
    json_array_foreach(cards, i, c)
    {
        const char *key = json_string_value(json_object_get(c, "key"));
        json_t *v = json_object_get(c, "value");
        if (!key || !json_is_number(v))
            continue;
        char digits[8] = "";
        int axis = 0, is_naxis = strncmp(key, "NAXIS", 5) == 0;
        const char *num = is_naxis                        ? key + 5
                          : strncmp(key, "CRPIX", 5) == 0 ? key + 5
                                                          : NULL;
        if (!num)
            continue;
        size_t len = strspn(num, "0123456789");
        if (len == 0 || len >= sizeof digits)
            continue;
        memcpy(digits, num, len);
        axis = atoi(digits);
        /* NAXISn only; CRPIXn or CRPIXna (one letter A-Z). */
        if (is_naxis ? num[len] != '\0'
                     : num[len] != '\0' && !(num[len] >= 'A' &&
                                             num[len] <= 'Z' && !num[len + 1]))
            continue;
        if (axis < 1 || axis > naxis)
            continue;
        size_t c_axis = (size_t)(naxis - axis);
        json_t *nv = is_naxis ? json_integer((json_int_t)shape[c_axis])
                              : json_real(json_number_value(v) -
                                          (double)start[c_axis]);
        if (!nv || json_object_set_new(c, "value", nv) != 0)
            return -ENOMEM;
    }
    return 0;
}

/* Real values (NaN for blank pixels) into the integer array `a`,
 * truncated toward zero as cfitsio converts.  @return 0, -1 for a blank
 * pixel, NUM_OVERFLOW for a value out of the dtype's range. */
static int reals_to_integers(const double *v, bmp_array *a)
{
    double lo, hi; /* hi exclusive */
    switch (a->dtype) {
    case BMP_DTYPE_INT8: lo = -128.0, hi = 128.0; break;
    case BMP_DTYPE_UINT8: lo = 0.0, hi = 256.0; break;
    case BMP_DTYPE_INT16: lo = -32768.0, hi = 32768.0; break;
    case BMP_DTYPE_UINT16: lo = 0.0, hi = 65536.0; break;
    case BMP_DTYPE_INT32: lo = -2147483648.0, hi = 2147483648.0; break;
    case BMP_DTYPE_UINT32: lo = 0.0, hi = 4294967296.0; break;
    case BMP_DTYPE_INT64:
        lo = -9223372036854775808.0, hi = 9223372036854775808.0;
        break;
    default: lo = 0.0, hi = 18446744073709551616.0; break;
    }
    for (size_t i = 0; i < a->count; i++) {
        if (isnan(v[i]))
            return -1;
        double t = trunc(v[i]);
        if (!(t >= lo && t < hi))
            return NUM_OVERFLOW;
        bmp_array_set_double(a, i, t);
    }
    return 0;
}

/* Reads the current HDU's data (all of it, or the section asked) into a
 * new array. */
static int read_image(fitsfile *f, const char *path, json_t *cards,
                      const read_request *req, bmp_array **out, bmp_error *err)
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
                         "the image header of %s of %s is invalid", what,
                         path);
    if (naxis > BMP_MAX_DIMS)
        return bmp_error_set(err, BMP_EUNSUPPORTED, "read", path,
                             "%s of %s has %d axes; at most %d are supported",
                             what, path, naxis, BMP_MAX_DIMS);
    if (fits_get_img_sizell(f, naxis, naxes, &status) > 0)
        return fits_fail(err, BMP_EFORMAT, "read", path, status,
                         "the image header of %s of %s is invalid", what,
                         path);

    double bscale = 1.0, bzero = 0.0;
    bmp_fits_card_get_real(cards, "BSCALE", &bscale);
    bmp_fits_card_get_real(cards, "BZERO", &bzero);
    int has_blank = bitpix > 0 && bmp_fits_card_find(cards, "BLANK") != NULL;
    bmp_dtype dtype;
    int ctype;
    choose_dtype(bitpix, bscale, bzero, has_blank, &dtype, &ctype);
    /* Blank pixels of scaled integers become NaN, and so do the nulls of
     * quantized tile-compressed images: wherever the default dtype is
     * real.  Plain float data are read without null checking: cfitsio's
     * check would also turn infinities into NaN and flush subnormals to
     * zero. */
    int st = 0;
    int may_have_nulls = (ctype == TFLOAT || ctype == TDOUBLE) &&
                         (bitpix > 0 || fits_is_compressed_image(f, &st));
    if (req->dtype) {
        ctype = ctype_for_dtype(req->dtype);
        if (!ctype)
            return bmp_error_set(err, BMP_EUNSUPPORTED, "read", path,
                                 "cannot read %s of %s as %s: FITS images "
                                 "convert to integer and real dtypes only",
                                 what, path, bmp_dtype_name(req->dtype));
        dtype = req->dtype;
    }

    /* C order: NAXIS1, the fastest axis, is the last index. */
    size_t full[BMP_MAX_DIMS], shape[BMP_MAX_DIMS], count = 1;
    size_t itemsize = bmp_dtype_size(dtype);
    for (int i = 0; i < naxis; i++) {
        LONGLONG n = naxes[naxis - 1 - i];
        if (n < 0)
            return bmp_error_set(err, BMP_EFORMAT, "read", path,
                                 "%s of %s has a negative axis length", what,
                                 path);
        full[i] = shape[i] = (size_t)n;
    }
    if (req->start) {
        if (req->ndim != naxis)
            return bmp_error_set(err, BMP_EINVAL, "read", path,
                                 "a section of %d axes was asked of %s of %s, "
                                 "which has %d",
                                 req->ndim, what, path, naxis);
        for (int i = 0; i < naxis; i++) {
            if (req->start[i] > req->stop[i] || req->stop[i] > full[i])
                return bmp_error_set(err, BMP_EINVAL, "read", path,
                                     "the section [%zu:%zu] of axis %d is "
                                     "outside %s of %s, whose length there "
                                     "is %zu",
                                     req->start[i], req->stop[i], i, what,
                                     path, full[i]);
            shape[i] = req->stop[i] - req->start[i];
        }
    }
    for (int i = 0; i < naxis; i++) {
        if (shape[i] != 0 && count > SIZE_MAX / itemsize / shape[i])
            return bmp_error_set(err, -ENOMEM, "read", path,
                                 "%s of %s is too large for memory", what,
                                 path);
        count *= shape[i];
    }
    if (req->start && section_cards(cards, naxis, req->start, shape) < 0)
        return bmp_error_set(err, -ENOMEM, "read", path, "out of memory");
    bmp_array *a = bmp_array_new(dtype, naxis, shape);
    if (!a)
        return bmp_error_set(err, -ENOMEM, "read", path,
                             "out of memory reading %s of %s (%zu bytes)",
                             what, path, count * itemsize);
    /* An integer dtype asked of data that may hold blank pixels: cfitsio
     * checks integers for nulls only against a non-zero stand-in, which
     * could be a real value, so the data are read as reals (blanks NaN)
     * and converted here. */
    int via_double = may_have_nulls && ctype != TFLOAT && ctype != TDOUBLE;
    double *reals = NULL;
    if (count > 0 && via_double &&
        (count > SIZE_MAX / sizeof *reals ||
         !(reals = malloc(count * sizeof *reals)))) {
        bmp_object_free(a, NULL);
        return bmp_error_set(err, -ENOMEM, "read", path,
                             "out of memory reading %s of %s", what, path);
    }
    if (count > 0) {
        float fnan = NAN;
        double dnan = NAN;
        int read_type = via_double ? TDOUBLE : ctype;
        void *dest = via_double ? (void *)reals : a->data;
        void *nulval = !may_have_nulls       ? NULL
                       : read_type == TFLOAT ? (void *)&fnan
                                             : (void *)&dnan;
        int anynul = 0;
        if (req->start) {
            long fpixel[BMP_MAX_DIMS], lpixel[BMP_MAX_DIMS], inc[BMP_MAX_DIMS];
            for (int j = 0; j < naxis; j++) { /* FITS axis j + 1 */
                fpixel[j] = (long)req->start[naxis - 1 - j] + 1;
                lpixel[j] = (long)req->stop[naxis - 1 - j];
                inc[j] = 1;
            }
            fits_read_subset(f, read_type, fpixel, lpixel, inc, nulval, dest,
                             &anynul, &status);
        } else {
            fits_read_img(f, read_type, 1, (LONGLONG)count, nulval, dest,
                          &anynul, &status);
        }
        if (status == 0 && via_double)
            status = reals_to_integers(reals, a);
        free(reals);
        if (status != 0) {
            bmp_object_free(a, NULL);
            if (status == -1)
                return bmp_error_set(err, BMP_EINVAL, "read", path,
                                     "%s of %s has blank (undefined) pixels, "
                                     "which %s cannot hold; read it as a "
                                     "real dtype, where they are NaN",
                                     what, path, bmp_dtype_name(dtype));
            if (status == NUM_OVERFLOW)
                return fits_fail(err, BMP_EINVAL, "read", path, status,
                                 "the values of %s of %s do not fit %s", what,
                                 path, bmp_dtype_name(dtype));
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
static int read_hdu(const char *path, const char *hdu, const read_request *req,
                    json_t **cards, bmp_array **array, bmp_error *err)
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
        int st = bmp__fits_read_cards(f, cards);
        if (st < 0)
            rc = bmp_error_set(err, st, "read", path, "out of memory");
        else if (st > 0)
            rc = fits_fail(err, BMP_EFORMAT, "read", path, st,
                           "cannot read the header of %s", path);
    }
    if (rc == 0 && array)
        rc = read_image(f, path, *cards, req, array, err);
    c_numeric_leave(&loc);
    int st = 0;
    fits_close_file(f, &st);
    if (rc < 0) {
        json_decref(*cards);
        *cards = NULL;
    }
    return rc;
}

static int read_array(const char *path, const char *hdu,
                      const read_request *req, bmp_array **out, bmp_error *err)
{
    json_t *cards = NULL;
    bmp_array *a = NULL;
    int rc = read_hdu(path, hdu, req, &cards, &a, err);
    if (rc < 0)
        return rc;
    a->header = cards;
    *out = a;
    return 0;
}

int bmp_fits_read(const char *path, const char *hdu, bmp_array **out,
                  bmp_error *err)
{
    if (out)
        *out = NULL;
    if (!path || !out)
        return bmp_error_set(err, BMP_EINVAL, "read", path,
                             "bmp_fits_read: path and out are required");
    const read_request whole = {0};
    return read_array(path, hdu, &whole, out, err);
}

int bmp_fits_read_as(const char *path, const char *hdu, bmp_dtype dtype,
                     bmp_array **out, bmp_error *err)
{
    return bmp_fits_read_section(path, hdu, dtype, 0, NULL, NULL, out, err);
}

int bmp_fits_read_section(const char *path, const char *hdu, bmp_dtype dtype,
                          int ndim, const size_t *start, const size_t *stop,
                          bmp_array **out, bmp_error *err)
{
    if (out)
        *out = NULL;
    if (!path || !out)
        return bmp_error_set(err, BMP_EINVAL, "read", path,
                             "bmp_fits_read_section: path and out are "
                             "required");
    if ((int)dtype != 0 && bmp_dtype_size(dtype) == 0)
        return bmp_error_set(err, BMP_EINVAL, "read", path,
                             "bmp_fits_read_section: unknown dtype %d",
                             (int)dtype);
    if (!start != !stop || (start && (ndim < 1 || ndim > BMP_MAX_DIMS)) ||
        (!start && ndim != 0))
        return bmp_error_set(err, BMP_EINVAL, "read", path,
                             "bmp_fits_read_section: start and stop are "
                             "both given, with ndim of 1 to %d, or both "
                             "NULL with ndim 0",
                             BMP_MAX_DIMS);
    const read_request req = {dtype, ndim, start, stop};
    return read_array(path, hdu, &req, out, err);
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
    const read_request whole = {0};
    return read_hdu(path, hdu, &whole, cards, NULL, err);
}
