/*
 * test_meta.c -- the metadata helpers: bmp_cleanup with its removal after
 * the post-process list, and bmp_multi_logging.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bigmultipipe.h"
#include "meta_internal.h"
#include "testutil.h"

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    assert_non_null(v);
    return v;
}

static void assert_json(const json_t *value, const char *want_text)
{
    json_t *want = load(want_text);
    if (!json_equal((json_t *)value, want)) {
        char *got = json_dumps(value, JSON_SORT_KEYS | JSON_ENCODE_ANY);
        print_error("got %s, want %s\n", got ? got : "(null)", want_text);
        free(got);
        fail();
    }
    json_decref(want);
}

/* ---- bmp_cleanup ------------------------------------------------------ */

static void meta_cleanup_registry_key(void **state)
{
    (void)state;
    /* The registry's name is part of the documented interface. */
    assert_string_equal(BMP__CLEANUP_KEY, "bmp_cleanup_list");
}

static void meta_cleanup_registers(void **state)
{
    (void)state;
    json_t *meta = load("{\"big\": [1, 2, 3], \"median\": 4}");
    const char *const keys[] = {"big", "tmp", NULL};
    assert_int_equal(bmp_cleanup(meta, keys), 0);
    assert_json(json_object_get(meta, "bmp_cleanup_list"),
                "[\"big\", \"tmp\"]");
    /* Registering removes nothing yet. */
    assert_non_null(json_object_get(meta, "big"));
    assert_non_null(json_object_get(meta, "median"));
    json_decref(meta);
}

static void meta_cleanup_appends(void **state)
{
    (void)state;
    json_t *meta = json_object();
    const char *const first[] = {"a", "b", NULL};
    const char *const second[] = {"c", NULL};
    assert_int_equal(bmp_cleanup(meta, first), 0);
    assert_int_equal(bmp_cleanup(meta, second), 0);
    assert_json(json_object_get(meta, "bmp_cleanup_list"),
                "[\"a\", \"b\", \"c\"]");
    assert_int_equal(json_object_size(meta), 1);
    json_decref(meta);
}

static void meta_cleanup_no_keys(void **state)
{
    (void)state;
    json_t *meta = json_object();
    const char *const none[] = {NULL};
    assert_int_equal(bmp_cleanup(meta, none), 0);
    assert_json(json_object_get(meta, "bmp_cleanup_list"), "[]");
    assert_int_equal(bmp_cleanup(meta, NULL), 0);
    assert_json(json_object_get(meta, "bmp_cleanup_list"), "[]");
    json_decref(meta);
}

static void meta_cleanup_rejects(void **state)
{
    (void)state;
    const char *const keys[] = {"a", NULL};
    assert_int_equal(bmp_cleanup(NULL, keys), BMP_EINVAL);
    json_t *arr = json_array();
    assert_int_equal(bmp_cleanup(arr, keys), BMP_EINVAL);
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
    /* A registry that is not a list is not silently replaced. */
    json_t *meta = load("{\"bmp_cleanup_list\": \"oops\"}");
    assert_int_equal(bmp_cleanup(meta, keys), BMP_EINVAL);
    assert_json(meta, "{\"bmp_cleanup_list\": \"oops\"}");
    json_decref(meta);
}

static void meta_apply_cleanup_removes(void **state)
{
    (void)state;
    json_t *meta = load("{\"big\": [1, 2], \"tmp\": {\"x\": 1}, "
                        "\"median\": 10.0, \"average\": 10.0}");
    const char *const keys[] = {"big", "tmp", NULL};
    assert_int_equal(bmp_cleanup(meta, keys), 0);
    bmp__meta_apply_cleanup(meta);
    /* The keys and the registry are gone; the rest stays. */
    assert_json(meta, "{\"median\": 10.0, \"average\": 10.0}");
    json_decref(meta);
}

static void meta_apply_cleanup_missing_keys(void **state)
{
    (void)state;
    json_t *meta = load("{\"a\": 1, \"keep\": 2}");
    const char *const keys[] = {"ghost", "a", "a", NULL};
    assert_int_equal(bmp_cleanup(meta, keys), 0);
    bmp__meta_apply_cleanup(meta);
    assert_json(meta, "{\"keep\": 2}");
    json_decref(meta);
}

static void meta_apply_cleanup_without_registry(void **state)
{
    (void)state;
    json_t *meta = load("{\"a\": 1, \"b\": [2]}");
    bmp__meta_apply_cleanup(meta);
    assert_json(meta, "{\"a\": 1, \"b\": [2]}");
    json_decref(meta);
    bmp__meta_apply_cleanup(NULL); /* no crash */
    json_t *empty = json_object();
    bmp__meta_apply_cleanup(empty);
    assert_int_equal(json_object_size(empty), 0);
    json_decref(empty);
}

static void meta_apply_cleanup_odd_registry(void **state)
{
    (void)state;
    /* Entries that are not strings are skipped; the registry goes. */
    json_t *meta = load("{\"a\": 1, \"1\": 2, "
                        "\"bmp_cleanup_list\": [1, null, \"a\"]}");
    bmp__meta_apply_cleanup(meta);
    assert_json(meta, "{\"1\": 2}");
    json_decref(meta);
    /* A registry that is not a list is removed too. */
    meta = load("{\"a\": 1, \"bmp_cleanup_list\": \"a\"}");
    bmp__meta_apply_cleanup(meta);
    assert_json(meta, "{\"a\": 1}");
    json_decref(meta);
}

