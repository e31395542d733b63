/*
 * test_npy.c -- the .npy reader and writer: round trips of every dtype,
 * order, byte order and rank; header syntax; memory maps; atomic writes;
 * the ops' keywords; and the malformed files of tests/data/npy/invalid/, each
 * a folder with input.npy and expected.txt (a substring of the error text).
 */
#include "bigmultipipe.h"

#include "array_internal.h"
#include "npy_internal.h"
#include "pout_internal.h"
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NATIVE (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? '<' : '>')
#define OTHER (NATIVE == '<' ? '>' : '<')

static const bmp_dtype writable[] = {
    BMP_DTYPE_BOOL,       BMP_DTYPE_INT8,    BMP_DTYPE_INT16,
    BMP_DTYPE_INT32,      BMP_DTYPE_INT64,   BMP_DTYPE_UINT8,
    BMP_DTYPE_UINT16,     BMP_DTYPE_UINT32,  BMP_DTYPE_UINT64,
    BMP_DTYPE_FLOAT32,    BMP_DTYPE_FLOAT64, BMP_DTYPE_COMPLEX64,
    BMP_DTYPE_COMPLEX128,
};
#define N_WRITABLE (sizeof writable / sizeof writable[0])

/* An array whose bytes differ from element to element, so that a swapped
 * or shifted element shows. */
static bmp_array *make_array(bmp_dtype dtype, int ndim, const size_t *shape,
                             int fortran, char byteorder)
{
    bmp_array *a = bmp_array_new(dtype, ndim, shape);
    assert_non_null(a);
    a->fortran_order = fortran;
    if (a->itemsize > 1)
        a->byteorder = byteorder;
    unsigned char *p = a->data;
    for (size_t i = 0; i < a->nbytes; i++)
        p[i] = dtype == BMP_DTYPE_BOOL ? (unsigned char)(i % 3 == 0)
                                       : (unsigned char)(i * 131 + 7);
    return a;
}

static void assert_same_array(const bmp_array *a, const bmp_array *b)
{
    assert_int_equal(a->dtype, b->dtype);
    assert_int_equal(a->byteorder, b->byteorder);
    assert_int_equal(a->fortran_order, b->fortran_order);
    assert_int_equal(a->ndim, b->ndim);
    for (int i = 0; i < a->ndim; i++)
        assert_int_equal(a->shape[i], b->shape[i]);
    assert_int_equal(a->itemsize, b->itemsize);
    assert_int_equal(a->count, b->count);
    assert_int_equal(a->nbytes, b->nbytes);
    assert_memory_equal(a->data, b->data, a->nbytes ? a->nbytes : 0);
}

/* Writes a .npy file by hand: magic, version, length and `dict` as given,
 * then `data`.  No padding is added: the caller controls every byte. */
static void write_raw(const char *path, int major, const char *dict,
                      const void *data, size_t n)
{
    size_t dlen = strlen(dict);
    size_t field = major == 1 ? 2 : 4;
    size_t total = 8 + field + dlen + n;
    unsigned char *buf = malloc(total);
    assert_non_null(buf);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    for (size_t i = 0; i < field; i++)
        buf[8 + i] = (unsigned char)(dlen >> (8 * i));
    memcpy(buf + 8 + field, dict, dlen);
    if (n)
        memcpy(buf + 8 + field + dlen, data, n);
    tu_write_file(path, buf, total);
    free(buf);
}

/* Entries of a directory other than . and .. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* ---------------------------------------------------------------------- */

