/*
 * json_dump.h -- a JSON value as compact text, its reals as short as
 * they read back.
 *
 * jansson prints every real with "%.17g": 0.000841 becomes
 * 0.00084099999999999995, which reads back to the same double but is not
 * what anyone wrote.  The meta the library writes (the worker channel,
 * the pout) prints each real instead with the fewest digits, of 15, 16
 * and 17, that read back to the same double, as Python's repr does in
 * most cases and as the stats are printed.  Everything else is jansson's
 * compact dump, key order included.
 */
#ifndef BMP_JSON_DUMP_H
#define BMP_JSON_DUMP_H

#include <jansson.h>

/* Writes `v` (any JSON value) through `emit`, as json_dump_callback()
 * with JSON_COMPACT | JSON_ENCODE_ANY would, reals shortest.
 * @return 0, or -1 when emit failed or a value cannot be encoded (a
 * string that is not UTF-8). */
int bmp__json_dump_short(const json_t *v, json_dump_callback_t emit,
                         void *data);

/* The same into a new string (free() it), or NULL. */
char *bmp__json_dumps_short(const json_t *v);

#endif
