/*
 * test_error.c -- error codes, their names and texts, and bmp_error.
 *
 * The library's codes come from one table (BMP_ERROR_MAP); the expected
 * names and texts below are written out by hand, so that a change to the
 * table that renames or renumbers a code (codes are appended, never
 * reused) fails here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bigmultipipe.h"
#include "testutil.h"

static const struct {
    int code;
    int value;
    const char *name;
    const char *text;
} library_codes[] = {
    {BMP_EINVAL, -30001, "BMP_EINVAL", "invalid argument"},
    {BMP_EKWTYPE, -30002, "BMP_EKWTYPE", "keyword has the wrong type"},
    {BMP_ENOMEM_BUDGET, -30003, "BMP_ENOMEM_BUDGET",
     "memory budget too small for one process"},
    {BMP_ENOOUTNAME, -30004, "BMP_ENOOUTNAME",
     "no output name can be made for this item"},
    {BMP_ESTEP, -30005, "BMP_ESTEP", "a processing step failed"},
    {BMP_ECRASH, -30006, "BMP_ECRASH", "worker process crashed"},
    {BMP_ETIMEOUT, -30007, "BMP_ETIMEOUT", "item timed out"},
    {BMP_EPROTO, -30008, "BMP_EPROTO", "malformed message from a worker"},
    {BMP_EFORMAT, -30009, "BMP_EFORMAT", "malformed file"},
    {BMP_EUNSUPPORTED, -30010, "BMP_EUNSUPPORTED",
     "unsupported feature of a file format"},
    {BMP_EINTERRUPTED, -30011, "BMP_EINTERRUPTED", "run interrupted"},
    {BMP_ENOITEMS, -30012, "BMP_ENOITEMS", "no items to process"},
    {BMP_EPOUT, -30013, "BMP_EPOUT", "malformed pout file"},
    {BMP_EFITS, -30014, "BMP_EFITS", "FITS library error"},
    {BMP_ENOWORKER, -30015, "BMP_ENOWORKER",
     "no worker process could be started"},
};
#define N_LIBRARY_CODES (sizeof library_codes / sizeof *library_codes)

/* ---- codes, names, texts ---------------------------------------------- */

static void error_library_codes_stable(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_LIBRARY_CODES; i++)
        assert_int_equal(library_codes[i].code, library_codes[i].value);
}

static void error_map_complete(void **state)
{
    (void)state;
    /* Every entry of the map is in the table above, and vice versa. */
    size_t n = 0;
#define COUNT(n_, v_, t_) n++;
    BMP_ERROR_MAP(COUNT)
#undef COUNT
    assert_int_equal(n, N_LIBRARY_CODES);
#define CHECK(n_, v_, t_)                                         \
    {                                                             \
        int found = 0;                                            \
        for (size_t i = 0; i < N_LIBRARY_CODES; i++)              \
            if (library_codes[i].code == (v_) &&                  \
                strcmp(library_codes[i].name, "BMP_" #n_) == 0 && \
                strcmp(library_codes[i].text, (t_)) == 0)         \
                found = 1;                                        \
        assert_true(found);                                       \
    }
    BMP_ERROR_MAP(CHECK)
#undef CHECK
}

static void error_strerror_library_codes(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_LIBRARY_CODES; i++)
        assert_string_equal(bmp_strerror(library_codes[i].code),
                            library_codes[i].text);
}

static void error_name_library_codes(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_LIBRARY_CODES; i++)
        assert_string_equal(bmp_err_name(library_codes[i].code),
                            library_codes[i].name);
}

static void error_success(void **state)
{
    (void)state;
    assert_string_equal(bmp_strerror(0), "success");
    assert_string_equal(bmp_err_name(0), "OK");
}

