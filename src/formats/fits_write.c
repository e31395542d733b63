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
#include <sys/types.h>
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

/* One HDU to write: what bmp_fits_hdu says, with its layout resolved. */
typedef struct hdu_plan {
    const bmp_array *array; /* NULL: no data */
    const json_t *cards;
    const char *extname;
    layout l;
    int file_hdu;       /* its number in the file, from 1 */
    size_t held_blanks; /* blank cards that end its header */
} hdu_plan;

static int is_blank_card(const char *card)
{
    for (int b = 0; b < 80; b++)
        if (card[b] != ' ')
            return 0;
    return 1;
}

/* cfitsio writes END right after the last card that is not blank, so a
 * header whose cards end in blank cards would lose them.  Those cards are
 * held back while writing (bmp__fits_write_cards), room is reserved for
 * them, and once the file is closed END is moved down over that room.
 * Moving whole cards keeps CHECKSUM right: it sums 4-byte words, and 80
 * is a multiple of 4. */
static int keep_end_blanks(const char *tmp, const hdu_plan *plan, size_t n,
                           const char *path, bmp_error *err)
{
    fitsfile *f = NULL;
    int status = 0, rc = 0, fd = -1;
    char *hdr = NULL;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (plan[i].held_blanks == 0)
            continue;
        if (!f && fits_open_diskfile(&f, tmp, READONLY, &status) > 0)
            break;
        LONGLONG head = 0, data = 0, end = 0;
        if (fits_movabs_hdu(f, plan[i].file_hdu, NULL, &status) > 0 ||
            fits_get_hduaddrll(f, &head, &data, &end, &status) > 0)
            break;
        if (fd < 0 && (fd = open(tmp, O_RDWR | O_CLOEXEC)) < 0) {
            rc = bmp_error_set(err, -errno, "write", path,
                               "cannot reopen the temporary file of %s: %s",
                               path, bmp_strerror(-errno));
            break;
        }
        size_t size = (size_t)(data - head), ncards = size / 80, e;
        free(hdr);
        if (!(hdr = malloc(size))) {
            rc = bmp_error_set(err, -ENOMEM, "write", path, "out of memory");
            break;
        }
        if (pread(fd, hdr, size, (off_t)head) != (ssize_t)size) {
            rc = bmp_error_set(err, BMP_EFITS, "write", path,
                               "cannot read back the header of %s", path);
            break;
        }
        for (e = 0; e < ncards; e++)
            if (memcmp(hdr + e * 80, "END     ", 8) == 0)
                break;
        /* cfitsio may have left some of the blank cards before END: the
         * last card that is not blank is where they start. */
        size_t last = e;
        while (last > 0 && is_blank_card(hdr + (last - 1) * 80))
            last--;
        size_t want = last + plan[i].held_blanks, lo, hi;
        /* END stays in the header's last block, as FITS requires. */
        if (ncards >= 36 && want < ncards - 36)
            want = ncards - 36;
        int room = e < ncards && want < ncards;
        for (size_t j = e + 1; room && j <= want; j++)
            room = is_blank_card(hdr + j * 80);
        if (!room) {
            rc = bmp_error_set(err, BMP_EFITS, "write", path,
                               "no room for the %zu blank cards that end "
                               "the header of HDU %d of %s",
                               plan[i].held_blanks, plan[i].file_hdu - 1,
                               path);
            break;
        }
        if (want == e)
            continue;
        lo = want < e ? want : e;
        hi = want < e ? e : want;
        memset(hdr + lo * 80, ' ', (hi - lo + 1) * 80);
        memcpy(hdr + want * 80, "END", 3);
        if (pwrite(fd, hdr + lo * 80, (hi - lo + 1) * 80,
                   (off_t)head + (off_t)lo * 80) !=
            (ssize_t)((hi - lo + 1) * 80))
            rc = bmp_error_set(err, -EIO, "write", path,
                               "cannot finish the header of %s", path);
    }
    if (rc == 0 && status > 0)
        rc = fits_fail(err, BMP_EFITS, "write", path, status,
                       "cannot read back the headers of %s", path);
    if (f) {
        int st = 0;
        fits_close_file(f, &st);
    }
    if (fd >= 0 && close(fd) != 0 && rc == 0)
        rc = bmp_error_set(err, -EIO, "write", path, "cannot write %s: %s",
                           path, bmp_strerror(-EIO));
    free(hdr);
    return rc;
}

