/*
 * run_text.c -- an item's result as its pout line and back, for an
 * executor whose items run in other processes (an MPI rank): the helper
 * sends bmp_run_result_json(), the owner puts it in with
 * bmp_run_set_result_json().  Here, above both the run (core/) and the
 * pout's JSON Lines (pout/), since it takes one to the other.
 */
#include "pout_internal.h"
#include "run.h"

#include <errno.h>
#include <stdlib.h>

char *bmp_run_result_json(const bmp_run *run, size_t index)
{
    if (!run || index >= run->count)
        return NULL;
    const bmp__result *r = &run->results[index];
    if (__atomic_load_n(&r->status, __ATOMIC_ACQUIRE) == BMP_ITEM_NOT_RUN)
        return NULL;
    return bmp__entry_line(json_array_get(run->items, index), r, -1);
}

int bmp_run_set_result_json(bmp_run *run, size_t index, const char *line,
                            bmp_error *err)
{
    if (!run || !line)
        return bmp_error_set(err, BMP_EINVAL, "set_result", NULL,
                             "bmp_run_set_result_json needs a run and a "
                             "line");
    if (index >= run->count)
        return bmp_error_set(err, BMP_EINVAL, "set_result", NULL,
                             "item %zu is out of range (the run has %zu)",
                             index, run->count);
    bmp__pout_entry e;
    const char *why = NULL;
    int rc = bmp__pout_entry_parse(line, &e, &why);
    if (rc == 0 && !json_equal(e.in_name, json_array_get(run->items, index))) {
        rc = BMP_EINVAL;
        why = "the line is another item's (its in_name differs)";
    }
    if (rc == 0)
        rc = bmp__run_set_final(run, index, &e.r, err);
    else if (rc == -ENOMEM)
        bmp_error_set(err, rc, "set_result", NULL, "out of memory");
    else
        rc = bmp_error_set(err, BMP_EINVAL, "set_result", NULL,
                           "item %zu: not its pout line: %s", index, why);
    json_decref(e.in_name);
    bmp__result_clear(&e.r);
    return rc;
}
