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
        int st = bmp__fits_read_cards(f, cards);
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
