/*
 * fits_reduce.c -- a pipeline over FITS images: bias subtraction and
 * scaling, statistics in each item's metadata, FITS outputs.
 *
 *   fits_reduce [--bias VALUE | --bias-file FILE] [--scale S]
 *               [--outdir DIR] FILE...
 *   fits_reduce            (makes four small images and a bias frame in a
 *                           temporary directory, reduces them, cleans up)
 *
 * The library's FITS operations read and write the files
 * (bmp_fits_file_read, bmp_fits_file_write); this program supplies only
 * the science:
 *   data_process   float32 = (image - bias) * scale, with the bias a
 *                  number (keyword `bias`) or a frame (keyword
 *                  `bias_file`, read once per item in its worker)
 *   post step      median, mean, std, min and max of the result into meta
 *                  (bmp_array_stats)
 * Each output keeps its input's header cards, plus HISTORY cards saying
 * what was done; the pout lists every item with its metadata.
 */
#define _XOPEN_SOURCE 700 /* nftw, mkdtemp */
#include <bigmultipipe.h>

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------------- */
/*  The science                                                           */
/* ---------------------------------------------------------------------- */

static void add_history(bmp_array *a, const char *fmt, ...) BMP_PRINTF(2, 3);

static void add_history(bmp_array *a, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    json_t *v = json_string(text);
    bmp_fits_card_append(a->header, "HISTORY", v, NULL);
    json_decref(v);
}

/* Replaces the item's image by (image - bias) * scale, as float32: the
 * image converted once (bmp_array_convert, any dtype and byte order the
 * file had), then a plain loop over float pointers. */
static int calibrate(bmp_item *item, void **data)
{
    bmp_array *in = *data;
    json_t *kw = bmp_item_kw(item);
    double scale = bmp_kw_real(kw, "scale", 1.0);
    double bias = bmp_kw_real(kw, "bias", 0.0);
    const char *bias_file = bmp_kw_str(kw, "bias_file", NULL);
    bmp_error err = {0};

    bmp_array *frame = NULL, *frame32 = NULL;
    if (bias_file) {
        int rc = bmp_fits_read(bias_file, NULL, &frame, &err);
        if (rc < 0)
            return bmp_item_fail(item, rc, "bias frame: %s", err.text);
        if (frame->count != in->count || frame->ndim != in->ndim ||
            memcmp(frame->shape, in->shape,
                   sizeof(size_t) * (size_t)in->ndim)) {
            bmp_array_free(frame);
            return bmp_item_fail(item, BMP_EINVAL,
                                 "bias frame %s has another shape than %s",
                                 bias_file, bmp_item_name(item));
        }
        rc = bmp_array_convert(frame, BMP_DTYPE_FLOAT32, &frame32, &err);
        bmp_array_free(frame);
        if (rc < 0)
            return bmp_item_fail(item, rc, "bias frame: %s", err.text);
    }

    bmp_array *out = NULL;
    int rc = bmp_array_convert(in, BMP_DTYPE_FLOAT32, &out, &err);
    if (rc < 0) {
        bmp_array_free(frame32);
        return bmp_item_fail(item, rc, "%s", err.text);
    }
    float *o = bmp_array_f32(out);
    const float *b = frame32 ? bmp_array_f32(frame32) : NULL;
    float s = (float)scale, level = (float)bias;
    for (size_t i = 0; i < out->count; i++)
        o[i] = (o[i] - (b ? b[i] : level)) * s;

    /* The input's header cards move to the result (the writer replaces
     * the structural ones), and the input, freed below, lets go of them. */
    out->header = in->header ? in->header : json_array();
    in->header = NULL;
    if (frame32)
        add_history(out, "bias frame %s subtracted", bias_file);
    else
        add_history(out, "bias %g subtracted", bias);
    add_history(out, "scaled by %g", scale);
    bmp_array_free(frame32);

    bmp_item_data_free(item, in);
    *data = out;
    return BMP_CONTINUE;
}

/* A post-process step: statistics of the pixels into meta; NaN pixels
 * (blank in the file) are left out and counted. */
static int statistics(bmp_item *item, void **data, void *arg)
{
    (void)arg;
    bmp_stats s;
    bmp_error err = {0};
    int rc = bmp_array_stats(*data, 0, &s, &err);
    if (rc < 0)
        return bmp_item_fail(item, rc, "%s", err.text);
    if (s.count == 0)
        return bmp_item_fail(item, BMP_EINVAL, "no pixels that are not NaN");
    json_t *meta = bmp_item_meta(item);
    bmp_kw_set_real(meta, "median", s.median);
    bmp_kw_set_real(meta, "mean", s.mean);
    bmp_kw_set_real(meta, "std", s.std);
    bmp_kw_set_real(meta, "min", s.min);
    bmp_kw_set_real(meta, "max", s.max);
    return BMP_CONTINUE;
}

/* ---------------------------------------------------------------------- */
/*  Demonstration inputs                                                  */
/* ---------------------------------------------------------------------- */

/* Four 32x48 uint16 images: bias about 100, a level of 50 * (k + 1) and
 * a small gradient; and a float32 bias frame. */
