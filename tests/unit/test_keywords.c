/*
 * test_keywords.c -- the control stream: typed getters and setters over a
 * JSON object, "not given" (absent or null), and the merge that layers
 * construction < run < pre-process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bigmultipipe.h"
#include "keywords_internal.h"
#include "testutil.h"

#include <stdio.h>

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    assert_non_null(v);
    return v;
}

/* The JSON values of every type but the ones a getter accepts. */
static const char *const non_numbers[] = {"\"3\"", "true", "false", "[1]",
                                          "{\"a\": 1}"};

static json_t *with_x(const char *value_json)
{
    char text[256];
    snprintf(text, sizeof text, "{\"x\": %s}", value_json);
    return load(text);
}

/* ---- real ------------------------------------------------------------- */

static void keywords_get_real_real(void **state)
{
    (void)state;
    json_t *kw = load("{\"x\": 2.5, \"neg\": -1e300}");
    double d = 0;
    assert_int_equal(bmp_kw_get_real(kw, "x", &d), 1);
    assert_true(d == 2.5);
    assert_int_equal(bmp_kw_get_real(kw, "neg", &d), 1);
    assert_true(d == -1e300);
    json_decref(kw);
}

static void keywords_get_real_integer_given(void **state)
{
    (void)state;
    json_t *kw = load("{\"x\": 3, \"big\": 9007199254740992}");
    double d = 0;
    assert_int_equal(bmp_kw_get_real(kw, "x", &d), 1);
    assert_true(d == 3.0);
    assert_int_equal(bmp_kw_get_real(kw, "big", &d), 1);
    assert_true(d == 9007199254740992.0);
    assert_true(bmp_kw_real(kw, "x", -1) == 3.0);
    json_decref(kw);
}

static void keywords_get_real_wrong_type(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof non_numbers / sizeof *non_numbers; i++) {
        json_t *kw = with_x(non_numbers[i]);
        double d = 123.0;
        assert_int_equal(bmp_kw_get_real(kw, "x", &d), BMP_EKWTYPE);
        assert_true(d == 123.0); /* untouched */
        assert_true(bmp_kw_real(kw, "x", 7.5) == 7.5);
        json_decref(kw);
    }
}

/* ---- int -------------------------------------------------------------- */

static void keywords_get_int_integer(void **state)
{
    (void)state;
    json_t *kw = load("{\"x\": -42, \"big\": 9223372036854775807}");
    long long v = 0;
    assert_int_equal(bmp_kw_get_int(kw, "x", &v), 1);
    assert_true(v == -42);
    assert_int_equal(bmp_kw_get_int(kw, "big", &v), 1);
    assert_true(v == 9223372036854775807LL);
    json_decref(kw);
}

static void keywords_get_int_integral_real(void **state)
{
    (void)state;
    json_t *kw = load("{\"x\": 3.0, \"neg\": -2.0, \"zero\": -0.0, "
                      "\"e\": 1e15}");
    long long v = 0;
    assert_int_equal(bmp_kw_get_int(kw, "x", &v), 1);
    assert_true(v == 3);
    assert_int_equal(bmp_kw_get_int(kw, "neg", &v), 1);
    assert_true(v == -2);
    assert_int_equal(bmp_kw_get_int(kw, "zero", &v), 1);
    assert_true(v == 0);
    assert_int_equal(bmp_kw_get_int(kw, "e", &v), 1);
    assert_true(v == 1000000000000000LL);
    assert_true(bmp_kw_int(kw, "x", -1) == 3);
    json_decref(kw);
}

static void keywords_get_int_non_integral_real(void **state)
{
    (void)state;
    static const char *const bad[] = {"2.5", "-0.5", "1e-9", "1e19", "-1e300"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *kw = with_x(bad[i]);
        long long v = 99;
        assert_int_equal(bmp_kw_get_int(kw, "x", &v), BMP_EKWTYPE);
        assert_true(v == 99);
        assert_true(bmp_kw_int(kw, "x", 5) == 5);
        json_decref(kw);
    }
}

