/*
 * test_result_json.c -- results as text between processes: a helper
 * process runs the items on its copy of the run and sends each result
 * as bmp_run_result_json() gives it; the run's owner puts them in with
 * bmp_run_set_result_json() and ends with the pout of a run made in one
 * process.  Lines that are not this item's finished result are refused,
 * and leave the item as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bigmultipipe.h"
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define N_ITEMS 8
#define FAILING 3 /* the item whose step fails */

typedef tu_items fixture;

static int setup(void **state)
{
    *state = tu_items_new(N_ITEMS);
    return 0;
}

static int teardown(void **state)
{
    tu_items_free(*state);
    return 0;
}

/* data_process: the number in the file, times ten; FAILING fails. */
static int times_ten(bmp_item *item, void **data)
{
    bmp_buffer *b = *data;
    char text[32] = {0};
    memcpy(text, b->bytes, b->size < 31 ? b->size : 31);
    if (atoi(text) == FAILING)
        return bmp_item_fail(item, BMP_ESTEP, "no \"%d\" here", FAILING);
    int n = snprintf(text, sizeof text, "%d\n", atoi(text) * 10);
    bmp_buffer *out = bmp_buffer_new((size_t)n);
    memcpy(out->bytes, text, (size_t)n);
    bmp_object_free(b, NULL);
    *data = out;
    return BMP_CONTINUE;
}

static bmp_pipe *make_pipe(void)
{
    bmp_ops ops = {.data_process = times_ten};
    bmp_pipe *pipe = bmp_pipe_new(&ops, NULL);
    bmp_pipe_add_post(pipe, tu_record_value, NULL, "record");
    return pipe;
}

/* A copy of `line` with the first `from` replaced by `to`. */
static char *replaced(const char *line, const char *from, const char *to)
{
    const char *at = strstr(line, from);
    if (!at)
        return NULL;
    size_t head = (size_t)(at - line), n = strlen(line);
    char *s = malloc(n - strlen(from) + strlen(to) + 1);
    memcpy(s, line, head);
    strcpy(s + head, to);
    strcat(s, at + strlen(from));
    return s;
}

/* ---- the executor: a helper process computes, the owner sets ---------- */

typedef struct relay {
    int set;          /* lines put in */
    int refused;      /* refusals as documented */
    int not_accepted; /* refusals that left the item finished */
    int same_line;    /* the owner's line equals the helper's */
    int none_before;  /* no line for an item not finished */
} relay;

static int refuse(bmp_run *run, size_t index, const char *line)
{
    bmp_error e = {0};
    int ok = line &&
             bmp_run_set_result_json(run, index, line, &e) == BMP_EINVAL &&
             e.text[0] != '\0';
    if (!ok)
        fprintf(stderr, "item %zu: line accepted: %s\n", index,
                line ? line : "(none)");
    return ok;
}

static int relay_run(bmp_run *run, int workers, void *arg, bmp_error *err)
{
    (void)workers;
    relay *rl = arg;
    int fds[2];
    if (pipe(fds) != 0)
        return bmp_error_set(err, -errno, "relay", NULL, "pipe");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* The helper: its own copy of the run. */
        close(fds[0]);
        FILE *to = fdopen(fds[1], "w");
        for (size_t i = 0; i < bmp_run_count(run); i++) {
            bmp_run_item(run, i);
            char *line = bmp_run_result_json(run, i);
            fprintf(to, "%zu %s\n", i, line ? line : "");
            free(line);
        }
        fclose(to);
        _exit(0);
    }
    close(fds[1]);
    FILE *from = fdopen(fds[0], "r");
    char *buf = NULL, *prev = NULL;
    size_t cap = 0;
    int rc = 0;
    while (getline(&buf, &cap, from) > 0) {
        buf[strcspn(buf, "\n")] = '\0';
        size_t index = strtoul(buf, NULL, 10);
        const char *line = strchr(buf, ' ') + 1;
        char *none = bmp_run_result_json(run, index);
        rl->none_before += none == NULL;
        free(none);
        /* Refused: garbage, another item's line, an ok line that says
         * failed and keeps its output name. */
        rl->refused += refuse(run, index, "{\"in_name\": 1");
        rl->refused += refuse(run, index, "[1, 2]");
        if (prev)
            rl->refused += refuse(run, index, prev);
        if (index != FAILING) {
            char *bad = replaced(line, "\"status\": \"ok\"",
                                 "\"status\": \"failed\"");
            rl->refused += refuse(run, index, bad);
            free(bad);
        }
        rl->not_accepted += !bmp_run_item_done(run, index);
        rc = bmp_run_set_result_json(run, index, line, err);
        if (rc < 0)
            break;
        rl->set++;
        /* Once set, the same line again is refused: finished already. */
        rl->refused += refuse(run, index, line);
        char *mine = bmp_run_result_json(run, index);
        rl->same_line += mine && strcmp(mine, line) == 0;
        free(mine);
        free(prev);
        prev = strdup(line);
    }
    free(buf);
    free(prev);
    fclose(from);
    waitpid(pid, NULL, 0);
    return rc;
}

static void results_as_text_make_the_same_run(void **state)
{
    fixture *f = *state;
    bmp_pipe *pipe = make_pipe();
    json_t *kw = json_pack("{s:s, s:b, s:s}", "outdir", f->out,
                           "create_outdir", 1, "executor", "serial");
    bmp_pout *reference = NULL;
    assert_int_equal(bmp_pipeline(pipe, f->names, kw, NULL, NULL, &reference,
                                  NULL),
                     0);
    json_object_set_new(kw, "overwrite", json_true());

    relay rl = {0};
    bmp_executor ex = {.version = BMP_EXECUTOR_VERSION,
                       .run = relay_run,
                       .arg = &rl};
    bmp_pipe *relayed = make_pipe();
    assert_int_equal(bmp_pipe_set_executor(relayed, &ex), 0);
    bmp_pout *pout = NULL;
    bmp_error err = {0};
    int rc = bmp_pipeline(relayed, f->names, kw, NULL, NULL, &pout, &err);
    if (rc != 0)
        fprintf(stderr, "%s\n", err.text);
    assert_int_equal(rc, 0);
    assert_int_equal(rl.set, N_ITEMS);
    assert_int_equal(rl.none_before, N_ITEMS);
    assert_int_equal(rl.not_accepted, N_ITEMS);
    assert_int_equal(rl.same_line, N_ITEMS);
    /* Garbage twice and finished once for each item; another item's line
     * for all but the first; failed with an output name for all but
     * the failing item. */
    assert_int_equal(rl.refused, 3 * N_ITEMS + (N_ITEMS - 1) + (N_ITEMS - 1));
    assert_int_equal(bmp_pout_status(pout, FAILING), BMP_ITEM_FAILED);
    assert_string_equal(bmp_pout_error(pout, FAILING), "no \"3\" here");
    char *a = tu_entries_text(reference), *b = tu_entries_text(pout);
    assert_string_equal(a, b);
    free(a);
    free(b);
    bmp_pout_free(pout);
    bmp_pout_free(reference);
    json_decref(kw);
    bmp_pipe_free(relayed);
    bmp_pipe_free(pipe);
}

/* No run, no line, an index out of range: refused, nothing to read. */
static void results_as_text_arguments(void **state)
{
    (void)state;
    bmp_error e = {0};
    assert_null(bmp_run_result_json(NULL, 0));
    assert_int_equal(bmp_run_set_result_json(NULL, 0, "{}", &e), BMP_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(results_as_text_make_the_same_run,
                                        setup, teardown),
        cmocka_unit_test(results_as_text_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
