/*
 * bigmultipipe/fits.h -- FITS images in and out, through cfitsio.
 *
 * Included by bigmultipipe.h; do not include it on its own.  cfitsio's
 * header is not needed by callers: the library keeps it to itself.
 *
 * Data model
 * ----------
 * One image HDU becomes one bmp_array: native-endian, C order, with
 * shape (NAXISn, ..., NAXIS2, NAXIS1) -- NAXIS1 varies fastest, so the
 * last C index is FITS's first axis, exactly as astropy's data.shape.
 * The header goes to array->header as a JSON array of card objects, in
 * card order, COMMENT, HISTORY and blank-keyword cards included:
 *
 *   {"key": "EXPTIME", "value": 30.0, "comment": "seconds"}
 *
 *   FITS value        JSON value
 *   T / F             true / false
 *   integer           integer (a real when it does not fit 64 bits)
 *   real              real ('D' exponents accepted)
 *   string            string (long strings over CONTINUE cards joined)
 *   complex           array [re, im]
 *   undefined         null
 *   COMMENT etc.      the card's text as a string; comment ""
 *
 * Long keywords appear without their "HIERARCH " prefix, as in astropy.
 * The structural cards (SIMPLE, BITPIX, NAXISn, BSCALE, BZERO, ...) are
 * kept: they describe the file, not the array, and the writer ignores them.
 *
 * Element type (dtype) of an image read, following astropy:
 *
 *   BITPIX  no BSCALE/BZERO   BSCALE 1 and BZERO   other scaling or BLANK
 *      8    uint8             -128: int8           float32
 *     16    int16             32768: uint16        float32
 *     32    int32             2^31: uint32         float64
 *     64    int64             2^63: uint64         float64
 *    -32    float32           --                   float32 (scaled)
 *    -64    float64           --                   float64 (scaled)
 *
 * Scaled values are value = BZERO + BSCALE * stored, computed by cfitsio
 * in double precision; stored values equal to BLANK become NaN.  The
 * unsigned conventions (second column) ignore BLANK, as astropy does.
 *
 * Written images use the BITPIX of the array's dtype, uint16/32/64 and
 * int8 by the BZERO conventions above; bool is written as uint8 (0/1).
 * float16 and complex arrays are not supported (BMP_EUNSUPPORTED).
 *
 * Errors (the bmp_error names the file in `source`; its text includes
 * cfitsio's own description and status number where cfitsio failed):
 *   -errno            the file cannot be opened, created or renamed
 *   BMP_EFORMAT       not a FITS file; damaged or truncated header or data
 *   BMP_EUNSUPPORTED  the HDU is a table or has no data; random groups;
 *                     more than BMP_MAX_DIMS axes; a dtype FITS lacks
 *   BMP_EFITS         no HDU with that index or name; other cfitsio
 *                     failures
 *   BMP_EINVAL        bad arguments; cards that cannot be written
 *
 * Threads and processes
 * ---------------------
 * Every function here is worker-safe: each call opens its own fitsfile
 * and keeps no state between calls.  They may run concurrently in threads
 * of one process when bmp_fits_thread_safe() returns 1, meaning cfitsio
 * was built reentrant (Debian's build is); otherwise calls in distinct
 * threads must not overlap.  cfitsio's
 * shared error-message stack is never read: messages come from the status
 * code alone, so concurrent calls cannot swap each other's messages.
 *
 * File names are taken literally: cfitsio's extended file-name syntax
 * ("file.fits[1]", "-", "mem://") is not interpreted.  Compressed files
 * (.gz) and tile-compressed image HDUs are read transparently.
 */
#ifndef BIGMULTIPIPE_FITS_H
#define BIGMULTIPIPE_FITS_H

/* ---------------------------------------------------------------------- */
/*  Reading                                                               */
/* ---------------------------------------------------------------------- */

/*! bmp_fits_read() :
 *  Reads one image HDU of the FITS file `path` into a new array, with its
 *  header cards in array->header (see the data model above).
 *  `hdu` selects the HDU:
 *    NULL or ""   the primary HDU if it has data, otherwise the first
 *                 image extension with data (as astropy users expect
 *                 from files whose primary HDU is empty)
 *    "2"          by index, 0 being the primary HDU (astropy's hdul[2]);
 *                 a string of digits is always an index
 *    "SCI"        by EXTNAME (or HDUNAME), case-insensitively;
 *    "SCI,2"      ... and EXTVER; blanks around the name and the number
 *                 are ignored ("SCI, 2", as astropy's hdul["SCI", 2])
 *    "PRIMARY"    HDU 0, as astropy names it, unless HDU 0 has an EXTNAME
 *                 or HDUNAME of its own (then as any other name)
 *  A tile-compressed image reads as the image it holds, with that image's
 *  header (its table's and compression's cards are not shown, as in
 *  astropy's CompImageHDU.header).
 *  @return : 0 with *out a new array (free with bmp_object_free), or a
 *            negative error (table above) with *out NULL and `err`
 *            filled (stage "read").  Worker-safe. */