static void keywords_get_int_wrong_type(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof non_numbers / sizeof *non_numbers; i++) {
        json_t *kw = with_x(non_numbers[i]);
        long long v = 99;
        assert_int_equal(bmp_kw_get_int(kw, "x", &v), BMP_EKWTYPE);
        assert_true(v == 99);
        json_decref(kw);
    }
}

/* ---- bool ------------------------------------------------------------- */

static void keywords_get_bool(void **state)
{
    (void)state;
    json_t *kw = load("{\"t\": true, \"f\": false, \"one\": 1, \"zero\": 0,"
                      " \"half\": 0.5, \"zr\": 0.0, \"neg\": -3}");
    static const struct {
        const char *key;
        int value;
    } cases[] = {{"t", 1},    {"f", 0},  {"one", 1}, {"zero", 0},
                 {"half", 1}, {"zr", 0}, {"neg", 1}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int b = -7;
        assert_int_equal(bmp_kw_get_bool(kw, cases[i].key, &b), 1);
        assert_int_equal(b, cases[i].value);
        /* The default never shows through a given value. */
        assert_int_equal(bmp_kw_bool(kw, cases[i].key, !cases[i].value),
                         cases[i].value);
    }
    json_decref(kw);
}

static void keywords_get_bool_wrong_type(void **state)
{
    (void)state;
    static const char *const bad[] = {"\"true\"", "\"\"", "[]", "{}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *kw = with_x(bad[i]);
        int b = -7;
        assert_int_equal(bmp_kw_get_bool(kw, "x", &b), BMP_EKWTYPE);
        assert_int_equal(b, -7);
        assert_int_equal(bmp_kw_bool(kw, "x", 1), 1);
        assert_int_equal(bmp_kw_bool(kw, "x", 0), 0);
        json_decref(kw);
    }
}

/* ---- string ----------------------------------------------------------- */

static void keywords_get_str(void **state)
{
    (void)state;
    json_t *kw = load("{\"s\": \"out/dir\", \"e\": \"\"}");
    const char *s = NULL;
    assert_int_equal(bmp_kw_get_str(kw, "s", &s), 1);
    assert_string_equal(s, "out/dir");
    /* Borrowed from kw, not a copy. */
    assert_ptr_equal(s, json_string_value(json_object_get(kw, "s")));
    /* An empty string is given. */
    assert_int_equal(bmp_kw_get_str(kw, "e", &s), 1);
    assert_string_equal(s, "");
    assert_string_equal(bmp_kw_str(kw, "e", "dflt"), "");
    json_decref(kw);
}

static void keywords_get_str_wrong_type(void **state)
{
    (void)state;
    static const char *const bad[] = {"1", "2.5", "true", "[\"a\"]", "{}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *kw = with_x(bad[i]);
        const char *s = "untouched";
        assert_int_equal(bmp_kw_get_str(kw, "x", &s), BMP_EKWTYPE);
        assert_string_equal(s, "untouched");
        assert_string_equal(bmp_kw_str(kw, "x", "dflt"), "dflt");
        json_decref(kw);
    }
}

/* ---- not given -------------------------------------------------------- */

static void keywords_null_is_not_given(void **state)
{
    (void)state;
    json_t *kw = load("{\"x\": null}");
    double d = 1.5;
    long long i = 7;
    int b = 3;
    const char *s = "untouched";
    assert_int_equal(bmp_kw_get_real(kw, "x", &d), 0);
    assert_int_equal(bmp_kw_get_int(kw, "x", &i), 0);
    assert_int_equal(bmp_kw_get_bool(kw, "x", &b), 0);
    assert_int_equal(bmp_kw_get_str(kw, "x", &s), 0);
    assert_true(d == 1.5);
    assert_true(i == 7);
    assert_int_equal(b, 3);
    assert_string_equal(s, "untouched");
    assert_int_equal(bmp_kw_has(kw, "x"), 0);
    assert_true(bmp_kw_real(kw, "x", 0.8) == 0.8);
    assert_true(bmp_kw_int(kw, "x", -5) == -5);
    assert_int_equal(bmp_kw_bool(kw, "x", 1), 1);
    assert_string_equal(bmp_kw_str(kw, "x", "_bmp"), "_bmp");
    json_decref(kw);
}

