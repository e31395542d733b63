/*
 * fork_hooks.c -- see fork_hooks.h.
 */
#include "fork_hooks.h"

#include <pthread.h>

static pthread_mutex_t hooks_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;
static bmp__fork_hooks hooks;

/* A child forked while another thread held the lock (any fork, also a
 * step's own) gets it unlocked: it may run a nested pipeline. */
static void hooks_lock_reset(void)
{
    pthread_mutex_init(&hooks_lock, NULL);
}

static void hooks_lock_setup(void)
{
    pthread_atfork(NULL, NULL, hooks_lock_reset);
}

int bmp_set_fork_hooks(bmp_fork_before_fn before,
                       bmp_fork_after_fn after_parent,
                       bmp_fork_after_fn after_child, void *ctx)
{
    /* A before hook without its after hooks would leave whatever it
     * takes (a lock, an interpreter's state) taken for ever; after hooks
     * alone are allowed (a child that only needs to reset something). */
    if (before && (!after_parent || !after_child))
        return BMP_EINVAL;
    pthread_once(&hooks_once, hooks_lock_setup);
    pthread_mutex_lock(&hooks_lock);
    hooks.before = before;
    hooks.after_parent = after_parent;
    hooks.after_child = after_child;
    hooks.ctx = ctx;
    pthread_mutex_unlock(&hooks_lock);
    return 0;
}

void bmp__fork_hooks_get(bmp__fork_hooks *out)
{
    pthread_once(&hooks_once, hooks_lock_setup);
    pthread_mutex_lock(&hooks_lock);
    *out = hooks;
    pthread_mutex_unlock(&hooks_lock);
}
