/*
 * pipe.c -- the pipe object: operations, user pointer, construction
 * keywords and step lists.  Running is in pipeline.c.
 */
#include "run.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int bmp__step_list_append(bmp__step_list *list, bmp_step_fn fn, void *arg,
                          const char *name)
{
    if (!fn)
        return BMP_EINVAL;
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 4;
        bmp_step *steps = realloc(list->steps, cap * sizeof *steps);
        if (!steps)
            return -ENOMEM;
        list->steps = steps;
        list->cap = cap;
    }
    char *copy = NULL;
    if (name && list->owns_names) {
        copy = strdup(name);
        if (!copy)
            return -ENOMEM;
    }
    list->steps[list->count++] = (bmp_step){fn, arg,
                                            list->owns_names ? copy : name};
    return 0;
}

void bmp__step_list_clear(bmp__step_list *list)
{
    if (list->owns_names) {
        for (size_t i = 0; i < list->count; i++)
            free((char *)list->steps[i].name);
    }
    free(list->steps);
    list->steps = NULL;
    list->count = list->cap = 0;
}

bmp_pipe *bmp_pipe_new(const bmp_ops *ops, void *user)
{
    if (ops && ops->version > BMP_OPS_VERSION)
        return NULL;
    bmp_pipe *pipe = calloc(1, sizeof *pipe);
    if (!pipe)
        return NULL;
    if (ops)
        pipe->ops = *ops;
    pipe->ops.version = BMP_OPS_VERSION;
    /* Inheritance: an empty entry takes the library's default. */
#define DEFAULT(entry, fn) \
    if (!pipe->ops.entry)  \
        pipe->ops.entry = fn;
    DEFAULT(file_read, bmp_default_file_read)
    DEFAULT(pre_process, bmp_default_pre_process)
    DEFAULT(data_process, bmp_default_data_process)
    DEFAULT(data_process_meta_create, bmp_default_data_process_meta_create)
    DEFAULT(post_process, bmp_default_post_process)
    DEFAULT(outname_create, bmp_default_outname_create)
    DEFAULT(file_write, bmp_default_file_write)
    DEFAULT(data_free, bmp_object_free)
    DEFAULT(file_process, bmp_default_file_process)
#undef DEFAULT
    pipe->user = user;
    pipe->pre.owns_names = pipe->post.owns_names = 1;
    pipe->kw = json_object();
    if (!pipe->kw) {
        free(pipe);
        return NULL;
    }
    return pipe;
}

void bmp_pipe_free(bmp_pipe *pipe)
{
    if (!pipe)
        return;
    json_decref(pipe->kw);
    bmp__step_list_clear(&pipe->pre);
    bmp__step_list_clear(&pipe->post);
    free(pipe);
}

int bmp_pipe_kw_update(bmp_pipe *pipe, const json_t *kw)
{
    if (!pipe || !json_is_object(kw))
        return BMP_EINVAL;
    json_t *merged = bmp_kw_merge(pipe->kw, kw);
    if (!merged)
        return -ENOMEM;
    json_decref(pipe->kw);
    pipe->kw = merged;
    return 0;
}

json_t *bmp_pipe_kw(bmp_pipe *pipe)
{
    return pipe ? pipe->kw : NULL;
}

int bmp_pipe_add_pre(bmp_pipe *pipe, bmp_step_fn fn, void *arg,
                     const char *name)
{
    if (!pipe)
        return BMP_EINVAL;
    return bmp__step_list_append(&pipe->pre, fn, arg, name);
}

int bmp_pipe_add_post(bmp_pipe *pipe, bmp_step_fn fn, void *arg,
                      const char *name)
{
    if (!pipe)
        return BMP_EINVAL;
    return bmp__step_list_append(&pipe->post, fn, arg, name);
}

int bmp_pipe_set_executor(bmp_pipe *pipe, const bmp_executor *executor)
{
    if (!pipe)
        return BMP_EINVAL;
    if (!executor) {
        memset(&pipe->executor, 0, sizeof pipe->executor);
        return 0;
    }
    if (executor->version > BMP_EXECUTOR_VERSION || !executor->run)
        return BMP_EINVAL;
    if (executor->version <= 1) {
        /* A version-1 structure ends before `role`: not read, an owner.
         * Version 0 is read as 1: the version-1 header said "0 is read
         * as current", and a program built against it that wrote 0 has
         * a structure of version 1's size. */
        pipe->executor = (bmp_executor){.version = 1,
                                        .run = executor->run,
                                        .arg = executor->arg,
                                        .role = BMP_EXECUTOR_OWNER};
        return 0;
    }
    if (executor->role != BMP_EXECUTOR_OWNER &&
        executor->role != BMP_EXECUTOR_HELPER)
        return BMP_EINVAL;
    pipe->executor = *executor;
    return 0;
}

int bmp_pipe_set_progress(bmp_pipe *pipe, bmp_progress_fn fn, void *arg)
{
    if (!pipe)
        return BMP_EINVAL;
    pipe->progress = fn;
    pipe->progress_arg = arg;
    return 0;
}
