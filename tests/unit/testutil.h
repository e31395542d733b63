/*
 * testutil.h -- helpers shared by the unit tests: scratch directories and
 * small files.  Tests abort (through cmocka's asserts) on setup failures.
 */
#ifndef BMP_TESTUTIL_H
#define BMP_TESTUTIL_H

/* TU_UNDER_ASAN, TU_UNDER_TSAN: 1 in a build with that sanitizer (gcc
 * says so with __SANITIZE_*__, clang with __has_feature). */
#if defined(__SANITIZE_ADDRESS__)
#define TU_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TU_UNDER_ASAN 1
#endif
#endif
#ifndef TU_UNDER_ASAN
#define TU_UNDER_ASAN 0
#endif
#if defined(__SANITIZE_THREAD__)
#define TU_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TU_UNDER_TSAN 1
#endif
#endif
#ifndef TU_UNDER_TSAN
#define TU_UNDER_TSAN 0
#endif

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
/* Writes n files in dir named by the printf pattern (one %d) with their
 * index as text ("0", "1", ...), and returns their paths as a JSON array
 * (new reference). */
struct json_t;
struct json_t *tu_numbered_files(const char *dir, const char *pattern, int n);

/* Runs a shell command; returns its exit status (-1 on failure). */
int tu_system(const char *fmt, ...);

/* ---- a scratch folder per test -----------------------------------------
 * cmocka setup and teardown: *state is a fresh folder from tu_mkdtemp(),
 * removed with all it holds after the test. */
int tu_setup_dir(void **state);
int tu_teardown_dir(void **state);
/* A cmocka test that gets its scratch folder as *state (needs cmocka.h). */
#define TU_DIR_TEST(t) \
    cmocka_unit_test_setup_teardown(t, tu_setup_dir, tu_teardown_dir)

/* Fails the test unless `part` is in `text`, showing both. */
void tu_assert_contains(const char *text, const char *part);

/* ---- FITS files --------------------------------------------------------- */

/* Fails the test with cfitsio's text when `status` is a cfitsio error. */
void tu_fits_check(int status);
struct bmp_array;
/* bmp_fits_read() of `hdu` (NULL: the first image) of `path`, which must
 * succeed with an array and its header; the test fails with the error's
 * text otherwise. */
struct bmp_array *tu_fits_read_ok(const char *path, const char *hdu);

/* ---- one computation, the same under every executor --------------------
 * For tests that run one pipe through several executors and compare. */

/* A scratch folder `dir` with `n` inputs made by tu_numbered_files()
 * (in_00.dat ...) in `names`, and `out`, the name of a folder beside
 * them (not made). */
typedef struct tu_items {
    char *dir;
    char *out;
    struct json_t *names;
} tu_items;
tu_items *tu_items_new(int n);
/* Removes the folder and frees `items`. */
void tu_items_free(tu_items *items);

struct bmp_item;
struct bmp_pipe;
struct bmp_pout;
/* data_process: the item's buffer holds a number as text; it becomes
 * ten times that number, as text ending with a newline. */
int tu_times_ten(struct bmp_item *item, void **data);
/* A post-process step: the buffer's number as the meta key "value". */
int tu_record_value(struct bmp_item *item, void **data, void *arg);
/* A new pipe of tu_times_ten and tu_record_value. */
struct bmp_pipe *tu_times_ten_pipe(void);
/* The pout's entries without their stats, as one JSON text with sorted
 * keys (two runs of one pipe compare equal); malloc'd. */
char *tu_entries_text(const struct bmp_pout *pout);

#endif
