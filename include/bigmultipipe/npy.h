/*
 * bigmultipipe/npy.h -- NumPy .npy files: reading, writing, and the
 * ready-made bmp_ops entries that use them.  Included by bigmultipipe.h;
 * do not include it on its own.
 *
 * Format versions 1.0, 2.0 and 3.0 are read; files are written as NumPy's
 * np.save() writes them (version 1.0 unless the header needs more than
 * 65535 bytes, then 2.0), byte for byte the same header.  Element types
 * are those of bmp_dtype; float16 is read but not written.  The design
 * and what NumPy accepts that this reader does not are in doc/npy.md.
 *
 * Every function here is thread-safe for distinct arrays and files and
 * worker-safe.  Read and write errors are recorded in `err` (when not
 * NULL) with stage "read" or "write", the file's name in `source` and the
 * reason in `text`.
 */
#ifndef BIGMULTIPIPE_NPY_H
#define BIGMULTIPIPE_NPY_H

/* Flags for bmp_npy_read() and bmp_npy_write(); combine with |. */
#define BMP_NPY_MMAP 0x1u   /* read: map the file rather than copy it */
#define BMP_NPY_NATIVE 0x2u /* read: convert the data to native byte order */
#define BMP_NPY_FSYNC 0x4u  /* write: fsync the file and its directory */
/* write: fail with -EEXIST if the file exists (the flag
 * BMP_FITS_NO_CLOBBER of fits.h under this module's name). */
#define BMP_NPY_NOREPLACE 0x8u

/* What a .npy header says, as bmp_npy_parse_header() finds it.  Filled by
 * the library; later versions may append fields. */
typedef struct bmp_npy_header {
    int major, minor; /* format version: 1.0, 2.0 or 3.0 */
    bmp_dtype dtype;
    char byteorder;    /* '<', '>', or '|' for one-byte types; the file's
                          '=', '|' or missing prefix becomes native */
    int fortran_order; /* 1 when the header says True */
    int ndim;          /* 0 for a scalar */
    size_t shape[BMP_MAX_DIMS];
    size_t count;       /* elements: product of shape (1 when ndim is 0) */
    size_t nbytes;      /* bytes of data: count * element size */
    size_t data_offset; /* where the data begin: magic, length, dict */
} bmp_npy_header;

/*! bmp_npy_parse_header() :
 *  Parses the header at the start of `buf` (`len` bytes: at least the
 *  magic string, length field and dict; later bytes are ignored).  Pure:
 *  reads nothing else, allocates nothing.  The dict is read as NumPy
 *  reads it: keys in any order, either quote, comments, trailing commas,
 *  exactly the keys 'descr', 'fortran_order' and 'shape'.
 *  @return 0 with *out filled, or BMP_EFORMAT (malformed or truncated
 *          header) / BMP_EUNSUPPORTED (version, dtype or rank this
 *          library lacks), with `err` filled (source "") and *out
 *          unspecified.  BMP_EINVAL when buf or out is NULL. */
BMP_API int bmp_npy_parse_header(const void *buf, size_t len,
                                 bmp_npy_header *out, bmp_error *err);

/*! bmp_npy_read() :
 *  Reads the .npy file `path` into a new array.  Flags:
 *    BMP_NPY_MMAP    the array's data are a private memory map of the file
 *                    (no copy; pages load on first touch).  Writes to the
 *                    data stay in memory and never reach the file.  Falls
 *                    back to a copy when the data are not aligned for
 *                    their type, or empty.  Truncating the file while the
 *                    map is in use ends the process with SIGBUS, as with
 *                    any map.
 *    BMP_NPY_NATIVE  swap the data to native byte order; without it the
 *                    array keeps the file's order, told by `byteorder`.
 *  The sizes in the header are checked against the file's size before
 *  anything is allocated; bytes after the data are ignored, as NumPy
 *  does.  Only regular files are read.
 *  @return 0 with *out a new array (free with bmp_object_free), or a
 *          negative error with *out NULL: -errno (open, read, mmap),
 *          BMP_EFORMAT, BMP_EUNSUPPORTED, BMP_EINVAL (NULL argument),
 *          -ENOMEM; `err` filled. */
BMP_API int bmp_npy_read(const char *path, unsigned flags, bmp_array **out,
                         bmp_error *err);

/*! bmp_npy_write() :
 *  Writes array `a` (borrowed) to `path` in the array's own byte order and
 *  memory order, streaming its data without a copy.  The file appears
 *  atomically: it is written under a temporary name in the same
 *  directory and renamed over `path` only when complete, so `path` holds
 *  either its old contents or the whole new file; on failure the
 *  temporary is removed.  BMP_NPY_FSYNC makes the data and the rename
 *  durable before returning.  The directory must exist.
 *  @return 0, or a negative error with `err` filled: BMP_EUNSUPPORTED
 *          (float16), BMP_EINVAL (NULL argument, or an array whose fields
 *          disagree), -errno from the file system. */
BMP_API int bmp_npy_write(const char *path, const bmp_array *a, unsigned flags,
                          bmp_error *err);

/*! bmp_array_to_native() :
 *  Swaps the array's data in place to native byte order and sets
 *  `byteorder` accordingly; an array already native, or of one-byte
 *  elements, is left as is.  On a memory-mapped array this copies the
 *  pages it touches (the map is private).  Not thread-safe for the same
 *  array.  @return 0, or BMP_EINVAL (NULL or inconsistent array). */
BMP_API int bmp_array_to_native(bmp_array *a);

/*! bmp_npy_file_read() : a bmp_ops.file_read that reads `in_name` as
 *  .npy into a bmp_array (*data, a new object owned by the pipeline).
 *  Item keywords: npy_mmap (bool, default false) maps the file instead of
 *  copying it (BMP_NPY_MMAP); npy_native (bool, default true) converts to
 *  native byte order (BMP_NPY_NATIVE).  Failures are recorded with
 *  bmp_item_fail().  @return 0 or a negative error, as bmp_npy_read(), or
 *  BMP_EKWTYPE for a keyword of the wrong type. */
BMP_API int bmp_npy_file_read(bmp_item *item, const char *in_name,
                              void **data);

/*! bmp_npy_file_write() : a bmp_ops.file_write that writes `data`, which
 *  must be a bmp_array (borrowed), to `outname` with bmp_npy_write();
 *  *written is left NULL (the file is `outname`).  Creates the output
 *  directory and its parents when the keyword create_outdir is true (the
 *  item's meta key create_outdir, when given, overrides the keyword);
 *  the keyword fsync sets BMP_NPY_FSYNC; an existing output is refused
 *  (BMP_NPY_NOREPLACE, -EEXIST) unless the keyword overwrite is true
 *  (meta keys override both).  Failures are recorded with
 *  bmp_item_fail().  @return 0 or a negative error. */
BMP_API int bmp_npy_file_write(bmp_item *item, void *data, const char *outname,
                               char **written);

#endif
