/*
 * test_pout_format.c -- the pout: its JSON Lines file format
 * (doc/pout-format.md), prune, the entry as JSON, the status names.
 *
 * Pouts are built by hand through the internal constructor, so every
 * status and every odd name can be written and read back without running
 * a pipeline.  Debian's Python reads the files as an independent check
 * that each line is JSON that other tools understand, and that the
 * "\udcXX" convention gives back a name's exact bytes with os.fsencode().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bigmultipipe.h"
#include "pout_internal.h"
#include "testutil.h"

/* ---- helpers ---------------------------------------------------------- */

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    if (!v)
        print_error("bad JSON in test: %s (%s)\n", text, jerr.text);
    assert_non_null(v);
    return v;
}

static json_t *name(const char *bytes)
{
    json_t *s = json_string_nocheck(bytes);
    assert_non_null(s);
    return s;
}

static char *dupe(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    assert_non_null(d);
    return d;
}

/* Fills entry i; steals in_name and meta (meta may be NULL). */
static void set_entry(bmp_pout *p, size_t i, json_t *in_name,
                      bmp_status status, const char *outname,
                      const char *error, json_t *meta)
{
    bmp__pout_entry *e = &p->entries[i];
    e->in_name = in_name;
    e->r.status = status;
    e->r.code = status == BMP_ITEM_OK || status == BMP_ITEM_NO_OUTPUT
                    ? 0
                    : BMP_ESTEP;
    e->r.outname = dupe(outname);
    e->r.error = dupe(error);
    e->r.meta = meta;
    e->r.stats.wall_s = 0.125 * (double)(i + 1);
    /* Times are written to the nanosecond, what the clocks measure. */
    e->r.stats.cpu_s = ((double)i * 1e9 + 333333333.0) / 1e9;
    e->r.stats.peak_rss = i % 2 ? -1 : (int64_t)(i + 1) * 1048576 + 7;
    e->r.stats.attempts = (int)(i % 3) + 1;
}

static int same_str(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Byte-for-byte JSON equality (jansson compares strings as bytes). */
static void assert_json_equal(const json_t *a, const json_t *b)
{
    if (!json_equal((json_t *)a, (json_t *)b)) {
        char *sa = json_dumps(a, JSON_ENCODE_ANY | JSON_SORT_KEYS);
        char *sb = json_dumps(b, JSON_ENCODE_ANY | JSON_SORT_KEYS);
        print_error("JSON differs: %s vs %s\n", sa ? sa : "(not dumpable)",
                    sb ? sb : "(not dumpable)");
        free(sa);
        free(sb);
        fail();
    }
}

static void assert_entry_equal(const bmp_pout *a, size_t i, const bmp_pout *b,
                               size_t j)
{
    assert_json_equal(bmp_pout_in_name(a, i), bmp_pout_in_name(b, j));
    if (!same_str(bmp_pout_outname(a, i), bmp_pout_outname(b, j)))
        fail_msg("outname of entry %zu differs", i);
    if (!same_str(bmp_pout_error(a, i), bmp_pout_error(b, j)))
        fail_msg("error of entry %zu differs", i);
    assert_int_equal(bmp_pout_status(a, i), bmp_pout_status(b, j));
    /* A meta never filled (NULL) is written as {}. */
    json_t *ma = bmp_pout_meta(a, i), *mb = bmp_pout_meta(b, j);
    json_t *empty = json_object();
    assert_json_equal(ma ? ma : empty, mb ? mb : empty);
    json_decref(empty);
    const bmp__stats *sa = &a->entries[i].r.stats;
    const bmp__stats *sb = &b->entries[j].r.stats;
    assert_true(sa->wall_s == sb->wall_s);
    assert_true(sa->cpu_s == sb->cpu_s);
    assert_true(sa->peak_rss == sb->peak_rss);
    assert_int_equal(sa->attempts, sb->attempts);
}

static void assert_pouts_equal(const bmp_pout *a, const bmp_pout *b)
{
    assert_int_equal(bmp_pout_count(a), bmp_pout_count(b));
    for (size_t i = 0; i < bmp_pout_count(a); i++)
        assert_entry_equal(a, i, b, i);
}

/* Writes, reads back, compares; returns the file's text (malloc'd). */
static char *roundtrip(const bmp_pout *p, const char *path)
{
    bmp_error err = {0};
    assert_int_equal(bmp_pout_write(p, path, &err), 0);
    assert_int_equal(err.code, 0);
    bmp_pout *back = NULL;
    int rc = bmp_pout_read(path, &back, &err);
    if (rc != 0)
        fail_msg("read back failed: %s", err.text);
    assert_non_null(back);
    assert_pouts_equal(p, back);
    bmp_pout_free(back);
    char *text = tu_read_file(path, NULL);
    assert_non_null(text);
    return text;
}

/* Number of entries in a directory, "." and ".." aside. */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    closedir(d);
    return n;
}

/* Names that JSON or UTF-8 make hard: quoting, control characters, bytes
 * that are not UTF-8, the code points the reader uses internally, and
 * text that looks like an escape. */
static const char *const hard_names[] = {
    "with space.dat",
    "quo\"te.dat",
    "back\\slash.dat",
    "new\nline.dat",
    "tab\t.dat",
    "cr\r.dat",
    "ctrl\x01\x1f.dat",
    "del\x7f.dat",
    "\xff\xfe.dat",
    "caf\xe9.npy",
    "\xe9",
    "\x80\x80\x80",
    "snow\xe2\x98\x83.dat",        /* valid 3-byte UTF-8 */
    "skull \xf0\x9f\x92\x80.dat",  /* valid 4-byte UTF-8 */
    "\xc3\xa9t\xc3\xa9 \xe9t\xe9", /* valid and invalid mixed */
    "surrogate\xed\xa0\x80.dat",   /* UTF-8 of a surrogate: invalid */
    "overlong\xc0\xaf.dat",
    "too big\xf4\x90\x80\x80.dat",
    "cut\xe2\x82",                     /* truncated sequence at the end */
    "pua\xef\x9e\x80\xef\x9f\xbf.dat", /* U+F780, U+F7FF */
    "pua\xef\x9d\xbf\xef\xa0\x80.dat", /* U+F77F, U+F800 */
    "lit\\udce9.dat",                  /* text that looks like an escape */
    "lit\\\\udce9\\u00e9.dat",
    "end\\",
    "/abs/dir/x.fits",
    "sl/\"/\\/",
};
#define N_HARD (sizeof hard_names / sizeof *hard_names)

static char *prefixed(const char *prefix, const char *s)
{
    char *out = NULL;
    assert_true(asprintf(&out, "%s%s", prefix, s) > 0);
    return out;
}

/* One entry per hard name, as in_name, outname and in the error text;
 * then one group entry holding all of them, nested. */