static void meta_apply_cleanup_registry_registered(void **state)
{
    (void)state;
    /* Registering the registry itself must not pull the list from under
     * the loop that walks it. */
    json_t *meta = load("{\"a\": 1, \"b\": 2, \"c\": 3}");
    const char *const keys[] = {"a", "bmp_cleanup_list", "b", NULL};
    assert_int_equal(bmp_cleanup(meta, keys), 0);
    bmp__meta_apply_cleanup(meta);
    assert_json(meta, "{\"c\": 3}");
    json_decref(meta);
}

/* ---- bmp_multi_logging ------------------------------------------------ */

static void meta_multi_logging_creates(void **state)
{
    (void)state;
    json_t *meta = load("{\"median\": 1}");
    assert_int_equal(bmp_multi_logging(meta, "warning", "first"), 0);
    assert_json(meta, "{\"median\": 1, \"warning\": [\"first\"]}");
    json_decref(meta);
}

static void meta_multi_logging_appends_in_order(void **state)
{
    (void)state;
    json_t *meta = json_object();
    assert_int_equal(bmp_multi_logging(meta, "info", "one"), 0);
    assert_int_equal(bmp_multi_logging(meta, "warning", "w"), 0);
    assert_int_equal(bmp_multi_logging(meta, "info", "two"), 0);
    assert_int_equal(bmp_multi_logging(meta, "info", "three"), 0);
    assert_json(meta, "{\"info\": [\"one\", \"two\", \"three\"], "
                      "\"warning\": [\"w\"]}");
    json_decref(meta);
}

static void meta_multi_logging_appends_to_existing(void **state)
{
    (void)state;
    json_t *meta = load("{\"error\": [\"from before\", 5]}");
    assert_int_equal(bmp_multi_logging(meta, "error", "later"), 0);
    assert_json(meta, "{\"error\": [\"from before\", 5, \"later\"]}");
    json_decref(meta);
}

static void meta_multi_logging_formats(void **state)
{
    (void)state;
    json_t *meta = json_object();
    assert_int_equal(bmp_multi_logging(meta, "info",
                                       "%s: %d of %zu, %.2f%% %c%%",
                                       "file.fits", 3, (size_t)10, 12.345,
                                       'x'),
                     0);
    json_t *list = json_object_get(meta, "info");
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_array_get(list, 0)),
                        "file.fits: 3 of 10, 12.35% x%");
    json_decref(meta);
}

static void meta_multi_logging_long_message(void **state)
{
    (void)state;
    size_t n = 100000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    big[n] = '\0';
    json_t *meta = json_object();
    assert_int_equal(bmp_multi_logging(meta, "debug", "<%s>", big), 0);
    const char *got = json_string_value(
        json_array_get(json_object_get(meta, "debug"), 0));
    assert_non_null(got);
    assert_int_equal(strlen(got), n + 2);
    assert_int_equal(got[0], '<');
    assert_int_equal(memcmp(got + 1, big, n), 0);
    assert_int_equal(got[n + 1], '>');
    json_decref(meta);
    free(big);
}

static void meta_multi_logging_rejects(void **state)
{
    (void)state;
    assert_int_equal(bmp_multi_logging(NULL, "info", "m"), BMP_EINVAL);
    json_t *arr = json_array();
    assert_int_equal(bmp_multi_logging(arr, "info", "m"), BMP_EINVAL);
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
    json_t *str = json_string("meta");
    assert_int_equal(bmp_multi_logging(str, "info", "m"), BMP_EINVAL);
    json_decref(str);

    json_t *meta = json_object();
    assert_int_equal(bmp_multi_logging(meta, NULL, "m"), BMP_EINVAL);
    const char *volatile nofmt = NULL;
    assert_int_equal(bmp_multi_logging(meta, "info", nofmt, 0), BMP_EINVAL);
    assert_int_equal(json_object_size(meta), 0);
    json_decref(meta);

    /* meta[level] that is not a list is left alone. */
    meta = load("{\"info\": \"not a list\"}");
    assert_int_equal(bmp_multi_logging(meta, "info", "m"), BMP_EINVAL);
    assert_json(meta, "{\"info\": \"not a list\"}");
    json_decref(meta);
}

/* A message quoting a file name that is not UTF-8 is kept, with the bad
 * bytes replaced, rather than lost. */
static void meta_multi_logging_non_utf8(void **state)
{
    (void)state;
    json_t *meta = json_object();
    assert_int_equal(bmp_multi_logging(meta, "warning", "cannot read %s",
                                       "caf\xe9.npy"),
                     0);
    json_t *list = json_object_get(meta, "warning");
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_array_get(list, 0)),
                        "cannot read caf\xef\xbf\xbd.npy");
    char *text = json_dumps(meta, 0);
    assert_non_null(text); /* serialisable, so it can reach the caller */
    free(text);
    json_decref(meta);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(meta_cleanup_registry_key),
        cmocka_unit_test(meta_cleanup_registers),
        cmocka_unit_test(meta_cleanup_appends),
        cmocka_unit_test(meta_cleanup_no_keys),
        cmocka_unit_test(meta_cleanup_rejects),
        cmocka_unit_test(meta_apply_cleanup_removes),
        cmocka_unit_test(meta_apply_cleanup_missing_keys),
        cmocka_unit_test(meta_apply_cleanup_without_registry),
        cmocka_unit_test(meta_apply_cleanup_odd_registry),
        cmocka_unit_test(meta_apply_cleanup_registry_registered),
        cmocka_unit_test(meta_multi_logging_creates),
        cmocka_unit_test(meta_multi_logging_appends_in_order),
        cmocka_unit_test(meta_multi_logging_appends_to_existing),
        cmocka_unit_test(meta_multi_logging_formats),
        cmocka_unit_test(meta_multi_logging_long_message),
        cmocka_unit_test(meta_multi_logging_rejects),
        cmocka_unit_test(meta_multi_logging_non_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
