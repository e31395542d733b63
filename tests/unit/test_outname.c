/*
 * test_outname.c -- SPEC.md's "Output names" rules (bmp_outname_create)
 * and directory creation (bmp_mkdir_parents).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bigmultipipe.h"
#include "testutil.h"

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    assert_non_null(v);
    return v;
}

/* bmp_outname_create() with keywords and meta given as JSON text (NULL
 * for none); asserts success and returns the name (malloc'd). */
static char *name_of(const char *in_name, const char *kw_text,
                     const char *meta_text)
{
    json_t *kw = kw_text ? load(kw_text) : NULL;
    json_t *meta = meta_text ? load(meta_text) : NULL;
    char *out = (char *)"sentinel";
    int rc = bmp_outname_create(in_name, kw, meta, &out);
    assert_int_equal(rc, 0);
    assert_non_null(out);
    json_decref(kw);
    json_decref(meta);
    return out;
}

static void expect(const char *in_name, const char *kw_text,
                   const char *meta_text, const char *want)
{
    char *out = name_of(in_name, kw_text, meta_text);
    assert_string_equal(out, want);
    free(out);
}

/* ---- the derived name ------------------------------------------------- */

static void outname_extension(void **state)
{
    (void)state;
    expect("d/test.dat", NULL, NULL, "test_bmp.dat");
    expect("test.dat", NULL, NULL, "test_bmp.dat");
    expect("/abs/path/big_array_3.npy", NULL, NULL, "big_array_3_bmp.npy");
}

static void outname_last_suffix_only(void **state)
{
    (void)state;
    expect("a.tar.gz", NULL, NULL, "a.tar_bmp.gz");
    expect("x/y/m.1.2.fits", NULL, NULL, "m.1.2_bmp.fits");
}

static void outname_hidden_file(void **state)
{
    (void)state;
    /* A leading dot does not start an extension (Python's splitext). */
    expect(".hidden", NULL, NULL, ".hidden_bmp");
    expect("d/.hidden", NULL, NULL, ".hidden_bmp");
    expect("..twice", NULL, NULL, "..twice_bmp");
    expect("...", NULL, NULL, "..._bmp");
    /* A later dot does. */
    expect(".hidden.dat", NULL, NULL, ".hidden_bmp.dat");
    expect("..twice.dat", NULL, NULL, "..twice_bmp.dat");
}

static void outname_trailing_dot(void **state)
{
    (void)state;
    /* os.path.splitext("a.") is ("a", "."). */
    expect("a.", NULL, NULL, "a_bmp.");
}

static void outname_no_extension(void **state)
{
    (void)state;
    expect("d/README", NULL, NULL, "README_bmp");
    expect("README", NULL, NULL, "README_bmp");
    /* A dot in a directory is not the file's extension. */
    expect("d.x/file", NULL, NULL, "file_bmp");
}

static void outname_no_outdir_is_current_dir(void **state)
{
    (void)state;
    /* No outdir: the bare name, that is the current directory, whatever
     * the input's directory. */
    expect("in/sub/test.dat", NULL, NULL, "test_bmp.dat");
    expect("in/sub/test.dat", "{}", "{}", "test_bmp.dat");
    expect("in/sub/test.dat", "{\"outdir\": null}", NULL, "test_bmp.dat");
    expect("in/sub/test.dat", "{\"outdir\": \"\"}", NULL, "test_bmp.dat");
}

static void outname_bytes_kept(void **state)
{
    (void)state;
    expect("caf\xe9.npy", NULL, NULL, "caf\xe9_bmp.npy");
    expect("d/\xff\xfe", NULL, NULL, "\xff\xfe_bmp");
    expect("with space.dat", "{\"outdir\": \"o d\"}", NULL,
           "o d/with space_bmp.dat");
}

/* ---- outdir ----------------------------------------------------------- */

