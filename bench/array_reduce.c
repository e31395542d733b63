/*
 * array_reduce.c -- a CCD reduction of one 2048x2048 frame in C, timed:
 * convert the raw frame to float32, subtract the bias frame, divide by
 * the flat, then mean, standard deviation, minimum, maximum and median.
 * bench/array_reduce.py does the same in NumPy on the same files, and
 * bench/run_arrays.sh runs both and compares (doc/arrays.md).
 *
 *   array_reduce make DIR          writes DIR/raw_uint16.npy,
 *                                  DIR/raw_float32.npy, DIR/bias.npy,
 *                                  DIR/flat.npy
 *   array_reduce run DIR REPS [--before]
 *                                  times REPS reductions of each raw frame
 *                                  with the library's array calls; with
 *                                  --before also the way a user wrote it
 *                                  before they existed (every pixel through
 *                                  bmp_array_get_double, the median by
 *                                  qsort), once
 *
 * Prints one JSON object a line: the input, the method, the shortest time
 * of each phase and of the whole, and the statistics (to check that both
 * languages computed the same thing).  The time of reading the files is
 * left out on both sides: the comparison is of the arithmetic.
 */
#include "bench_util.h"

#include <bigmultipipe.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIDE 2048

static bmp_array *frame(bmp_dtype dtype)
{
    const size_t shape[2] = {SIDE, SIDE};
    bmp_array *a = bmp_array_new(dtype, 2, shape);
    if (!a)
        bu_die("out of memory");
    return a;
}

static void save(const char *dir, const char *name, const bmp_array *a)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    bmp_error err = {0};
    if (bmp_npy_write(path, a, 0, &err) < 0)
        bu_die("%s", err.text);
}

static bmp_array *load(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    bmp_array *a = NULL;
    bmp_error err = {0};
    if (bmp_npy_read(path, BMP_NPY_NATIVE, &a, &err) < 0)
        bu_die("%s", err.text);
    return a;
}

/* A frame as a detector gives it: a bias level with a column pattern, a
 * flat field with a vignetting, sky and stars, read noise; a few hot
 * pixels at the top of the 16-bit range. */
static void make(const char *dir)
{
    bmp_array *raw = frame(BMP_DTYPE_UINT16), *bias = frame(BMP_DTYPE_FLOAT32),
              *flat = frame(BMP_DTYPE_FLOAT32);
    uint16_t *r = raw->data;
    float *b = bmp_array_f32(bias), *f = bmp_array_f32(flat);
    uint64_t seed = 2048;
    for (size_t y = 0; y < SIDE; y++)
        for (size_t x = 0; x < SIDE; x++) {
            size_t i = y * SIDE + x;
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            double u1 = (double)(seed >> 11) * 0x1p-53;
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            double u2 = (double)(seed >> 11) * 0x1p-53;
            double noise = sqrt(-2 * log(u1 + 1e-300)) * cos(6.283185307 * u2);
            double dx = (double)x / SIDE - 0.5, dy = (double)y / SIDE - 0.5;
            b[i] = (float)(1000 + 3 * sin((double)x * 0.01));
            f[i] = (float)(1 - 0.2 * (dx * dx + dy * dy));
            double sky = 500 + (i % 50021 == 0 ? 30000 : 0);
            double v = b[i] + sky * f[i] + 8 * noise;
            r[i] = (uint16_t)(i % 99991 == 0 ? 65535 : v < 0 ? 0 : v);
        }
    bmp_array *raw32 = NULL;
    bmp_error err = {0};
    if (bmp_array_convert(raw, BMP_DTYPE_FLOAT32, &raw32, &err) < 0)
        bu_die("%s", err.text);
    save(dir, "raw_uint16.npy", raw);
    save(dir, "raw_float32.npy", raw32);
    save(dir, "bias.npy", bias);
    save(dir, "flat.npy", flat);
    bmp_array_free(raw);
    bmp_array_free(raw32);
    bmp_array_free(bias);
    bmp_array_free(flat);
}

typedef struct phases {
    double convert, arithmetic, stats;
} phases;

