/*
 * keywords_internal.h -- the conversions behind the keyword getters, for
 * other JSON values read the same way (FITS header cards).
 */
#ifndef BMP_KEYWORDS_INTERNAL_H
#define BMP_KEYWORDS_INTERNAL_H

#include "bigmultipipe.h"

/* *out = v as a number / an integer (an integral real counts).
 * @return 1, 0 when v is NULL (not given), BMP_EKWTYPE otherwise. */
int bmp__value_real(const json_t *v, double *out);
int bmp__value_int(const json_t *v, long long *out);

#endif
