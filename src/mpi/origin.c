/*
 * origin.c -- each pout entry a helper rank sends says which rank and
 * host ran it, in its stats (doc/pout-format.md).
 *
 * The entry is parsed and written again rather than spliced as text: a
 * splice before the line's closing braces would assume that "stats" is
 * the entry's last key and not empty, which the pout format does not
 * promise.  One parse per item is small beside the item's own work.
 */
#include "origin.h"

#include <bigmultipipe.h>

#include <errno.h>
#include <jansson.h>

char *bmp__mpi_with_origin(const char *line, int rank, const char *host,
                           int *why)
{
    *why = BMP_EPROTO;
    if (!line)
        return NULL;
    json_t *entry = json_loads(line, JSON_ALLOW_NUL, NULL);
    if (!json_is_object(entry)) {
        json_decref(entry);
        return NULL;
    }
    json_t *stats = json_object_get(entry, "stats");
    if (!stats) {
        stats = json_object();
        if (!stats || json_object_set_new(entry, "stats", stats) < 0) {
            json_decref(entry);
            *why = -ENOMEM;
            return NULL;
        }
    }
    char *out = NULL;
    if (json_is_object(stats)) {
        *why = -ENOMEM;
        if (json_object_set_new(stats, "rank", json_integer(rank)) == 0 &&
            json_object_set_new(stats, "host",
                                json_string(host ? host : "?")) == 0)
            out = json_dumps(entry, JSON_COMPACT);
    }
    json_decref(entry);
    return out;
}
