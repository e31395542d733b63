/*
 * perfile.c -- the benchmark's steps hand-written as one plain loop over
 * files: the floor every framework is measured against, and the program
 * that xargs, GNU parallel and `bigmultipipe run` start per file.
 *
 *   perfile MODE --out OUT IN              one file, output named OUT
 *   perfile MODE --out OUT1..OUTk IN1..INk k files (as `bigmultipipe
 *                                          run -n` gives them)
 *   perfile MODE --outdir DIR [--list FILE] [IN...]
 *                                          every IN (and every name in
 *                                          FILE), outputs DIR/stem_bmp.ext
 * MODE:
 *   seed  the seed's steps on a .npy float64 array: reject (first value
 *         2: no output), x10, boost (first value 3: +5 afterwards),
 *         median, average; the array written back with the input's own
 *         header.
 *   tiny  the sum of the file's bytes, and a copy of the file.
 * Either way a file is read whole, and written to a temporary name in the
 * output's directory and renamed: open, read, write, rename.
 * For each file, one JSON object (the item's metadata) is printed on
 * standard output: {"median": m, "average": a}, {} when rejected, or
 * {"sum": s}.  `bigmultipipe run` takes that line as the item's meta.
 *
 * The steps are those of workload.c, which the pipelines run too; the
 * program links no library but libc and libm, so that a start costs what
 * a small hand-written program costs.
 */
#include "bench_util.h"
#include "workload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The file being worked on, read whole; reused from file to file, as a
 * plain loop would. */
static unsigned char *buf;
static size_t buf_cap;

static int fail(const char *what, const char *path)
{
    fprintf(stderr, "perfile: cannot %s %s: %s\n", what, path,
            strerror(errno));
    return -1;
}

/* Reads `path` whole into buf; *size its length. */
static int read_whole(const char *path, size_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail("open", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return fail("stat", path);
    }
    size_t n = (size_t)st.st_size;
    if (n + 1 > buf_cap) {
        free(buf);
        buf_cap = n + 1;
        if (!(buf = malloc(buf_cap)))
            bu_die("out of memory for %s", path);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, buf + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            close(fd);
            return fail("read", path);
        }
        got += (size_t)k;
    }
    close(fd);
    *size = n;
    return 0;
}

/* Writes buf[0..size) to a temporary name beside `out`, renamed to `out`
 * when complete. */
static int write_whole(const char *out, size_t size)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", out, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0)
        return fail("create", tmp);
    for (size_t put = 0; put < size;) {
        ssize_t k = write(fd, buf + put, size - put);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            close(fd);
            unlink(tmp);
            return fail("write", tmp);
        }
        put += (size_t)k;
    }
    if (close(fd) != 0 || rename(tmp, out) != 0) {
        unlink(tmp);
        return fail("write", out);
    }
    return 0;
}

static int do_seed(const char *in, const char *out)
{
    size_t size, count;
    if (read_whole(in, &size) < 0)
        return -1;
    size_t at = wl_npy_f8_header(buf, size, &count);
    if (!at || at % sizeof(double) || count > (size - at) / sizeof(double)) {
        fprintf(stderr,
                "perfile: %s: not a C-order little-endian float64 "
                ".npy file\n",
                in);
        return -1;
    }
    double *d = (double *)(void *)(buf + at);
    if (d[0] == WL_REJECT_VALUE) {
        puts("{}");
        return 0;
    }
    int boost = d[0] == WL_BOOST_TARGET;
    wl_scale_add(d, count, WL_MULTIPLY, 0);
    if (boost)
        wl_scale_add(d, count, 1, WL_BOOST_AMOUNT);
    double median = wl_median(d, count), average = wl_average(d, count);
    if (write_whole(out, at + count * sizeof(double)) < 0)
        return -1;
    printf("{\"median\": %.17g, \"average\": %.17g}\n", median, average);
    return 0;
}

static int do_tiny(const char *in, const char *out)
{
    size_t size;
    if (read_whole(in, &size) < 0)
        return -1;
    uint64_t sum = wl_byte_sum(buf, size);
    if (write_whole(out, size) < 0)
        return -1;
    printf("{\"sum\": %llu}\n", (unsigned long long)sum);
    return 0;
}

static void usage(void)
{
    fputs("usage: perfile seed|tiny --out OUT IN\n"
          "       perfile seed|tiny --outdir DIR [--list FILE] [IN...]\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 4)
        usage();
    int (*step)(const char *, const char *);
    if (strcmp(argv[1], "seed") == 0)
        step = do_seed;
    else if (strcmp(argv[1], "tiny") == 0)
        step = do_tiny;
    else
        usage();

    int failures = 0;
    if (strcmp(argv[2], "--out") == 0) {
        int k = (argc - 3) / 2;
        if (k < 1 || argc != 3 + 2 * k)
            usage();
        for (int i = 0; i < k; i++)
            failures += step(argv[3 + k + i], argv[3 + i]) < 0;
        if (fflush(stdout) != 0)
            return 1;
        return failures ? 1 : 0;
    }
    if (strcmp(argv[2], "--outdir") != 0)
        usage();
    const char *outdir = argv[3];
    int first = 4;
    char **listed = NULL;
    size_t nlisted = 0;
    if (argc > 5 && strcmp(argv[4], "--list") == 0) {
        listed = bu_names_read(argv[5], &nlisted);
        first = 6;
    }
    for (size_t i = 0; i < nlisted; i++) {
        char *out = bu_outname(outdir, listed[i]);
        failures += step(listed[i], out) < 0;
        free(out);
    }
    for (int i = first; i < argc; i++) {
        char *out = bu_outname(outdir, argv[i]);
        failures += step(argv[i], out) < 0;
        free(out);
    }
    bu_names_free(listed, nlisted);
    free(buf);
    if (fflush(stdout) != 0)
        return 1;
    return failures ? 1 : 0;
}
