/*
 * test_json_dump.c -- the meta's JSON text (src/base/json_dump.c): reals
 * as short as they read back, everything else as jansson's compact dump,
 * and the text read back by jansson to the same value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "json_dump.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dump_real(double x)
{
    json_t *v = json_real(x);
    char *text = bmp__json_dumps_short(v);
    json_decref(v);
    assert_non_null(text);
    return text;
}

/* The text reads back to exactly x, as a real, and no shorter %.*g text
 * does, and it has 17 significant digits at most. */
static void check_shortest(double x)
{
    char *text = dump_real(x);
    json_t *back = json_loads(text, JSON_DECODE_ANY, NULL);
    assert_true(json_is_real(back));
    assert_true(json_real_value(back) == x);
    json_decref(back);
    char shorter[40];
    size_t digits = 0; /* significant: from the first that is not 0 */
    for (const char *p = text; *p && *p != 'e'; p++)
        digits += (digits || (*p >= '1' && *p <= '9')) &&
                  (*p >= '0' && *p <= '9');
    for (int d = 1; d < 15; d++) {
        snprintf(shorter, sizeof shorter, "%.*g", d, x);
        if (strtod(shorter, NULL) == x) {
            /* Then ours has no more significant digits than %.15g gives
             * it, which strips the zeros after them. */
            char fifteen[40];
            snprintf(fifteen, sizeof fifteen, "%.15g", x);
            assert_non_null(strstr(text, fifteen));
            break;
        }
    }
    size_t len = strlen(text);
    if (len > 2 && strcmp(text + len - 2, ".0") == 0)
        digits--; /* the ".0" that keeps an integral value a real */
    if (digits > 17)
        fail_msg("%s has %zu digits", text, digits);
    free(text);
}

static void json_dump_reals_shortest(void **state)
{
    (void)state;
    char *t = dump_real(0.000841);
    assert_string_equal(t, "0.000841");
    free(t);
    t = dump_real(5.3e-5);
    assert_string_equal(t, "5.3e-05");
    free(t);
    t = dump_real(0.1);
    assert_string_equal(t, "0.1");
    free(t);
    t = dump_real(3.0); /* stays a real */
    assert_string_equal(t, "3.0");
    free(t);
    t = dump_real(-0.0);
    assert_string_equal(t, "-0.0");
    free(t);
    t = dump_real(0.1 + 0.2); /* needs 17 digits */
    assert_string_equal(t, "0.30000000000000004");
    free(t);
    const double cases[] = {1.0 / 3,
                            2.0 / 3,
                            1e300,
                            1e-300,
                            5e-324,
                            1.7976931348623157e308,
                            123456789012345678.0,
                            1796419041.079758,
                            0.004081876,
                            M_PI};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        check_shortest(cases[i]);
        check_shortest(-cases[i]);
    }
    /* A spread of doubles, each read back to itself. */
    unsigned long long s = 88172645463325252ULL;
    for (int i = 0; i < 20000; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double x;
        memcpy(&x, &s, sizeof x);
        if (isfinite(x))
            check_shortest(x);
    }
}

static void json_dump_is_jansson_compact_otherwise(void **state)
{
    (void)state;
    const char *text =
        "{\"s\":\"a\\\"b\\n\\u0000\xc3\xa9\",\"i\":-42,\"t\":true,\"f\":false,"
        "\"n\":null,\"a\":[1,[],{},\"x\"],\"o\":{\"z\":1,\"a\":2}}";
    json_t *v = json_loads(text, JSON_ALLOW_NUL, NULL);
    assert_non_null(v);
    char *ours = bmp__json_dumps_short(v);
    char *theirs = json_dumps(v, JSON_COMPACT);
    assert_non_null(ours);
    assert_string_equal(ours, theirs);
    free(ours);
    free(theirs);
    /* With reals inside: read back equal. */
    json_t *r = json_pack("{s:f, s:[f, f], s:{s:f}}", "x", 0.000841, "y", 0.1,
                          1e-7, "z", "w", 2.5);
    ours = bmp__json_dumps_short(r);
    assert_string_equal(
        ours, "{\"x\":0.000841,\"y\":[0.1,1e-07],\"z\":{\"w\":2.5}}");
    json_t *back = json_loads(ours, 0, NULL);
    assert_true(json_equal(back, r));
    json_decref(back);
    json_decref(r);
    free(ours);
    json_decref(v);
}

static void json_dump_refuses_what_jansson_refuses(void **state)
{
    (void)state;
    json_t *o = json_object();
    json_object_set_new(o, "bad", json_string_nocheck("\xff"));
    assert_null(bmp__json_dumps_short(o));
    json_decref(o);
    /* A tree that holds itself ends, refused. */
    json_t *a = json_array();
    json_t *b = json_array();
    json_array_append(a, b);
    json_array_append(b, a);
    assert_null(bmp__json_dumps_short(a));
    json_array_clear(b);
    json_decref(b);
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_dump_reals_shortest),
        cmocka_unit_test(json_dump_is_jansson_compact_otherwise),
        cmocka_unit_test(json_dump_refuses_what_jansson_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
