/*
 * fork_hooks.h -- the hooks a program installs around the forks of worker
 * processes (bmp_set_fork_hooks(), public).  bmp__fork_worker() takes a
 * snapshot, so that one fork calls the hooks of one installation even when
 * another thread replaces them meanwhile.
 */
#ifndef BMP_FORK_HOOKS_H
#define BMP_FORK_HOOKS_H

#include "bigmultipipe.h"

typedef struct bmp__fork_hooks {
    bmp_fork_before_fn before;
    bmp_fork_after_fn after_parent;
    bmp_fork_after_fn after_child;
    void *ctx;
} bmp__fork_hooks;

/* The hooks installed now (all NULL when none). */
void bmp__fork_hooks_get(bmp__fork_hooks *out);

#endif