static void outname_outdir_join(void **state)
{
    (void)state;
    expect("d/test.dat", "{\"outdir\": \"out\"}", NULL, "out/test_bmp.dat");
    expect("d/test.dat", "{\"outdir\": \"out/\"}", NULL, "out/test_bmp.dat");
    expect("d/test.dat", "{\"outdir\": \"/abs/out\"}", NULL,
           "/abs/out/test_bmp.dat");
    expect("d/test.dat", "{\"outdir\": \"/\"}", NULL, "/test_bmp.dat");
    expect("d/test.dat", "{\"outdir\": \".\"}", NULL, "./test_bmp.dat");
}

/* ---- outname ---------------------------------------------------------- */

static void outname_given_joined_to_outdir(void **state)
{
    (void)state;
    expect("d/test.dat", "{\"outname\": \"x.fits\"}", NULL, "x.fits");
    expect("d/test.dat", "{\"outname\": \"x.fits\", \"outdir\": \"o\"}", NULL,
           "o/x.fits");
    expect("d/test.dat", "{\"outname\": \"sub/x.fits\", \"outdir\": \"o/\"}",
           NULL, "o/sub/x.fits");
    /* outname_append does not touch a given outname. */
    expect("d/test.dat",
           "{\"outname\": \"x.fits\", \"outname_append\": \"_z\"}", NULL,
           "x.fits");
}

static void outname_given_absolute(void **state)
{
    (void)state;
    expect("d/test.dat", "{\"outname\": \"/tmp/x.fits\", \"outdir\": \"o\"}",
           NULL, "/tmp/x.fits");
    expect("d/test.dat", "{\"outname\": \"/tmp/x.fits\"}", NULL,
           "/tmp/x.fits");
}

static void outname_given_empty_is_not_given(void **state)
{
    (void)state;
    expect("d/test.dat", "{\"outname\": \"\", \"outdir\": \"o\"}", NULL,
           "o/test_bmp.dat");
    expect("d/test.dat", "{\"outname\": null}", NULL, "test_bmp.dat");
}

/* ---- outname_append --------------------------------------------------- */

static void outname_default_append(void **state)
{
    (void)state;
    expect("t.dat", "{\"outname_append\": null}", NULL, "t_bmp.dat");
    expect("t.dat", "{\"other\": 1}", "{\"other\": 2}", "t_bmp.dat");
}

static void outname_custom_append(void **state)
{
    (void)state;
    expect("d/test.dat", "{\"outname_append\": \"_reduced\"}", NULL,
           "test_reduced.dat");
    expect("d/.hidden", "{\"outname_append\": \"-x\"}", NULL, ".hidden-x");
    /* An empty append, given, is used as it is: the same base name. */
    expect("d/test.dat", "{\"outname_append\": \"\", \"outdir\": \"o\"}", NULL,
           "o/test.dat");
}

/* ---- meta overrides keywords ------------------------------------------ */

static void outname_meta_overrides(void **state)
{
    (void)state;
    const char *kw = "{\"outdir\": \"kwdir\", \"outname_append\": \"_kw\"}";
    expect("d/t.dat", kw, "{\"outdir\": \"metadir\"}", "metadir/t_kw.dat");
    expect("d/t.dat", kw, "{\"outname_append\": \"_meta\"}",
           "kwdir/t_meta.dat");
    expect("d/t.dat", kw, "{\"outname\": \"m.dat\"}", "kwdir/m.dat");
    expect("d/t.dat", "{\"outname\": \"k.dat\", \"outdir\": \"kwdir\"}",
           "{\"outname\": \"m.dat\", \"outdir\": \"md\"}", "md/m.dat");
    /* meta alone, without keywords */
    expect("d/t.dat", NULL, "{\"outdir\": \"md\", \"outname_append\": \"_m\"}",
           "md/t_m.dat");
}

static void outname_meta_empty_does_not_override(void **state)
{
    (void)state;
    const char *kw = "{\"outdir\": \"kwdir\", \"outname_append\": \"_kw\", "
                     "\"outname\": null}";
    expect("d/t.dat", kw, "{\"outdir\": \"\"}", "kwdir/t_kw.dat");
    expect("d/t.dat", kw, "{\"outname_append\": \"\"}", "kwdir/t_kw.dat");
    expect("d/t.dat", kw, "{\"outname\": \"\"}", "kwdir/t_kw.dat");
    expect("d/t.dat", "{\"outname\": \"k.dat\"}", "{\"outname\": \"\"}",
           "k.dat");
    /* null or another type in meta does not override either. */
    expect("d/t.dat", kw, "{\"outdir\": null, \"outname_append\": 5}",
           "kwdir/t_kw.dat");
}