static bmp_pout *hard_pout(void)
{
    bmp_pout *p = bmp__pout_new(N_HARD + 1);
    assert_non_null(p);
    for (size_t i = 0; i < N_HARD; i++) {
        char *out = prefixed("out/", hard_names[i]);
        char *error = prefixed("cannot read ", hard_names[i]);
        set_entry(p, i, name(hard_names[i]),
                  i % 2 ? BMP_ITEM_FAILED : BMP_ITEM_OK, out, error,
                  json_pack("{s:i}", "i", (int)i));
        free(out);
        free(error);
    }
    json_t *group = json_array(), *inner = json_array();
    for (size_t i = 0; i < N_HARD; i++)
        json_array_append_new(i % 2 ? inner : group, name(hard_names[i]));
    json_array_append_new(group, inner);
    set_entry(p, N_HARD, group, BMP_ITEM_NO_OUTPUT, NULL, NULL, json_object());
    return p;
}

static int python_available(void)
{
    return BMP_PYTHON[0] && access(BMP_PYTHON, X_OK) == 0;
}

static char *hex_of(const unsigned char *bytes, size_t n)
{
    char *hex = malloc(2 * n + 1);
    assert_non_null(hex);
    for (size_t i = 0; i < n; i++)
        sprintf(hex + 2 * i, "%02x", bytes[i]);
    hex[2 * n] = '\0';
    return hex;
}

/* A name tree with every string replaced by the hex of its bytes. */
static json_t *hex_tree(const json_t *v)
{
    if (json_is_string(v)) {
        char *h = hex_of((const unsigned char *)json_string_value(v),
                         json_string_length(v));
        json_t *s = json_string(h);
        free(h);
        return s;
    }
    if (json_is_array(v)) {
        json_t *a = json_array();
        for (size_t i = 0; i < json_array_size(v); i++)
            json_array_append_new(a, hex_tree(json_array_get(v, i)));
        return a;
    }
    return json_null();
}

static json_t *hex_str(const char *s)
{
    if (!s)
        return json_null();
    char *h = hex_of((const unsigned char *)s, strlen(s));
    json_t *v = json_string(h);
    free(h);
    return v;
}

static const char python_reader[] =
    "import json, os, sys\n"
    "path = sys.argv[1]\n"
    "expected = [json.loads(bytes.fromhex(a)) for a in sys.argv[2:]]\n"
    "def enc(x):\n"
    "    if isinstance(x, str):\n"
    "        return os.fsencode(x).hex()\n"
    "    if isinstance(x, list):\n"
    "        return [enc(y) for y in x]\n"
    "    raise AssertionError('name of type %s' % type(x))\n"
    "with open(path, encoding='utf-8', newline='') as f:\n"
    "    text = f.read()\n"
    "assert text.endswith('\\n'), 'no final newline'\n"
    "lines = text[:-1].split('\\n')\n"
    "if text == '\\n' or text == '':\n"
    "    lines = []\n"
    "assert len(lines) == len(expected), (len(lines), len(expected))\n"
    "statuses = {'ok', 'no_output', 'failed', 'crashed', 'timed_out',\n"
    "            'not_run'}\n"
    "for n, (line, exp) in enumerate(zip(lines, expected), 1):\n"
    "    obj = json.loads(line)\n"
    "    assert isinstance(obj, dict), n\n"
    "    for k in ('in_name', 'outname', 'meta', 'status', 'error'):\n"
    "        assert k in obj, (n, k)\n"
    "    assert enc(obj['in_name']) == exp['in_name'], (n, obj['in_name'])\n"
    "    out = obj['outname']\n"
    "    assert (out is None and exp['outname'] is None) or \\\n"
    "        os.fsencode(out).hex() == exp['outname'], (n, out)\n"
    "    err = obj['error']\n"
    "    assert (err is None and exp['error'] is None) or \\\n"
    "        os.fsencode(err).hex() == exp['error'], (n, err)\n"
    "    assert isinstance(obj['meta'], dict), n\n"
    "    assert obj['meta'] == exp['meta'], (n, obj['meta'], exp['meta'])\n"
    "    assert obj['status'] in statuses, (n, obj['status'])\n"
    "    assert obj['status'] == exp['status'], (n, obj['status'])\n"
    "    st = obj['stats']\n"
    "    assert isinstance(st, dict), n\n"
    "    assert isinstance(st['wall_s'], float), n\n"
    "    assert isinstance(st['cpu_s'], float), n\n"
    "    assert type(st['peak_rss']) is int, n\n"
    "    assert type(st['attempts']) is int, n\n"
    "    assert st == exp['stats'], (n, st, exp['stats'])\n"
    "print('python read %d lines' % len(lines))\n";

/* Runs the Python reader over `path`, which must hold pout `p`. */
static void python_check(const char *dir, const bmp_pout *p, const char *path)
{
    char *script = tu_join(dir, "check_pout.py");
    tu_write_file(script, python_reader, strlen(python_reader));
    size_t cap = 4096, len = 0;
    char *args = malloc(cap);
    assert_non_null(args);
    args[0] = '\0';
    for (size_t i = 0; i < bmp_pout_count(p); i++) {
        const bmp__pout_entry *e = &p->entries[i];
        json_t *exp = json_pack(
            "{s:o, s:o, s:o, s:s, s:O, s:{s:f, s:f, s:I, s:i, s:I, s:I, s:b}}",
            "in_name", hex_tree(e->in_name), "outname", hex_str(e->r.outname),
            "error", hex_str(e->r.error), "status",
            bmp_status_name(e->r.status), "meta",
            e->r.meta ? e->r.meta : json_object(), "stats", "wall_s",
            e->r.stats.wall_s, "cpu_s", e->r.stats.cpu_s, "peak_rss",
            (json_int_t)e->r.stats.peak_rss, "attempts", e->r.stats.attempts,
            "start_rss", (json_int_t)e->r.stats.start_rss, "estimate",
            (json_int_t)e->r.stats.estimate, "over_estimate",
            e->r.stats.over_estimate != 0);
        assert_non_null(exp);
        char *text = json_dumps(exp, JSON_COMPACT | JSON_ENSURE_ASCII);
        assert_non_null(text);
        char *hex = hex_of((const unsigned char *)text, strlen(text));
        size_t need = len + strlen(hex) + 2;
        if (need > cap) {
            while (need > cap)
                cap *= 2;
            args = realloc(args, cap);
            assert_non_null(args);
        }
        len += (size_t)sprintf(args + len, " %s", hex);
        free(hex);
        free(text);
        json_decref(exp);
    }
    int rc = tu_system("'%s' '%s' '%s'%s", BMP_PYTHON, script, path, args);
    assert_int_equal(rc, 0);
    free(args);
    free(script);
}

/* ---- round trips ------------------------------------------------------ */