static void keywords_absent_is_not_given(void **state)
{
    (void)state;
    json_t *kw = load("{\"other\": 1}");
    double d = 1.5;
    long long i = 7;
    int b = 3;
    const char *s = "untouched";
    assert_int_equal(bmp_kw_get_real(kw, "x", &d), 0);
    assert_int_equal(bmp_kw_get_int(kw, "x", &i), 0);
    assert_int_equal(bmp_kw_get_bool(kw, "x", &b), 0);
    assert_int_equal(bmp_kw_get_str(kw, "x", &s), 0);
    assert_true(d == 1.5 && i == 7 && b == 3);
    assert_string_equal(s, "untouched");
    assert_int_equal(bmp_kw_has(kw, "x"), 0);
    assert_int_equal(bmp_kw_has(kw, "other"), 1);
    json_decref(kw);
}

static void keywords_not_an_object(void **state)
{
    (void)state;
    json_t *arr = load("[\"x\", 1]");
    json_t *num = json_integer(1);
    json_t *objs[] = {NULL, arr, num};
    for (size_t k = 0; k < 3; k++) {
        double d = 1.5;
        long long i = 7;
        int b = 3;
        const char *s = "untouched";
        assert_int_equal(bmp_kw_get_real(objs[k], "x", &d), 0);
        assert_int_equal(bmp_kw_get_int(objs[k], "x", &i), 0);
        assert_int_equal(bmp_kw_get_bool(objs[k], "x", &b), 0);
        assert_int_equal(bmp_kw_get_str(objs[k], "x", &s), 0);
        assert_int_equal(bmp_kw_has(objs[k], "x"), 0);
        assert_true(bmp_kw_real(objs[k], "x", 2.0) == 2.0);
        assert_true(bmp_kw_int(objs[k], "x", 2) == 2);
        assert_int_equal(bmp_kw_bool(objs[k], "x", 1), 1);
        assert_string_equal(bmp_kw_str(objs[k], "x", "d"), "d");
    }
    /* A NULL key is never given. */
    json_t *kw = load("{\"x\": 1}");
    double d = 0;
    assert_int_equal(bmp_kw_get_real(kw, NULL, &d), 0);
    assert_int_equal(bmp_kw_has(kw, NULL), 0);
    json_decref(kw);
    json_decref(arr);
    json_decref(num);
}

static void keywords_defaults(void **state)
{
    (void)state;
    json_t *kw = load("{\"r\": 0.25, \"i\": 4, \"b\": false, \"s\": \"v\"}");
    /* Given: the value. */
    assert_true(bmp_kw_real(kw, "r", 9) == 0.25);
    assert_true(bmp_kw_int(kw, "i", 9) == 4);
    assert_int_equal(bmp_kw_bool(kw, "b", 1), 0);
    assert_string_equal(bmp_kw_str(kw, "s", "d"), "v");
    /* Not given: the default. */
    assert_true(bmp_kw_real(kw, "none", 0.8) == 0.8);
    assert_true(bmp_kw_int(kw, "none", -3) == -3);
    assert_int_equal(bmp_kw_bool(kw, "none", 1), 1);
    assert_int_equal(bmp_kw_bool(kw, "none", 0), 0);
    assert_string_equal(bmp_kw_str(kw, "none", "_bmp"), "_bmp");
    assert_null(bmp_kw_str(kw, "none", NULL));
    /* Wrong type: the default too. */
    assert_true(bmp_kw_real(kw, "s", 0.8) == 0.8);
    assert_true(bmp_kw_int(kw, "r", -3) == -3);
    assert_string_equal(bmp_kw_str(kw, "i", "x"), "x");
    json_decref(kw);
}

/* ---- setters ---------------------------------------------------------- */