/* The reduction as a user now writes it. */
static bmp_stats reduce(const bmp_array *raw, const bmp_array *bias,
                        const bmp_array *flat, phases *t)
{
    bmp_error err = {0};
    bmp_array *d = NULL;
    double t0 = bu_now();
    if (bmp_array_convert(raw, BMP_DTYPE_FLOAT32, &d, &err) < 0)
        bu_die("%s", err.text);
    double t1 = bu_now();
    float *x = bmp_array_f32(d);
    const float *b = bias->data, *f = flat->data;
    for (size_t i = 0; i < d->count; i++)
        x[i] = (x[i] - b[i]) / f[i];
    double t2 = bu_now();
    bmp_stats s;
    if (bmp_array_stats(d, 0, &s, &err) < 0)
        bu_die("%s", err.text);
    double t3 = bu_now();
    bmp_array_free(d);
    t->convert = t1 - t0;
    t->arithmetic = t2 - t1;
    t->stats = t3 - t2;
    return s;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The reduction as the user wrote it from the header alone. */
static bmp_stats reduce_before(const bmp_array *raw, const bmp_array *bias,
                               const bmp_array *flat, phases *t)
{
    double t0 = bu_now();
    bmp_array *d = bmp_array_new(BMP_DTYPE_FLOAT32, raw->ndim, raw->shape);
    float *x = d->data;
    for (size_t i = 0; i < raw->count; i++)
        x[i] = (float)((bmp_array_get_double(raw, i) -
                        bmp_array_get_double(bias, i)) /
                       bmp_array_get_double(flat, i));
    double t1 = bu_now();
    bmp_stats s = {.count = d->count};
    double sum = 0, sum2 = 0;
    s.min = INFINITY, s.max = -INFINITY;
    for (size_t i = 0; i < d->count; i++) {
        sum += x[i];
        s.min = fmin(s.min, x[i]);
        s.max = fmax(s.max, x[i]);
    }
    s.mean = sum / (double)d->count;
    for (size_t i = 0; i < d->count; i++)
        sum2 += (x[i] - s.mean) * (x[i] - s.mean);
    s.std = sqrt(sum2 / (double)d->count);
    qsort(x, d->count, sizeof *x, cmp_float);
    size_t n = d->count;
    s.median = n % 2 ? x[n / 2] : 0.5 * ((double)x[n / 2 - 1] + x[n / 2]);
    double t2 = bu_now();
    bmp_array_free(d);
    t->convert = 0;
    t->arithmetic = t1 - t0;
    t->stats = t2 - t1;
    return s;
}

/* The fastest of n times: on a machine shared with other programs, the
 * run they disturbed least, which is the one that measures the code. */
static double min_of(const double *v, int n)
{
    double m = v[0];
    for (int i = 1; i < n; i++)
        m = v[i] < m ? v[i] : m;
    return m;
}

static void run(const char *dir, int reps, int before)
{
    bmp_array *bias = load(dir, "bias.npy"), *flat = load(dir, "flat.npy");
    const char *inputs[] = {"uint16", "float32"};
    for (int k = 0; k < 2; k++) {
        char name[64];
        snprintf(name, sizeof name, "raw_%s.npy", inputs[k]);
        bmp_array *raw = load(dir, name);
        for (int method = 0; method < (before ? 2 : 1); method++) {
            int n = method ? 1 : reps;
            double *c = malloc(4 * sizeof(double) * (size_t)n);
            bmp_stats s = {0};
            for (int r = 0; r < n; r++) {
                phases t;
                s = method ? reduce_before(raw, bias, flat, &t)
                           : reduce(raw, bias, flat, &t);
                c[r] = t.convert, c[n + r] = t.arithmetic;
                c[2 * n + r] = t.stats;
                c[3 * n + r] = t.convert + t.arithmetic + t.stats;
            }
            printf("{\"input\": \"%s\", \"method\": \"%s\", \"reps\": %d, "
                   "\"convert\": %.6f, \"arithmetic\": %.6f, \"stats\": %.6f, "
                   "\"total\": %.6f, \"mean\": %.9g, \"std\": %.9g, "
                   "\"min\": %.9g, \"max\": %.9g, \"median\": %.9g}\n",
                   inputs[k], method ? "C, before" : "C", n, min_of(c, n),
                   min_of(c + n, n), min_of(c + 2 * n, n),
                   min_of(c + 3 * n, n), s.mean, s.std, s.min, s.max,
                   s.median);
            fflush(stdout);
            free(c);
        }
        bmp_array_free(raw);
    }
    bmp_array_free(bias);
    bmp_array_free(flat);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "make") == 0) {
        make(argv[2]);
        return 0;
    }
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "run") == 0) {
        int before = argc == 5 && strcmp(argv[4], "--before") == 0;
        if (argc == 5 && !before)
            bu_die("unknown option %s", argv[4]);
        run(argv[2], (int)bu_parse_count(argv[3], "repetitions"), before);
        return 0;
    }
    fprintf(stderr, "usage: array_reduce make DIR\n"
                    "       array_reduce run DIR REPS [--before]\n");
    return 2;
}
