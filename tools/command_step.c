/*
 * command_step.c -- the per-item step of `bigmultipipe run`: a
 * bmp_ops.file_process that runs the user's command for one input.
 *
 * The command reads and writes its files itself, so the library's read,
 * process and write stages are replaced whole; what is left to this step
 * is the part the library cannot know: the output name ({out}, by the
 * library's rule), the command line, and turning what the command did
 * (exit code, standard output, standard error, BMP_META_FILE) into the
 * item's outname, meta and failure.
 */
#include "tool.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

/* Length of the valid UTF-8 sequence at s[0..n), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned cp, min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, min = 0x80, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, min = 0x800, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, min = 0x10000, cp = c & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Text as a JSON string: invalid UTF-8 becomes U+FFFD, so that whatever
 * bytes a program prints, the meta stays valid JSON. */
static json_t *text_json(const char *s, size_t n)
{
    char *t = malloc(n * 3 + 1);
    if (!t)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t len = utf8_len((const unsigned char *)s + i, n - i);
        if (len) {
            memcpy(t + k, s + i, len);
            k += len;
            i += len;
        } else {
            memcpy(t + k, "\xef\xbf\xbd", 3);
            k += 3;
            i++;
        }
    }
    json_t *j = json_stringn(t, k);
    free(t);
    return j;
}

/* Parses `s` as one JSON object (surrounding white space allowed). */
static json_t *json_object_text(const char *s, size_t n, json_error_t *jerr)
{
    json_t *v = json_loadb(s, n, 0, jerr);
    if (v && !json_is_object(v)) {
        json_decref(v);
        snprintf(jerr->text, sizeof jerr->text, "not a JSON object");
        return NULL;
    }
    return v;
}

static int only_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr(" \t\r\n", s[i]))
            return 0;
    return 1;
}

/* The last non-empty line of the captured standard error, for the item's
 * error message: it usually says why. */
static void last_line(const capture *c, char *out, size_t size)
{
    out[0] = '\0';
    if (!c->buf)
        return;
    size_t end = c->len;
    while (end > 0 && strchr(" \t\r\n", c->buf[end - 1]))
        end--;
    size_t start = end;
    while (start > 0 && c->buf[start - 1] != '\n')
        start--;
    size_t n = end - start;
    if (n >= size)
        n = size - 1;
    memcpy(out, c->buf + start, n);
    out[n] = '\0';
}

/* The environment of the command: ours with BMP_META_FILE set. */
static char **command_env(const char *meta_file)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 2, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "BMP_META_FILE=", 14) != 0)
            env[k++] = environ[i];
    if (asprintf(&env[k], "BMP_META_FILE=%s", meta_file) < 0) {
        free(env);
        return NULL;
    }
    return env;
}

static void free_env(char **env)
{
    if (!env)
        return;
    size_t k = 0;
    while (env[k + 1])
        k++;
    free(env[k]); /* only the entry made here */
    free(env);
}

