/*
 * fuzz_result_frames.c -- libFuzzer target for the caller's parser of
 * the frames a worker sends (results and temporary-file notices).
 *
 * A worker runs the user's code, which may scribble over anything, so the
 * caller must survive any bytes on the socket: the input is the stream.
 * Besides crashes and sanitizer findings, it checks what the parser
 * promises: every frame it hands out lies within the input, a result's
 * meta is a JSON object and its status a known one, the pout line made
 * of a result reads back with the same output name and meta (the meta
 * goes into it as the worker's text), and -EAGAIN (a frame not yet
 * whole) consumes nothing.
 */
#include "bigmultipipe.h"

#include "channel.h"
#include "pout_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)           \
    do {                      \
        if (!(cond))          \
            __builtin_trap(); \
    } while (0)

/* The result as a pout line, read back: nothing in the worker's bytes may
 * break the line or change its other fields. */
static void check_pout_line(const bmp__result *r)
{
    json_t *name = json_string("in");
    char *line = name ? bmp__entry_line(name, r, -1) : NULL;
    if (line) {
        CHECK(strchr(line, '\n') == NULL && strchr(line, '\r') == NULL);
        bmp__pout_entry e = {0};
        const char *why = NULL;
        CHECK(bmp__pout_entry_parse(line, &e, &why) == 0);
        CHECK(json_equal(e.in_name, name));
        CHECK((e.r.outname == NULL) == (r->outname == NULL));
        CHECK(!r->outname || strcmp(e.r.outname, r->outname) == 0);
        CHECK(e.r.status == r->status);
        json_decref(e.in_name);
        bmp__result_clear(&e.r);
    }
    free(line);
    json_decref(name);
}

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
            CHECK(r.status <= BMP_ITEM_NOT_RUN);
            check_pout_line(&r);
            json_t *meta = bmp__result_meta(&r); /* NULL: out of memory */
            CHECK(meta == NULL || json_is_object(meta));
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
