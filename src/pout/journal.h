/*
 * journal.h -- the run's journal: each finished item is appended, as one
 * JSON line (the pout format plus "index"), the moment it finishes.  A run
 * started again with `resume` takes the items whose entry is complete and
 * whose output still exists from the journal and runs only the rest, so
 * its final pout equals that of an uninterrupted run.
 */
#ifndef BMP_JOURNAL_H
#define BMP_JOURNAL_H

#include "run.h"

/* Opens the journal named by the keyword `journal`, if any.  With
 * `resume`, first loads the finished items into run->results and marks
 * them in run->skip.  @return 0, or a negative error (err filled). */
int bmp__journal_open(bmp__run *run, bmp_error *err);
/* Appends item `index`'s result as one write(), so a kill leaves at
 * most a partial last line, which resume ignores.  A failed write is
 * kept in run->journal_error (the first one) and reported by the run. */
void bmp__journal_record(bmp__run *run, size_t index);
void bmp__journal_close(bmp__run *run);

#endif