/* ---- groups ----------------------------------------------------------- */

static void outname_group_without_outname(void **state)
{
    (void)state;
    json_t *kw = load("{\"outdir\": \"o\", \"outname_append\": \"_x\"}");
    json_t *meta = load("{\"outname\": \"\"}");
    char *out = (char *)"sentinel";
    assert_int_equal(bmp_outname_create(NULL, kw, meta, &out), BMP_ENOOUTNAME);
    assert_null(out);
    out = (char *)"sentinel";
    assert_int_equal(bmp_outname_create(NULL, NULL, NULL, &out),
                     BMP_ENOOUTNAME);
    assert_null(out);
    json_decref(kw);
    json_decref(meta);
}

static void outname_group_with_outname(void **state)
{
    (void)state;
    expect(NULL, "{\"outname\": \"g.dat\", \"outdir\": \"o\"}", NULL,
           "o/g.dat");
    expect(NULL, "{\"outdir\": \"o\"}", "{\"outname\": \"m.dat\"}", "o/m.dat");
    expect(NULL, NULL, "{\"outname\": \"/abs/g.dat\"}", "/abs/g.dat");
}

static void outname_empty_basename(void **state)
{
    (void)state;
    /* A name that ends with '/' has no basename to derive from. */
    char *out = (char *)"sentinel";
    assert_int_equal(bmp_outname_create("dir/", NULL, NULL, &out),
                     BMP_ENOOUTNAME);
    assert_null(out);
    assert_int_equal(bmp_outname_create("", NULL, NULL, &out), BMP_ENOOUTNAME);
    assert_null(out);
}

/* ---- bmp_mkdir_parents ------------------------------------------------ */

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void outname_mkdir_parents_nested(void **state)
{
    const char *root = *state;
    char *a = tu_join(root, "a");
    char *ab = tu_join(root, "a/b");
    char *abc = tu_join(root, "a/b/c");
    assert_false(tu_exists(a));
    assert_int_equal(bmp_mkdir_parents(abc), 0);
    assert_true(is_dir(a));
    assert_true(is_dir(ab));
    assert_true(is_dir(abc));
    free(a);
    free(ab);
    free(abc);
}

static void outname_mkdir_parents_existing(void **state)
{
    const char *root = *state;
    assert_int_equal(bmp_mkdir_parents(root), 0);
    char *d = tu_join(root, "x/y");
    assert_int_equal(bmp_mkdir_parents(d), 0);
    assert_int_equal(bmp_mkdir_parents(d), 0);
    assert_true(is_dir(d));
    /* A partly existing path: only the missing part is made. */
    char *deeper = tu_join(root, "x/y/z/w");
    assert_int_equal(bmp_mkdir_parents(deeper), 0);
    assert_true(is_dir(deeper));
    assert_int_equal(bmp_mkdir_parents("/"), 0);
    free(d);
    free(deeper);
}

static void outname_mkdir_parents_slashes(void **state)
{
    const char *root = *state;
    char *trail = tu_join(root, "t/u/");
    assert_int_equal(bmp_mkdir_parents(trail), 0);
    char *made = tu_join(root, "t/u");
    assert_true(is_dir(made));
    char *doubled = tu_join(root, "p//q");
    assert_int_equal(bmp_mkdir_parents(doubled), 0);
    char *q = tu_join(root, "p/q");
    assert_true(is_dir(q));
    free(trail);
    free(made);
    free(doubled);
    free(q);
}

static void outname_mkdir_parents_relative(void **state)
{
    const char *root = *state;
    int here = open(".", O_RDONLY | O_DIRECTORY);
    assert_true(here >= 0);
    assert_int_equal(chdir(root), 0);
    int rc = bmp_mkdir_parents("rel/one/two");
    int made = is_dir("rel/one/two");
    assert_int_equal(fchdir(here), 0);
    close(here);
    assert_int_equal(rc, 0);
    assert_true(made);
    char *abs = tu_join(root, "rel/one/two");
    assert_true(is_dir(abs));
    free(abs);
}

