/* FITS format: declarations are added by the FITS module. */
#ifndef BIGMULTIPIPE_FITS_H
#define BIGMULTIPIPE_FITS_H
#endif
