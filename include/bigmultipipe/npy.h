/* .npy format: declarations are added by the .npy module. */
#ifndef BIGMULTIPIPE_NPY_H
#define BIGMULTIPIPE_NPY_H
#endif
