/*
 * npy.c -- reading and writing .npy files: file access only; the header
 * codec is npy_header.c.
 *
 * Reading trusts nothing in the header: the header length and the data
 * size it implies are compared with the file's size before any buffer is
 * allocated or any map is made, so a hostile file can make the reader
 * allocate at most what the file itself holds.  Memory maps are private
 * and writable, so steps may change the data in place, as they can with
 * a copy, without ever touching the file.
 *
 * Writing streams the header and then the array's own memory to a
 * temporary file beside the target and renames it into place
 * (atomic_file.h).  The array is written in its own byte order and
 * memory order, which the header records, so no converted copy of the
 * data is ever needed.
 */
#include "npy_internal.h"

#include "array_internal.h"
#include "atomic_file.h"
#include "file_kind.h"
#include "write_flags.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(bmp_error *err, const char *stage, const char *path, int code,
                const char *fmt, ...) BMP_PRINTF(5, 6);
static int fail(bmp_error *err, const char *stage, const char *path, int code,
                const char *fmt, ...)
{
    char text[sizeof err->text];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return bmp_error_set(err, code, stage, path, "%s", text);
}

/* Reads exactly `n` bytes at `off`.  @return 0, 1 when the file ends
 * first, or -errno. */
static int pread_full(int fd, void *buf, size_t n, off_t off)
{
    unsigned char *p = buf;
    while (n > 0) {
        /* Linux moves at most about 2 GiB per call; ask for 1 GiB. */
        size_t chunk = n > ((size_t)1 << 30) ? (size_t)1 << 30 : n;
        ssize_t got = pread(fd, p, chunk, off);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (got == 0)
            return 1;
        p += got;
        n -= (size_t)got;
        off += got;
    }
    return 0;
}

static int read_error(bmp_error *err, const char *path, int rc)
{
    if (rc == 1)
        return fail(err, "read", path, BMP_EFORMAT,
                    "the file shrank while it was being read");
    return fail(err, "read", path, rc, "cannot read the file: %s",
                bmp_strerror(rc));
}

/* The alignment an element needs: complex numbers are pairs of reals. */
static size_t element_alignment(bmp_dtype dtype)
{
    size_t size = bmp_dtype_size(dtype);
    if (dtype == BMP_DTYPE_COMPLEX64 || dtype == BMP_DTYPE_COMPLEX128)
        size /= 2;
    return size;
}

/* Parses the header of the open file, checking it against the file size. */
static int read_header(int fd, const char *path, bmp_npy_header *h,
                       size_t *file_size, bmp_error *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = -errno;
        return fail(err, "read", path, rc, "cannot examine the file: %s",
                    bmp_strerror(rc));
    }
    if (S_ISDIR(st.st_mode))
        return fail(err, "read", path, -EISDIR,
                    "the name is a directory, not a .npy file");
    if (!S_ISREG(st.st_mode))
        return fail(err, "read", path, BMP_EUNSUPPORTED,
                    "only regular files are read as .npy files");
    if ((uintmax_t)st.st_size > SIZE_MAX)
        return fail(err, "read", path, -EFBIG,
                    "the file is too large for this machine");
    size_t size = (size_t)st.st_size;
    *file_size = size;

    unsigned char prefix[BMP__NPY_PREFIX_MAX];
    size_t n = size < sizeof prefix ? size : sizeof prefix;
    int rc = pread_full(fd, prefix, n, 0);
    if (rc != 0)
        return read_error(err, path, rc);
    rc = bmp__npy_parse_prefix(prefix, n, h, err, path);
    if (rc < 0)
        return rc;
    if (h->data_offset > size)
        return fail(err, "read", path, BMP_EFORMAT,
                    "the header length runs past the end of the file: the "
                    "header needs %zu bytes, the file has %zu",
                    h->data_offset, size);

    /* Bounded by the file size, checked above. */
    unsigned char *header = malloc(h->data_offset);
    if (!header)
        return fail(err, "read", path, -ENOMEM,
                    "out of memory for a %zu-byte header", h->data_offset);
    rc = pread_full(fd, header, h->data_offset, 0);
    if (rc != 0) {
        free(header);
        return read_error(err, path, rc);
    }
    rc = bmp__npy_parse(header, h->data_offset, h, err, path);
    free(header);
    if (rc < 0)
        return rc;
    if (size - h->data_offset < h->nbytes)
        return fail(err, "read", path, BMP_EFORMAT,
                    "the data are truncated: the shape needs %zu bytes after "
                    "the header, the file has %zu",
                    h->nbytes, size - h->data_offset);
    return 0;
}