static void npy_roundtrip_all(void **state)
{
    (void)state;
    static const size_t s0[1] = {0}, s1[1] = {5}, s2[2] = {3, 4},
                        s3[3] = {2, 3, 4}, s3e[3] = {2, 0, 3};
    static size_t big[BMP_MAX_DIMS];
    for (int i = 0; i < BMP_MAX_DIMS; i++)
        big[i] = i == 7 ? 2 : 1;
    static const struct {
        int ndim;
        const size_t *shape;
    } shapes[] = {
        {0, NULL},          {1, s0}, {1, s1}, {2, s2}, {3, s3}, {3, s3e},
        {BMP_MAX_DIMS, big}};
    char *dir = tu_mkdtemp();
    char *path = tu_join(dir, "a.npy");
    static const unsigned read_flags[] = {0, BMP_NPY_MMAP};
    for (size_t d = 0; d < N_WRITABLE; d++)
        for (int fortran = 0; fortran < 2; fortran++)
            for (int bo = 0; bo < 2; bo++)
                for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
                    bmp_array *a = make_array(writable[d], shapes[s].ndim,
                                              shapes[s].shape, fortran,
                                              bo ? '>' : '<');
                    bmp_error err = {0};
                    assert_int_equal(bmp_npy_write(path, a, 0, &err), 0);
                    assert_int_equal(err.code, 0);
                    for (size_t f = 0; f < 2; f++) {
                        bmp_array *b = NULL;
                        assert_int_equal(bmp_npy_read(path, read_flags[f], &b,
                                                      &err),
                                         0);
                        assert_same_array(a, b);
                        bmp_object_free(b, NULL);
                        /* Native: same values, native order. */
                        assert_int_equal(bmp_npy_read(path,
                                                      read_flags[f] |
                                                          BMP_NPY_NATIVE,
                                                      &b, &err),
                                         0);
                        assert_int_equal(b->byteorder,
                                         b->itemsize == 1 ? '|' : NATIVE);
                        for (size_t i = 0; i < a->count; i++) {
                            double x = bmp_array_get_double(a, i);
                            double y = bmp_array_get_double(b, i);
                            assert_true(memcmp(&x, &y, sizeof x) == 0 ||
                                        (x != x && y != y));
                        }
                        bmp_object_free(b, NULL);
                    }
                    bmp_object_free(a, NULL);
                }
    assert_int_equal(count_entries(dir), 1);
    free(path);
    tu_rmtree(dir);
    free(dir);
}

/* The bytes np.save() writes for np.zeros((3, 4)) and a Fortran-ordered
 * big-endian complex array. */
static void npy_header_matches_numpy(void **state)
{
    (void)state;
    char buf[BMP__NPY_HEADER_MAX];
    bmp_npy_header h = {.dtype = BMP_DTYPE_FLOAT64,
                        .byteorder = '<',
                        .ndim = 2,
                        .shape = {3, 4}};
    long n = bmp__npy_format_header(&h, buf, sizeof buf);
    assert_int_equal(n, 128);
    const char *dict =
        "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }";
    assert_memory_equal(buf, "\x93NUMPY\x01\x00v\x00", 10);
    assert_memory_equal(buf + 10, dict, strlen(dict));
    for (size_t i = 10 + strlen(dict); i < 127; i++)
        assert_int_equal(buf[i], ' ');
    assert_int_equal(buf[127], '\n');

    bmp_npy_header g = {.dtype = BMP_DTYPE_COMPLEX128,
                        .byteorder = '>',
                        .fortran_order = 1,
                        .ndim = 1,
                        .shape = {5}};
    n = bmp__npy_format_header(&g, buf, sizeof buf);
    assert_int_equal(n % 64, 0);
    const char *d2 =
        "{'descr': '>c16', 'fortran_order': True, 'shape': (5,), }";
    assert_memory_equal(buf + 10, d2, strlen(d2));

    bmp_npy_header z = {.dtype = BMP_DTYPE_BOOL, .byteorder = '<'};
    n = bmp__npy_format_header(&z, buf, sizeof buf);
    const char *d3 = "{'descr': '|b1', 'fortran_order': False, 'shape': (), }";
    assert_memory_equal(buf + 10, d3, strlen(d3));
    assert_int_equal(buf[10 + strlen(d3)], ' ');

    /* What was formatted parses back to the same description. */
    bmp_npy_header back;
    assert_int_equal(bmp_npy_parse_header(buf, (size_t)n, &back, NULL), 0);
    assert_int_equal(back.dtype, BMP_DTYPE_BOOL);
    assert_int_equal(back.ndim, 0);
    assert_int_equal(back.count, 1);
    assert_int_equal(back.data_offset, (size_t)n);

    h.dtype = BMP_DTYPE_FLOAT16;
    assert_int_equal(bmp__npy_format_header(&h, buf, sizeof buf),
                     BMP_EUNSUPPORTED);
    h.dtype = BMP_DTYPE_FLOAT64;
    h.byteorder = 'x';
    assert_int_equal(bmp__npy_format_header(&h, buf, sizeof buf), BMP_EINVAL);
    h.byteorder = '<';
    assert_int_equal(bmp__npy_format_header(&h, buf, 100), -ENOSPC);
}

