/*
 * fits_write.c -- bmp_array to FITS, through cfitsio: the image type (or
 * scaled integers), the data in logical order whatever the array's
 * memory and byte order, and the file put in place atomically.
 *
 * - Files are created with fits_create_diskfile, not fits_create_file,
 *   so that names are taken literally (see fits_read.c).
 * - Writes go to a temporary name in the target's directory and are
 *   renamed into place, so a reader never sees half a file and a failed
 *   write leaves nothing behind.
 */
#include "fits_internal.h"

#include "atomic_file.h"
#include "write_flags.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define NATIVE_ORDER (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? '<' : '>')

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
    case BMP_DTYPE_INT64:
        l->imgtype = LONGLONG_IMG, l->ctype = TLONGLONG;
        break;
    case BMP_DTYPE_UINT64:
        l->imgtype = ULONGLONG_IMG, l->ctype = TULONGLONG;
        break;
    case BMP_DTYPE_FLOAT32:
        l->imgtype = FLOAT_IMG, l->ctype = TFLOAT, l->is_float = 1;
        break;
    case BMP_DTYPE_FLOAT64:
        l->imgtype = DOUBLE_IMG, l->ctype = TDOUBLE, l->is_float = 1;
        break;
    default: return BMP_EUNSUPPORTED;
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
    default: return BMP_EINVAL;
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
    return a->byteorder == '<' || a->byteorder == '>' || a->byteorder == '|' ||
           a->byteorder == '=';
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
            const unsigned char *src = (const unsigned char *)a->data +
                                       w->pos * a->itemsize;
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
        case 8: {
            uint8_t t = (uint8_t)s;
            memcpy(dst, &t, 1);
            break;
        }
        case 16: {
            int16_t t = (int16_t)s;
            memcpy(dst, &t, 2);
            break;
        }
        case 32: {
            int32_t t = (int32_t)s;
            memcpy(dst, &t, 4);
            break;
        }
        default: {
            int64_t t = (int64_t)s;
            memcpy(dst, &t, 8);
            break;
        }
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
                                bmp__commit_flags(flags,
                                                  BMP__FITS_WRITE_BITS));
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
        const char *how = "physical = BZERO + BSCALE * stored";
        bmp__fits_write_real_card(f, "BSCALE", l->bscale, how, &status);
        bmp__fits_write_real_card(f, "BZERO", l->bzero, how, &status);
        if (status > 0) {
            rc = fits_fail(err, BMP_EFITS, "write", path, status,
                           "cannot write BSCALE and BZERO to %s", path);
            goto out;
        }
    }
    if (cards &&
        (rc = bmp__fits_write_cards(f, cards, l->is_float, path, err)) < 0)
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