static void keywords_setters(void **state)
{
    (void)state;
    json_t *kw = json_object();
    assert_int_equal(bmp_kw_set_real(kw, "r", 0.5), 0);
    assert_int_equal(bmp_kw_set_int(kw, "i", -9000000000LL), 0);
    assert_int_equal(bmp_kw_set_bool(kw, "b", 5), 0);
    assert_int_equal(bmp_kw_set_bool(kw, "nb", 0), 0);
    assert_int_equal(bmp_kw_set_str(kw, "s", "hello"), 0);

    assert_true(json_is_real(json_object_get(kw, "r")));
    assert_true(json_is_integer(json_object_get(kw, "i")));
    assert_true(json_is_true(json_object_get(kw, "b")));
    assert_true(json_is_false(json_object_get(kw, "nb")));
    assert_true(json_is_string(json_object_get(kw, "s")));

    assert_true(bmp_kw_real(kw, "r", 0) == 0.5);
    assert_true(bmp_kw_int(kw, "i", 0) == -9000000000LL);
    assert_int_equal(bmp_kw_bool(kw, "b", 0), 1);
    assert_int_equal(bmp_kw_bool(kw, "nb", 1), 0);
    assert_string_equal(bmp_kw_str(kw, "s", NULL), "hello");
    assert_int_equal(json_object_size(kw), 5);
    json_decref(kw);
}

static void keywords_setters_overwrite(void **state)
{
    (void)state;
    json_t *kw = load("{\"x\": \"old\"}");
    /* A setter replaces the value, whatever its former type. */
    assert_int_equal(bmp_kw_set_int(kw, "x", 3), 0);
    assert_true(bmp_kw_int(kw, "x", 0) == 3);
    assert_int_equal(bmp_kw_set_real(kw, "x", 1.25), 0);
    assert_true(bmp_kw_real(kw, "x", 0) == 1.25);
    assert_int_equal(bmp_kw_set_str(kw, "x", "new"), 0);
    assert_string_equal(bmp_kw_str(kw, "x", NULL), "new");
    assert_int_equal(json_object_size(kw), 1);
    json_decref(kw);
}

static void keywords_set_str_copies(void **state)
{
    (void)state;
    json_t *kw = json_object();
    char buf[] = "first";
    assert_int_equal(bmp_kw_set_str(kw, "s", buf), 0);
    buf[0] = 'X';
    assert_string_equal(bmp_kw_str(kw, "s", NULL), "first");
    /* File names need not be UTF-8: the bytes are kept. */
    assert_int_equal(bmp_kw_set_str(kw, "name", "caf\xe9.npy"), 0);
    assert_string_equal(bmp_kw_str(kw, "name", NULL), "caf\xe9.npy");
    json_decref(kw);
}

static void keywords_set_str_null_unsets(void **state)
{
    (void)state;
    json_t *kw = load("{\"outdir\": \"o\"}");
    assert_int_equal(bmp_kw_set_str(kw, "outdir", NULL), 0);
    assert_true(json_is_null(json_object_get(kw, "outdir")));
    assert_int_equal(bmp_kw_has(kw, "outdir"), 0);
    assert_string_equal(bmp_kw_str(kw, "outdir", "."), ".");
    json_decref(kw);
}

static void keywords_setters_non_object(void **state)
{
    (void)state;
    json_t *arr = json_array();
    json_t *targets[] = {NULL, arr};
    for (size_t k = 0; k < 2; k++) {
        assert_int_equal(bmp_kw_set_real(targets[k], "x", 1.0), BMP_EINVAL);
        assert_int_equal(bmp_kw_set_int(targets[k], "x", 1), BMP_EINVAL);
        assert_int_equal(bmp_kw_set_bool(targets[k], "x", 1), BMP_EINVAL);
        assert_int_equal(bmp_kw_set_str(targets[k], "x", "v"), BMP_EINVAL);
        assert_int_equal(bmp_kw_set_str(targets[k], "x", NULL), BMP_EINVAL);
    }
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
    /* A NULL key is misuse too. */
    json_t *kw = json_object();
    assert_int_equal(bmp_kw_set_int(kw, NULL, 1), BMP_EINVAL);
    assert_int_equal(bmp_kw_set_str(kw, NULL, "v"), BMP_EINVAL);
    assert_int_equal(json_object_size(kw), 0);
    json_decref(kw);
}

