/*
 * fuzz_npy_header.c -- libFuzzer target for the .npy header parser.
 *
 * The input is the start of a file.  Besides crashes and sanitizer
 * findings, it checks what the parser promises: an error is one of the
 * format's codes with a message; a success describes a consistent array
 * within the input, and formatting that description and parsing it again
 * gives the same description (the writer and reader agree).
 */
#include "bigmultipipe.h"

#include "npy_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)           \
    do {                      \
        if (!(cond))          \
            __builtin_trap(); \
    } while (0)

static void check_header(const bmp_npy_header *h, size_t size)
{
    CHECK(h->data_offset <= size);
    CHECK(h->ndim >= 0 && h->ndim <= BMP_MAX_DIMS);
    CHECK(bmp_dtype_size(h->dtype) != 0);
    CHECK(h->byteorder == '<' || h->byteorder == '>' || h->byteorder == '|');
    CHECK((h->byteorder == '|') == (bmp_dtype_size(h->dtype) == 1));
    CHECK(h->fortran_order == 0 || h->fortran_order == 1);
    size_t count = 1;
    for (int i = 0; i < h->ndim; i++)
        count *= h->shape[i]; /* cannot wrap: the parser bounds it */
    CHECK(h->count == count);
    CHECK(h->nbytes == count * bmp_dtype_size(h->dtype));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bmp_npy_header h;
    bmp_error err = {0};
    int rc = bmp_npy_parse_header(data, size, &h, &err);
    if (rc < 0) {
        CHECK(rc == BMP_EFORMAT || rc == BMP_EUNSUPPORTED);
        CHECK(err.code == rc);
        CHECK(strcmp(err.stage, "read") == 0);
        CHECK(err.text[0] != '\0');
        CHECK(memchr(err.text, '\0', sizeof err.text) != NULL);
        return 0;
    }
    CHECK(rc == 0 && err.code == 0);
    check_header(&h, size);
    if (h.dtype == BMP_DTYPE_FLOAT16)
        return 0; /* read-only: nothing to format */

    char buf[BMP__NPY_HEADER_MAX];
    long len = bmp__npy_format_header(&h, buf, sizeof buf);
    CHECK(len > 0 && len % 64 == 0);
    bmp_npy_header back;
    CHECK(bmp_npy_parse_header(buf, (size_t)len, &back, NULL) == 0);
    CHECK(back.major == 1 && back.minor == 0);
    CHECK(back.data_offset == (size_t)len);
    CHECK(back.dtype == h.dtype && back.byteorder == h.byteorder);
    CHECK(back.fortran_order == h.fortran_order && back.ndim == h.ndim);
    CHECK(memcmp(back.shape, h.shape, sizeof h.shape[0] * (size_t)h.ndim) ==
          0);
    CHECK(back.count == h.count && back.nbytes == h.nbytes);
    return 0;
}
