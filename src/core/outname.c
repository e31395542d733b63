/*
 * outname.c -- output names: SPEC.md's rules for outdir, outname_append
 * and outname, with meta overriding keywords, and directory creation.
 *
 * The rule is a pure function of (input name, keywords, meta) so that it
 * can be checked before anything runs (for collisions) and tested alone.
 */
#include "run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* meta's value wins when it is a non-empty string. */
static const char *setting(const json_t *kw, const json_t *meta,
                           const char *key, const char *dflt)
{
    const char *v = bmp_kw_str(meta, key, NULL);
    if (v && *v)
        return v;
    v = bmp_kw_str(kw, key, NULL);
    return v ? v : dflt;
}

/* outdir "/" stem append ext in one allocation (an absolute `stem`
 * ignores outdir).  Names are made for every item, once in the caller's
 * check for collisions and once in the worker, and printf's parsing of a
 * format cost more than the copying. */
static char *join(const char *dir, const char *stem, size_t stem_len,
                  const char *append, const char *ext)
{
    size_t dl = dir && stem[0] != '/' ? strlen(dir) : 0;
    size_t slash = dl > 0 && dir[dl - 1] != '/';
    size_t al = strlen(append), el = strlen(ext);
    char *out = malloc(dl + slash + stem_len + al + el + 1);
    if (!out)
        return NULL;
    char *at = out;
    if (dl > 0) { /* dir may be NULL */
        memcpy(at, dir, dl);
        at += dl;
    }
    if (slash)
        *at++ = '/';
    memcpy(at, stem, stem_len);
    at += stem_len;
    memcpy(at, append, al);
    at += al;
    memcpy(at, ext, el + 1);
    return out;
}

int bmp_outname_create(const char *in_name, const json_t *kw,
                       const json_t *meta, char **outname)
{
    *outname = NULL;
    const char *outdir = setting(kw, meta, "outdir", NULL);
    const char *given = setting(kw, meta, "outname", NULL);
    if (given && *given) {
        *outname = join(outdir, given, strlen(given), "", "");
        return *outname ? 0 : -ENOMEM;
    }
    if (!in_name)
        return BMP_ENOOUTNAME;
    const char *append = setting(kw, meta, "outname_append", "_bmp");
    const char *slash = strrchr(in_name, '/');
    const char *base = slash ? slash + 1 : in_name;
    if (!*base)
        return BMP_ENOOUTNAME;
    /* The extension is the last dot-suffix; leading dots (hidden file)
     * do not start one, as in Python's os.path.splitext. */
    const char *dot = strrchr(base, '.');
    const char *first = base + strspn(base, ".");
    if (dot && dot < first)
        dot = NULL;
    size_t stem = dot ? (size_t)(dot - base) : strlen(base);
    *outname = join(outdir, base, stem, append, dot ? dot : "");
    return *outname ? 0 : -ENOMEM;
}

/* The naming keywords a pre-process step or meta set must be strings
 * (or null): a number or a list as a name fails the item, where Python
 * would raise in os.path.join and end the run. */
static int check_naming_keywords(bmp_item *item)
{
    static const char *const keys[] = {"outdir", "outname_append", "outname"};
    const json_t *where[] = {item->meta, bmp__item_kw_view(item)};
    for (size_t w = 0; w < 2; w++)
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
            const char *v;
            if (bmp_kw_get_str(where[w], keys[k], &v) == BMP_EKWTYPE)
                return bmp_item_fail(item, BMP_EKWTYPE,
                                     "%s %s must be a string",
                                     w ? "keyword" : "meta key", keys[k]);
        }
    return 0;
}

int bmp_default_outname_create(bmp_item *item, char **outname)
{
    int rc = check_naming_keywords(item);
    if (rc < 0)
        return rc;
    rc = bmp_outname_create(bmp_item_name(item), bmp__item_kw_view(item),
                            item->meta, outname);
    if (rc != BMP_ENOOUTNAME)
        return rc;
    if (json_is_array(item->in_name))
        return bmp_item_fail(item, rc,
                             "a group item needs an output name: set the "
                             "outname keyword or meta key");
    /* "dir/" or "": Python would write OUTDIR/_bmp for every such item;
     * a made-up name shared by unrelated inputs is refused instead
     * (doc/differences.md). */
    const char *name = bmp_item_name(item);
    if (name && *name)
        return bmp_item_fail(item, rc,
                             "input %s has no base name (it ends in '/') to "
                             "make an output name from: set the outname "
                             "keyword or meta key",
                             name);
    return bmp_item_fail(item, rc,
                         "an empty input name has no base name to make an "
                         "output name from: set the outname keyword or meta "
                         "key");
}

int bmp_mkdir_parents(const char *dir)
{
    if (!dir || !*dir)
        return BMP_EINVAL;
    char *path = strdup(dir);
    if (!path)
        return -ENOMEM;
    int rc = 0;
    /* Create each prefix in turn; EEXIST is fine as long as the final
     * path turns out to be a directory. */
    for (char *p = path + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(path, 0777) != 0 && errno != EEXIST) {
                rc = -errno;
                break;
            }
            *p = saved;
            if (saved == '\0')
                break;
        }
    }
    if (rc == 0) {
        struct stat st;
        if (stat(dir, &st) != 0)
            rc = -errno;
        else if (!S_ISDIR(st.st_mode))
            rc = -ENOTDIR;
    }
    free(path);
    return rc;
}

int bmp_mkdir_parents_of(const char *path)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (!slash || slash == path)
        return path ? 0 : BMP_EINVAL;
    char *dir = strndup(path, (size_t)(slash - path));
    if (!dir)
        return -ENOMEM;
    int rc = bmp_mkdir_parents(dir);
    free(dir);
    return rc;
}
