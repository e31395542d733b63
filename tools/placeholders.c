/*
 * placeholders.c -- the placeholders in the command's words: ours ({in},
 * {out}, {outdir}, {stem}, {ext}) and GNU parallel's ({}, {/}, {//},
 * {.}, {/.}, {#}, {%}), with GNU parallel's meanings.
 *
 * Without --shell each word becomes one argument of the program, whatever
 * the names hold, so no quoting is needed.  With --shell the words are
 * shell text and each value is inserted single-quoted: the shell then
 * reads it back as exactly one word, spaces, quotes and newlines
 * included.
 *
 * Placeholder syntax, where the braces are not after a $:
 *  - braces around a "name" of letters, digits and _ . / # % = -,
 *    nothing else, after an optional leading + ({in}, {input}, {1},
 *    and GNU parallel's {+/}, {+..});
 *  - GNU parallel's perl expression: "{=" up to the next "=}" in the same
 *    word, whatever is between (spaces included): {= s/a/b/ =}.
 * An unknown one is a usage error (placeholder_check), never passed on
 * literally, so that a typo such as {input}, or GNU parallel's {+/} and
 * {= perl =} which we do not have, cannot reach the program as a file
 * name.  Other text in braces -- an awk program with a space after the
 * brace ("{ print $1 }"), shell code (${x}, {a,b}) -- is not placeholder
 * syntax and stays as it is.
 */
#include "tool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* In the order of enum placeholder_id (tool.h).  "{}" last: it is a
 * prefix of nothing, but every name must be tried before it. */
static const char *const names[] = {"{in}",  "{out}", "{outdir}", "{stem}",
                                    "{ext}", "{/}",   "{//}",     "{.}",
                                    "{/.}",  "{#}",   "{%}",      "{}"};
#define N_NAMES (sizeof names / sizeof *names)

static const char *value_of(const placeholder_values *v, size_t k)
{
    const char *const values[] = {v->in,         v->out,  v->outdir, v->stem,
                                  v->ext,        v->base, v->dir,    v->noext,
                                  v->base_noext, v->seq,  v->slot,   v->in};
    const char *s = k < sizeof values / sizeof *values ? values[k] : NULL;
    return s ? s : "";
}

/* A character of a placeholder's name. */
static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c && strchr("_./#%=-", c));
}

/* The length of GNU parallel's perl expression "{= ... =}" at p, or 0. */
static size_t perl_expression_at(const char *p)
{
    if (p[0] != '{' || p[1] != '=')
        return 0;
    const char *end = strstr(p + 2, "=}");
    return end ? (size_t)(end + 2 - p) : 0;
}

/* The length of the placeholder syntax "{name}" at p (p[0] == '{'), or
 * 0 when the braces there are something else. */
static size_t syntax_at(const char *word, const char *p)
{
    if (*p != '{' || (p > word && p[-1] == '$'))
        return 0;
    size_t n = perl_expression_at(p);
    if (n)
        return n;
    n = p[1] == '+' ? 2 : 1; /* GNU parallel's {+/} {+.} {+..} */
    while (name_char(p[n]))
        n++;
    return p[n] == '}' ? n + 1 : 0;
}

/* The placeholder starting at `p`, or -1. */
static int placeholder_at(const char *word, const char *p)
{
    size_t n = syntax_at(word, p);
    if (!n)
        return -1;
    for (size_t k = 0; k < N_NAMES; k++)
        if (strlen(names[k]) == n && strncmp(p, names[k], n) == 0)
            return (int)k;
    return -1;
}

int placeholder_check(char *const words[], int n, char *msg, size_t msgsize)
{
    for (int i = 0; i < n; i++) {
        const char *w = words[i];
        for (const char *p = strchr(w, '{'); p; p = strchr(p + 1, '{')) {
            size_t len = syntax_at(w, p);
            if (len && perl_expression_at(p)) {
                snprintf(msg, msgsize,
                         "%.*s in \"%s\": GNU parallel's perl expressions "
                         "{= ... =} are not supported; compute the value in "
                         "the program (with --shell, in shell code) instead",
                         (int)len, p, w);
                return -1;
            }
            if (len && placeholder_at(w, p) < 0) {
                snprintf(msg, msgsize,
                         "unknown placeholder %.*s in \"%s\"; the "
                         "placeholders are {in} {out} {outdir} {stem} {ext} "
                         "and GNU parallel's {} {/} {//} {.} {/.} {#} {%%} "
                         "(text in braces with a space, as the awk program "
                         "'{ print }', is left as it is)",
                         (int)len, p, w);
                return -1;
            }
        }
    }
    return 0;
}

int placeholders_used(char *const words[], int n)
{
    for (int i = 0; i < n; i++)
        for (const char *p = strchr(words[i], '{'); p; p = strchr(p + 1, '{'))
            if (placeholder_at(words[i], p) >= 0)
                return 1;
    return 0;
}

