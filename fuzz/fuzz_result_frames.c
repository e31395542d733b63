/*
 * fuzz_result_frames.c -- libFuzzer target for the caller's parser of
 * the frames a worker sends (results and temporary-file notices).
 *
 * A worker runs the user's code, which may scribble over anything, so the
 * caller must survive any bytes on the socket: the input is the stream.
 * Besides crashes and sanitizer findings, it checks what the parser
 * promises: every frame it hands out lies within the input, a result's
 * meta is a JSON object and its status a known one, and -EAGAIN (a frame
 * not yet whole) consumes nothing.
 */
#include "bigmultipipe.h"

#include "channel.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                \
    do {                           \
        if (!(cond))               \
            __builtin_trap();      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bmp__reader rd = {0};
    rd.buf = malloc(size ? size : 1);
    CHECK(rd.buf != NULL);
    memcpy(rd.buf, data, size);
    rd.end = rd.cap = size;
    bmp__result r = {0};
    bmp__stats_init(&r.stats);
    for (;;) {
        size_t before = rd.start;
        char *temp = NULL;
        int k = bmp__reader_next(&rd, &r, &temp);
        CHECK(rd.start <= rd.end);
        if (k == 1) {
            CHECK(rd.start > before);
            CHECK(json_is_object(bmp__result_meta(&r)));
            CHECK(r.status <= BMP_ITEM_NOT_RUN);
        } else if (k == 0) {
            CHECK(rd.start > before);
            CHECK(temp != NULL);
            free(temp);
        } else {
            CHECK(k == -EAGAIN || k == BMP_EPROTO || k == -ENOMEM);
            /* Waiting for more consumes nothing; after an error the
             * caller abandons the stream (and kills the worker). */
            CHECK(k != -EAGAIN || rd.start == before);
            break;
        }
    }
    bmp__result_clear(&r);
    bmp__reader_free(&rd);
    return 0;
}