static void npy_float16_read_only(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *path = tu_join(dir, "h.npy");
    const unsigned char le[] = {0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38};
    write_raw(path, 1,
              "{'descr': '<f2', 'fortran_order': False, 'shape': (3,), }\n",
              le, sizeof le);
    bmp_array *a = NULL;
    bmp_error err = {0};
    assert_int_equal(bmp_npy_read(path, BMP_NPY_NATIVE, &a, &err), 0);
    assert_int_equal(a->dtype, BMP_DTYPE_FLOAT16);
    assert_true(bmp_array_get_double(a, 0) == 1.0);
    assert_true(bmp_array_get_double(a, 1) == -2.0);
    assert_true(bmp_array_get_double(a, 2) == 0.5);
    bmp_object_free(a, NULL);

    const unsigned char be[] = {0x3c, 0x00, 0xc0, 0x00, 0x38, 0x00};
    write_raw(path, 1,
              "{'descr': '>f2', 'fortran_order': False, 'shape': (3,), }\n",
              be, sizeof be);
    assert_int_equal(bmp_npy_read(path, 0, &a, &err), 0);
    assert_int_equal(a->byteorder, '>');
    assert_true(bmp_array_get_double(a, 1) == -2.0);
    assert_int_equal(bmp_array_to_native(a), 0);
    assert_int_equal(a->byteorder, NATIVE);
    assert_true(bmp_array_get_double(a, 2) == 0.5);

    /* Writing float16 is refused and leaves nothing behind. */
    char *out = tu_join(dir, "out.npy");
    assert_int_equal(bmp_npy_write(out, a, 0, &err), BMP_EUNSUPPORTED);
    assert_int_equal(err.code, BMP_EUNSUPPORTED);
    assert_string_equal(err.stage, "write");
    assert_string_equal(err.source, out);
    assert_false(tu_exists(out));
    assert_int_equal(count_entries(dir), 1);
    bmp_object_free(a, NULL);
    free(out);
    free(path);
    tu_rmtree(dir);
    free(dir);
}

/* Versions 2.0 and 3.0 (4-byte length), and the syntax variants NumPy
 * accepts. */