static void error_errno_codes(void **state)
{
    (void)state;
    static const struct {
        int errnum;
        const char *name;
    } sys[] = {
        {ENOENT, "ENOENT"}, {EACCES, "EACCES"},   {ENOMEM, "ENOMEM"},
        {EEXIST, "EEXIST"}, {ENOTDIR, "ENOTDIR"}, {EINTR, "EINTR"},
        {EISDIR, "EISDIR"}, {ENOSPC, "ENOSPC"},   {EPIPE, "EPIPE"},
        {EINVAL, "EINVAL"},
    };
    for (size_t i = 0; i < sizeof sys / sizeof *sys; i++) {
        char expected[256];
        snprintf(expected, sizeof expected, "%s", strerror(sys[i].errnum));
        assert_string_equal(bmp_strerror(-sys[i].errnum), expected);
        assert_string_equal(bmp_err_name(-sys[i].errnum), sys[i].name);
    }
    /* -EINVAL (a system code) and BMP_EINVAL (the library's) differ. */
    assert_string_not_equal(bmp_err_name(-EINVAL), bmp_err_name(BMP_EINVAL));
}

static void error_unknown_codes(void **state)
{
    (void)state;
    /* Positive codes are never errors of this library. */
    assert_string_equal(bmp_strerror(5), "unknown error 5");
    assert_string_equal(bmp_err_name(5), "UNKNOWN");
    assert_string_equal(bmp_strerror(12345), "unknown error 12345");
    /* The library's range, just outside the map on both sides. */
    assert_string_equal(bmp_strerror(-30000), "unknown error -30000");
    assert_string_equal(bmp_err_name(-30000), "UNKNOWN");
    /* One past the map's lowest code, wherever new codes take it. */
    int past = 0;
#define LOWEST(n_, v_, t_) past = (v_) < past ? (v_) : past;
    BMP_ERROR_MAP(LOWEST)
#undef LOWEST
    past--;
    char expected[64];
    snprintf(expected, sizeof expected, "unknown error %d", past);
    assert_string_equal(bmp_strerror(past), expected);
    assert_string_equal(bmp_err_name(past), "UNKNOWN");
    assert_string_equal(bmp_strerror(-29999), "unknown error -29999");
    snprintf(expected, sizeof expected, "unknown error %d", INT_MIN);
    assert_string_equal(bmp_strerror(INT_MIN), expected);
    assert_string_equal(bmp_err_name(INT_MIN), "UNKNOWN");
    assert_string_equal(bmp_err_name(INT_MAX), "UNKNOWN");
    /* In the errno range but no errno: a text, and no name. */
    const char *text = bmp_strerror(-4000);
    assert_non_null(text);
    assert_true(strlen(text) > 0);
    assert_non_null(strstr(text, "4000"));
    assert_string_equal(bmp_err_name(-4000), "UNKNOWN");
}

static void *unknown_in_thread(void *arg)
{
    (void)arg;
    return (void *)bmp_strerror(-31234);
}

static void error_strerror_thread_local(void **state)
{
    (void)state;
    /* Texts made for unknown codes live in per-thread storage: another
     * thread's call does not overwrite this one's. */
    const char *mine = bmp_strerror(-31111);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, unknown_in_thread, NULL), 0);
    void *theirs = NULL;
    assert_int_equal(pthread_join(t, &theirs), 0);
    assert_ptr_not_equal(mine, theirs);
    assert_string_equal(mine, "unknown error -31111");
}

/* ---- bmp_error_set ---------------------------------------------------- */

static void error_set_records(void **state)
{
    (void)state;
    bmp_error err = {0};
    int rc = bmp_error_set(&err, BMP_ESTEP, "post_process", "in/a.fits",
                           "step %s failed with %d", "median", 7);
    assert_int_equal(rc, BMP_ESTEP);
    assert_int_equal(err.code, BMP_ESTEP);
    assert_string_equal(err.stage, "post_process");
    assert_string_equal(err.source, "in/a.fits");
    assert_string_equal(err.text, "step median failed with 7");
}