static bmp_pout *every_status_pout(void)
{
    bmp_pout *p = bmp__pout_new(8);
    assert_non_null(p);
    set_entry(p, 0, name("in/a.fits"), BMP_ITEM_OK, "out/a_bmp.fits", NULL,
              load("{\"median\": 10.0, \"average\": 10.5}"));
    set_entry(p, 1, name("in/b.fits"), BMP_ITEM_NO_OUTPUT, NULL, NULL,
              json_object());
    set_entry(p, 2, name("in/c.fits"), BMP_ITEM_FAILED, NULL,
              "bad header in in/c.fits", load("{\"partial\": true}"));
    set_entry(p, 3, name("in/d.fits"), BMP_ITEM_CRASHED, NULL,
              "worker killed by signal 11", json_object());
    set_entry(p, 4, name("in/e.fits"), BMP_ITEM_TIMED_OUT, NULL,
              "timed out after 2 s", json_object());
    set_entry(p, 5, name("in/f.fits"), BMP_ITEM_NOT_RUN, NULL, NULL,
              json_object());
    /* A group, nested, with meta holding nested values of every type. */
    set_entry(p, 6,
              load("[\"g/1.fits\", [\"g/2.fits\", [\"g/3.fits\"]], "
                   "\"g/4.fits\"]"),
              BMP_ITEM_OK, "out/group.fits", NULL,
              load("{\"nested\": {\"list\": [1, 2.5, \"x\", null, true, "
                   "false, [], {}], \"obj\": {\"deep\": {\"s\": "
                   "\"\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x92\x80 \\\"q\\\" "
                   "\\\\ \\n\\t\"}}}, \"big\": 9007199254740993, "
                   "\"neg\": -1, \"tiny\": 1e-300, \"empty\": \"\"}"));
    /* Metadata only: no outname but meta kept. */
    set_entry(p, 7, name("in/h.fits"), BMP_ITEM_NO_OUTPUT, NULL, NULL,
              load("{\"median\": 0.0}"));
    return p;
}

static void pout_format_roundtrip_every_status(void **state)
{
    char *path = tu_join(*state, "pout.jsonl");
    bmp_pout *p = every_status_pout();
    char *text = roundtrip(p, path);
    /* One line per entry, each ending with a newline. */
    size_t lines = 0;
    for (const char *c = text; *c; c++)
        lines += *c == '\n';
    assert_int_equal(lines, 8);
    assert_int_equal(text[strlen(text) - 1], '\n');
    free(text);
    bmp_pout_free(p);
    free(path);
}

static void pout_format_lines_are_objects(void **state)
{
    char *path = tu_join(*state, "pout.jsonl");
    bmp_pout *p = every_status_pout();
    bmp_error err = {0};
    assert_int_equal(bmp_pout_write(p, path, &err), 0);
    char *text = tu_read_file(path, NULL);
    assert_non_null(text);
    static const char *const keys[] = {"in_name", "outname", "meta",
                                       "status",  "error",   "stats"};
    size_t n = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        json_error_t jerr;
        json_t *obj = json_loads(line, 0, &jerr);
        assert_true(json_is_object(obj));
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
            assert_non_null(json_object_get(obj, keys[k]));
        assert_int_equal(json_object_size(obj), 6);
        assert_string_equal(json_string_value(json_object_get(obj, "status")),
                            bmp_status_name(bmp_pout_status(p, n)));
        json_t *st = json_object_get(obj, "stats");
        assert_true(json_is_real(json_object_get(st, "wall_s")));
        assert_true(json_is_real(json_object_get(st, "cpu_s")));
        assert_true(json_is_integer(json_object_get(st, "peak_rss")));
        assert_true(json_is_integer(json_object_get(st, "attempts")));
        /* The line is the entry as bmp_pout_entry_json() gives it. */
        json_t *entry = bmp_pout_entry_json(p, n);
        assert_json_equal(obj, entry);
        json_decref(entry);
        json_decref(obj);
        n++;
    }
    assert_int_equal(n, bmp_pout_count(p));
    free(text);
    bmp_pout_free(p);
    free(path);
}

static void pout_format_python_reads_every_status(void **state)
{
    if (!python_available())
        skip();
    char *path = tu_join(*state, "pout.jsonl");
    bmp_pout *p = every_status_pout();
    bmp_error err = {0};
    assert_int_equal(bmp_pout_write(p, path, &err), 0);
    python_check(*state, p, path);
    bmp_pout_free(p);
    free(path);
}

static void pout_format_roundtrip_hard_names(void **state)
{
    char *path = tu_join(*state, "names with space.jsonl");
    bmp_pout *p = hard_pout();
    char *text = roundtrip(p, path);
    free(text);
    /* And byte for byte, through the accessors. */
    bmp_pout *back = NULL;
    bmp_error err = {0};
    assert_int_equal(bmp_pout_read(path, &back, &err), 0);
    for (size_t i = 0; i < N_HARD; i++) {
        const json_t *in = bmp_pout_in_name(back, i);
        assert_true(json_is_string(in));
        assert_int_equal(json_string_length(in), strlen(hard_names[i]));
        assert_memory_equal(json_string_value(in), hard_names[i],
                            strlen(hard_names[i]));
        assert_string_equal(bmp_pout_outname(back, i) + 4, hard_names[i]);
        assert_string_equal(bmp_pout_error(back, i) + 12, hard_names[i]);
    }
    const json_t *group = bmp_pout_in_name(back, N_HARD);
    assert_true(json_is_array(group));
    assert_json_equal(group, bmp_pout_in_name(p, N_HARD));
    bmp_pout_free(back);
    bmp_pout_free(p);
    free(path);
}