static void npy_versions_and_syntax(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *path = tu_join(dir, "v.npy");
    int32_t data[6] = {1, -2, 3, -4, 5, -6};
    static const struct {
        int major;
        const char *dict;
    } ok[] = {
        {2, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }\n"},
        {3, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }\n"},
        {1,
         "{\"shape\": (2, 3), \"fortran_order\": False, \"descr\": \"<i4\"}"},
        {1, "{'descr':'<i4','fortran_order':False,'shape':(2,3)}"},
        {1, "  {\n\t'descr' : '<i4' ,\r\n 'fortran_order' : False ,\n"
            " 'shape' : ( 2 , 3 , ) , }  \n\n"},
        {1, "{'descr': '<i4', # the type\n 'fortran_order': False,\n"
            " 'shape': (2, 3)} # done\n"},
        {2, "{'descr': '<i4', 'fortran_order': False, 'shape': (2L, 3L), }"},
        {1, "{'descr': '<i4', 'fortran_order': False, 'shape': (+2, 0_3), }"},
        {1, "{'descr': '>f8', 'descr': '<i4', 'fortran_order': True,"
            " 'fortran_order': False, 'shape': (2, 3), }"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        write_raw(path, ok[i].major, ok[i].dict, data, sizeof data);
        bmp_array *a = NULL;
        bmp_error err = {0};
        int rc = bmp_npy_read(path, BMP_NPY_NATIVE, &a, &err);
        if (rc != 0)
            fail_msg("case %zu: %s", i, err.text);
        assert_int_equal(a->dtype, BMP_DTYPE_INT32);
        assert_int_equal(a->ndim, 2);
        assert_int_equal(a->shape[0], 2);
        assert_int_equal(a->shape[1], 3);
        assert_int_equal(a->fortran_order, 0);
        assert_memory_equal(a->data, data, sizeof data);
        bmp_object_free(a, NULL);
    }

    /* Byte-order spellings. */
    static const struct {
        const char *descr;
        bmp_dtype dtype;
        char order;
    } orders[] = {
        {"'=f4'", BMP_DTYPE_FLOAT32, NATIVE},
        {"'|f4'", BMP_DTYPE_FLOAT32, NATIVE},
        {"'f4'", BMP_DTYPE_FLOAT32, NATIVE},
        {"'>u2'", BMP_DTYPE_UINT16, '>'},
        {"'<i1'", BMP_DTYPE_INT8, '|'},
        {"'?'", BMP_DTYPE_BOOL, '|'},
        {"'>b1'", BMP_DTYPE_BOOL, '|'},
        {"'<c8'", BMP_DTYPE_COMPLEX64, '<'},
    };
    for (size_t i = 0; i < sizeof orders / sizeof orders[0]; i++) {
        char dict[200];
        snprintf(dict, sizeof dict,
                 "{'descr': %s, 'fortran_order': True, 'shape': (1,), }",
                 orders[i].descr);
        char buf[300] = "\x93NUMPY\x01";
        size_t dl = strlen(dict);
        buf[8] = (char)dl;
        buf[9] = 0;
        memcpy(buf + 10, dict, dl);
        bmp_npy_header h;
        bmp_error err = {0};
        int rc = bmp_npy_parse_header(buf, 10 + dl, &h, &err);
        if (rc != 0)
            fail_msg("descr %s: %s", orders[i].descr, err.text);
        assert_int_equal(h.dtype, orders[i].dtype);
        assert_int_equal(h.byteorder, orders[i].order);
        assert_int_equal(h.fortran_order, 1);
        assert_int_equal(h.data_offset, 10 + dl);
    }

    /* The Python 2 'L' suffix is a syntax error in version 3.0 headers. */
    write_raw(path, 3,
              "{'descr': '<i4', 'fortran_order': False, 'shape': (2L, 3), }",
              data, sizeof data);
    bmp_array *a = NULL;
    bmp_error err = {0};
    assert_int_equal(bmp_npy_read(path, 0, &a, &err), BMP_EFORMAT);
    assert_null(a);
    assert_non_null(strstr(err.text, "integer"));

    /* Extra bytes after the data are ignored, as NumPy does. */
    int32_t more[8] = {1, -2, 3, -4, 5, -6, 99, 99};
    write_raw(path, 1,
              "{'descr': '<i4', 'fortran_order': False, 'shape': (6,), }",
              more, sizeof more);
    assert_int_equal(bmp_npy_read(path, BMP_NPY_MMAP, &a, &err), 0);
    assert_int_equal(a->count, 6);
    bmp_object_free(a, NULL);
    free(path);
    tu_rmtree(dir);
    free(dir);
}

static void npy_mmap_vs_copy(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *path = tu_join(dir, "m.npy");
    const size_t shape[2] = {100, 37};
    bmp_array *a = make_array(BMP_DTYPE_FLOAT64, 2, shape, 0, OTHER);
    assert_int_equal(bmp_npy_write(path, a, BMP_NPY_FSYNC, NULL), 0);
    size_t size0;
    char *before = tu_read_file(path, &size0);

    bmp_array *m = NULL, *c = NULL;
    assert_int_equal(bmp_npy_read(path, BMP_NPY_MMAP, &m, NULL), 0);
    assert_int_equal(bmp_npy_read(path, 0, &c, NULL), 0);
    bmp__array_storage *ms = m->bmp__private, *cs = c->bmp__private;
    assert_non_null(ms);
    assert_non_null(ms->map_base);
    assert_true(cs == NULL || cs->map_base == NULL);
    assert_same_array(m, c);
    /* The map is private: changing the data, or swapping it to native
     * order, leaves the file as it was. */
    memset(m->data, 0xab, 64);
    assert_int_equal(bmp_array_to_native(m), 0);
    assert_int_equal(m->byteorder, NATIVE);
    size_t size1;
    char *after = tu_read_file(path, &size1);
    assert_int_equal(size0, size1);
    assert_memory_equal(before, after, size0);
    bmp_object_free(m, NULL);

    /* MMAP | NATIVE on a file in the other byte order. */
    assert_int_equal(bmp_npy_read(path, BMP_NPY_MMAP | BMP_NPY_NATIVE, &m,
                                  NULL),
                     0);
    assert_int_equal(m->byteorder, NATIVE);
    for (size_t i = 0; i < m->count; i++) {
        double x = bmp_array_get_double(a, i), y = bmp_array_get_double(m, i);
        assert_true(memcmp(&x, &y, sizeof x) == 0);
    }
    bmp_object_free(m, NULL);
    bmp_object_free(c, NULL);
    bmp_object_free(a, NULL);

    /* Data at an offset not aligned for float64: copied, not mapped. */
    double vals[3] = {1.5, -2.5, 1e300};
    write_raw(path, 1,
              "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)}\n",
              vals, sizeof vals);
    assert_int_equal(bmp_npy_read(path, BMP_NPY_MMAP | BMP_NPY_NATIVE, &m,
                                  NULL),
                     0);
    ms = m->bmp__private;
    assert_true(ms == NULL || ms->map_base == NULL);
    assert_int_equal(((uintptr_t)m->data) % sizeof(double), 0);
    assert_true(bmp_array_get_double(m, 2) == 1e300);
    bmp_object_free(m, NULL);

    /* An empty array maps nothing. */
    write_raw(path, 1,
              "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 4)}  \n",
              NULL, 0);
    assert_int_equal(bmp_npy_read(path, BMP_NPY_MMAP, &m, NULL), 0);
    assert_int_equal(m->count, 0);
    assert_int_equal(m->nbytes, 0);
    assert_non_null(m->data);
    bmp_object_free(m, NULL);

    free(before);
    free(after);
    free(path);
    tu_rmtree(dir);
    free(dir);
}

static void npy_atomic_success(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *path = tu_join(dir, "out.npy");
    const size_t shape[1] = {1000};
    bmp_array *a = make_array(BMP_DTYPE_INT16, 1, shape, 0, '<');
    tu_write_file(path, "old contents", 12);
    assert_int_equal(bmp_npy_write(path, a, 0, NULL), 0);
    /* Only the final file: no temporary left behind. */
    assert_int_equal(count_entries(dir), 1);
    size_t size;
    char *bytes = tu_read_file(path, &size);
    assert_int_equal(size, 128 + 2000);
    free(bytes);
    mode_t mask = umask(022);
    umask(mask);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0666 & ~mask);
    bmp_object_free(a, NULL);
    free(path);
    tu_rmtree(dir);
    free(dir);
}