BMP_API int bmp_fits_read(const char *path, const char *hdu, bmp_array **out,
                          bmp_error *err);

/*! bmp_fits_read_as() :
 *  As bmp_fits_read(), but the array has the element type `dtype`
 *  (0: the default choice of the table above), converted by cfitsio from
 *  the stored values after BSCALE/BZERO.  Integer and real dtypes only
 *  (bool, float16, complex: BMP_EUNSUPPORTED).  Reals to integers are
 *  truncated toward zero, as C and numpy's astype do.  A value that does
 *  not fit `dtype` is an error (BMP_EINVAL, "do not fit"), never clipped
 *  silently; so are blank (undefined) pixels, which only a real dtype
 *  can hold (as NaN).  The header is the HDU's, as for bmp_fits_read().
 *  @return : as bmp_fits_read(); BMP_EINVAL also for an unknown dtype.
 *  Worker-safe. */
BMP_API int bmp_fits_read_as(const char *path, const char *hdu,
                             bmp_dtype dtype, bmp_array **out, bmp_error *err);

/*! bmp_fits_read_section() :
 *  A section (cutout) of an image: numpy's data[start[0]:stop[0], ...,
 *  start[ndim-1]:stop[ndim-1]] in the C index order of the data model
 *  (the last index is NAXIS1), read without reading the rest of the
 *  image (cfitsio's fits_read_subset: only the rows, or the compressed
 *  tiles, that hold the section).  `ndim` must be the image's NAXIS and
 *  0 <= start[i] <= stop[i] <= its length on that axis (BMP_EINVAL,
 *  naming the axis); an empty section gives an array of length 0 there.
 *  start and stop both NULL with ndim 0 read the whole image.  `dtype`
 *  as for bmp_fits_read_as() (0: the default choice).  The header is the
 *  HDU's with NAXISn set to the section's lengths and CRPIXn (and the
 *  alternate CRPIXna) moved by its start, so that world coordinates stay
 *  right; other cards (LTVn, DATASEC, ...) are as in the file.  `start`
 *  and `stop` are borrowed.
 *  @return : as bmp_fits_read_as().  Worker-safe. */
BMP_API int bmp_fits_read_section(const char *path, const char *hdu,
                                  bmp_dtype dtype, int ndim,
                                  const size_t *start, const size_t *stop,
                                  bmp_array **out, bmp_error *err);

/*! bmp_fits_read_header() :
 *  The header cards of one HDU, without reading its data.  `hdu` as for
 *  bmp_fits_read(), except that an explicitly selected HDU may be of any
 *  kind (a table's header, an empty primary header).
 *  @return : 0 with *cards a new reference (a JSON array of card
 *            objects), or a negative error with *cards NULL and `err`
 *            filled.  Worker-safe. */
BMP_API int bmp_fits_read_header(const char *path, const char *hdu,
                                 json_t **cards, bmp_error *err);

/* ---------------------------------------------------------------------- */
/*  Writing                                                               */
/* ---------------------------------------------------------------------- */

/* Flags of bmp_fits_write() and bmp_fits_write_scaled(). */
/* Fail with -EEXIST if `path` exists (the flag BMP_NPY_NOREPLACE of
 * npy.h under this module's name). */
#define BMP_FITS_NO_CLOBBER 0x1u
/* Add CHECKSUM and DATASUM cards. */
#define BMP_FITS_CHECKSUM 0x2u
/* fsync the file before the rename, and its directory after. */
#define BMP_FITS_FSYNC 0x4u
/* Tile-compress every image with data, as fpack does: tiles of one row,
 * RICE_1 for integer images, lossless.  Floating-point images are not
 * quantized (fpack's default loses precision): their tiles are GZIP_2,
 * cfitsio's only lossless choice for them.  A compressed image is stored
 * as a binary-table extension, so a file whose first image is compressed
 * begins with an empty primary HDU (no cards but SIMPLE, BITPIX, NAXIS,
 * EXTEND) and the image is HDU 1, which bmp_fits_read's default choice
 * finds; its header reads back as an image extension's (XTENSION =
 * 'IMAGE', PCOUNT, GCOUNT), the user's cards unchanged.  int64 and uint64
 * images cannot be compressed by cfitsio (BMP_EUNSUPPORTED, before
 * anything is written). */
#define BMP_FITS_COMPRESS 0x8u

