/* pout_internal.h -- the pout's layout, for the pipeline that fills it. */
#ifndef BMP_POUT_INTERNAL_H
#define BMP_POUT_INTERNAL_H

#include "result.h"
#include "text_buf.h"

typedef struct bmp__pout_entry {
    json_t *in_name; /* owned reference */
    bmp__result r;
} bmp__pout_entry;

struct bmp_pout {
    size_t count;
    bmp__pout_entry *entries;
};

/* A pout of `count` empty entries.  NULL on ENOMEM. */
bmp_pout *bmp__pout_new(size_t count);
/* A pout that takes over `entries` (malloc'd, `count` filled entries).
 * NULL on ENOMEM, and then `entries` is still the caller's. */
bmp_pout *bmp__pout_adopt(bmp__pout_entry *entries, size_t count);

/* A deep copy of `src` into the empty entry `dst` (meta as object or
 * text, whichever `src` holds).  @return 0, or -ENOMEM with `dst` partly
 * filled, for bmp_pout_free() of its pout to release. */
int bmp__pout_entry_copy(bmp__pout_entry *dst, const bmp__pout_entry *src);

/* JSON text of a name that may not be UTF-8: bytes that are not valid
 * UTF-8 become "\udcXX" escapes (Python's surrogateescape), which
 * Python's json module and os.fsencode() turn back into the same bytes.
 * Appends to *buf (malloc'd, grown); @return 0 or -ENOMEM. */
int bmp__json_name_append(char **buf, size_t *len, size_t *cap,
                          const char *name);

/* A result as a pout line (no newline), appended to *buf (malloc'd,
 * grown); with index >= 0 the object starts with "index" (the journal's
 * lines).  @return 0 or -ENOMEM. */
int bmp__entry_append(char **buf, size_t *len, size_t *cap,
                      const json_t *in_name, const bmp__result *r, long index);

/* One pout entry as a line of JSON (no newline); malloc'd, NULL on
 * ENOMEM. */
char *bmp__pout_entry_line(const bmp_pout *pout, size_t i);

/* The same line for a result outside a pout; with index >= 0 the object
 * starts with "index" (the journal's lines). */
char *bmp__entry_line(const json_t *in_name, const bmp__result *r, long index);

/* Parses one line written by bmp__pout_entry_line() into entry `e`.
 * @return 0, or BMP_EPOUT with `why` set to a static reason. */
int bmp__pout_entry_parse(const char *line, bmp__pout_entry *e,
                          const char **why);

#endif