static void npy_atomic_failures(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    const size_t shape[1] = {10};
    bmp_array *a = make_array(BMP_DTYPE_FLOAT32, 1, shape, 0, '<');
    bmp_error err = {0};

    /* A missing directory. */
    char *missing = tu_join(dir, "no/such/out.npy");
    assert_int_equal(bmp_npy_write(missing, a, 0, &err), -ENOENT);
    assert_string_equal(err.stage, "write");
    assert_string_equal(err.source, missing);
    assert_false(tu_exists(missing));
    assert_int_equal(count_entries(dir), 0);

    /* The final name is a non-empty directory: rename fails after the
     * data were written; the temporary must go. */
    char *sub = tu_join(dir, "taken.npy");
    assert_int_equal(mkdir(sub, 0777), 0);
    char *inside = tu_join(sub, "keep");
    tu_write_file(inside, "x", 1);
    memset(&err, 0, sizeof err);
    assert_true(bmp_npy_write(sub, a, BMP_NPY_FSYNC, &err) < 0);
    assert_string_equal(err.source, sub);
    assert_int_equal(count_entries(dir), 1);
    assert_true(tu_exists(inside));

    /* A read-only directory (root writes anyway, so only as another user). */
    if (geteuid() != 0) {
        char *ro = tu_join(dir, "ro");
        assert_int_equal(mkdir(ro, 0555), 0);
        char *target = tu_join(ro, "out.npy");
        memset(&err, 0, sizeof err);
        assert_int_equal(bmp_npy_write(target, a, 0, &err), -EACCES);
        assert_false(tu_exists(target));
        assert_int_equal(count_entries(ro), 0);
        free(target);
        free(ro);
    }

    /* Inconsistent arrays are refused before any file is made. */
    char *path = tu_join(dir, "bad.npy");
    a->count = 11;
    memset(&err, 0, sizeof err);
    assert_int_equal(bmp_npy_write(path, a, 0, &err), BMP_EINVAL);
    a->count = 10;
    a->byteorder = 'x';
    assert_int_equal(bmp_npy_write(path, a, 0, NULL), BMP_EINVAL);
    a->byteorder = '<';
    assert_int_equal(bmp_npy_write(NULL, a, 0, NULL), BMP_EINVAL);
    assert_int_equal(bmp_npy_write(path, NULL, 0, NULL), BMP_EINVAL);
    assert_false(tu_exists(path));

    bmp_object_free(a, NULL);
    free(path);
    free(inside);
    free(sub);
    free(missing);
    tu_rmtree(dir);
    free(dir);
}