int placeholder_used(char *const words[], int n, const char *name)
{
    for (int i = 0; i < n; i++)
        for (const char *p = strchr(words[i], '{'); p; p = strchr(p + 1, '{'))
            if (placeholder_at(words[i], p) >= 0 &&
                strncmp(p, name, strlen(name)) == 0 &&
                syntax_at(words[i], p) == strlen(name))
                return 1;
    return 0;
}

/* A growing string. */
typedef struct strbuf {
    char *s;
    size_t len, cap;
    int failed;
} strbuf;

static void sb_add(strbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 64;
        while (b->len + n + 1 > c)
            c *= 2;
        char *ns = realloc(b->s, c);
        if (!ns) {
            b->failed = 1;
            return;
        }
        b->s = ns;
        b->cap = c;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_add_str(strbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static char *sb_finish(strbuf *b)
{
    if (!b->failed && !b->s)
        sb_add(b, "", 0);
    if (b->failed) {
        free(b->s);
        return NULL;
    }
    return b->s;
}

static void sb_add_quoted(strbuf *b, const char *s)
{
    sb_add(b, "'", 1);
    for (; *s; s++) {
        if (*s == '\'')
            sb_add(b, "'\\''", 4);
        else
            sb_add(b, s, 1);
    }
    sb_add(b, "'", 1);
}

char *shell_quote(const char *s)
{
    strbuf b = {0};
    sb_add_quoted(&b, s);
    return sb_finish(&b);
}

/* One word with its placeholders replaced, quoted or not. */
static char *expand_word(const char *word, const placeholder_values *v,
                         int quote)
{
    strbuf b = {0};
    const char *p = word;
    while (*p) {
        int k = placeholder_at(word, p);
        if (k < 0) {
            sb_add(&b, p, 1);
            p++;
            continue;
        }
        if (quote)
            sb_add_quoted(&b, value_of(v, (size_t)k));
        else
            sb_add_str(&b, value_of(v, (size_t)k));
        p += strlen(names[k]);
    }
    return sb_finish(&b);
}

void placeholders_argv_free(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

char **placeholders_argv(char *const words[], int n,
                         const placeholder_values *v)
{
    int append = !placeholders_used(words, n);
    char **argv = calloc((size_t)n + 2, sizeof *argv);
    if (!argv)
        return NULL;
    for (int i = 0; i < n; i++) {
        argv[i] = expand_word(words[i], v, 0);
        if (!argv[i])
            goto fail;
    }
    if (append) {
        argv[n] = strdup(value_of(v, 0));
        if (!argv[n])
            goto fail;
    }
    return argv;
fail:
    placeholders_argv_free(argv);
    return NULL;
}

char *placeholders_shell(char *const words[], int n,
                         const placeholder_values *v)
{
    strbuf b = {0};
    for (int i = 0; i < n; i++) {
        char *w = expand_word(words[i], v, 1);
        if (!w) {
            free(b.s);
            return NULL;
        }
        if (i)
            sb_add(&b, " ", 1);
        sb_add_str(&b, w);
        free(w);
    }
    if (!placeholders_used(words, n)) {
        sb_add(&b, " ", 1);
        sb_add_quoted(&b, value_of(v, 0));
    }
    return sb_finish(&b);
}

int name_stem_ext(const char *path, char **stem, char **ext)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    /* As the output-name rule: the last dot-suffix, where leading dots
     * (a hidden file's) do not start one. */
    const char *first = base + strspn(base, ".");
    const char *dot = strrchr(base, '.');
    if (dot && dot < first)
        dot = NULL;
    size_t n = dot ? (size_t)(dot - base) : strlen(base);
    *stem = strndup(base, n);
    *ext = strdup(dot ? dot : "");
    if (!*stem || !*ext) {
        free(*stem);
        free(*ext);
        *stem = *ext = NULL;
        return -1;
    }
    return 0;
}

int outname_for(const char *in, const json_t *kw, const json_t *meta,
                const char *out_ext, char **out)
{
    int rc = bmp_outname_create(in, kw, meta, out);
    if (rc < 0 || !out_ext)
        return rc;
    char *stem, *ext;
    if (name_stem_ext(*out, &stem, &ext) < 0) {
        free(*out);
        *out = NULL;
        return -ENOMEM;
    }
    /* The name keeps its directory and stem; only the suffix changes. */
    size_t keep = strlen(*out) - strlen(ext);
    char *s = malloc(keep + strlen(out_ext) + 1);
    if (s) {
        memcpy(s, *out, keep);
        strcpy(s + keep, out_ext);
    }
    free(stem);
    free(ext);
    free(*out);
    *out = s;
    return s ? 0 : -ENOMEM;
}