/* cfitsio adds two COMMENT cards citing the FITS paper to a new primary
 * HDU; a file read and written again would gain two more each time.
 * Only the cards of the new HDU so far, all cfitsio's, are looked at. */
static int delete_new_comments(fitsfile *f, int *status)
{
    int nkeys = 0;
    fits_get_hdrspace(f, &nkeys, NULL, status);
    for (int k = nkeys; k >= 1 && *status <= 0; k--) {
        char card[FLEN_CARD];
        fits_read_record(f, k, card, status);
        if (*status <= 0 && strncmp(card, "COMMENT ", 8) == 0)
            fits_delete_record(f, k, status);
    }
    return *status;
}

/* Creates the current HDU of `p` in `f` and writes its cards and data. */
static int write_hdu(fitsfile *f, hdu_plan *p, unsigned flags,
                     const char *path, bmp_error *err)
{
    int status = 0, rc;
    const bmp_array *a = p->array;
    /* Tile compression applies to images with data only; cfitsio puts a
     * compressed first image after an empty primary HDU, as fpack does. */
    int compress = (flags & BMP_FITS_COMPRESS) && a && a->count > 0;
    fits_set_compression_type(f, compress ? RICE_1 : 0, &status);
    if (compress && p->l.is_float) {
        /* Lossless: no quantization (level 0), so GZIP, cfitsio's only
         * lossless choice for floating-point tiles, in place of RICE. */
        fits_set_compression_type(f, GZIP_2, &status);
        fits_set_quantize_level(f, 0.0f, &status);
    }
    LONGLONG naxes[BMP_MAX_DIMS];
    int ndim = a ? a->ndim : 0;
    for (int i = 0; i < ndim; i++)
        naxes[i] = (LONGLONG)a->shape[ndim - 1 - i];
    if (fits_create_imgll(f, a ? p->l.imgtype : BYTE_IMG, ndim, naxes,
                          &status) > 0)
        return fits_fail(err, BMP_EFITS, "write", path, status,
                         "cannot create the image in %s", path);
    fits_get_hdu_num(f, &p->file_hdu);
    if (delete_new_comments(f, &status) > 0)
        return fits_fail(err, BMP_EFITS, "write", path, status,
                         "cannot create the image in %s", path);

    if (p->l.scaled) {
        const char *how = "physical = BZERO + BSCALE * stored";
        bmp__fits_write_real_card(f, "BSCALE", p->l.bscale, how, &status);
        bmp__fits_write_real_card(f, "BZERO", p->l.bzero, how, &status);
        if (status > 0)
            return fits_fail(err, BMP_EFITS, "write", path, status,
                             "cannot write BSCALE and BZERO to %s", path);
    }
    if ((p->cards || p->extname) &&
        (rc = bmp__fits_write_cards(f, p->cards ? p->cards : NULL,
                                    p->l.is_float, p->extname, &p->held_blanks,
                                    path, err)) < 0)
        return rc;
    /* Room for the held blank cards, and for CHECKSUM and DATASUM, which
     * cfitsio writes over two of them: blank cards written now are where
     * END will be put (keep_end_blanks).  No more, or the header could
     * gain a block of blank cards nobody asked for. */
    size_t room = p->held_blanks == 0           ? 0
                  : (flags & BMP_FITS_CHECKSUM) ? p->held_blanks + 2
                                                : p->held_blanks;
    for (size_t k = 0; k < room; k++)
        fits_write_record(f, "", &status);
    if (status > 0)
        return fits_fail(err, BMP_EFITS, "write", path, status,
                         "cannot make room for the header of %s", path);
    if (p->l.scaled) {
        /* The values handed over are already the stored integers: define
         * the HDU from the header just written, then switch cfitsio's own
         * scaling off so it does not apply BSCALE/BZERO a second time. */
        fits_set_hdustruc(f, &status);
        fits_set_bscale(f, 1.0, 0.0, &status);
        if (status > 0)
            return fits_fail(err, BMP_EFITS, "write", path, status,
                             "cannot set up scaled data in %s", path);
    }
    if (a && (rc = write_data(f, a, &p->l, path, err)) < 0)
        return rc;
    if ((flags & BMP_FITS_CHECKSUM) && fits_write_chksum(f, &status) > 0)
        return fits_fail(err, BMP_EFITS, "write", path, status,
                         "cannot write the checksum of %s", path);
    return 0;
}