static void pout_format_name_encoding(void **state)
{
    (void)state;
    /* The exact text of a few names in the file. */
    static const struct {
        const char *name;
        const char *json;
    } cases[] = {
        {"caf\xe9.npy", "\"caf\\udce9.npy\""},
        {"\xff\xfe.dat", "\"\\udcff\\udcfe.dat\""},
        {"new\nline", "\"new\\nline\""},
        {"tab\t", "\"tab\\t\""},
        {"bell\a", "\"bell\\u0007\""},
        {"quo\"te", "\"quo\\\"te\""},
        {"back\\slash", "\"back\\\\slash\""},
        {"snow\xe2\x98\x83", "\"snow\xe2\x98\x83\""},
        {"del\x7f", "\"del\x7f\""},
        /* The code points U+F780..U+F7FF stand for single bytes inside
         * the reader, so the writer gives their bytes as escapes. */
        {"pua\xef\x9e\x80", "\"pua\\udcef\\udc9e\\udc80\""},
        {"pua\xef\x9f\xbf", "\"pua\\udcef\\udc9f\\udcbf\""},
        {"pua\xef\x9d\xbf", "\"pua\xef\x9d\xbf\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *buf = NULL;
        size_t len = 0, cap = 0;
        assert_int_equal(bmp__json_name_append(&buf, &len, &cap,
                                               cases[i].name),
                         0);
        assert_int_equal(len, strlen(buf));
        assert_string_equal(buf, cases[i].json);
        free(buf);
    }
}

static void pout_format_python_reads_hard_names(void **state)
{
    if (!python_available())
        skip();
    char *path = tu_join(*state, "pout.jsonl");
    bmp_pout *p = hard_pout();
    bmp_error err = {0};
    assert_int_equal(bmp_pout_write(p, path, &err), 0);
    python_check(*state, p, path);
    bmp_pout_free(p);
    free(path);
}

/* What Python writes (json.dumps, ASCII escapes, surrogate pairs for
 * characters beyond the BMP, "\udcXX" for bytes) reads back as bytes. */
static void pout_format_reads_python_escapes(void **state)
{
    char *path = tu_join(*state, "py.jsonl");
    static const char text[] =
        "{\"in_name\": \"\\ud83d\\udc80 caf\\udce9.dat\", \"outname\": "
        "\"\\ud800\\udcff\\u00e9\", \"meta\": {\"k\": \"\\ud83d\\udc80\"}, "
        "\"status\": \"ok\", \"error\": \"x\\udcff\"}\n";
    tu_write_file(path, text, strlen(text));
    bmp_pout *p = NULL;
    bmp_error err = {0};
    int rc = bmp_pout_read(path, &p, &err);
    if (rc != 0)
        fail_msg("%s", err.text);
    assert_int_equal(bmp_pout_count(p), 1);
    assert_string_equal(json_string_value(bmp_pout_in_name(p, 0)),
                        "\xf0\x9f\x92\x80 caf\xe9.dat");
    assert_string_equal(bmp_pout_outname(p, 0),
                        "\xf0\x90\x83\xbf\xc3\xa9"); /* U+100FF, U+00E9 */
    assert_string_equal(json_string_value(
                            json_object_get(bmp_pout_meta(p, 0), "k")),
                        "\xf0\x9f\x92\x80");
    assert_string_equal(bmp_pout_error(p, 0), "x\xff");
    /* stats absent: unknown. */
    assert_true(p->entries[0].r.stats.peak_rss == -1);
    assert_int_equal(p->entries[0].r.stats.attempts, 0);
    bmp_pout_free(p);
    free(path);
}

static const char python_writer[] =
    "import json, os, sys\n"
    "with open(sys.argv[1], 'w', encoding='utf-8') as f:\n"
    "    for h in sys.argv[2:]:\n"
    "        n = os.fsdecode(bytes.fromhex(h))\n"
    "        f.write(json.dumps({'in_name': n, 'outname': n, 'meta': {},\n"
    "                            'status': 'failed', 'error': n}) + '\\n')\n";

static void pout_format_reads_python_file(void **state)
{
    if (!python_available())
        skip();
    /* Names as Python's own tools would write them.  (U+F780..U+F7FF are
     * left out: see doc/pout-format.md.) */
    static const char *const names[] = {
        "caf\xe9.npy",      "\xff\xfe.dat", "skull \xf0\x9f\x92\x80.dat",
        "\xf0\x90\x83\xbf", "q\"b\\n\n",    "snow\xe2\x98\x83",
        "\xed\xa0\x80",     "\xc3\xa9\xe9",
    };
    size_t n = sizeof names / sizeof *names;
    char *script = tu_join(*state, "write_pout.py");
    tu_write_file(script, python_writer, strlen(python_writer));
    char *path = tu_join(*state, "py.jsonl");
    char args[4096] = "";
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        char *h = hex_of((const unsigned char *)names[i], strlen(names[i]));
        len += (size_t)snprintf(args + len, sizeof args - len, " %s", h);
        free(h);
    }
    assert_int_equal(tu_system("'%s' '%s' '%s'%s", BMP_PYTHON, script, path,
                               args),
                     0);
    bmp_pout *p = NULL;
    bmp_error err = {0};
    int rc = bmp_pout_read(path, &p, &err);
    if (rc != 0)
        fail_msg("%s", err.text);
    assert_int_equal(bmp_pout_count(p), n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(json_string_value(bmp_pout_in_name(p, i)),
                            names[i]);
        assert_string_equal(bmp_pout_outname(p, i), names[i]);
        assert_string_equal(bmp_pout_error(p, i), names[i]);
        assert_int_equal(bmp_pout_status(p, i), BMP_ITEM_FAILED);
    }
    bmp_pout_free(p);
    free(path);
    free(script);
}

static void pout_format_empty_pout(void **state)
{
    char *path = tu_join(*state, "empty.jsonl");
    bmp_pout *p = bmp__pout_new(0);
    assert_non_null(p);
    char *text = roundtrip(p, path);
    assert_string_equal(text, "");
    free(text);
    bmp_pout_free(p);
    free(path);
}

static void pout_format_blank_lines_skipped(void **state)
{
    char *path = tu_join(*state, "blank.jsonl");
    static const char text[] =
        "\n{\"in_name\": \"a\", \"outname\": null, \"meta\": {}, "
        "\"status\": \"no_output\"}\n\n\n"
        "{\"in_name\": \"b\", \"outname\": \"o/b\", \"meta\": {\"x\": 1}, "
        "\"status\": \"ok\", \"error\": null, \"stats\": {\"wall_s\": 2.5, "
        "\"cpu_s\": 1, \"peak_rss\": 4096, \"attempts\": 2}}";
    tu_write_file(path, text, strlen(text)); /* no final newline */
    bmp_pout *p = NULL;
    bmp_error err = {0};
    assert_int_equal(bmp_pout_read(path, &p, &err), 0);
    assert_int_equal(bmp_pout_count(p), 2);
    assert_string_equal(json_string_value(bmp_pout_in_name(p, 0)), "a");
    assert_null(bmp_pout_outname(p, 0));
    assert_null(bmp_pout_error(p, 0));
    assert_int_equal(bmp_pout_status(p, 0), BMP_ITEM_NO_OUTPUT);
    assert_string_equal(bmp_pout_outname(p, 1), "o/b");
    assert_int_equal(bmp_pout_status(p, 1), BMP_ITEM_OK);
    assert_true(p->entries[1].r.stats.wall_s == 2.5);
    assert_true(p->entries[1].r.stats.cpu_s == 1.0);
    assert_true(p->entries[1].r.stats.peak_rss == 4096);
    assert_int_equal(p->entries[1].r.stats.attempts, 2);
    bmp_pout_free(p);
    free(path);
}

/* Where an item ran (rank and host, written by the MPI executor's
 * helpers): read, given by bmp_pout_stats() version 2, and written back
 * byte for byte; an entry without them, or with one of them only or
 * mistyped, names neither, and is written without them. */
