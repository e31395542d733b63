/*
 * run_paths.h -- the files a run will write, checked against the files it
 * reads before anything is opened for writing, and the temporaries that
 * killed runs left beside those outputs.
 *
 * Why before the run: a run that overwrites one of its own inputs, or
 * truncates one as its journal, destroys data that may not exist
 * anywhere else; by the time an item could notice, the damage is done.
 * Paths are compared as the files they name (device and inode where the
 * file exists, else the directory's and the base name), so "./a", "a",
 * a symbolic link and a hard link to one file are the same file.
 */
#ifndef BMP_RUN_PATHS_H
#define BMP_RUN_PATHS_H

#include "run.h"

/* Every item's output name by the library's rule (bmp_outname_create
 * with the run's keywords), malloc'd, in *outs (count entries; NULL for
 * an item that has none, such as a group without outname).
 * @return 0 or -ENOMEM. */
int bmp__run_outputs(const json_t *items, const json_t *kw, char ***outs);
void bmp__run_outputs_free(char **outs, size_t count);

/* Temporaries ".NAME.bmp-XXXXXX" found beside a run's outputs NAME. */
typedef struct bmp__dead_temps {
    char **paths;
    size_t count;
} bmp__dead_temps;

/* The checks of bmp_check_paths() with the outputs given (NULL: not
 * known, only the run's own files are checked against the inputs).
 * With `contested` (count entries, zeroed), outputs that several items
 * share are not refused: each such item's entry is set to 1 + another
 * of them, for the check during the run (names that steps may still
 * change); the other checks refuse as always.
 * With outputs and `dead`, also lists the temporaries beside them, for
 * bmp__remove_dead_temps() once the run is accepted, leaving out those
 * of the items marked in `others` (may be NULL): another shard's items,
 * whose writers may hold their temporaries on another machine.
 * @return 0 or BMP_EINVAL / -ENOMEM with err filled. */
int bmp__check_run_paths(const json_t *items, char *const *outs,
                         const json_t *kw, const bmp_own_file *own,
                         size_t nown, const unsigned char *others,
                         size_t *contested, bmp__dead_temps *dead,
                         bmp_error *err);

/* Every existing input file by device and inode, with its item, sorted
 * (one stat() per input name), so that an output named during the run
 * can be looked up: bmp__inodes_other_item() gives 1 and *other when
 * (dev, ino) is an input of an item other than `item`, else 0.
 * @return 0 or -ENOMEM.  Lookups are fork- and thread-safe. */
int bmp__inodes_of_inputs(const json_t *items, bmp__inodes *set);
int bmp__inodes_other_item(const bmp__inodes *set, dev_t dev, ino_t ino,
                           size_t item, size_t *other);
void bmp__inodes_free(bmp__inodes *set);
/* run->inputs, gathered on the first call in this process (thread-safe:
 * under run->inputs_lock).  NULL when out of memory. */
const bmp__inodes *bmp__run_input_inodes(bmp__run *run);

/* Removes each listed temporary that no live writer holds (writers keep
 * an exclusive flock on a temporary while they write it; a killed
 * writer's lock is gone), and empties the list.  @return how many were
 * removed. */
size_t bmp__remove_dead_temps(bmp__dead_temps *t);
void bmp__dead_temps_free(bmp__dead_temps *t);

#endif