static void keywords_set_real_not_finite(void **state)
{
    (void)state;
    /* JSON has no NaN or infinity: such a value is an invalid argument,
     * not a lack of memory. */
    json_t *kw = json_object();
    assert_int_equal(bmp_kw_set_real(kw, "x", NAN), BMP_EINVAL);
    assert_int_equal(bmp_kw_set_real(kw, "x", INFINITY), BMP_EINVAL);
    assert_int_equal(bmp_kw_set_real(kw, "x", -INFINITY), BMP_EINVAL);
    assert_int_equal(json_object_size(kw), 0);
    json_decref(kw);
}

/* ---- merge ------------------------------------------------------------ */

static void keywords_merge_over_wins(void **state)
{
    (void)state;
    json_t *base = load("{\"a\": 1, \"b\": 2, \"outdir\": \"x\"}");
    json_t *over = load("{\"b\": 3, \"c\": \"new\", \"outdir\": \"y\"}");
    json_t *m = bmp_kw_merge(base, over);
    json_t *want = load("{\"a\": 1, \"b\": 3, \"c\": \"new\", "
                        "\"outdir\": \"y\"}");
    assert_true(json_equal(m, want));
    json_decref(m);
    json_decref(want);
    json_decref(base);
    json_decref(over);
}

static void keywords_merge_shallow(void **state)
{
    (void)state;
    /* As Python's dict update: a nested object in over replaces the
     * base's whole value, it is not merged into it. */
    json_t *base = load("{\"o\": {\"x\": 1, \"y\": 2}}");
    json_t *over = load("{\"o\": {\"y\": 3}}");
    json_t *m = bmp_kw_merge(base, over);
    json_t *want = load("{\"o\": {\"y\": 3}}");
    assert_true(json_equal(m, want));
    json_decref(m);
    json_decref(want);
    json_decref(base);
    json_decref(over);
}

static void keywords_merge_null_unsets(void **state)
{
    (void)state;
    json_t *base = load("{\"process_size\": 1000, \"keep\": true}");
    json_t *over = load("{\"process_size\": null}");
    json_t *m = bmp_kw_merge(base, over);
    assert_non_null(m);
    /* The key is there, null, hence not given. */
    assert_non_null(json_object_get(m, "process_size"));
    assert_true(json_is_null(json_object_get(m, "process_size")));
    assert_int_equal(bmp_kw_has(m, "process_size"), 0);
    assert_true(bmp_kw_int(m, "process_size", -1) == -1);
    assert_int_equal(bmp_kw_bool(m, "keep", 0), 1);
    json_decref(m);
    json_decref(base);
    json_decref(over);
}

static void keywords_merge_null_inputs(void **state)
{
    (void)state;
    json_t *obj = load("{\"a\": [1, 2], \"b\": \"s\"}");

    json_t *m = bmp_kw_merge(NULL, NULL);
    assert_true(json_is_object(m));
    assert_int_equal(json_object_size(m), 0);
    json_decref(m);

    m = bmp_kw_merge(obj, NULL);
    assert_true(json_equal(m, obj));
    assert_ptr_not_equal(m, obj);
    json_decref(m);

    m = bmp_kw_merge(NULL, obj);
    assert_true(json_equal(m, obj));
    assert_ptr_not_equal(m, obj);
    json_decref(m);

    /* Values that are not objects count as no keywords. */
    json_t *arr = load("[1]");
    m = bmp_kw_merge(arr, obj);
    assert_true(json_equal(m, obj));
    json_decref(m);
    m = bmp_kw_merge(obj, arr);
    assert_true(json_equal(m, obj));
    json_decref(m);
    json_decref(arr);
    json_decref(obj);
}

