/*
 * origin.h -- where a helper rank ran an item, added to its pout line.
 */
#ifndef BMP_MPI_ORIGIN_H
#define BMP_MPI_ORIGIN_H

/* `line` (one pout entry, doc/pout-format.md) with "rank" and "host"
 * set in its "stats" object (made when the entry has none).  malloc'd;
 * NULL when `line` is NULL, is not a JSON object, its "stats" is not an
 * object, or memory ran out (*why then says which: BMP_EPROTO or
 * -ENOMEM).  `line` is only read. */
char *bmp__mpi_with_origin(const char *line, int rank, const char *host,
                           int *why);

#endif
