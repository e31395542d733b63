/*
 * seed_loop.c -- the seed's starting point: a plain for loop over large
 * files, with no pipeline.  Read, pre-process (reject, flag to boost),
 * process (x10), post-process (boost, statistics), write.  The two other
 * seed examples turn this loop into a parallel pipeline.
 */
#include "seed_common.h"

#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    json_t *in_names;
    char *dir = seed_make_inputs(&in_names);
    const double reject_value = 2, boost_target = 3, boost_amount = 5;

    size_t n = json_array_size(in_names), kept = 0;
    const char **ins = calloc(n, sizeof *ins);
    char **outs = calloc(n, sizeof *outs);
    json_t **metas = calloc(n, sizeof *metas);
    for (size_t i = 0; i < n; i++) {
        const char *f = json_string_value(json_array_get(in_names, i));
        bmp_error err = {0};
        bmp_array *data;
        /* File read step */
        if (bmp_npy_read(f, BMP_NPY_NATIVE, &data, &err) < 0) {
            fprintf(stderr, "%s\n", err.text);
            return 1;
        }
        /* Pre-processing steps */
        if (seed_first(data) == reject_value) {
            bmp_object_free(data, NULL);
            continue;
        }
        int flag_to_boost_later = seed_first(data) == boost_target;
        /* Processing step */
        seed_scale_add(data, 10, 0);
        /* Post-processing steps */
        if (flag_to_boost_later)
            seed_scale_add(data, 1, boost_amount);
        json_t *meta = json_pack("{s:f, s:f}", "median", seed_median(data),
                                 "average", seed_average(data));
        char *outname = NULL;
        bmp_outname_create(f, NULL, NULL, &outname);
        char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, outname) < 0 ||
            bmp_npy_write(path, data, 0, &err) < 0) {
            fprintf(stderr, "cannot write %s: %s\n", outname, err.text);
            return 1;
        }
        free(path);
        bmp_object_free(data, NULL);
        ins[kept] = f;
        outs[kept] = outname;
        metas[kept] = meta;
        kept++;
    }
    seed_print_listing(kept, ins, (const char *const *)outs, metas);

    for (size_t i = 0; i < kept; i++) {
        free(outs[i]);
        json_decref(metas[i]);
    }
    free(ins);
    free(outs);
    free(metas);
    seed_remove_dir(dir);
    free(dir);
    json_decref(in_names);
    return 0;
}