static void keywords_merge_deep_copy(void **state)
{
    (void)state;
    json_t *base = load("{\"o\": {\"x\": 1}, \"l\": [1, 2]}");
    json_t *over = load("{\"p\": {\"y\": [3]}}");
    char *base_before = json_dumps(base, JSON_SORT_KEYS);
    char *over_before = json_dumps(over, JSON_SORT_KEYS);
    size_t base_refs = base->refcount, over_refs = over->refcount;

    json_t *m = bmp_kw_merge(base, over);
    assert_non_null(m);
    /* The merge shares no value with its inputs ... */
    assert_ptr_not_equal(json_object_get(m, "o"), json_object_get(base, "o"));
    assert_ptr_not_equal(json_object_get(m, "l"), json_object_get(base, "l"));
    assert_ptr_not_equal(json_object_get(m, "p"), json_object_get(over, "p"));
    /* ... so changing it, even deep inside, leaves them as they were. */
    json_object_set_new(json_object_get(m, "o"), "x", json_integer(99));
    json_array_append_new(json_object_get(m, "l"), json_integer(3));
    json_array_append_new(json_object_get(json_object_get(m, "p"), "y"),
                          json_integer(4));
    json_object_set_new(m, "added", json_true());

    char *base_after = json_dumps(base, JSON_SORT_KEYS);
    char *over_after = json_dumps(over, JSON_SORT_KEYS);
    assert_string_equal(base_before, base_after);
    assert_string_equal(over_before, over_after);
    assert_int_equal(base->refcount, base_refs);
    assert_int_equal(over->refcount, over_refs);

    /* And changing the inputs afterwards leaves the merge alone. */
    json_object_set_new(json_object_get(base, "o"), "x", json_integer(-1));
    assert_true(bmp_kw_int(json_object_get(m, "o"), "x", 0) == 99);

    free(base_before);
    free(base_after);
    free(over_before);
    free(over_after);
    json_decref(m);
    json_decref(base);
    json_decref(over);
}

static void keywords_merge_layers(void **state)
{
    (void)state;
    /* construction < run < pre-process, by merging twice. */
    json_t *construction = load("{\"outdir\": \"c\", \"outname_append\": "
                                "\"_c\", \"num_processes\": 2}");
    json_t *run = load("{\"outdir\": \"r\", \"num_processes\": null}");
    json_t *pre = load("{\"outname_append\": \"_p\"}");
    json_t *run_kw = bmp_kw_merge(construction, run);
    json_t *item_kw = bmp_kw_merge(run_kw, pre);
    assert_string_equal(bmp_kw_str(item_kw, "outdir", NULL), "r");
    assert_string_equal(bmp_kw_str(item_kw, "outname_append", NULL), "_p");
    assert_int_equal(bmp_kw_has(item_kw, "num_processes"), 0);
    /* The run's keywords did not see the pre-process change. */
    assert_string_equal(bmp_kw_str(run_kw, "outname_append", NULL), "_c");
    json_decref(item_kw);
    json_decref(run_kw);
    json_decref(construction);
    json_decref(run);
    json_decref(pre);
}

/* ---- the library's keywords, documented -------------------------------- */

static char *source_file(const char *relative)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/../../%s", BMP_TEST_DATA, relative);
    size_t size;
    return tu_read_file(path, &size);
}

/* doc/keywords.md has a table row for each keyword the library reads,
 * and none for a keyword it does not. */
static void keywords_every_library_keyword_documented(void **state)
{
    (void)state;
    char *doc = source_file("doc/keywords.md");
    assert_non_null(doc);
    for (size_t i = 0; bmp__library_keywords[i]; i++) {
        char row[128];
        snprintf(row, sizeof row, "\n| `%s` |", bmp__library_keywords[i]);
        if (!strstr(doc, row))
            fail_msg("doc/keywords.md has no row for %s",
                     bmp__library_keywords[i]);
    }
    for (const char *at = doc; (at = strstr(at, "\n| `")) != NULL; at++) {
        const char *name = at + 4;
        size_t len = strcspn(name, "`");
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)len, name);
        if (!bmp__is_library_keyword(key))
            fail_msg("doc/keywords.md documents %s, which the library does "
                     "not read",
                     key);
    }
    free(doc);
}