/*! bmp_fits_write() :
 *  Writes `a` as the primary image of a new FITS file at `path`, replacing
 *  any file there (unless BMP_FITS_NO_CLOBBER).  The array may be of
 *  either byte order and either memory order; the file holds the logical
 *  array, so reading it back gives the same shape and values.
 *  `cards`: a JSON array of card objects written after the structural
 *  cards, in order; NULL means a->header (no cards if that is NULL too);
 *  pass an empty array to write none.  Keys are upper-cased when they are
 *  standard (8 characters or fewer, no blank); longer keys are written
 *  with HIERARCH.  Skipped, as cfitsio writes or derives them: SIMPLE,
 *  XTENSION, BITPIX, NAXIS, NAXISn, EXTEND, PCOUNT, GCOUNT, BSCALE, BZERO,
 *  END, CHECKSUM, DATASUM; BLANK too for floating-point images.
 *  Reals are written with the fewest digits that read back exactly; NaN
 *  and infinite reals cannot be written (BMP_EINVAL).  COMMENT, HISTORY
 *  and blank-key cards are written in their places, empty ones and the
 *  blank cards that end the list included; no card is added but the
 *  structural ones (and CHECKSUM/DATASUM when asked).  A HIERARCH key
 *  whose string value does not fit on its card is refused (BMP_EINVAL)
 *  rather than cut; comments too long for their card are shortened.
 *  With BMP_FITS_COMPRESS the image is tile-compressed (see the flag)
 *  and read back from HDU 1.
 *
 *  The write is atomic: the file is written under a temporary name
 *  (".NAME.bmp-XXXXXX" in the same directory) and renamed over `path`, so
 *  readers see the old file or the complete new one, and a failure
 *  leaves neither a partial file nor the temporary behind.  The data are
 *  not fsync'd: a system crash may lose a recent write.
 *  `a` and `cards` are borrowed and not modified.
 *  @return : 0, or a negative error with `err` filled (stage "write").
 *  Worker-safe. */
BMP_API int bmp_fits_write(const char *path, const bmp_array *a,
                           const json_t *cards, unsigned flags,
                           bmp_error *err);

/*! bmp_fits_write_scaled() :
 *  As bmp_fits_write(), but stores the values as integers of `bitpix`
 *  (8, 16, 32 or 64) with the given BSCALE and BZERO:
 *      stored = round((value - bzero) / bscale)   (halves away from 0)
 *  so that readers get value back within bscale / 2.  Any real or
 *  integer dtype is accepted (float16 too); values pass through double,
 *  so 64-bit integers beyond 2^53 are rounded.  `bscale` must be finite
 *  and non-zero, `bzero` finite.
 *  @return : 0, or a negative error: BMP_EINVAL also when a value is NaN,
 *            infinite or does not fit the stored type (the message names
 *            the first such element).  Worker-safe. */
BMP_API int bmp_fits_write_scaled(const char *path, const bmp_array *a,
                                  const json_t *cards, int bitpix,
                                  double bscale, double bzero, unsigned flags,
                                  bmp_error *err);

/* One HDU of bmp_fits_write_hdus(). */
typedef struct bmp_fits_hdu {
    const bmp_array *array; /* the image; NULL: an HDU without data */
    const json_t *cards;    /* NULL: array->header (none if NULL too) */
    const char *extname;    /* NULL: as the cards say; otherwise the
                               EXTNAME, replacing any in the cards */
} bmp_fits_hdu;

/*! bmp_fits_write_hdus() :
 *  Writes a new FITS file of `n` (>= 1) image HDUs: hdus[0] is the
 *  primary HDU, the others image extensions, in order.  This is how
 *  astropy's CCDData is stored: the data in the primary HDU, then
 *  extensions named MASK (uint8) and UNCERT:
 *      bmp_fits_hdu h[3] = {{data, NULL, NULL},
 *                           {mask, NULL, "MASK"},
 *                           {uncert, uncert_cards, "UNCERT"}};
 *      bmp_fits_write_hdus("ccd.fits", h, 3, 0, &err);
 *  An HDU without array has NAXIS = 0 and only its cards, the usual empty
 *  primary HDU of files whose images are all extensions.  Each array and
 *  its cards are written as by bmp_fits_write(); the flags apply to every
 *  HDU (BMP_FITS_CHECKSUM: every HDU has its checksums; with
 *  BMP_FITS_COMPRESS, an empty primary HDU is added before the images
 *  when hdus[0] has data, which shifts the indices by one).  Every array
 *  and card list is checked before the file is begun; the write is
 *  atomic as bmp_fits_write()'s.  `hdus` and all it points to are
 *  borrowed.
 *  @return : 0, or a negative error with `err` filled (stage "write"; the
 *            message names the HDU by its index in `hdus`).  BMP_EINVAL
 *            also for n == 0 or hdus NULL.  Worker-safe. */
BMP_API int bmp_fits_write_hdus(const char *path, const bmp_fits_hdu *hdus,
                                size_t n, unsigned flags, bmp_error *err);