static int read_fd(int fd, const char *path, unsigned flags, bmp_array **out,
                   bmp_error *err)
{
    bmp_npy_header h;
    size_t file_size;
    int rc = read_header(fd, path, &h, &file_size, err);
    if (rc < 0)
        return rc;
    bmp_array *a = bmp__array_alloc_header(h.dtype, h.ndim, h.shape);
    if (!a)
        return fail(err, "read", path, -ENOMEM, "out of memory");
    a->byteorder = h.byteorder;
    a->fortran_order = h.fortran_order;

    /* A map of misaligned data would hand out misaligned pointers; a map
     * of no data has nothing to gain.  Both are copied instead. */
    if ((flags & BMP_NPY_MMAP) && h.nbytes > 0 &&
        h.data_offset % element_alignment(h.dtype) == 0) {
        size_t map_len = h.data_offset + h.nbytes;
        void *base = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE,
                          fd, 0);
        if (base == MAP_FAILED) {
            rc = -errno;
            bmp_object_free(a, NULL);
            return fail(err, "read", path, rc, "cannot map the file: %s",
                        bmp_strerror(rc));
        }
        rc = bmp__array_adopt_map(a, base, map_len,
                                  (unsigned char *)base + h.data_offset);
        if (rc < 0) {
            munmap(base, map_len);
            bmp_object_free(a, NULL);
            return fail(err, "read", path, rc, "out of memory");
        }
    } else {
        a->data = malloc(h.nbytes ? h.nbytes : 1);
        if (!a->data) {
            bmp_object_free(a, NULL);
            return fail(err, "read", path, -ENOMEM,
                        "out of memory for %zu bytes of data", h.nbytes);
        }
        rc = pread_full(fd, a->data, h.nbytes, (off_t)h.data_offset);
        if (rc != 0) {
            bmp_object_free(a, NULL);
            return read_error(err, path, rc);
        }
    }
    if (flags & BMP_NPY_NATIVE)
        bmp_array_to_native(a);
    *out = a;
    return 0;
}

int bmp_npy_read(const char *path, unsigned flags, bmp_array **out,
                 bmp_error *err)
{
    if (out)
        *out = NULL;
    if (!path || !out)
        return fail(err, "read", path, BMP_EINVAL,
                    "no file name or no place for the array");
    /* Never a blocking open: a FIFO is refused, not waited on. */
    const char *kind;
    int fd = bmp__open_regular(path, &kind, NULL);
    if (fd < 0 && kind)
        return fail(err, "read", path, fd, "%s is %s, not a regular file",
                    path, kind);
    if (fd < 0)
        return fail(err, "read", path, fd, "cannot open the file: %s",
                    bmp_strerror(fd));
    int rc = read_fd(fd, path, flags, out, err);
    close(fd);
    return rc;
}

/* The fields of a caller's array must agree before its bytes are trusted
 * to be `nbytes` long. */
static int check_array(const bmp_array *a, const char *path, bmp_error *err)
{
    size_t itemsize = bmp_dtype_size(a->dtype);
    if (!itemsize)
        return fail(err, "write", path, BMP_EINVAL,
                    "the array has an unknown dtype (%d)", (int)a->dtype);
    if (a->ndim < 0 || a->ndim > BMP_MAX_DIMS)
        return fail(err, "write", path, BMP_EINVAL,
                    "the array has %d dimensions; 0 to %d are possible",
                    a->ndim, BMP_MAX_DIMS);
    size_t count = 1;
    for (int i = 0; i < a->ndim; i++) {
        if (a->shape[i] != 0 && count > SIZE_MAX / a->shape[i])
            return fail(err, "write", path, BMP_EINVAL,
                        "the array's shape overflows");
        count *= a->shape[i];
    }
    if (a->itemsize != itemsize || a->count != count ||
        a->nbytes != count * itemsize || (a->nbytes && !a->data))
        return fail(err, "write", path, BMP_EINVAL,
                    "the array's itemsize, count, nbytes or data disagree "
                    "with its dtype and shape");
    return 0;
}

int bmp_npy_write(const char *path, const bmp_array *a, unsigned flags,
                  bmp_error *err)
{
    if (!path || !a)
        return fail(err, "write", path, BMP_EINVAL,
                    "no file name or no array");
    int rc = check_array(a, path, err);
    if (rc < 0)
        return rc;
    bmp_npy_header h = {
        .dtype = a->dtype,
        .byteorder = a->byteorder,
        .fortran_order = a->fortran_order != 0,
        .ndim = a->ndim,
    };
    memcpy(h.shape, a->shape, sizeof h.shape);
    char header[BMP__NPY_HEADER_MAX];
    long len = bmp__npy_format_header(&h, header, sizeof header);
    if (len == BMP_EUNSUPPORTED)
        return fail(err, "write", path, BMP_EUNSUPPORTED,
                    "float16 arrays are read but not written");
    if (len < 0)
        return fail(err, "write", path, BMP_EINVAL,
                    "the array's byte order '%c' is not '<', '>' or '|'",
                    a->byteorder ? a->byteorder : '?');

    bmp__atomic_file f;
    rc = bmp__atomic_open(&f, path);
    if (rc < 0)
        return fail(err, "write", path, rc,
                    "cannot create a temporary file beside it: %s",
                    bmp_strerror(rc));
    rc = bmp__atomic_write(&f, header, (size_t)len);
    if (rc == 0 && a->nbytes > 0)
        rc = bmp__atomic_write(&f, a->data, a->nbytes);
    if (rc < 0) {
        bmp__atomic_abort(&f);
        return fail(err, "write", path, rc, "cannot write the file: %s",
                    bmp_strerror(rc));
    }
    rc = bmp__atomic_commit(&f, bmp__commit_flags(flags, BMP__NPY_WRITE_BITS));
    if (rc == -EEXIST)
        return fail(err, "write", path, rc,
                    "the file exists; set overwrite to replace it");
    if (rc < 0)
        return fail(err, "write", path, rc,
                    "cannot put the finished file in place: %s",
                    bmp_strerror(rc));
    return 0;
}
