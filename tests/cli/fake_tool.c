/*
 * fake_tool.c -- a program for the command-line tests to run per item:
 *
 *   fake_tool IN OUT
 *
 * copies IN to OUT in upper case and prints {"bytes": N, "in": IN} on
 * standard output.  Words in IN's name change what it does:
 *   REJECT    exit 3 (the tests' --reject-code), nothing written
 *   FAIL      write half of OUT, say why on standard error, exit 5
 *   CRASH     say something on standard error, then die of SIGSEGV
 *   SLOW      sleep 0.4 s first (FAKE_SLOW_S overrides), then as usual
 *   HANG      sleep 30 s (for --timeout)
 *   PARTHANG  write part of OUT, then sleep 30 s
 *   FLAKY     fail (exit 4) the first time, when IN.flaky does not exist
 *             (OUT is a new temporary name at each attempt)
 *   METAFILE  write the meta to $BMP_META_FILE instead of standard output
 *   BADMETA   write text that is not JSON to $BMP_META_FILE
 *   TEXT      print plain text on standard output instead of JSON
 *   NOISY     write 100000 bytes to standard error, ending "last line"
 *   NOOUT     print the meta, write no output
 *   BIG       allocate 100 MiB and write to every page of it first (its
 *             peak resident memory is then at least that), then as usual
 * With FAKE_LOG set, each run first appends IN and a newline to that file.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* `s` as a JSON string (bytes >= 0x80 copied as they are). */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void meta(FILE *f, long bytes, const char *in, const char *via)
{
    fprintf(f, "{\"bytes\": %ld, \"in\": ", bytes);
    json_str(f, in);
    if (via)
        fprintf(f, ", \"via\": \"%s\"", via);
    fputs("}\n", f);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fake_tool IN OUT\n");
        return 2;
    }
    const char *in = argv[1], *out = argv[2];
    const char *log = getenv("FAKE_LOG");
    if (log) {
        FILE *l = fopen(log, "a");
        if (l) {
            fprintf(l, "%s\n", in);
            fclose(l);
        }
    }
    if (strstr(in, "SLOW")) {
        const char *s = getenv("FAKE_SLOW_S");
        sleep_s(s ? atof(s) : 0.4);
    }
    if (strstr(in, "BIG")) {
        size_t n = (size_t)100 << 20;
        volatile char *big = malloc(n);
        if (!big)
            return 7;
        for (size_t i = 0; i < n; i += 4096)
            big[i] = (char)i;
        free((void *)big);
    }
    if (strstr(in, "PARTHANG")) {
        FILE *fo = fopen(out, "wb");
        if (fo) {
            fputs("PART", fo);
            fclose(fo);
        }
    }
    if (strstr(in, "HANG"))
        sleep_s(30);
    if (strstr(in, "REJECT"))
        return 3;
    if (strstr(in, "CRASH")) {
        fprintf(stderr, "about to crash\n");
        fflush(stderr);
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
    }
    if (strstr(in, "FLAKY")) {
        char marker[4096];
        snprintf(marker, sizeof marker, "%s.flaky", in);
        if (access(marker, F_OK) != 0) {
            FILE *m = fopen(marker, "w");
            if (m)
                fclose(m);
            fprintf(stderr, "flaky: try again\n");
            return 4;
        }
    }
    FILE *fi = fopen(in, "rb");
    if (!fi) {
        fprintf(stderr, "fake_tool: cannot open %s\n", in);
        return 1;
    }
    FILE *fo = NULL;
    if (!strstr(in, "NOOUT")) {
        fo = fopen(out, "wb");
        if (!fo) {
            fprintf(stderr, "fake_tool: cannot create %s\n", out);
            return 1;
        }
    }
    long bytes = 0;
    int c;
    while ((c = fgetc(fi)) != EOF) {
        if (fo)
            fputc(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c, fo);
        bytes++;
        if (strstr(in, "FAIL") && bytes == 2)
            break;
    }
    fclose(fi);
    if (fo)
        fclose(fo);
    if (strstr(in, "FAIL")) {
        fprintf(stderr, "fake_tool: starting\nfake_tool: cannot process "
                        "this input\n");
        return 5;
    }
    if (strstr(in, "NOISY")) {
        for (int i = 0; i < 10000; i++)
            fputs("123456789\n", stderr);
        fputs("last line\n", stderr);
    }
    if (strstr(in, "METAFILE") || strstr(in, "BADMETA")) {
        const char *path = getenv("BMP_META_FILE");
        FILE *m = path ? fopen(path, "w") : NULL;
        if (!m) {
            fprintf(stderr, "fake_tool: no BMP_META_FILE\n");
            return 1;
        }
        if (strstr(in, "BADMETA"))
            fputs("this is not JSON\n", m);
        else
            meta(m, bytes, in, "file");
        fclose(m);
        return 0;
    }
    if (strstr(in, "TEXT"))
        printf("plain text, not JSON\n");
    else
        meta(stdout, bytes, in, NULL);
    return 0;
}