/* A write that fails half-way (the file size limit stops it) leaves the
 * old file untouched and no temporary. */
static void npy_atomic_failure_midway(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *path = tu_join(dir, "out.npy");
    tu_write_file(path, "old contents", 12);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {4096, 4096};
        setrlimit(RLIMIT_FSIZE, &rl);
        const size_t shape[1] = {1 << 17};
        bmp_array *a = bmp_array_new(BMP_DTYPE_FLOAT64, 1, shape);
        bmp_error err = {0};
        int rc = a ? bmp_npy_write(path, a, 0, &err) : -1;
        _exit(rc == -EFBIG && strcmp(err.stage, "write") == 0 ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    size_t size;
    char *bytes = tu_read_file(path, &size);
    assert_int_equal(size, 12);
    assert_memory_equal(bytes, "old contents", 12);
    assert_int_equal(count_entries(dir), 1);
    free(bytes);
    free(path);
    tu_rmtree(dir);
    free(dir);
}

static void npy_read_errors(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    bmp_array *a = (bmp_array *)1;
    bmp_error err = {0};
    char *path = tu_join(dir, "absent.npy");
    assert_int_equal(bmp_npy_read(path, 0, &a, &err), -ENOENT);
    assert_null(a);
    assert_string_equal(err.stage, "read");
    assert_string_equal(err.source, path);
    assert_non_null(strstr(err.text, "cannot open"));
    memset(&err, 0, sizeof err);
    assert_int_equal(bmp_npy_read(dir, 0, &a, &err), -EISDIR);
    assert_int_equal(bmp_npy_read(NULL, 0, &a, NULL), BMP_EINVAL);
    assert_int_equal(bmp_npy_read(path, 0, NULL, NULL), BMP_EINVAL);
    bmp_npy_header h;
    assert_int_equal(bmp_npy_parse_header(NULL, 0, &h, NULL), BMP_EINVAL);
    assert_int_equal(bmp_npy_parse_header("x", 1, NULL, NULL), BMP_EINVAL);
    /* The first error recorded wins. */
    memset(&err, 0, sizeof err);
    bmp_npy_parse_header("\x93NUMPY\x09\x00", 8, &h, &err);
    bmp_npy_parse_header("nope", 4, &h, &err);
    assert_int_equal(err.code, BMP_EUNSUPPORTED);
    assert_non_null(strstr(err.text, "9.0"));
    assert_string_equal(err.source, "");
    free(path);
    tu_rmtree(dir);
    free(dir);
}

static void npy_to_native(void **state)
{
    (void)state;
    const size_t shape[1] = {3};
    bmp_array *a = bmp_array_new(BMP_DTYPE_COMPLEX64, 1, shape);
    float re_im[6] = {1.0f, -1.0f, 2.5f, 0.0f, -3.0f, 1e30f};
    memcpy(a->data, re_im, sizeof re_im);
    /* Make the data non-native by hand, one float at a time. */
    unsigned char *p = a->data;
    for (size_t i = 0; i < sizeof re_im; i += 4) {
        unsigned char t = p[i];
        p[i] = p[i + 3];
        p[i + 3] = t;
        t = p[i + 1];
        p[i + 1] = p[i + 2];
        p[i + 2] = t;
    }
    a->byteorder = OTHER;
    assert_int_equal(bmp_array_to_native(a), 0);
    assert_int_equal(a->byteorder, NATIVE);
    assert_memory_equal(a->data, re_im, sizeof re_im);
    assert_int_equal(bmp_array_to_native(a), 0);
    assert_memory_equal(a->data, re_im, sizeof re_im);
    a->byteorder = 'x';
    assert_int_equal(bmp_array_to_native(a), BMP_EINVAL);
    assert_int_equal(bmp_array_to_native(NULL), BMP_EINVAL);
    bmp_object_free(a, NULL);
}

/* tests/data/npy/invalid/<case>/: input.npy and expected.txt. */
static void npy_invalid_cases(void **state)
{
    (void)state;
    const char *root = BMP_TEST_DATA "/npy/invalid";
    DIR *d = opendir(root);
    assert_non_null(d);
    int cases = 0, failed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *cdir = tu_join(root, e->d_name);
        char *input = tu_join(cdir, "input.npy");
        char *exp_path = tu_join(cdir, "expected.txt");
        char *expected = tu_read_file(exp_path, NULL);
        if (!expected) {
            print_error("%s: no expected.txt\n", e->d_name);
            failed++;
        } else {
            expected[strcspn(expected, "\r\n")] = '\0';
            static const unsigned flags[] = {0, BMP_NPY_MMAP | BMP_NPY_NATIVE};
            for (size_t f = 0; f < 2; f++) {
                bmp_array *a = NULL;
                bmp_error err = {0};
                int rc = bmp_npy_read(input, flags[f], &a, &err);
                if (a || (rc != BMP_EFORMAT && rc != BMP_EUNSUPPORTED) ||
                    rc != err.code || strcmp(err.stage, "read") ||
                    strcmp(err.source, input) || !*expected ||
                    !strstr(err.text, expected)) {
                    print_error(
                        "%s: rc %d (%s), text \"%s\"; expected \"%s\"\n",
                        e->d_name, rc, bmp_err_name(rc), err.text, expected);
                    failed++;
                }
                bmp_object_free(a, NULL);
            }
            /* The pure parser never reads past what it is given. */
            size_t size;
            char *bytes = tu_read_file(input, &size);
            if (bytes) {
                void *exact = malloc(size ? size : 1);
                memcpy(exact, bytes, size);
                bmp_npy_header h;
                bmp_npy_parse_header(exact, size, &h, NULL);
                free(exact);
                free(bytes);
            }
        }
        cases++;
        free(expected);
        free(exp_path);
        free(input);
        free(cdir);
    }
    closedir(d);
    assert_int_equal(failed, 0);
    assert_true(cases >= 30);
}

