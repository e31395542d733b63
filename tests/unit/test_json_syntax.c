/*
 * test_json_syntax.c -- the check that a worker's meta text is one JSON
 * object (src/json_syntax.c), case by case and against jansson itself:
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
    "{\"s\":\"caf\xc3\xa9 \\u00e9 \\ud83d\\ude00 \\\"q\\\" \\\\ \\/ \\b\\f\\n\\r\\t\"}",
    "{\"nul\":\"a\\u0000b\"}",
    "{\"l\":[1,[2,[3]],{\"x\":null},true,false,\"\"],\"o\":{}}",
    "{ \"spaced\" : [ 1 , 2 ] }",
    "{\"e\":1E+2,\"f\":0.5e-1,\"g\":-0}",
    "{\"edge\":9223372036854775807,\"neg\":-9223372036854775808}",
    "{\"tiny\":1e-400,\"huge\":1.7e308}",
    "{\"dup\":1,\"dup\":2}",
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

/* jansson's depth limit: a text nested deeper would not parse later. */
static void json_syntax_depth(void **state)
{
    (void)state;
    for (int depth = 2040; depth <= 2060; depth += 20) {
        size_t len = 5 + 2 * (size_t)depth + 1;
        char *text = malloc(len + 1);
        assert_non_null(text);
        size_t at = 0;
        at += (size_t)sprintf(text, "{\"a\":");
        for (int i = 0; i < depth; i++)
            text[at++] = '[';
        for (int i = 0; i < depth; i++)
            text[at++] = ']';
        text[at++] = '}';
        text[at] = '\0';
        assert_int_equal(bmp__json_is_object_text(text, at),
                         jansson_reads_an_object(text, at));
        free(text);
    }
}

/* Every text up to `max_len` bytes over `alphabet`: where the check says
 * yes, jansson must read an object.  @return how many it accepted. */
static size_t agree_over(const char *alphabet, size_t max_len)
{
    const size_t k = strlen(alphabet);
    char text[16];
    size_t accepted = 0;
    for (size_t len = 1; len <= max_len; len++) {
        size_t total = 1;
        for (size_t i = 0; i < len; i++)
            total *= k;
        for (size_t n = 0; n < total; n++) {
            size_t v = n;
            for (size_t i = 0; i < len; i++, v /= k)
                text[i] = alphabet[v % k];
            text[len] = '\0';
            if (bmp__json_is_object_text(text, len)) {
                accepted++;
                if (!jansson_reads_an_object(text, len))
                    fail_msg("accepted, jansson refuses: %s", text);
            }
        }
    }
    return accepted;
}

static void json_syntax_agrees_with_jansson(void **state)
{
    (void)state;
    /* Escapes, numbers and spaces in short texts; structure in longer
     * ones. */
    size_t accepted = agree_over("{}[]\":,1a-e.\\u ", 5) +
                      agree_over("{}[]\":,1a", 7);
    assert_true(accepted >= 18); /* all there are at these lengths */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_syntax_valid_objects),
        cmocka_unit_test(json_syntax_invalid_texts),
        cmocka_unit_test(json_syntax_raw_nul),
        cmocka_unit_test(json_syntax_depth),
        cmocka_unit_test(json_syntax_agrees_with_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
