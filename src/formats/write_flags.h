/*
 * write_flags.h -- the one no-replace flag (and fsync) between the
 * formats' public flags and the commit flags of atomic_file.h.
 *
 * Not to replace an existing output is one flag of the library:
 * BMP__ATOMIC_NOREPLACE inside it, which the pipeline sets unless
 * `overwrite`.  The installed headers spell it per format,
 * BMP_NPY_NOREPLACE (0x8) and BMP_FITS_NO_CLOBBER (0x1); both names and
 * values are part of the API, so they stay, and this is the only place
 * where they meet the internal flag, in both directions: the writers map
 * their callers' flags to commit flags, the ops (core/format_ops.h) map
 * an item's commit flags to a writer's flags.
 */
#ifndef BMP_WRITE_FLAGS_H
#define BMP_WRITE_FLAGS_H

#include "bigmultipipe.h"

#include "atomic_file.h"

/* A format's own bits for fsync and for no-replace. */
typedef struct bmp__write_bits {
    unsigned fsync, noreplace;
} bmp__write_bits;

#define BMP__NPY_WRITE_BITS \
    ((bmp__write_bits){.fsync = BMP_NPY_FSYNC, .noreplace = BMP_NPY_NOREPLACE})
#define BMP__FITS_WRITE_BITS                    \
    ((bmp__write_bits){.fsync = BMP_FITS_FSYNC, \
                       .noreplace = BMP_FITS_NO_CLOBBER})

/* A writer's flags -> commit flags (the other bits are dropped). */
static inline unsigned bmp__commit_flags(unsigned flags, bmp__write_bits b)
{
    return ((flags & b.fsync) ? BMP__ATOMIC_FSYNC : 0u) |
           ((flags & b.noreplace) ? BMP__ATOMIC_NOREPLACE : 0u);
}

/* Commit flags -> a writer's flags. */
static inline unsigned bmp__write_flags(unsigned commit, bmp__write_bits b)
{
    return ((commit & BMP__ATOMIC_FSYNC) ? b.fsync : 0u) |
           ((commit & BMP__ATOMIC_NOREPLACE) ? b.noreplace : 0u);
}

#endif
