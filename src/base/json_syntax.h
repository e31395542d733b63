/*
 * json_syntax.h -- is this text one JSON object, and nothing else?
 *
 * The caller keeps each worker's meta as the text the worker sent, and
 * writes it into the pout file and the journal as it is (channel.h,
 * result.h).  A worker whose memory went wrong could send text
 * that is not JSON, or that closes the object early and adds keys of the
 * pout line's own ("outname", "in_name"): the text is checked once, on
 * arrival, by this single pass that allocates nothing -- a fraction of
 * parsing it into jansson's objects, which most runs never need.
 *
 * The grammar is RFC 8259's, as jansson reads it with JSON_ALLOW_NUL:
 * strings hold valid UTF-8 and no raw control characters, escapes are
 * the standard ones, a \u escape of a surrogate comes in a high-low
 * pair, U+0000 appears in values but not in keys, numbers fit jansson's
 * (long long, and double without overflow), and nesting stays one level
 * under jansson's depth limit, counting scalars as jansson does, since
 * the meta is read inside the pout line's object.  Two things are
 * narrower than JSON, for the line-per-entry files the text goes into:
 * no white space but spaces and tabs, so no line break.  Duplicate keys
 * pass, as jansson reads them (the last one wins).
 */
#ifndef BMP_JSON_SYNTAX_H
#define BMP_JSON_SYNTAX_H

#include <stddef.h>

/* 1 when the `len` bytes at `text` (NUL-terminated at text[len]) are one
 * JSON object with no white space around it or bytes after it, else 0. */
int bmp__json_is_object_text(const char *text, size_t len);

#endif
