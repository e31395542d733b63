/*
 * objects_internal.h -- telling the library's data objects apart, for the
 * default writer.  Each looks at the bmp_object header, so `data` must be
 * a library object (the default data_free makes the same assumption).
 */
#ifndef BMP_OBJECTS_INTERNAL_H
#define BMP_OBJECTS_INTERNAL_H

int bmp__is_buffer(const void *data);
int bmp__is_list(const void *data);
int bmp__is_array(const void *data);

#endif