static void pout_format_rank_and_host(void **state)
{
    char *path = tu_join(*state, "origin.jsonl");
    char *copy = tu_join(*state, "origin_copy.jsonl");
#define STATS_HEAD                                               \
    "\"stats\": {\"wall_s\":0.5,\"cpu_s\":0.25,\"peak_rss\":-1," \
    "\"attempts\":1,\"start_rss\":-1,\"estimate\":-1,"           \
    "\"over_estimate\":false"
#define ENTRY(name)                                                 \
    "{\"in_name\": \"" name "\", \"outname\": null, \"meta\": {}, " \
    "\"status\": \"no_output\", \"error\": null, " STATS_HEAD
    static const char text[] = ENTRY(
        "a") ",\"rank\":2,\"host\":\"node-7\"}}\n" ENTRY("b") "}}\n";
    static const char odd[] = ENTRY("c") ",\"rank\":2}}\n" ENTRY(
        "d") ",\"rank\":\"2\",\"host\":\"n\"}}\n";
#undef ENTRY
#undef STATS_HEAD
    tu_write_file(path, text, strlen(text));
    bmp_pout *p = NULL;
    bmp_error err = {0};
    assert_int_equal(bmp_pout_read(path, &p, &err), 0);
    bmp_item_stats st = {.version = 2};
    assert_int_equal(bmp_pout_stats(p, 0, &st), 0);
    assert_int_equal(st.rank, 2);
    assert_string_equal(st.host, "node-7");
    st = (bmp_item_stats){.version = 2, .rank = 5, .host = "x"};
    assert_int_equal(bmp_pout_stats(p, 1, &st), 0);
    assert_int_equal(st.rank, -1);
    assert_null(st.host);
    /* Version 1 leaves the fields alone. */
    st = (bmp_item_stats){.version = 1, .rank = 5, .host = "x"};
    assert_int_equal(bmp_pout_stats(p, 0, &st), 0);
    assert_int_equal(st.rank, 5);
    assert_int_equal(bmp_pout_write(p, copy, &err), 0);
    char *back = tu_read_file(copy, NULL);
    assert_string_equal(back, text);
    free(back);
    bmp_pout_free(p);

    tu_write_file(path, odd, strlen(odd));
    assert_int_equal(bmp_pout_read(path, &p, &err), 0);
    for (size_t i = 0; i < 2; i++) {
        st = (bmp_item_stats){.version = 2};
        assert_int_equal(bmp_pout_stats(p, i, &st), 0);
        assert_int_equal(st.rank, -1);
        assert_null(st.host);
    }
    assert_int_equal(bmp_pout_write(p, copy, &err), 0);
    back = tu_read_file(copy, NULL);
    assert_null(strstr(back, "rank"));
    assert_null(strstr(back, "host"));
    free(back);
    bmp_pout_free(p);
    free(copy);
    free(path);
}

/* The report page's keys (start, worker, budget) read back and are
 * written again as they were; wrong types and out-of-range values read
 * as unknown and are then not written. */
static void pout_format_start_worker_budget(void **state)
{
    char *path = tu_join(*state, "timing.jsonl");
    char *copy = tu_join(*state, "timing_copy.jsonl");
#define STATS_HEAD                                               \
    "\"stats\": {\"wall_s\":0.5,\"cpu_s\":0.25,\"peak_rss\":-1," \
    "\"attempts\":1,\"start_rss\":-1,\"estimate\":-1,"           \
    "\"over_estimate\":false"
#define ENTRY(name)                                                 \
    "{\"in_name\": \"" name "\", \"outname\": null, \"meta\": {}, " \
    "\"status\": \"no_output\", \"error\": null, " STATS_HEAD
    static const char text[] = ENTRY(
        "a") ",\"start\":1764878101.250031,\"worker\":3,"
             "\"budget\":1073741824,\"rank\":2,\"host\":\"n\"}}\n" ENTRY(
                 "b") "}}\n";
    static const char odd[] = ENTRY(
        "c") ",\"start\":\"x\",\"worker\":-4,\"budget\":-9}}\n";
#undef ENTRY
#undef STATS_HEAD
    tu_write_file(path, text, strlen(text));
    bmp_pout *p = NULL;
    bmp_error err = {0};
    assert_int_equal(bmp_pout_read(path, &p, &err), 0);
    assert_true(p->entries[0].r.stats.start == 1764878101.250031);
    assert_int_equal(p->entries[0].r.stats.worker, 3);
    assert_int_equal(p->entries[0].r.stats.budget, 1073741824);
    assert_true(p->entries[1].r.stats.start == 0);
    assert_int_equal(p->entries[1].r.stats.worker, -1);
    assert_int_equal(p->entries[1].r.stats.budget, -1);
    /* In C: version 3 of bmp_item_stats; version 2 leaves them alone. */
    bmp_item_stats st = {.version = 3};
    assert_int_equal(bmp_pout_stats(p, 0, &st), 0);
    assert_true(st.start == 1764878101.250031);
    assert_int_equal(st.worker, 3);
    assert_int_equal(st.budget, 1073741824);
    assert_int_equal(bmp_pout_stats(p, 1, &st), 0);
    assert_true(st.start == 0);
    assert_int_equal(st.worker, -1);
    assert_int_equal(st.budget, -1);
    st = (bmp_item_stats){.version = 2, .worker = 7};
    assert_int_equal(bmp_pout_stats(p, 0, &st), 0);
    assert_int_equal(st.worker, 7);
    assert_int_equal(bmp_pout_write(p, copy, &err), 0);
    char *back = tu_read_file(copy, NULL);
    assert_string_equal(back, text);
    free(back);
    json_t *e0 = bmp_pout_entry_json(p, 0);
    json_t *js = json_object_get(e0, "stats");
    assert_int_equal(json_integer_value(json_object_get(js, "worker")), 3);
    assert_int_equal(json_integer_value(json_object_get(js, "budget")),
                     1073741824);
    json_decref(e0);
    bmp_pout_free(p);

    tu_write_file(path, odd, strlen(odd));
    assert_int_equal(bmp_pout_read(path, &p, &err), 0);
    assert_int_equal(bmp_pout_write(p, copy, &err), 0);
    back = tu_read_file(copy, NULL);
    assert_null(strstr(back, "start\""));
    assert_null(strstr(back, "worker"));
    assert_null(strstr(back, "budget"));
    free(back);
    bmp_pout_free(p);
    free(copy);
    free(path);
}

/* ---- malformed files -------------------------------------------------- */

#define GOOD_LINE                                                        \
    "{\"in_name\": \"a\", \"outname\": null, \"meta\": {}, \"status\": " \
    "\"ok\", \"error\": null}\n"

static void expect_malformed(const char *dir, const char *text, size_t lineno)
{
    char *path = tu_join(dir, "bad.jsonl");
    tu_write_file(path, text, strlen(text));
    bmp_pout *p = (bmp_pout *)&p; /* not NULL: the call must clear it */
    bmp_error err = {0};
    int rc = bmp_pout_read(path, &p, &err);
    if (rc != BMP_EPOUT)
        fail_msg("rc %d (%s) for: %s", rc, bmp_err_name(rc), text);
    assert_null(p);
    assert_int_equal(err.code, BMP_EPOUT);
    assert_string_equal(err.stage, "read_pout");
    assert_string_equal(err.source, path);
    char want[64];
    snprintf(want, sizeof want, "line %zu:", lineno);
    if (!strstr(err.text, want))
        fail_msg("\"%s\" does not say \"%s\"", err.text, want);
    assert_non_null(strstr(err.text, path));
    free(path);
}