/* Every keyword read by name in src/ (the getters' first string) is in
 * the library's list, so the list and the page cannot miss one.  The
 * pout's stats objects are not keywords: src/pout is left out. */
static void keywords_every_keyword_read_is_listed(void **state)
{
    (void)state;
    static const char *const dirs[] = {"base",     "core",  "exec",
                                       "formats",  "sched", "pipeline",
                                       "platform", NULL};
    static const char *const getters[] = {"bmp_kw_get_real(",
                                          "bmp_kw_get_int(",
                                          "bmp_kw_get_bool(",
                                          "bmp_kw_get_str(",
                                          "bmp_kw_real(",
                                          "bmp_kw_int(",
                                          "bmp_kw_bool(",
                                          "bmp_kw_str(",
                                          "bmp_kw_has(",
                                          "json_object_get(kw, ",
                                          NULL};
    size_t found = 0;
    for (size_t d = 0; dirs[d]; d++) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "ls %s/../../src/%s/*.c", BMP_TEST_DATA,
                 dirs[d]);
        FILE *ls = popen(cmd, "r");
        assert_non_null(ls);
        char path[4096];
        while (fgets(path, sizeof path, ls)) {
            path[strcspn(path, "\n")] = '\0';
            size_t size;
            char *text = tu_read_file(path, &size);
            assert_non_null(text);
            for (size_t g = 0; getters[g]; g++)
                for (const char *at = text; (at = strstr(at, getters[g]));
                     at++) {
                    /* The first string literal of the call's own
                     * arguments (up to its closing parenthesis). */
                    const char *end = at + strlen(getters[g]);
                    for (int depth = 1; *end && depth > 0; end++)
                        depth += (*end == '(') - (*end == ')');
                    const char *q = memchr(at, '"', (size_t)(end - at));
                    if (!q)
                        continue;
                    size_t len = strcspn(q + 1, "\"");
                    char key[128];
                    snprintf(key, sizeof key, "%.*s", (int)len, q + 1);
                    found++;
                    if (!bmp__is_library_keyword(key))
                        fail_msg("%s reads keyword \"%s\", missing from "
                                 "bmp__library_keywords",
                                 path, key);
                }
            free(text);
        }
        pclose(ls);
    }
    /* The scan saw the library's reads. */
    assert_true(found > 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keywords_every_library_keyword_documented),
        cmocka_unit_test(keywords_every_keyword_read_is_listed),
        cmocka_unit_test(keywords_get_real_real),
        cmocka_unit_test(keywords_get_real_integer_given),
        cmocka_unit_test(keywords_get_real_wrong_type),
        cmocka_unit_test(keywords_get_int_integer),
        cmocka_unit_test(keywords_get_int_integral_real),
        cmocka_unit_test(keywords_get_int_non_integral_real),
        cmocka_unit_test(keywords_get_int_wrong_type),
        cmocka_unit_test(keywords_get_bool),
        cmocka_unit_test(keywords_get_bool_wrong_type),
        cmocka_unit_test(keywords_get_str),
        cmocka_unit_test(keywords_get_str_wrong_type),
        cmocka_unit_test(keywords_null_is_not_given),
        cmocka_unit_test(keywords_absent_is_not_given),
        cmocka_unit_test(keywords_not_an_object),
        cmocka_unit_test(keywords_defaults),
        cmocka_unit_test(keywords_setters),
        cmocka_unit_test(keywords_setters_overwrite),
        cmocka_unit_test(keywords_set_str_copies),
        cmocka_unit_test(keywords_set_str_null_unsets),
        cmocka_unit_test(keywords_setters_non_object),
        cmocka_unit_test(keywords_set_real_not_finite),
        cmocka_unit_test(keywords_merge_over_wins),
        cmocka_unit_test(keywords_merge_shallow),
        cmocka_unit_test(keywords_merge_null_unsets),
        cmocka_unit_test(keywords_merge_null_inputs),
        cmocka_unit_test(keywords_merge_deep_copy),
        cmocka_unit_test(keywords_merge_layers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
