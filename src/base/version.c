/* version.c -- the library's version, for checks against the header. */
#include "bigmultipipe.h"

#define STR2(x) #x
#define STR(x) STR2(x)

unsigned bmp_version_number(void)
{
    return BMP_VERSION_NUMBER;
}

const char *bmp_version_string(void)
{
    return STR(BMP_VERSION_MAJOR) "." STR(BMP_VERSION_MINOR) "." STR(
        BMP_VERSION_PATCH);
}