/* One run of the .npy ops over `in` with `kw` (taken), in the serial
 * executor. */
static bmp_pout *run_npy_ops(const char *in, json_t *kw)
{
    bmp_ops ops = {.version = BMP_OPS_VERSION,
                   .file_read = bmp_npy_file_read,
                   .file_write = bmp_npy_file_write};
    bmp_pipe *pipe = bmp_pipe_new(&ops, NULL);
    assert_non_null(pipe);
    json_t *names = json_pack("[s]", in);
    json_object_set_new(kw, "executor", json_string("serial"));
    json_object_set_new(kw, "overwrite", json_true());
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    if (bmp_pipeline(pipe, names, kw, NULL, NULL, &pout, &err) != 0)
        fail_msg("bmp_pipeline: %s", err.text);
    assert_int_equal(bmp_pout_count(pout), 1);
    json_decref(names);
    json_decref(kw);
    bmp_pipe_free(pipe);
    return pout;
}

static void assert_kw_type_failure(bmp_pout *pout, const char *message)
{
    assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_FAILED);
    assert_int_equal(pout->entries[0].r.code, BMP_EKWTYPE);
    assert_non_null(bmp_pout_error(pout, 0));
    assert_non_null(strstr(bmp_pout_error(pout, 0), message));
    assert_null(bmp_pout_outname(pout, 0));
    bmp_pout_free(pout);
}

