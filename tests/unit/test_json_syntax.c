/*
 * test_json_syntax.c -- the check that a worker's meta text is one JSON
 * object (src/base/json_syntax.c), case by case and against jansson itself:
 * what the check lets into the pout file must be what jansson reads back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "json_syntax.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check(const char *text)
{
    return bmp__json_is_object_text(text, strlen(text));
}

/* jansson's verdict on the same text, as the caller will parse it. */
static int jansson_reads_an_object(const char *text, size_t len)
{
    json_t *v = json_loadb(text, len, JSON_ALLOW_NUL, NULL);
    int ok = json_is_object(v);
    json_decref(v);
    return ok;
}

static const char *const valid[] = {
    "{}",
    "{\"a\":1}",
    "{\"median\":10.0,\"average\":-1.5e-3,\"n\":0}",
    /* One string, written on two lines (the parentheses say so). */
    ("{\"s\":\"caf\xc3\xa9 \\u00e9 \\ud83d\\ude00 \\\"q\\\" \\\\ \\/ "
     "\\b\\f\\n\\r\\t\"}"),
    "{\"nul\":\"a\\u0000b\"}",
    "{\"l\":[1,[2,[3]],{\"x\":null},true,false,\"\"],\"o\":{}}",
    "{ \"spaced\" : [ 1 , 2 ] }",
    "{\"e\":1E+2,\"f\":0.5e-1,\"g\":-0}",
    "{\"edge\":9223372036854775807,\"neg\":-9223372036854775808}",
    "{\"tiny\":1e-400,\"huge\":1.7e308}",
    "{\"dup\":1,\"dup\":2}",
    "{\t\"tab\":1}",
    "{\"\":1}",
};

static const char *const invalid[] = {
    "",
    "[]",
    "\"x\"",
    "1",
    " {}",
    "{} ",
    "{}{}",
    "{xxxxx}",
    "{\"a\":1}, \"outname\": \"/x\", \"b\": {}",
    "{\"a\":1",
    "{\"a\" 1}",
    "{\"a\":}",
    "{a:1}",
    "{\"a\":1,}",
    "{\"a\":[1,]}",
    "{\"a\":01}",
    "{\"a\":1.}",
    "{\"a\":.5}",
    "{\"a\":1e}",
    "{\"a\":-}",
    "{\"a\":tru}",
    "{\"a\":nul}",
    "{\"a\":\"\\x\"}",
    "{\"a\":\"\\u12\"}",
    "{\"a\":\"\\ud800\"}",
    "{\"a\":\"\\udc00\"}",
    "{\"a\":\"\\ud800\\u0041\"}",
    "{\"a\":\"tab\there\"}",
    "{\"a\":\"\xc3\"}",
    "{\"a\":\"\xed\xa0\x80\"}",
    "{\"a\":\"\xff\"}",
    "{\"a\":\"open}",
    "{\"big\":9223372036854775808}",
    "{\"big\":-9223372036854775809}",
    "{\"big\":1e999}",
    "{\"big\":-1.5E+400}",
    /* A line break would split the pout line, or start a forged one. */
    "{\n}",
    "{\"a\":1\r}",
    "{\"a\":\n{\"index\": 0}\n}",
    /* jansson refuses NUL in a key even with JSON_ALLOW_NUL. */
    "{\"\\u0000\":1}",
    "{\"a\":{\"x\\u0000\":1}}",
};

static void json_syntax_valid_objects(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof valid / sizeof *valid; i++) {
        if (!check(valid[i]))
            fail_msg("refused: %s", valid[i]);
        assert_true(jansson_reads_an_object(valid[i], strlen(valid[i])));
    }
}

static void json_syntax_invalid_texts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++) {
        if (check(invalid[i]))
            fail_msg("accepted: %s", invalid[i]);
    }
}

/* A NUL byte inside the text, not escaped: jansson stops there. */
static void json_syntax_raw_nul(void **state)
{
    (void)state;
    const char text[] = "{\"a\":\"x\0y\"}";
    assert_false(bmp__json_is_object_text(text, sizeof text - 1));
}

/* The meta nested `depth` levels (the object itself is level 1), with
 * `innermost` inside the deepest array.  malloc'd. */