static void pout_format_malformed_not_json(void **state)
{
    expect_malformed(*state, "not json\n", 1);
    expect_malformed(*state, GOOD_LINE "{\"in_name\": \"a\",\n", 2);
    expect_malformed(*state, GOOD_LINE GOOD_LINE "[1, 2]\n", 3);
    expect_malformed(*state, GOOD_LINE "\"a string\"\n", 2);
    expect_malformed(*state,
                     GOOD_LINE GOOD_LINE GOOD_LINE GOOD_LINE
                     "{\"in_name\": \"a\", \"outname\": null, \"meta\": {},"
                     " \"status\": \"ok\"} trailing\n",
                     5);
    /* Blank lines count in the line numbers. */
    expect_malformed(*state,
                     GOOD_LINE "\n\n"
                               "garbage\n",
                     4);
    /* A lone low surrogate that is not a byte escape. */
    expect_malformed(*state,
                     "{\"in_name\": \"\\udc41\", \"outname\": null, "
                     "\"meta\": {}, \"status\": \"ok\"}\n",
                     1);
}

static void pout_format_malformed_missing_keys(void **state)
{
    expect_malformed(*state, "{}\n", 1);
    expect_malformed(*state,
                     GOOD_LINE "{\"outname\": null, \"meta\": {}, "
                               "\"status\": \"ok\"}\n",
                     2);
    expect_malformed(*state,
                     "{\"in_name\": \"a\", \"meta\": {}, \"status\": "
                     "\"ok\"}\n",
                     1);
    expect_malformed(*state,
                     "{\"in_name\": \"a\", \"outname\": null, \"status\": "
                     "\"ok\"}\n",
                     1);
    expect_malformed(*state,
                     GOOD_LINE GOOD_LINE "{\"in_name\": \"a\", "
                                         "\"outname\": null, \"meta\": {}}\n",
                     3);
}

static void pout_format_malformed_types(void **state)
{
    /* outname, meta, status, error of the wrong type */
    expect_malformed(*state,
                     "{\"in_name\": \"a\", \"outname\": 5, \"meta\": {}, "
                     "\"status\": \"ok\"}\n",
                     1);
    expect_malformed(*state,
                     "{\"in_name\": \"a\", \"outname\": null, \"meta\": [], "
                     "\"status\": \"ok\"}\n",
                     1);
    expect_malformed(*state,
                     "{\"in_name\": \"a\", \"outname\": null, \"meta\": null,"
                     " \"status\": \"ok\"}\n",
                     1);
    expect_malformed(*state,
                     "{\"in_name\": \"a\", \"outname\": null, \"meta\": {}, "
                     "\"status\": 0}\n",
                     1);
    expect_malformed(*state,
                     GOOD_LINE "{\"in_name\": \"a\", \"outname\": null, "
                               "\"meta\": {}, \"status\": \"ok\", "
                               "\"error\": 3}\n",
                     2);
}

static void pout_format_malformed_unknown_status(void **state)
{
    expect_malformed(*state,
                     GOOD_LINE GOOD_LINE "{\"in_name\": \"a\", \"outname\": "
                                         "null, \"meta\": {}, \"status\": "
                                         "\"done\"}\n",
                     3);
    expect_malformed(*state,
                     "{\"in_name\": \"a\", \"outname\": null, \"meta\": {}, "
                     "\"status\": \"OK\"}\n",
                     1);
    expect_malformed(*state,
                     "{\"in_name\": \"a\", \"outname\": null, \"meta\": {}, "
                     "\"status\": \"unknown\"}\n",
                     1);
}

static void pout_format_read_missing_file(void **state)
{
    char *path = tu_join(*state, "absent.jsonl");
    bmp_pout *p = (bmp_pout *)&p;
    bmp_error err = {0};
    assert_int_equal(bmp_pout_read(path, &p, &err), -ENOENT);
    assert_null(p);
    assert_int_equal(err.code, -ENOENT);
    assert_string_equal(err.source, path);
    assert_non_null(strstr(err.text, path));

    bmp_error err2 = {0};
    p = (bmp_pout *)&p;
    assert_int_equal(bmp_pout_read(NULL, &p, &err2), BMP_EINVAL);
    assert_null(p);
    assert_int_equal(err2.code, BMP_EINVAL);
    free(path);
}

/* ---- writing ---------------------------------------------------------- */

static void pout_format_write_missing_dir(void **state)
{
    const char *root = *state;
    char *path = tu_join(root, "missing/sub/pout.jsonl");
    bmp_pout *p = every_status_pout();
    bmp_error err = {0};
    int rc = bmp_pout_write(p, path, &err);
    assert_int_equal(rc, -ENOENT);
    assert_int_equal(err.code, -ENOENT);
    assert_string_equal(err.stage, "write_pout");
    assert_string_equal(err.source, path);
    assert_non_null(strstr(err.text, path));
    /* Nothing made: neither the directory nor a temporary. */
    assert_int_equal(dir_entries(root), 0);
    bmp_pout_free(p);
    free(path);
}

static void pout_format_write_over_directory(void **state)
{
    const char *root = *state;
    char *path = tu_join(root, "adir");
    assert_int_equal(mkdir(path, 0777), 0);
    bmp_pout *p = every_status_pout();
    bmp_error err = {0};
    int rc = bmp_pout_write(p, path, &err);
    assert_true(rc < 0);
    assert_int_equal(err.code, rc);
    assert_string_equal(err.source, path);
    /* The directory is untouched and no temporary is left beside it. */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(dir_entries(root), 1);
    assert_int_equal(dir_entries(path), 0);

    char *slash = tu_join(root, "adir/");
    bmp_error err2 = {0};
    assert_true(bmp_pout_write(p, slash, &err2) < 0);
    assert_int_equal(dir_entries(path), 0);
    free(slash);
    bmp_pout_free(p);
    free(path);
}

static void pout_format_write_replaces(void **state)
{
    const char *root = *state;
    char *path = tu_join(root, "pout.jsonl");
    tu_write_file(path, "old contents, not a pout\n", 25);
    bmp_pout *p = every_status_pout();
    mode_t old = umask(022);
    bmp_error err = {0};
    assert_int_equal(bmp_pout_write(p, path, &err), 0);
    umask(old);
    /* Only the final file is left, with the usual permissions. */
    assert_int_equal(dir_entries(root), 1);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    bmp_pout *back = NULL;
    assert_int_equal(bmp_pout_read(path, &back, &err), 0);
    assert_pouts_equal(p, back);
    bmp_pout_free(back);
    bmp_pout_free(p);
    free(path);
}