static void error_set_first_wins(void **state)
{
    (void)state;
    bmp_error err = {0};
    bmp_error_set(&err, -ENOENT, "read", "first.dat", "first");
    int rc = bmp_error_set(&err, BMP_ETIMEOUT, "write", "second.dat",
                           "second");
    /* The later call still returns its own code ... */
    assert_int_equal(rc, BMP_ETIMEOUT);
    /* ... but does not replace the first cause. */
    assert_int_equal(err.code, -ENOENT);
    assert_string_equal(err.stage, "read");
    assert_string_equal(err.source, "first.dat");
    assert_string_equal(err.text, "first");
}

static void error_set_null_err(void **state)
{
    (void)state;
    assert_int_equal(bmp_error_set(NULL, -EACCES, "read", "x", "msg %d", 1),
                     -EACCES);
    assert_int_equal(bmp_error_set(NULL, 3, NULL, NULL, "msg"), BMP_EINVAL);
}

static void error_set_positive_code(void **state)
{
    (void)state;
    bmp_error err = {0};
    /* A positive code would read as "no error"; it is reported as
     * BMP_EINVAL rather than lost. */
    assert_int_equal(bmp_error_set(&err, 42, "schedule", NULL, "odd"),
                     BMP_EINVAL);
    assert_int_equal(err.code, BMP_EINVAL);
    assert_string_equal(err.text, "odd");

    bmp_error zero = {0};
    assert_int_equal(bmp_error_set(&zero, 0, "schedule", NULL, "zero"),
                     BMP_EINVAL);
    assert_int_equal(zero.code, BMP_EINVAL);
}

static void error_set_null_source_and_stage(void **state)
{
    (void)state;
    bmp_error err;
    memset(&err, 'x', sizeof err);
    err.code = 0;
    bmp_error_set(&err, BMP_EINVAL, NULL, NULL, "no source");
    assert_string_equal(err.source, "");
    assert_string_equal(err.stage, "");
    assert_string_equal(err.text, "no source");
}

static void error_set_null_fmt_uses_strerror(void **state)
{
    (void)state;
    bmp_error err = {0};
    const char *volatile fmt = NULL; /* a NULL format, without a warning */
    bmp_error_set(&err, BMP_ECRASH, "run", "a", fmt, 0);
    assert_string_equal(err.text, "worker process crashed");

    bmp_error sys = {0};
    bmp_error_set(&sys, -ENOENT, "run", "a", fmt, 0);
    assert_string_equal(sys.text, strerror(ENOENT));
}

static void error_set_truncates(void **state)
{
    (void)state;
    char longsrc[2000], longstage[100];
    memset(longsrc, 's', sizeof longsrc - 1);
    longsrc[sizeof longsrc - 1] = '\0';
    memset(longstage, 'g', sizeof longstage - 1);
    longstage[sizeof longstage - 1] = '\0';
    bmp_error err = {0};
    bmp_error_set(&err, BMP_EFORMAT, longstage, longsrc, "%s", longsrc);
    assert_int_equal(strlen(err.stage), sizeof err.stage - 1);
    assert_int_equal(strlen(err.source), sizeof err.source - 1);
    assert_int_equal(strlen(err.text), sizeof err.text - 1);
    assert_int_equal(strncmp(err.source, longsrc, sizeof err.source - 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(error_library_codes_stable),
        cmocka_unit_test(error_map_complete),
        cmocka_unit_test(error_strerror_library_codes),
        cmocka_unit_test(error_name_library_codes),
        cmocka_unit_test(error_success),
        cmocka_unit_test(error_errno_codes),
        cmocka_unit_test(error_unknown_codes),
        cmocka_unit_test(error_strerror_thread_local),
        cmocka_unit_test(error_set_records),
        cmocka_unit_test(error_set_first_wins),
        cmocka_unit_test(error_set_null_err),
        cmocka_unit_test(error_set_positive_code),
        cmocka_unit_test(error_set_null_source_and_stage),
        cmocka_unit_test(error_set_null_fmt_uses_strerror),
        cmocka_unit_test(error_set_truncates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
