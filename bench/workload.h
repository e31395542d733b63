/*
 * workload.h -- the benchmark's steps on plain arrays, shared by the
 * hand-written loop (perfile.c) and the pipelines (seed_workload.c,
 * tiny_files.c), so that every method runs the same code and only the
 * framework around it differs.
 *
 * Nothing here calls the library: perfile.c is started once per file by
 * xargs, GNU parallel and the command, and links libc and libm only, as a
 * small hand-written program would.
 */
#ifndef BMP_BENCH_WORKLOAD_H
#define BMP_BENCH_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

/* The seed's keywords: first value 2 is rejected, first value 3 is
 * boosted by 5 after the x10 processing. */
#define WL_REJECT_VALUE 2.0
#define WL_BOOST_TARGET 3.0
#define WL_BOOST_AMOUNT 5.0
#define WL_MULTIPLY 10.0

/* d[i] = d[i] * mul + add for every element. */
void wl_scale_add(double *d, size_t n, double mul, double add);

/* NumPy's average and median of n values (NaN when n is 0).  The median
 * is the middle value, or the mean of the two middle values when n is
 * even; it selects in a copy (n doubles of scratch memory), as NumPy
 * does, and leaves `d` as it is. */
double wl_average(const double *d, size_t n);
double wl_median(const double *d, size_t n);

/* The sum of n bytes. */
uint64_t wl_byte_sum(const unsigned char *b, size_t n);

/* Where the data of a .npy file begin, for a C-order little-endian
 * float64 array: the header's length, with *count the number of
 * elements; 0 for any other header (or a malformed one).  `buf` holds
 * the first `len` bytes of the file. */
size_t wl_npy_f8_header(const unsigned char *buf, size_t len, size_t *count);

#endif