static void pout_format_write_invalid(void **state)
{
    char *path = tu_join(*state, "p.jsonl");
    bmp_error err = {0};
    assert_int_equal(bmp_pout_write(NULL, path, &err), BMP_EINVAL);
    assert_int_equal(err.code, BMP_EINVAL);
    bmp_pout *p = bmp__pout_new(0);
    bmp_error err2 = {0};
    assert_int_equal(bmp_pout_write(p, NULL, &err2), BMP_EINVAL);
    assert_int_equal(err2.code, BMP_EINVAL);
    assert_false(tu_exists(path));
    bmp_pout_free(p);
    free(path);
}

/* ---- prune ------------------------------------------------------------ */

/* Entries 1 and 4 are (none, {}) and go; the rest stay. */
static bmp_pout *prune_pout_fixture(void)
{
    bmp_pout *p = bmp__pout_new(8);
    assert_non_null(p);
    set_entry(p, 0, name("a"), BMP_ITEM_OK, "o/a", NULL, json_object());
    set_entry(p, 1, name("b"), BMP_ITEM_NO_OUTPUT, NULL, NULL, json_object());
    set_entry(p, 2, name("c"), BMP_ITEM_NO_OUTPUT, NULL, NULL,
              load("{\"median\": 3.0}"));
    set_entry(p, 3, name("d"), BMP_ITEM_FAILED, NULL, "failed", json_object());
    set_entry(p, 4, load("[\"e1\", \"e2\"]"), BMP_ITEM_NO_OUTPUT, NULL, NULL,
              NULL);
    set_entry(p, 5, name("f"), BMP_ITEM_CRASHED, NULL, "crashed",
              json_object());
    set_entry(p, 6, name("g"), BMP_ITEM_TIMED_OUT, NULL, NULL, json_object());
    set_entry(p, 7, name("h"), BMP_ITEM_NOT_RUN, NULL, NULL, json_object());
    return p;
}

static void pout_format_prune(void **state)
{
    (void)state;
    bmp_pout *p = prune_pout_fixture();
    json_t *in_names = load("[\"a\", \"b\", \"c\", \"d\", [\"e1\", \"e2\"], "
                            "\"f\", \"g\", \"h\"]");
    bmp_pout *pruned = NULL;
    json_t *names = NULL;
    assert_int_equal(bmp_prune_pout(p, in_names, &pruned, &names), 0);
    static const size_t kept[] = {0, 2, 3, 5, 6, 7};
    size_t n = sizeof kept / sizeof *kept;
    assert_int_equal(bmp_pout_count(pruned), n);
    assert_int_equal(json_array_size(names), n);
    for (size_t k = 0; k < n; k++) {
        assert_entry_equal(p, kept[k], pruned, k);
        assert_json_equal(json_array_get(names, k),
                          json_array_get(in_names, kept[k]));
    }
    /* A copy: changing the pruned pout's meta leaves the original. */
    json_object_set_new(bmp_pout_meta(pruned, 1), "median", json_real(-1));
    assert_true(json_real_value(
                    json_object_get(bmp_pout_meta(p, 2), "median")) == 3.0);
    /* The original is untouched. */
    assert_int_equal(bmp_pout_count(p), 8);
    assert_int_equal(json_array_size(in_names), 8);
    bmp_pout_free(pruned);
    json_decref(names);
    json_decref(in_names);
    bmp_pout_free(p);
}

static void pout_format_prune_without_names(void **state)
{
    (void)state;
    bmp_pout *p = prune_pout_fixture();
    bmp_pout *pruned = NULL;
    assert_int_equal(bmp_prune_pout(p, NULL, &pruned, NULL), 0);
    assert_int_equal(bmp_pout_count(pruned), 6);
    assert_string_equal(json_string_value(bmp_pout_in_name(pruned, 1)), "c");
    bmp_pout_free(pruned);

    json_t *names = (json_t *)&names;
    assert_int_equal(bmp_prune_pout(p, NULL, &pruned, &names), 0);
    assert_null(names);
    assert_int_equal(bmp_pout_count(pruned), 6);
    bmp_pout_free(pruned);

    /* in_names given, but no place for the pruned list: still checked. */
    json_t *in_names = load("[\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", "
                            "\"g\", \"h\"]");
    assert_int_equal(bmp_prune_pout(p, in_names, &pruned, NULL), 0);
    assert_int_equal(bmp_pout_count(pruned), 6);
    bmp_pout_free(pruned);
    json_decref(in_names);
    bmp_pout_free(p);
}

static void pout_format_prune_in_names_length(void **state)
{
    (void)state;
    bmp_pout *p = prune_pout_fixture();
    json_t *short_names = load("[\"a\", \"b\"]");
    json_t *not_array = load("{\"a\": 1}");
    bmp_pout *pruned = (bmp_pout *)&pruned;
    json_t *names = (json_t *)&names;
    assert_int_equal(bmp_prune_pout(p, short_names, &pruned, &names),
                     BMP_EINVAL);
    assert_null(pruned);
    assert_null(names);
    assert_int_equal(bmp_prune_pout(p, not_array, &pruned, &names),
                     BMP_EINVAL);
    assert_null(pruned);
    assert_int_equal(bmp_prune_pout(p, short_names, &pruned, NULL),
                     BMP_EINVAL);
    assert_int_equal(bmp_prune_pout(NULL, NULL, &pruned, NULL), BMP_EINVAL);
    json_decref(short_names);
    json_decref(not_array);
    bmp_pout_free(p);
}

static void pout_format_prune_all_and_none(void **state)
{
    (void)state;
    bmp_pout *p = bmp__pout_new(2);
    set_entry(p, 0, name("a"), BMP_ITEM_NO_OUTPUT, NULL, NULL, json_object());
    set_entry(p, 1, name("b"), BMP_ITEM_NO_OUTPUT, NULL, NULL, NULL);
    json_t *in_names = load("[\"a\", \"b\"]");
    bmp_pout *pruned = NULL;
    json_t *names = NULL;
    assert_int_equal(bmp_prune_pout(p, in_names, &pruned, &names), 0);
    assert_int_equal(bmp_pout_count(pruned), 0);
    assert_true(json_is_array(names));
    assert_int_equal(json_array_size(names), 0);
    bmp_pout_free(pruned);
    json_decref(names);
    bmp_pout_free(p);
    json_decref(in_names);

    bmp_pout *empty = bmp__pout_new(0);
    json_t *no_names = json_array();
    assert_int_equal(bmp_prune_pout(empty, no_names, &pruned, &names), 0);
    assert_int_equal(bmp_pout_count(pruned), 0);
    assert_int_equal(json_array_size(names), 0);
    bmp_pout_free(pruned);
    json_decref(names);
    json_decref(no_names);
    bmp_pout_free(empty);
}

/* ---- the entry as JSON, accessors, status names ----------------------- */