static int write_file(const char *path, hdu_plan *plan, size_t n,
                      unsigned flags, bmp_error *err)
{
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
    /* A compressed image is a table, which cannot be the primary HDU: an
     * empty one comes first, made here rather than by cfitsio so that
     * the image is an extension (XTENSION, not ZSIMPLE) and the primary
     * HDU has no cfitsio COMMENT cards. */
    if ((flags & BMP_FITS_COMPRESS) && plan[0].array &&
        plan[0].array->count > 0 &&
        (fits_create_img(f, BYTE_IMG, 0, NULL, &status) > 0 ||
         delete_new_comments(f, &status) > 0))
        rc = fits_fail(err, BMP_EFITS, "write", path, status,
                       "cannot create the primary HDU of %s", path);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = write_hdu(f, &plan[i], flags, path, err);
    if (rc < 0)
        goto out;
    /* Closing flushes cfitsio's buffers: a full disk shows up here. */
    fits_close_file(f, &status);
    f = NULL;
    if (status > 0) {
        rc = fits_fail(err, BMP_EFITS, "write", path, status,
                       "cannot finish writing %s", path);
        goto out;
    }
    if ((rc = keep_end_blanks(tmp, plan, n, path, err)) < 0)
        goto out;
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

#define KNOWN_FLAGS                                             \
    (BMP_FITS_NO_CLOBBER | BMP_FITS_CHECKSUM | BMP_FITS_FSYNC | \
     BMP_FITS_COMPRESS)

/* Checks one HDU's array and cards and fills its plan (not its layout).
 * `what` names the HDU in messages ("" for a single-image file). */
static int check_hdu(const char *path, const bmp_array *a, const json_t *cards,
                     const char *what, hdu_plan *p, bmp_error *err)
{
    memset(p, 0, sizeof *p);
    p->array = a;
    p->cards = cards ? cards : a ? a->header : NULL;
    if (p->cards && !json_is_array(p->cards))
        return bmp_error_set(err, BMP_EINVAL, "write", path,
                             "the header cards%s for %s are not a JSON array",
                             what, path);
    if (!a)
        return 0;
    if (!array_plausible(a))
        return bmp_error_set(err, BMP_EINVAL, "write", path,
                             "the data%s for %s are not a consistent "
                             "bmp_array",
                             what, path);
    if (a->ndim == 0)
        return bmp_error_set(err, BMP_EUNSUPPORTED, "write", path,
                             "cannot write a 0-dimensional array%s to %s: "
                             "FITS images have at least one axis",
                             what, path);
    return 0;
}

/* Compression of 64-bit integers is beyond cfitsio ("writing TLONGLONG
 * to compressed image is not supported"); said before anything is
 * written. */
static int check_compressible(const char *path, const hdu_plan *p,
                              unsigned flags, bmp_error *err)
{
    if (!(flags & BMP_FITS_COMPRESS) || !p->array ||
        (p->l.imgtype != LONGLONG_IMG && p->l.imgtype != ULONGLONG_IMG))
        return 0;
    return bmp_error_set(err, BMP_EUNSUPPORTED, "write", path,
                         "cannot tile-compress %s data in %s: cfitsio "
                         "compresses integers of at most 32 bits",
                         bmp_dtype_name(p->array->dtype), path);
}

static int check_common(const char *path, unsigned flags, bmp_error *err)
{
    if (!path || !*path)
        return bmp_error_set(err, BMP_EINVAL, "write", path,
                             "writing FITS needs a file name");
    if (flags & ~KNOWN_FLAGS)
        return bmp_error_set(err, BMP_EINVAL, "write", path,
                             "unknown flags 0x%x for writing %s", flags, path);
    return 0;
}

static int layout_error(const char *path, const bmp_array *a, const char *what,
                        bmp_error *err)
{
    return bmp_error_set(err, BMP_EUNSUPPORTED, "write", path,
                         "cannot write %s data%s to %s: FITS has no such "
                         "image type",
                         bmp_dtype_name(a->dtype), what, path);
}

/* The checks of a file of one image HDU: the file name and flags, the
 * array, its cards. */
static int check_single(const char *path, const bmp_array *a,
                        const json_t *cards, unsigned flags, hdu_plan *p,
                        bmp_error *err)
{
    int rc = check_common(path, flags, err);
    if (rc == 0 && !a)
        rc = bmp_error_set(err, BMP_EINVAL, "write", path,
                           "writing FITS needs a file name and an array");
    if (rc == 0)
        rc = check_hdu(path, a, cards, "", p, err);
    return rc;
}

int bmp_fits_write(const char *path, const bmp_array *a, const json_t *cards,
                   unsigned flags, bmp_error *err)
{
    hdu_plan p;
    int rc = check_single(path, a, cards, flags, &p, err);
    if (rc < 0)
        return rc;
    if (layout_for_dtype(a->dtype, &p.l) < 0)
        return layout_error(path, a, "", err);
    if ((rc = check_compressible(path, &p, flags, err)) < 0)
        return rc;
    return write_file(path, &p, 1, flags, err);
}

int bmp_fits_write_scaled(const char *path, const bmp_array *a,
                          const json_t *cards, int bitpix, double bscale,
                          double bzero, unsigned flags, bmp_error *err)
{
    hdu_plan p;
    int rc = check_single(path, a, cards, flags, &p, err);
    if (rc < 0)
        return rc;
    if (layout_scaled(bitpix, bscale, bzero, &p.l) < 0)
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
    if ((rc = check_compressible(path, &p, flags, err)) < 0)
        return rc;
    return write_file(path, &p, 1, flags, err);
}

int bmp_fits_write_hdus(const char *path, const bmp_fits_hdu *hdus, size_t n,
                        unsigned flags, bmp_error *err)
{
    int rc = check_common(path, flags, err);
    if (rc == 0 && (!hdus || n == 0))
        rc = bmp_error_set(err, BMP_EINVAL, "write", path,
                           "writing FITS HDUs needs at least one HDU");
    if (rc < 0)
        return rc;
    if (n > (size_t)INT_MAX / 2)
        return bmp_error_set(err, BMP_EINVAL, "write", path,
                             "too many HDUs (%zu) for %s", n, path);
    hdu_plan *plan = calloc(n, sizeof *plan);
    if (!plan)
        return bmp_error_set(err, -ENOMEM, "write", path, "out of memory");
    /* Everything is checked before the file is begun. */
    for (size_t i = 0; i < n && rc == 0; i++) {
        char what[48];
        snprintf(what, sizeof what, " of HDU %zu", i);
        rc = check_hdu(path, hdus[i].array, hdus[i].cards, what, &plan[i],
                       err);
        plan[i].extname = hdus[i].extname;
        if (rc == 0 && hdus[i].array &&
            layout_for_dtype(hdus[i].array->dtype, &plan[i].l) < 0)
            rc = layout_error(path, hdus[i].array, what, err);
        if (rc == 0)
            rc = check_compressible(path, &plan[i], flags, err);
    }
    if (rc == 0)
        rc = write_file(path, plan, n, flags, err);
    free(plan);
    return rc;
}
