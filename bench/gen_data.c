/*
 * gen_data.c -- writes the benchmark's input files and prints their names,
 * one a line.
 *
 *   gen_data npy DIR COUNT ROWS COLS constant|noisy [SEED]
 *       COUNT .npy files of ROWS x COLS little-endian float64, named
 *       big_array_<i>.npy.  File i holds v = i % 10, as the seed's arrays
 *       (so that the seed's reject value 2 and boost target 3 occur):
 *       "constant" fills the array with v; "noisy" puts v at [0, 0] and
 *       v + a standard normal deviate everywhere else, so that the median
 *       has real work to do.
 *   gen_data bytes DIR COUNT SIZE [SEED]
 *       COUNT files of SIZE pseudo-random bytes, named tiny_<i>.bin.
 *
 * The .npy header is written here by hand, as NumPy's np.save() writes
 * version 1.0, so that the generator needs neither NumPy nor the library.
 */
#include "bench_util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rng_state;

/* splitmix64: small, fast and good enough for test data. */
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1]: never 0, so that log() below is finite. */
static double rng_unit(void)
{
    return ((double)(rng_next() >> 11) + 1.0) * 0x1.0p-53;
}

static void write_file(const char *path, const void *bytes, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        bu_die("cannot create %s: %s", path, strerror(errno));
    const char *p = bytes;
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            bu_die("cannot write %s: %s", path, strerror(errno));
        p += k;
        n -= (size_t)k;
    }
    if (close(fd) != 0)
        bu_die("cannot write %s: %s", path, strerror(errno));
}

/* The version 1.0 header for a C-order little-endian float64 array:
 * magic, version, length, and the dict padded with spaces and ended with
 * a newline so that the data start at a multiple of 64 bytes. */
static size_t npy_header(char *buf, size_t cap, size_t rows, size_t cols)
{
    char dict[256];
    int len = snprintf(dict, sizeof dict,
                       "{'descr': '<f8', 'fortran_order': False, "
                       "'shape': (%zu, %zu), }",
                       rows, cols);
    size_t total = 10 + (size_t)len + 1;
    size_t padded = (total + 63) / 64 * 64;
    if (padded > cap || padded - 10 > 65535)
        bu_die("npy header too long");
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)((padded - 10) & 0xff);
    buf[9] = (char)((padded - 10) >> 8);
    memcpy(buf + 10, dict, (size_t)len);
    memset(buf + 10 + len, ' ', padded - total);
    buf[padded - 1] = '\n';
    return padded;
}

static void gen_npy(const char *dir, long long count, size_t rows, size_t cols,
                    int noisy)
{
    size_t n = rows * cols;
    char header[256];
    size_t hlen = npy_header(header, sizeof header, rows, cols);
    unsigned char *buf = malloc(hlen + n * sizeof(double));
    if (!buf)
        bu_die("out of memory for a %zu x %zu array", rows, cols);
    memcpy(buf, header, hlen);
    double *d = (double *)(void *)(buf + hlen);
    for (long long i = 0; i < count; i++) {
        double v = (double)(i % 10);
        if (!noisy) {
            for (size_t k = 0; k < n; k++)
                d[k] = v;
        } else {
            /* Box-Muller: two deviates per pair of uniforms. */
            for (size_t k = 0; k < n; k += 2) {
                double r = sqrt(-2.0 * log(rng_unit()));
                double t = 2.0 * M_PI * rng_unit();
                d[k] = v + r * cos(t);
                if (k + 1 < n)
                    d[k + 1] = v + r * sin(t);
            }
            d[0] = v;
        }
        /* x86-64 and the other platforms this runs on are little-endian,
         * as the header says. */
        char *path = NULL;
        if (asprintf(&path, "%s/big_array_%lld.npy", dir, i) < 0)
            bu_die("out of memory");
        write_file(path, buf, hlen + n * sizeof(double));
        puts(path);
        free(path);
    }
    free(buf);
}

static void gen_bytes(const char *dir, long long count, size_t size)
{
    unsigned char *buf = malloc(size + 8);
    if (!buf)
        bu_die("out of memory");
    for (long long i = 0; i < count; i++) {
        for (size_t k = 0; k < size; k += 8) {
            uint64_t r = rng_next();
            memcpy(buf + k, &r, 8);
        }
        char *path = NULL;
        if (asprintf(&path, "%s/tiny_%06lld.bin", dir, i) < 0)
            bu_die("out of memory");
        write_file(path, buf, size);
        puts(path);
        free(path);
    }
    free(buf);
}

static void usage(void)
{
    fputs("usage: gen_data npy DIR COUNT ROWS COLS constant|noisy [SEED]\n"
          "       gen_data bytes DIR COUNT SIZE [SEED]\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 5)
        usage();
    const char *dir = argv[2];
    long long count = bu_parse_count(argv[3], "COUNT");
    if (strcmp(argv[1], "npy") == 0 && (argc == 7 || argc == 8)) {
        int noisy = strcmp(argv[6], "noisy") == 0;
        if (!noisy && strcmp(argv[6], "constant") != 0)
            usage();
        rng_state = argc == 8 ? (uint64_t)bu_parse_count(argv[7], "SEED") : 1;
        gen_npy(dir, count, (size_t)bu_parse_count(argv[4], "ROWS"),
                (size_t)bu_parse_count(argv[5], "COLS"), noisy);
    } else if (strcmp(argv[1], "bytes") == 0 && (argc == 5 || argc == 6)) {
        rng_state = argc == 6 ? (uint64_t)bu_parse_count(argv[5], "SEED") : 1;
        gen_bytes(dir, count, (size_t)bu_parse_count(argv[4], "SIZE"));
    } else {
        usage();
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
