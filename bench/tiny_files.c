/*
 * tiny_files.c -- workload 2 through the library: many small files, a
 * trivial step written in C, no program started per file.
 *
 *   tiny_files --outdir DIR --list FILE [-j N] [--pout FILE]
 *              [--executor process|serial]
 *
 * Each item: the library's default file_read (the file's bytes), a
 * post-process step that puts the sum of the bytes into meta, and the
 * default file_write (a copy, written under a temporary name and
 * renamed).  Everything but the byte sum is the framework's, which is
 * what this workload measures.  Exits 1 if any item failed.
 */
#include "bench_util.h"
#include "workload.h"

#include <bigmultipipe.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int byte_sum(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    const bmp_buffer *b = *data;
    return bmp_kw_set_int(bmp_item_meta(item), "sum",
                          (long long)wl_byte_sum(b->bytes, b->size));
}

int main(int argc, char **argv)
{
    const char *outdir = NULL, *list = NULL, *pout_path = NULL;
    const char *executor = "process";
    long long jobs = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--outdir") == 0)
            outdir = argv[i + 1];
        else if (strcmp(argv[i], "--list") == 0)
            list = argv[i + 1];
        else if (strcmp(argv[i], "-j") == 0)
            jobs = bu_parse_count(argv[i + 1], "-j");
        else if (strcmp(argv[i], "--pout") == 0)
            pout_path = argv[i + 1];
        else if (strcmp(argv[i], "--executor") == 0)
            executor = argv[i + 1];
        else
            bu_die("unknown option %s", argv[i]);
    }
    if (!outdir || !list || argc % 2 == 0)
        bu_die("usage: tiny_files --outdir DIR --list FILE [-j N] "
               "[--pout FILE] [--executor process|serial]");

    size_t count;
    char **names = bu_names_read(list, &count);
    json_t *in_names = bu_names_json(names, count);
    bu_names_free(names, count);

    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    if (!pipe || bmp_pipe_add_post(pipe, byte_sum, NULL, "byte_sum") < 0)
        bu_die("out of memory");
    json_t *kw = json_pack("{s:s, s:I, s:s}", "outdir", outdir,
                           "num_processes", (json_int_t)jobs, "executor",
                           executor);
    if (!kw)
        bu_die("out of memory");

    bmp_pout *pout = NULL;
    bmp_error err = {0};
    if (bmp_pipeline(pipe, in_names, kw, NULL, NULL, &pout, &err) < 0)
        bu_die("pipeline failed: %s", err.text);
    char *default_pout = NULL;
    if (!pout_path) {
        if (asprintf(&default_pout, "%s/pout.jsonl", outdir) < 0)
            bu_die("out of memory");
        pout_path = default_pout;
    }
    if (bmp_pout_write(pout, pout_path, &err) < 0)
        bu_die("cannot write the pout: %s", err.text);

    int failed = 0;
    for (size_t i = 0; i < bmp_pout_count(pout); i++) {
        if (bmp_pout_error(pout, i)) {
            if (!failed)
                fprintf(stderr, "item %zu: %s\n", i, bmp_pout_error(pout, i));
            failed = 1;
        }
    }
    free(default_pout);
    bmp_pout_free(pout);
    json_decref(kw);
    bmp_pipe_free(pipe);
    json_decref(in_names);
    return failed;
}
