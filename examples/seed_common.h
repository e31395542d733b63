/*
 * seed_common.h -- what the seed's three example programs share: making
 * the ten input arrays, the statistics, and printing the listing in the
 * form Python prints it, so the C and Python outputs compare as text.
 */
#ifndef SEED_COMMON_H
#define SEED_COMMON_H

#include <bigmultipipe.h>

#define SEED_FILES 10
#define SEED_ROWS 1000
#define SEED_COLS 2000

/* Makes a temporary directory holding big_array_0.npy .. _9.npy, each
 * 1000x2000 float64 filled with its index.  Returns the directory
 * (malloc'd) and the names as a JSON array in *in_names; exits on error,
 * as an example may. */
char *seed_make_inputs(json_t **in_names);
/* Removes the directory and everything in it. */
void seed_remove_dir(const char *dir);

/* data = data * mul + add, element by element (float64 data). */
void seed_scale_add(bmp_array *a, double mul, double add);
/* NumPy's median and average of all elements. */
double seed_median(const bmp_array *a);
double seed_average(const bmp_array *a);
/* The array's first element, data[0,0]. */
double seed_first(const bmp_array *a);

/* The seed's run of a pipeline: makes the inputs, sets boost_target 3
 * and outdir at construction, runs `dmp` with reject_value 2 and
 * boost_amount 5, prunes the pout, prints the listing, reports failed
 * items on stderr and removes the files.  Takes ownership of `dmp`.
 * @return the program's exit status. */
int seed_run(bmp_pipe *dmp);

/* Prints [('in', 'out', {'median': m, 'average': a}), ...] as Python's
 * print(list(zip(...))) does, with base names. */
void seed_print_listing(size_t n, const char *const in_names[],
                        const char *const outnames[], json_t *const metas[]);
/* The same, from a pout pruned with bmp_prune_pout(). */
void seed_print_pout(const bmp_pout *pout);

#endif