static char *nested(int depth, const char *innermost)
{
    size_t len = 6 + 2 * (size_t)depth + strlen(innermost);
    char *text = malloc(len + 1);
    assert_non_null(text);
    size_t at = (size_t)sprintf(text, "{\"a\":");
    for (int i = 2; i <= depth; i++)
        text[at++] = '[';
    at += (size_t)sprintf(text + at, "%s", innermost);
    for (int i = 2; i <= depth; i++)
        text[at++] = ']';
    text[at++] = '}';
    text[at] = '\0';
    return text;
}

/* jansson's depth limit, which counts scalars too: what the check lets
 * through must still read back inside the pout line's object, one level
 * deeper. */
static void json_syntax_depth(void **state)
{
    (void)state;
    const char *inner[] = {"", "1", "\"s\""};
    int accepted_deep = 0;
    for (size_t k = 0; k < sizeof inner / sizeof *inner; k++) {
        for (int depth = 2040; depth <= 2052; depth++) {
            char *text = nested(depth, inner[k]);
            size_t len = strlen(text);
            char *line = malloc(len + 8);
            assert_non_null(line);
            sprintf(line, "{\"m\":%s}", text);
            if (bmp__json_is_object_text(text, len)) {
                accepted_deep++;
                if (!jansson_reads_an_object(line, strlen(line)))
                    fail_msg("depth %d (%s inside): accepted, but its line "
                             "does not read back",
                             depth, inner[k]);
            }
            free(line);
            free(text);
        }
    }
    assert_true(accepted_deep > 0); /* the limit is not below jansson's */
}

/* What a worker's compact dump makes of all kinds of values is accepted. */
static void json_syntax_accepts_compact_dumps(void **state)
{
    (void)state;
    json_t *meta = json_pack(
        "{s:i, s:I, s:f, s:f, s:s, s:s#, s:b, s:n, s:[i, [], {}], s:{s:{}}}",
        "int", -7, "big", (json_int_t)9223372036854775807LL, "real", 0.1,
        "tiny", 5e-324, "utf8", "caf\xc3\xa9 \xf0\x9f\x98\x80 \"\\/\t\n",
        "nul", "a\0b", (size_t)3, "yes", 1, "none", "list", 1, "deep", "x");
    assert_non_null(meta);
    char *text = json_dumps(meta, JSON_COMPACT);
    assert_non_null(text);
    assert_true(check(text));
    free(text);
    json_decref(meta);
}

/* Every text of `prefix`, up to `max_len` bytes over `alphabet`, and
 * `suffix`: where the check says yes, jansson must read an object.
 * @return how many it accepted. */
static size_t agree_over(const char *alphabet, size_t max_len,
                         const char *prefix, const char *suffix)
{
    const size_t k = strlen(alphabet), pl = strlen(prefix);
    char text[64];
    size_t accepted = 0;
    for (size_t len = 1; len <= max_len; len++) {
        size_t total = 1;
        for (size_t i = 0; i < len; i++)
            total *= k;
        for (size_t n = 0; n < total; n++) {
            size_t v = n;
            memcpy(text, prefix, pl);
            for (size_t i = 0; i < len; i++, v /= k)
                text[pl + i] = alphabet[v % k];
            strcpy(text + pl + len, suffix);
            size_t size = strlen(text);
            if (bmp__json_is_object_text(text, size)) {
                accepted++;
                if (!jansson_reads_an_object(text, size))
                    fail_msg("accepted, jansson refuses: %s", text);
            }
        }
    }
    return accepted;
}

static void json_syntax_agrees_with_jansson(void **state)
{
    (void)state;
    /* Structure over short texts: the 14 objects there are. */
    assert_int_equal(agree_over("{}[]\":,1a", 7, "", ""), 14);
    /* Numbers, as a member's value, and escapes inside a string: the
     * counts show that many forms were accepted, each read back. */
    assert_true(agree_over("-0123.eE+", 5, "{\"k\":", "}") > 4000);
    assert_true(agree_over("\\u0dDn\"/", 6, "{\"k\":\"", "\"}") > 80000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_syntax_valid_objects),
        cmocka_unit_test(json_syntax_invalid_texts),
        cmocka_unit_test(json_syntax_raw_nul),
        cmocka_unit_test(json_syntax_depth),
        cmocka_unit_test(json_syntax_accepts_compact_dumps),
        cmocka_unit_test(json_syntax_agrees_with_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