/* Reads a small file whole; *len its size.  NULL when absent or empty. */
static char *read_small_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "re");
    *len = 0;
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        char *b = realloc(buf, cap + n + 1);
        if (!b)
            break;
        buf = b;
        memcpy(buf + cap, chunk, n);
        cap += n;
        buf[cap] = '\0';
    }
    fclose(f);
    *len = cap;
    if (cap == 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* What the command printed and wrote, into the item's meta.  A meta file
 * that is not a JSON object fails the item: that channel is explicit, so
 * garbage in it is a bug to show, not text to keep. */
static int gather_meta(bmp_item *item, const spawn_result *r,
                       const char *meta_file)
{
    json_t *meta = bmp_item_meta(item);
    const capture *out = &r->out;
    if (out->total > 0 && !only_space(out->buf ? out->buf : "", out->len)) {
        json_error_t jerr;
        json_t *obj = out->total == out->len
                          ? json_object_text(out->buf, out->len, &jerr)
                          : NULL;
        if (obj) {
            json_object_update(meta, obj);
            json_decref(obj);
        } else {
            size_t n = out->len < STDOUT_KEEP ? out->len : STDOUT_KEEP;
            json_object_set_new(meta, "stdout", text_json(out->buf, n));
            if (out->total > n)
                json_object_set_new(meta, "stdout_truncated",
                                    json_integer((json_int_t)(out->total -
                                                              n)));
        }
    }
    const capture *err = &r->err;
    if (err->total > 0) {
        json_object_set_new(meta, "stderr", text_json(err->buf, err->len));
        if (err->total > err->len)
            json_object_set_new(meta, "stderr_truncated",
                                json_integer((json_int_t)(err->total -
                                                          err->len)));
    }
    size_t len;
    char *text = read_small_file(meta_file, &len);
    if (text && !only_space(text, len)) {
        json_error_t jerr;
        json_t *obj = json_object_text(text, len, &jerr);
        free(text);
        if (!obj)
            return bmp_item_fail(item, BMP_ESTEP,
                                 "BMP_META_FILE does not hold a JSON "
                                 "object: %s",
                                 jerr.text);
        json_object_update(meta, obj);
        json_decref(obj);
        return 0;
    }
    free(text);
    return 0;
}

/* Claims.  A command writes {out} under its final name, so a command
 * killed with its worker (a timeout, a crash) can leave part of a file
 * there, which a retry would take for an existing output.  Before running
 * a command that creates {out}, the step leaves a claim in the run's
 * private directory, holding the name; it is removed once the item ends
 * in this step.  A claim still there means an attempt died: the next
 * attempt removes that output first, and the end of the run removes the
 * outputs of claims left by items that never succeeded. */
char *claim_path(const char *dir, size_t index)
{
    char *path = NULL;
    if (asprintf(&path, "%s/claim-%zu", dir, index) < 0)
        return NULL;
    return path;
}

static int claim(const char *path, const char *out)
{
    FILE *f = fopen(path, "we");
    if (!f)
        return -errno;
    int ok = fputs(out, f) >= 0;
    if (fclose(f) != 0 || !ok)
        return -EIO;
    return 0;
}

/* Removes the output that the claim at `path` names, and the claim. */
void claim_release_output(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    char *out = NULL;
    size_t cap = 0;
    if (getdelim(&out, &cap, '\0', f) > 0)
        unlink(out);
    free(out);
    fclose(f);
    unlink(path);
}

/* Builds the program's argv for this item (sh -c with --shell). */
static char **command_argv(const command_spec *spec,
                           const placeholder_values *v)
{
    if (!spec->shell)
        return placeholders_argv(spec->words, spec->nwords, v);
    char **argv = calloc(4, sizeof *argv);
    if (!argv)
        return NULL;
    argv[0] = strdup("/bin/sh");
    argv[1] = strdup("-c");
    argv[2] = placeholders_shell(spec->words, spec->nwords, v);
    if (!argv[0] || !argv[1] || !argv[2]) {
        placeholders_argv_free(argv);
        return NULL;
    }
    return argv;
}

/* What identifies a file's version: a file the command did not touch
 * keeps all of these. */
typedef struct file_mark {
    int exists;
    struct stat st;
} file_mark;

static file_mark mark(const char *path)
{
    file_mark m = {0};
    m.exists = stat(path, &m.st) == 0;
    return m;
}

static int written_since(const file_mark *before, const char *path)
{
    file_mark after = mark(path);
    if (!after.exists)
        return 0;
    if (!before->exists)
        return 1;
    const struct stat *a = &before->st, *b = &after.st;
    return a->st_ino != b->st_ino || a->st_dev != b->st_dev ||
           a->st_size != b->st_size ||
           a->st_mtim.tv_sec != b->st_mtim.tv_sec ||
           a->st_mtim.tv_nsec != b->st_mtim.tv_nsec ||
           a->st_ctim.tv_sec != b->st_ctim.tv_sec ||
           a->st_ctim.tv_nsec != b->st_ctim.tv_nsec;
}

int command_file_process(bmp_item *item, char **outname)
{
    const command_spec *spec = bmp_item_user(item);
    json_t *kw = bmp_item_kw(item);
    const char *in = bmp_item_name(item);
    *outname = NULL;
    if (!in)
        return bmp_item_fail(item, BMP_EINVAL,
                             "the command runs on single files, not groups");

    char *out = NULL, *stem = NULL, *ext = NULL, *meta_file = NULL;
    char *claim_file = NULL;
    char **argv = NULL, **env = NULL;
    spawn_result r = {.out = {.max = STDOUT_READ},
                      .err = {.max = STDERR_KEEP, .keep_tail = 1}};
    int rc = bmp_outname_create(in, kw, bmp_item_meta(item), &out);
    if (rc < 0) {
        rc = bmp_item_fail(item, rc, "no output name for %s: %s", in,
                           bmp_strerror(rc));
        goto done;
    }
    if (bmp_kw_bool(kw, "create_outdir", 0)) {
        rc = bmp_mkdir_parents_of(out);
        if (rc < 0) {
            bmp_item_fail(item, rc, "cannot create the directory of %s: %s",
                          out, bmp_strerror(rc));
            goto done;
        }
    }
    if (name_stem_ext(in, &stem, &ext) < 0 ||
        asprintf(&meta_file, "%s/meta-%zu", spec->meta_dir,
                 bmp_item_index(item)) < 0) {
        meta_file = NULL;
        rc = bmp_item_fail(item, -ENOMEM, "out of memory");
        goto done;
    }
    placeholder_values v = {in, out, bmp_kw_str(kw, "outdir", "."), stem,
                            ext};
    argv = command_argv(spec, &v);
    env = command_env(meta_file);
    if (!argv || !env) {
        rc = bmp_item_fail(item, -ENOMEM, "out of memory");
        goto done;
    }
    /* A retried item must not see its last attempt's meta, nor the part
     * of {out} that its last attempt left. */
    unlink(meta_file);
    claim_file = claim_path(spec->meta_dir, bmp_item_index(item));
    if (!claim_file) {
        rc = bmp_item_fail(item, -ENOMEM, "out of memory");
        goto done;
    }
    claim_release_output(claim_file);

    /* The library's rules for outputs: never the input itself, and an
     * existing file only with overwrite (the meta key wins). */
    file_mark before = mark(out), input = mark(in);
    if (before.exists && input.exists &&
        before.st.st_dev == input.st.st_dev &&
        before.st.st_ino == input.st.st_ino) {
        rc = bmp_item_fail(item, BMP_EINVAL,
                           "output name %s is the item's own input; "
                           "choose another --outdir or --outname_append",
                           out);
        goto done;
    }
    json_t *meta = bmp_item_meta(item);
    if (before.exists &&
        !bmp_kw_bool(meta, "overwrite", bmp_kw_bool(kw, "overwrite", 0))) {
        rc = bmp_item_fail(item, -EEXIST,
                           "output %s exists; --overwrite replaces it", out);
        goto done;
    }
    if (!before.exists && (rc = claim(claim_file, out)) < 0) {
        rc = bmp_item_fail(item, rc, "cannot write %s: %s", claim_file,
                           bmp_strerror(rc));
        goto done;
    }
    spawn_options so = {argv, env, spec->restore_sigint};
    rc = spawn_run(&so, &r);
    if (rc < 0) {
        rc = bmp_item_fail(item, rc, "cannot start the command: %s",
                           bmp_strerror(rc));
        goto done;
    }
    if (r.exec_errno) {
        rc = bmp_item_fail(item, -r.exec_errno, "cannot run %s: %s",
                           argv[0], strerror(r.exec_errno));
        goto done;
    }
    if (WIFEXITED(r.status) && spec->reject_code > 0 &&
        WEXITSTATUS(r.status) == spec->reject_code) {
        /* Rejected: (none, {}), as a pre-process step's reject; nothing
         * written stays. */
        json_object_clear(bmp_item_meta(item));
        if (!before.exists)
            unlink(out);
        rc = 0;
        goto done;
    }
    int meta_rc = gather_meta(item, &r, meta_file);
    if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
        /* A failed command's output is suspect: a half-written {out}
         * that it created must not pass for a result later. */
        if (!before.exists)
            unlink(out);
        char why[256];
        last_line(&r.err, why, sizeof why);
        if (WIFSIGNALED(r.status)) {
            int sig = WTERMSIG(r.status);
            const char *abbrev = sigabbrev_np(sig);
            rc = bmp_item_fail(item, BMP_ESTEP,
                               "command killed by signal SIG%s (%s)%s%s",
                               abbrev ? abbrev : "?", strsignal(sig),
                               why[0] ? ": " : "", why);
        } else {
            rc = bmp_item_fail(item, BMP_ESTEP,
                               "command exited with code %d%s%s",
                               WEXITSTATUS(r.status), why[0] ? ": " : "",
                               why);
        }
        goto done;
    }
    if (meta_rc < 0) {
        if (!before.exists) /* a failed item leaves no output */
            unlink(out);
        rc = meta_rc;
        goto done;
    }
    /* The command writes {out}; an item that did not write it (or left
     * an older file as it was) returns metadata only. */
    if (written_since(&before, out)) {
        *outname = out;
        out = NULL;
    }
    rc = 0;
done:
    /* The item ends here, whatever the outcome: its output, if any, is
     * either a result or already removed. */
    if (claim_file)
        unlink(claim_file);
    free(claim_file);
    if (meta_file)
        unlink(meta_file);
    spawn_result_free(&r);
    placeholders_argv_free(argv);
    free_env(env);
    free(meta_file);
    free(stem);
    free(ext);
    free(out);
    return rc;
}
