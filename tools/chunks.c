/*
 * chunks.c -- -n N: the inputs in groups of up to N, one program start
 * each, and back from the groups' pout to one entry per input.
 *
 * The library runs a group as one item; what each input became is in
 * the group's meta (CHUNK_RESULTS, written by command_chunk_process).
 * The pout the command writes has one entry per input, in input order,
 * as a run without -n would: the library's pout keeps the groups (the
 * journal, --resume), this file only changes what is shown.
 */
#include "tool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

json_t *chunks_make(const json_t *names, size_t max_args)
{
    json_t *groups = json_array();
    json_t *group = NULL;
    size_t count = json_array_size(names);
    for (size_t i = 0; groups && i < count; i++) {
        if (i % max_args == 0) {
            group = json_array();
            if (!group || json_array_append_new(groups, group) < 0) {
                json_decref(groups);
                return NULL;
            }
        }
        if (json_array_append(group, json_array_get(names, i)) < 0) {
            json_decref(groups);
            return NULL;
        }
    }
    return groups;
}

/* The entries of input k of the group entry `g`, one JSON line. */
static int write_input(FILE *f, json_t *g, size_t k)
{
    /* The group's meta but its inputs' results, sharing the values
     * (only dumped, never changed): a copy of the whole meta per input
     * copied every input's result once per input, which made a group of
     * 2 500 tiny files take a minute. */
    json_t *group_meta = json_object_get(g, "meta");
    json_t *mine = json_array_get(json_object_get(group_meta, CHUNK_RESULTS),
                                  k);
    json_incref(mine);
    json_t *meta = json_object();
    const char *key;
    json_t *value;
    json_object_foreach(group_meta, key, value)
    {
        if (meta && strcmp(key, CHUNK_RESULTS) != 0 &&
            json_object_set(meta, key, value) < 0) {
            json_decref(meta);
            meta = NULL;
        }
    }
    json_t *e = meta ? json_object() : NULL;
    if (!e) {
        json_decref(mine);
        json_decref(meta);
        return -1;
    }
    json_object_set(e, "in_name",
                    json_array_get(json_object_get(g, "in_name"), k));
    /* Without a result of its own (the group's worker crashed, timed
     * out, was not run), the input has the group's. */
    json_object_set(e, "outname",
                    mine ? json_object_get(mine, "outname") : json_null());
    /* Its own line of the program's standard output, when it had one. */
    json_t *own = json_object_get(mine, "meta");
    if (own)
        json_object_update(meta, own);
    json_object_set_new(e, "meta", meta);
    json_object_set(e, "status", json_object_get(mine ? mine : g, "status"));
    json_t *error = json_object_get(mine ? mine : g, "error");
    json_object_set(e, "error", error ? error : json_null());
    json_object_set(e, "stats", json_object_get(g, "stats"));
    json_decref(mine);
    int rc = json_dumpf(e, f, JSON_COMPACT | JSON_PRESERVE_ORDER) == 0 &&
                     fputc('\n', f) != EOF
                 ? 0
                 : -1;
    json_decref(e);
    return rc;
}

int chunks_expand(bmp_pout **pout, bmp_error *err)
{
    const char *dir = getenv("TMPDIR");
    char *path = NULL;
    if (asprintf(&path, "%s/bmp-pout-XXXXXX", dir && *dir ? dir : P_tmpdir) <
        0)
        return bmp_error_set(err, -ENOMEM, "-n", NULL, "out of memory");
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
            unlink(path);
        }
        free(path);
        return bmp_error_set(err, -e, "-n", NULL,
                             "cannot write the pout's entries: %s",
                             strerror(e));
    }
    int rc = 0;
    size_t count = bmp_pout_count(*pout);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        json_t *g = bmp_pout_entry_json(*pout, i);
        if (!g) {
            rc = -1;
            break;
        }
        size_t n = json_array_size(json_object_get(g, "in_name"));
        for (size_t k = 0; rc == 0 && k < n; k++)
            rc = write_input(f, g, k);
        json_decref(g);
    }
    if (fclose(f) != 0)
        rc = -1;
    bmp_pout *flat = NULL;
    if (rc == 0 && bmp_pout_read(path, &flat, err) == 0) {
        bmp_pout_free(*pout);
        *pout = flat;
    } else if (rc < 0) {
        rc = bmp_error_set(err, -EIO, "-n", NULL,
                           "cannot write the pout's entries");
    } else {
        rc = err->code;
    }
    unlink(path);
    free(path);
    return rc;
}