static void pout_format_entry_json(void **state)
{
    (void)state;
    bmp_pout *p = every_status_pout();
    json_t *e = bmp_pout_entry_json(p, 0);
    assert_true(json_is_object(e));
    assert_int_equal(json_object_size(e), 6);
    assert_string_equal(json_string_value(json_object_get(e, "in_name")),
                        "in/a.fits");
    assert_string_equal(json_string_value(json_object_get(e, "outname")),
                        "out/a_bmp.fits");
    json_t *meta = load("{\"median\": 10.0, \"average\": 10.5}");
    assert_json_equal(json_object_get(e, "meta"), meta);
    json_decref(meta);
    assert_string_equal(json_string_value(json_object_get(e, "status")), "ok");
    assert_true(json_is_null(json_object_get(e, "error")));
    json_t *st = json_object_get(e, "stats");
    assert_true(json_real_value(json_object_get(st, "wall_s")) == 0.125);
    assert_true(json_real_value(json_object_get(st, "cpu_s")) ==
                333333333.0 / 1e9);
    assert_true(json_integer_value(json_object_get(st, "peak_rss")) ==
                1048576 + 7);
    assert_true(json_integer_value(json_object_get(st, "attempts")) == 1);
    json_decref(e);

    e = bmp_pout_entry_json(p, 2);
    assert_true(json_is_null(json_object_get(e, "outname")));
    assert_string_equal(json_string_value(json_object_get(e, "error")),
                        "bad header in in/c.fits");
    assert_string_equal(json_string_value(json_object_get(e, "status")),
                        "failed");
    assert_true(json_integer_value(json_object_get(json_object_get(e, "stats"),
                                                   "peak_rss")) ==
                3145728 + 7);
    json_decref(e);

    e = bmp_pout_entry_json(p, 6);
    assert_json_equal(json_object_get(e, "in_name"), bmp_pout_in_name(p, 6));
    json_decref(e);

    assert_null(bmp_pout_entry_json(p, 8));
    assert_null(bmp_pout_entry_json(NULL, 0));
    bmp_pout_free(p);
}

static void pout_format_entry_json_empty_entry(void **state)
{
    (void)state;
    /* An entry never filled: meta is {} as in the file, stats unknown. */
    bmp_pout *p = bmp__pout_new(1);
    p->entries[0].in_name = name("x");
    json_t *e = bmp_pout_entry_json(p, 0);
    assert_non_null(e);
    assert_true(json_is_object(json_object_get(e, "meta")));
    assert_int_equal(json_object_size(json_object_get(e, "meta")), 0);
    assert_true(json_integer_value(json_object_get(json_object_get(e, "stats"),
                                                   "peak_rss")) == -1);
    char *line = bmp__pout_entry_line(p, 0);
    assert_non_null(line);
    json_t *parsed = load(line);
    assert_json_equal(parsed, e);
    json_decref(parsed);
    free(line);
    json_decref(e);
    bmp_pout_free(p);
}

static void pout_format_accessors(void **state)
{
    (void)state;
    bmp_pout *p = every_status_pout();
    assert_int_equal(bmp_pout_count(p), 8);
    assert_string_equal(bmp_pout_outname(p, 0), "out/a_bmp.fits");
    assert_null(bmp_pout_outname(p, 1));
    assert_string_equal(bmp_pout_error(p, 3), "worker killed by signal 11");
    assert_int_equal(bmp_pout_status(p, 4), BMP_ITEM_TIMED_OUT);
    /* Out of range: nothing, and "not run". */
    assert_null(bmp_pout_outname(p, 8));
    assert_null(bmp_pout_meta(p, 8));
    assert_null(bmp_pout_in_name(p, 8));
    assert_null(bmp_pout_error(p, 8));
    assert_int_equal(bmp_pout_status(p, 8), BMP_ITEM_NOT_RUN);
    assert_int_equal(bmp_pout_count(NULL), 0);
    assert_null(bmp_pout_outname(NULL, 0));
    bmp_pout_free(p);
    bmp_pout_free(NULL);
}

static void pout_format_status_names(void **state)
{
    (void)state;
    assert_string_equal(bmp_status_name(BMP_ITEM_OK), "ok");
    assert_string_equal(bmp_status_name(BMP_ITEM_NO_OUTPUT), "no_output");
    assert_string_equal(bmp_status_name(BMP_ITEM_FAILED), "failed");
    assert_string_equal(bmp_status_name(BMP_ITEM_CRASHED), "crashed");
    assert_string_equal(bmp_status_name(BMP_ITEM_TIMED_OUT), "timed_out");
    assert_string_equal(bmp_status_name(BMP_ITEM_NOT_RUN), "not_run");
    assert_string_equal(bmp_status_name((bmp_status)6), "unknown");
    assert_string_equal(bmp_status_name((bmp_status)-1), "unknown");
    assert_string_equal(bmp_status_name((bmp_status)1000), "unknown");
    /* The enum's values are part of the ABI. */
    assert_int_equal(BMP_ITEM_OK, 0);
    assert_int_equal(BMP_ITEM_NO_OUTPUT, 1);
    assert_int_equal(BMP_ITEM_FAILED, 2);
    assert_int_equal(BMP_ITEM_CRASHED, 3);
    assert_int_equal(BMP_ITEM_TIMED_OUT, 4);
    assert_int_equal(BMP_ITEM_NOT_RUN, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_DIR_TEST(pout_format_roundtrip_every_status),
        TU_DIR_TEST(pout_format_lines_are_objects),
        TU_DIR_TEST(pout_format_python_reads_every_status),
        TU_DIR_TEST(pout_format_roundtrip_hard_names),
        TU_DIR_TEST(pout_format_start_worker_budget),
        cmocka_unit_test(pout_format_name_encoding),
        TU_DIR_TEST(pout_format_python_reads_hard_names),
        TU_DIR_TEST(pout_format_reads_python_escapes),
        TU_DIR_TEST(pout_format_reads_python_file),
        TU_DIR_TEST(pout_format_empty_pout),
        TU_DIR_TEST(pout_format_blank_lines_skipped),
        TU_DIR_TEST(pout_format_rank_and_host),
        TU_DIR_TEST(pout_format_malformed_not_json),
        TU_DIR_TEST(pout_format_malformed_missing_keys),
        TU_DIR_TEST(pout_format_malformed_types),
        TU_DIR_TEST(pout_format_malformed_unknown_status),
        TU_DIR_TEST(pout_format_read_missing_file),
        TU_DIR_TEST(pout_format_write_missing_dir),
        TU_DIR_TEST(pout_format_write_over_directory),
        TU_DIR_TEST(pout_format_write_replaces),
        TU_DIR_TEST(pout_format_write_invalid),
        cmocka_unit_test(pout_format_prune),
        cmocka_unit_test(pout_format_prune_without_names),
        cmocka_unit_test(pout_format_prune_in_names_length),
        cmocka_unit_test(pout_format_prune_all_and_none),
        cmocka_unit_test(pout_format_entry_json),
        cmocka_unit_test(pout_format_entry_json_empty_entry),
        cmocka_unit_test(pout_format_accessors),
        cmocka_unit_test(pout_format_status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
