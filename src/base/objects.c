/*
 * objects.c -- the library's data objects: byte buffers and group lists.
 *
 * Every library data object starts with a bmp_object header holding its
 * destructor, so that one default data_free can free any of them without
 * knowing what a step turned the data into.
 */
#include "bigmultipipe.h"

#include "objects_internal.h"

#include <stdlib.h>

void bmp_object_free(void *object, void *user)
{
    (void)user;
    if (object)
        ((bmp_object *)object)->destroy(object);
}

static void buffer_destroy(void *self)
{
    bmp_buffer *b = self;
    free(b->bytes);
    free(b);
}

bmp_buffer *bmp_buffer_new(size_t size)
{
    bmp_buffer *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    /* calloc(0) may return NULL; one byte keeps "no memory" unambiguous. */
    b->bytes = calloc(size ? size : 1, 1);
    if (!b->bytes) {
        free(b);
        return NULL;
    }
    b->obj.destroy = buffer_destroy;
    b->size = size;
    return b;
}

static void list_destroy(void *self)
{
    bmp_list *l = self;
    for (size_t i = 0; i < l->count; i++) {
        if (l->elements[i] && l->element_free)
            l->element_free(l->elements[i], l->user);
    }
    free(l->elements);
    free(l);
}

bmp_list *bmp_list_new(size_t count, void (*element_free)(void *, void *),
                       void *user)
{
    bmp_list *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->elements = calloc(count ? count : 1, sizeof *l->elements);
    if (!l->elements) {
        free(l);
        return NULL;
    }
    l->obj.destroy = list_destroy;
    l->count = count;
    l->element_free = element_free;
    l->user = user;
    return l;
}

json_t *bmp_names_new(size_t n, const char *const names[])
{
    json_t *array = json_array();
    if (!array)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        /* nocheck: file names are bytes, not necessarily UTF-8. */
        if (!names[i] ||
            json_array_append_new(array, json_string_nocheck(names[i]))) {
            json_decref(array);
            return NULL;
        }
    }
    return array;
}

int bmp__is_buffer(const void *data)
{
    return data && ((const bmp_object *)data)->destroy == buffer_destroy;
}

int bmp__is_list(const void *data)
{
    return data && ((const bmp_object *)data)->destroy == list_destroy;
}
