/*
 * testutil.h -- helpers shared by the unit tests: scratch directories and
 * small files.  Tests abort (through cmocka's asserts) on setup failures.
 */
#ifndef BMP_TESTUTIL_H
#define BMP_TESTUTIL_H

#include <stddef.h>

/* A fresh directory under $TMPDIR (or /tmp); malloc'd path. */
char *tu_mkdtemp(void);
/* Removes a directory tree (best effort). */
void tu_rmtree(const char *path);
/* dir/name, malloc'd. */
char *tu_join(const char *dir, const char *name);
/* Writes `size` bytes to path; asserts success. */
void tu_write_file(const char *path, const void *bytes, size_t size);
/* Reads a whole file; *size set; malloc'd, NUL-terminated; NULL if absent. */
char *tu_read_file(const char *path, size_t *size);
/* 1 when path exists. */
int tu_exists(const char *path);
/* Runs a shell command; returns its exit status (-1 on failure). */
int tu_system(const char *fmt, ...);

#endif
