#include "testutil.h"

#include <bigmultipipe.h>
#include <jansson.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fitsio.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

char *tu_mkdtemp(void)
{
    const char *tmp = getenv("TMPDIR");
    char *path = NULL;
    assert_true(
        asprintf(&path, "%s/bmp-test-XXXXXX", tmp && *tmp ? tmp : "/tmp") > 0);
    assert_non_null(mkdtemp(path));
    return path;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void tu_rmtree(const char *path)
{
    if (path)
        nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *tu_join(const char *dir, const char *name)
{
    char *path = NULL;
    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    return path;
}

void tu_write_file(const char *path, const void *bytes, size_t size)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, size, f), size);
    assert_int_equal(fclose(f), 0);
}

char *tu_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap + 1);
    assert_non_null(buf);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
    }
    fclose(f);
    buf[len] = '\0';
    if (size)
        *size = len;
    return buf;
}

int tu_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

int tu_system(const char *fmt, ...)
{
    char *cmd = NULL;
    va_list ap;
    va_start(ap, fmt);
    assert_true(vasprintf(&cmd, fmt, ap) > 0);
    va_end(ap);
    int status = system(cmd);
    free(cmd);
    if (status == -1 || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

json_t *tu_numbered_files(const char *dir, const char *pattern, int n)
{
    json_t *names = json_array();
    for (int i = 0; i < n; i++) {
        char name[64], text[16];
        snprintf(name, sizeof name, pattern, i);
        snprintf(text, sizeof text, "%d", i);
        char *path = tu_join(dir, name);
        tu_write_file(path, text, strlen(text));
        json_array_append_new(names, json_string(path));
        free(path);
    }
    return names;
}

tu_items *tu_items_new(int n)
{
    tu_items *items = calloc(1, sizeof *items);
    assert_non_null(items);
    items->dir = tu_mkdtemp();
    items->out = tu_join(items->dir, "out");
    items->names = tu_numbered_files(items->dir, "in_%02d.dat", n);
    return items;
}

void tu_items_free(tu_items *items)
{
    if (!items)
        return;
    tu_rmtree(items->dir);
    free(items->dir);
    free(items->out);
    json_decref(items->names);
    free(items);
}

int tu_times_ten(bmp_item *item, void **data)
{
    (void)item;
    bmp_buffer *b = *data;
    char text[32] = {0};
    memcpy(text, b->bytes, b->size < 31 ? b->size : 31);
    int n = snprintf(text, sizeof text, "%d\n", atoi(text) * 10);
    bmp_buffer *out = bmp_buffer_new((size_t)n);
    memcpy(out->bytes, text, (size_t)n);
    bmp_object_free(b, NULL);
    *data = out;
    return BMP_CONTINUE;
}

int tu_record_value(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    const bmp_buffer *b = *data;
    return bmp_kw_set_int(bmp_item_meta(item), "value",
                          atoi((const char *)b->bytes));
}

bmp_pipe *tu_times_ten_pipe(void)
{
    bmp_ops ops = {.data_process = tu_times_ten};
    bmp_pipe *pipe = bmp_pipe_new(&ops, NULL);
    bmp_pipe_add_post(pipe, tu_record_value, NULL, "record");
    return pipe;
}

char *tu_entries_text(const bmp_pout *pout)
{
    json_t *all = json_array();
    for (size_t i = 0; i < bmp_pout_count(pout); i++) {
        json_t *e = bmp_pout_entry_json(pout, i);
        json_object_del(e, "stats");
        json_array_append_new(all, e);
    }
    char *text = json_dumps(all, JSON_SORT_KEYS);
    json_decref(all);
    return text;
}

int tu_setup_dir(void **state)
{
    *state = tu_mkdtemp();
    return 0;
}

int tu_teardown_dir(void **state)
{
    tu_rmtree(*state);
    free(*state);
    return 0;
}

void tu_assert_contains(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("\"%s\" does not contain \"%s\"", text, part);
}

void tu_fits_check(int status)
{
    if (status > 0) {
        char text[FLEN_STATUS];
        fits_get_errstatus(status, text);
        fail_msg("cfitsio: %s (%d)", text, status);
    }
}

bmp_array *tu_fits_read_ok(const char *path, const char *hdu)
{
    bmp_error err = {0};
    bmp_array *a = NULL;
    if (bmp_fits_read(path, hdu, &a, &err) != 0)
        fail_msg("bmp_fits_read(%s, %s): %s", path, hdu ? hdu : "NULL",
                 err.text);
    assert_non_null(a);
    assert_true(json_is_array(a->header));
    return a;
}