static json_t *make_inputs(const char *dir, char *bias_path, size_t size)
{
    const size_t shape[2] = {32, 48};
    json_t *names = json_array();
    bmp_error err = {0};

    bmp_array *bias = bmp_array_new(BMP_DTYPE_FLOAT32, 2, shape);
    for (size_t i = 0; i < bias->count; i++)
        ((float *)bias->data)[i] = 100.0f + (float)(i % 7) * 0.5f;
    bias->header = json_array();
    bmp_fits_card_set_str(bias->header, "IMAGETYP", "bias", "frame type");
    snprintf(bias_path, size, "%s/bias.fits", dir);
    if (bmp_fits_write(bias_path, bias, NULL, 0, &err) < 0) {
        fprintf(stderr, "%s\n", err.text);
        exit(1);
    }

    for (int k = 0; k < 4; k++) {
        bmp_array *a = bmp_array_new(BMP_DTYPE_UINT16, 2, shape);
        for (size_t i = 0; i < a->count; i++)
            ((uint16_t *)a->data)[i] = (uint16_t)(((float *)bias->data)[i] +
                                                  50.0f * (float)(k + 1) +
                                                  (float)(i % shape[1]) *
                                                      0.25f);
        a->header = json_array();
        char object[32], path[4096];
        snprintf(object, sizeof object, "field %d", k);
        bmp_fits_card_set_str(a->header, "OBJECT", object, "target");
        bmp_fits_card_set_real(a->header, "EXPTIME", 10.0 * (k + 1),
                               "seconds");
        snprintf(path, sizeof path, "%s/image_%d.fits", dir, k);
        if (bmp_fits_write(path, a, NULL, 0, &err) < 0) {
            fprintf(stderr, "%s\n", err.text);
            exit(1);
        }
        json_array_append_new(names, json_string(path));
        bmp_array_free(a);
    }
    bmp_array_free(bias);
    return names;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void usage(void)
{
    fprintf(stderr, "usage: fits_reduce [--bias VALUE | --bias-file FILE] "
                    "[--scale S] [--outdir DIR] FILE...\n");
    exit(64);
}

int main(int argc, char **argv)
{
    json_t *kw = json_object();
    json_t *in_names = json_array();
    char tmpdir[] = "/tmp/fits_reduce-XXXXXX";
    int demo = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--bias") == 0 && i + 1 < argc)
            bmp_kw_set_real(kw, "bias", atof(argv[++i]));
        else if (strcmp(argv[i], "--bias-file") == 0 && i + 1 < argc)
            bmp_kw_set_str(kw, "bias_file", argv[++i]);
        else if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc)
            bmp_kw_set_real(kw, "scale", atof(argv[++i]));
        else if (strcmp(argv[i], "--outdir") == 0 && i + 1 < argc)
            bmp_kw_set_str(kw, "outdir", argv[++i]);
        else if (argv[i][0] == '-')
            usage();
        else
            json_array_append_new(in_names, json_string(argv[i]));
    }
    if (json_array_size(in_names) == 0) {
        if (argc > 1)
            usage();
        demo = 1;
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            return 1;
        }
        char bias_path[4096], outdir[4096];
        json_decref(in_names);
        in_names = make_inputs(tmpdir, bias_path, sizeof bias_path);
        snprintf(outdir, sizeof outdir, "%s/reduced", tmpdir);
        bmp_kw_set_str(kw, "bias_file", bias_path);
        bmp_kw_set_real(kw, "scale", 2.0);
        bmp_kw_set_str(kw, "outdir", outdir);
    }
    bmp_kw_set_bool(kw, "create_outdir", 1);
    bmp_kw_set_str(kw, "outname_append", "_red");

    const bmp_ops ops = {
        .version = BMP_OPS_VERSION,
        .file_read = bmp_fits_file_read,
        .data_process = calibrate,
        .file_write = bmp_fits_file_write,
    };
    bmp_pipe *pipe = bmp_pipe_new(&ops, NULL);
    if (!pipe || bmp_pipe_add_post(pipe, statistics, NULL, "statistics") < 0) {
        fprintf(stderr, "cannot make the pipe\n");
        return 1;
    }
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    int rc = bmp_pipeline(pipe, in_names, kw, NULL, NULL, &pout, &err);
    if (rc < 0) {
        fprintf(stderr, "pipeline failed: %s\n", err.text);
        return 1;
    }

    int failures = 0;
    for (size_t i = 0; i < bmp_pout_count(pout); i++) {
        const char *in = json_string_value(bmp_pout_in_name(pout, i));
        const char *out = bmp_pout_outname(pout, i);
        char *meta = json_dumps(bmp_pout_meta(pout, i),
                                JSON_COMPACT | JSON_SORT_KEYS |
                                    JSON_REAL_PRECISION(6));
        const char *base_in = in && strrchr(in, '/') ? strrchr(in, '/') + 1
                                                     : in;
        const char *base_out = out && strrchr(out, '/') ? strrchr(out, '/') + 1
                                                        : out;
        printf("%s -> %s [%s] %s\n", base_in ? base_in : "(group)",
               base_out ? base_out : "None",
               bmp_status_name(bmp_pout_status(pout, i)), meta ? meta : "{}");
        if (bmp_pout_error(pout, i)) {
            printf("    error: %s\n", bmp_pout_error(pout, i));
            failures++;
        }
        free(meta);
    }

    bmp_pout_free(pout);
    bmp_pipe_free(pipe);
    json_decref(kw);
    json_decref(in_names);
    if (demo)
        nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return failures ? 1 : 0;
}