/* ---------------------------------------------------------------------- */
/*  Header cards                                                          */
/* ---------------------------------------------------------------------- */
/*
 * Helpers over a JSON array of card objects, such as array->header.
 * Keys compare case-insensitively.  The getters see the first card with
 * the key and mirror bmp_kw_get_*(): 1 if found with a usable value, 0 if
 * absent or undefined (JSON null; *out untouched), BMP_EKWTYPE for
 * another type.  All are worker-safe.
 */

/*! bmp_fits_card_find() : the first card object with `key`, or NULL.
 *  Borrowed: valid while `cards` holds it. */
BMP_API json_t *bmp_fits_card_find(const json_t *cards, const char *key);

/*! bmp_fits_card_get_real() : a real or integer value. */
BMP_API int bmp_fits_card_get_real(const json_t *cards, const char *key,
                                   double *out);
/*! bmp_fits_card_get_int() : an integer value, or an integral real. */
BMP_API int bmp_fits_card_get_int(const json_t *cards, const char *key,
                                  long long *out);
/*! bmp_fits_card_get_bool() : a logical (T/F) value only. */
BMP_API int bmp_fits_card_get_bool(const json_t *cards, const char *key,
                                   int *out);
/*! bmp_fits_card_get_str() : a string value; *out borrowed from `cards`,
 *  valid while the card is unchanged. */
BMP_API int bmp_fits_card_get_str(const json_t *cards, const char *key,
                                  const char **out);

/*! bmp_fits_card_set_*() : sets the value of the first card with `key`,
 *  or appends a new card at the end.  `comment` (copied) replaces the
 *  card's comment; NULL keeps it ("" for a new card).  For COMMENT and
 *  HISTORY, which repeat, use bmp_fits_card_append().
 *  @return : 0, BMP_EINVAL (cards not an array, key NULL or empty,
 *            string NULL, real NaN or infinite), -ENOMEM. */
BMP_API int bmp_fits_card_set_real(json_t *cards, const char *key,
                                   double value, const char *comment);
BMP_API int bmp_fits_card_set_int(json_t *cards, const char *key,
                                  long long value, const char *comment);
BMP_API int bmp_fits_card_set_bool(json_t *cards, const char *key, int value,
                                   const char *comment);
BMP_API int bmp_fits_card_set_str(json_t *cards, const char *key,
                                  const char *value, const char *comment);

/*! bmp_fits_card_append() : appends a card {key, value, comment}.
 *  `value` is borrowed (the card takes its own reference; NULL means
 *  JSON null); `comment` is copied (NULL: "").  For a HISTORY card:
 *      json_t *v = json_string("bias subtracted");
 *      bmp_fits_card_append(a->header, "HISTORY", v, NULL);
 *      json_decref(v);
 *  @return : 0, BMP_EINVAL, -ENOMEM. */
BMP_API int bmp_fits_card_append(json_t *cards, const char *key, json_t *value,
                                 const char *comment);

/*! bmp_fits_card_remove() : removes every card with `key`.
 *  @return : the number removed (>= 0), or BMP_EINVAL. */
BMP_API int bmp_fits_card_remove(json_t *cards, const char *key);

/* ---------------------------------------------------------------------- */
/*  Pipeline operations                                                   */
/* ---------------------------------------------------------------------- */

/*! bmp_fits_file_read() : a bmp_ops.file_read that reads one image with
 *  bmp_fits_read() into a bmp_array.  The keyword `fits_hdu` (string or
 *  integer >= 0; not given: the default choice) selects the HDU; of
 *  another type, it fails the item with BMP_EKWTYPE.  On failure the
 *  item fails with bmp_fits_read()'s code and message. */
BMP_API int bmp_fits_file_read(bmp_item *item, const char *in_name,
                               void **data);

/*! bmp_fits_file_write() : a bmp_ops.file_write that writes a bmp_array
 *  (the data must be one; a group's bmp_list is not) with bmp_fits_write(),
 *  its header cards from array->header.  When the keyword create_outdir
 *  is true (a create_outdir key in the item's meta overrides it), the
 *  output's directory and its parents are created first.  The keyword
 *  `fits_checksum` (bool) adds CHECKSUM/DATASUM, and `fits_compress`
 *  (bool) tile-compresses the image (BMP_FITS_COMPRESS); of another
 *  type, either fails the item with BMP_EKWTYPE.  *written is left
 *  NULL. */
BMP_API int bmp_fits_file_write(bmp_item *item, void *data,
                                const char *outname, char **written);

/*! bmp_fits_thread_safe() : 1 when cfitsio was built reentrant, so that
 *  the functions above may run concurrently in threads; 0 otherwise. */
BMP_API int bmp_fits_thread_safe(void);

#endif /* BIGMULTIPIPE_FITS_H */