static void outname_mkdir_parents_file_in_the_way(void **state)
{
    const char *root = *state;
    char *f = tu_join(root, "file");
    tu_write_file(f, "x", 1);
    /* The file is a parent of the directory asked for ... */
    char *under = tu_join(root, "file/sub/deeper");
    int rc = bmp_mkdir_parents(under);
    assert_true(rc == -ENOTDIR || rc == -EEXIST);
    /* ... or is the directory asked for. */
    rc = bmp_mkdir_parents(f);
    assert_true(rc == -ENOTDIR || rc == -EEXIST);
    /* The file is left as it was. */
    size_t size = 0;
    char *content = tu_read_file(f, &size);
    assert_non_null(content);
    assert_int_equal(size, 1);
    free(content);
    free(f);
    free(under);
}

static void outname_mkdir_parents_not_permitted(void **state)
{
    const char *root = *state;
    if (geteuid() == 0)
        skip(); /* root may write anywhere */
    char *ro = tu_join(root, "ro");
    assert_int_equal(mkdir(ro, 0555), 0);
    char *under = tu_join(root, "ro/a/b");
    assert_int_equal(bmp_mkdir_parents(under), -EACCES);
    chmod(ro, 0755);
    free(ro);
    free(under);
}

static void outname_mkdir_parents_empty(void **state)
{
    (void)state;
    assert_int_equal(bmp_mkdir_parents(""), BMP_EINVAL);
    assert_int_equal(bmp_mkdir_parents(NULL), BMP_EINVAL);
}

/* bmp_mkdir_parents_of: the directory holding a file, parents included. */
static void outname_mkdir_parents_of_file(void **state)
{
    (void)state;
    char *base = tu_mkdtemp();
    char *file = tu_join(base, "a/b/out.dat");
    char *dir = tu_join(base, "a/b");
    assert_int_equal(bmp_mkdir_parents_of(file), 0);
    assert_true(tu_exists(dir));
    assert_false(tu_exists(file));
    assert_int_equal(bmp_mkdir_parents_of("bare_name.dat"), 0);
    assert_int_equal(bmp_mkdir_parents_of("/top.dat"), 0);
    assert_int_equal(bmp_mkdir_parents_of(NULL), BMP_EINVAL);
    tu_rmtree(base);
    free(dir);
    free(file);
    free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(outname_extension),
        cmocka_unit_test(outname_last_suffix_only),
        cmocka_unit_test(outname_hidden_file),
        cmocka_unit_test(outname_trailing_dot),
        cmocka_unit_test(outname_no_extension),
        cmocka_unit_test(outname_no_outdir_is_current_dir),
        cmocka_unit_test(outname_bytes_kept),
        cmocka_unit_test(outname_outdir_join),
        cmocka_unit_test(outname_given_joined_to_outdir),
        cmocka_unit_test(outname_given_absolute),
        cmocka_unit_test(outname_given_empty_is_not_given),
        cmocka_unit_test(outname_default_append),
        cmocka_unit_test(outname_custom_append),
        cmocka_unit_test(outname_meta_overrides),
        cmocka_unit_test(outname_meta_empty_does_not_override),
        cmocka_unit_test(outname_group_without_outname),
        cmocka_unit_test(outname_group_with_outname),
        cmocka_unit_test(outname_empty_basename),
        TU_DIR_TEST(outname_mkdir_parents_nested),
        TU_DIR_TEST(outname_mkdir_parents_existing),
        TU_DIR_TEST(outname_mkdir_parents_slashes),
        TU_DIR_TEST(outname_mkdir_parents_relative),
        TU_DIR_TEST(outname_mkdir_parents_file_in_the_way),
        TU_DIR_TEST(outname_mkdir_parents_not_permitted),
        cmocka_unit_test(outname_mkdir_parents_of_file),
        cmocka_unit_test(outname_mkdir_parents_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