/* A keyword of the wrong type fails the item with BMP_EKWTYPE, naming the
 * keyword and the type wanted, as in the FITS ops. */
static void npy_ops_keyword_types(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *in = tu_join(dir, "in.npy");
    const size_t shape[2] = {5, 3};
    bmp_array *a = make_array(BMP_DTYPE_INT32, 2, shape, 0, OTHER);
    assert_int_equal(bmp_npy_write(in, a, 0, NULL), 0);
    bmp_object_free(a, NULL);

    assert_kw_type_failure(run_npy_ops(in, json_pack("{s:s, s:s}", "outdir",
                                                     dir, "npy_mmap", "yes")),
                           "keyword npy_mmap must be a boolean");
    assert_kw_type_failure(run_npy_ops(in, json_pack("{s:s, s:[b]}", "outdir",
                                                     dir, "npy_native", 0)),
                           "keyword npy_native must be a boolean");

    /* The same keywords with their types: npy_native false keeps the
     * input's byte order in the output. */
    bmp_pout *pout = run_npy_ops(in,
                                 json_pack("{s:s, s:b, s:b}", "outdir", dir,
                                           "npy_mmap", 1, "npy_native", 0));
    assert_int_equal(bmp_pout_status(pout, 0), BMP_ITEM_OK);
    assert_non_null(bmp_pout_outname(pout, 0));
    bmp_array *out = NULL;
    assert_int_equal(bmp_npy_read(bmp_pout_outname(pout, 0), 0, &out, NULL),
                     0);
    assert_int_equal(out->byteorder, OTHER);
    bmp_object_free(out, NULL);
    bmp_pout_free(pout);
    free(in);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(npy_roundtrip_all),
        cmocka_unit_test(npy_header_matches_numpy),
        cmocka_unit_test(npy_float16_read_only),
        cmocka_unit_test(npy_versions_and_syntax),
        cmocka_unit_test(npy_mmap_vs_copy),
        cmocka_unit_test(npy_atomic_success),
        cmocka_unit_test(npy_atomic_failures),
        cmocka_unit_test(npy_atomic_failure_midway),
        cmocka_unit_test(npy_read_errors),
        cmocka_unit_test(npy_to_native),
        cmocka_unit_test(npy_invalid_cases),
        cmocka_unit_test(npy_ops_keyword_types),
    };
    return cmocka_run_group_tests_name("npy", tests, NULL, NULL);
}
