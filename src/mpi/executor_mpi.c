/*
 * executor_mpi.c -- the MPI executor: rank 0 hands out items and takes
 * results, the other ranks run them on a local pool of worker processes.
 *
 * Protocol, on a duplicate of the user's communicator, one run at a time:
 *
 *   helper -> 0   TAG_REQUEST  int: how many items it can take now (>= 1)
 *   0 -> helper   TAG_ITEMS    unsigned long long[]: item indices; an
 *                              empty array means "none left"
 *   helper -> 0   TAG_RESULT   bytes: the index (uint64_t, native order)
 *                              and the item's pout line, no newline
 *   helper -> 0   TAG_DONE     int: 0, or the helper's error code
 *
 * A helper asks again only after the answer to its last request, so rank
 * 0 answers at once and never waits for one helper while another needs
 * it.  After "none left" the helper ends its pool's input, drains it
 * (results go out from the pool's final callback), and says done.  Rank 0
 * blocks in MPI_Probe until every helper is done; then all ranks meet at
 * a barrier, so that a helper's next run cannot start talking before rank
 * 0 has left this one.
 *
 * Uses the public API only (bigmultipipe.h).
 */
#include <bigmultipipe.h>
#include <bigmultipipe/mpi.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TAG_REQUEST = 1, TAG_ITEMS = 2, TAG_RESULT = 3, TAG_DONE = 4 };

#define MPI_EXEC_MAGIC 0x6d706931u /* "mpi1" */
#define HELPER_WAIT_S 0.1
#define MAX_BATCH 256 /* items handed out in one answer, at most */

typedef struct mpi_exec {
    unsigned magic;
    MPI_Comm comm; /* our duplicate of the caller's communicator */
    int rank, size;
    char origin[MPI_MAX_PROCESSOR_NAME + 64]; /* see with_origin() */
} mpi_exec;

/* What a helper's pool callback needs. */
typedef struct helper_ctx {
    bmp_run *run;
    MPI_Comm comm;
    const char *origin;
    int error; /* first failure to send a result */
} helper_ctx;

static int mpi_fail(bmp_error *err, int rc, const char *what)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS)
        len = 0;
    text[len < 0 ? 0 : len] = '\0';
    return bmp_error_set(err, BMP_EPROTO, "mpi", NULL, "%s failed: %s", what,
                         text);
}

/* ---- rank 0 ------------------------------------------------------------ */

/* One rank: every item not done on a local pool, as the process executor
 * runs them. */
static int run_alone(bmp_run *run, int workers, bmp_error *err)
{
    bmp_pool *pool = NULL;
    int rc = bmp_pool_new(run, workers, NULL, NULL, &pool, err);
    if (rc < 0)
        return rc;
    size_t n = bmp_run_count(run);
    for (size_t i = 0; i < n; i++) {
        if (bmp_run_item_done(run, i))
            continue;
        rc = bmp_pool_add(pool, i);
        if (rc < 0) {
            bmp_error_set(err, rc, "mpi", NULL, "cannot queue item %zu: %s", i,
                          bmp_strerror(rc));
            goto out;
        }
    }
    bmp_pool_end_input(pool);
    for (;;) {
        rc = bmp_pool_drive(pool, -1.0, err);
        if (rc == BMP_POOL_DONE) {
            rc = 0;
            break;
        }
        if (rc < 0)
            break;
    }
out:
    bmp_pool_free(pool);
    return rc < 0 ? rc : 0;
}

/* Who was given each item: the rank, NOT_GIVEN, or TAKEN once its
 * result is in. */
#define NOT_GIVEN (-1)
#define TAKEN (-2)

static int answer_request(mpi_exec *mx, int source, const size_t *todo,
                          size_t ntodo, size_t *next, int *given,
                          bmp_error *err)
{
    int want = 0;
    int rc = MPI_Recv(&want, 1, MPI_INT, source, TAG_REQUEST, mx->comm,
                      MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS)
        return mpi_fail(err, rc, "MPI_Recv of a request");
    size_t k = want < 1 ? 1 : (size_t)want;
    if (k > MAX_BATCH)
        k = MAX_BATCH;
    if (k > ntodo - *next)
        k = ntodo - *next;
    unsigned long long buf[MAX_BATCH];
    for (size_t j = 0; j < k; j++) {
        buf[j] = todo[*next + j];
        given[todo[*next + j]] = source;
    }
    *next += k;
    rc = MPI_Send(buf, (int)k, MPI_UNSIGNED_LONG_LONG, source, TAG_ITEMS,
                  mx->comm);
    if (rc != MPI_SUCCESS)
        return mpi_fail(err, rc, "MPI_Send of items");
    return 0;
}

/* A result from `source`: into the run through its outlet.  A result the
 * run refuses is recorded in *first (the first error wins) and the loop
 * goes on, so that no helper is left waiting. */
static int take_result(mpi_exec *mx, bmp_run *run, const MPI_Status *st,
                       int *given, int *first, bmp_error *err)
{
    int len = 0;
    MPI_Get_count(st, MPI_BYTE, &len);
    char *buf = malloc((size_t)(len > 0 ? len : 0) + 1);
    if (!buf) {
        MPI_Recv(NULL, 0, MPI_BYTE, st->MPI_SOURCE, TAG_RESULT, mx->comm,
                 MPI_STATUS_IGNORE);
        if (!*first)
            *first = bmp_error_set(err, -ENOMEM, "mpi", NULL,
                                   "out of memory for a result of rank %d",
                                   st->MPI_SOURCE);
        return 0;
    }
    int rc = MPI_Recv(buf, len, MPI_BYTE, st->MPI_SOURCE, TAG_RESULT, mx->comm,
                      MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) {
        free(buf);
        return mpi_fail(err, rc, "MPI_Recv of a result");
    }
    if (len < (int)sizeof(uint64_t)) {
        if (!*first)
            *first = bmp_error_set(err, BMP_EPROTO, "mpi", NULL,
                                   "rank %d sent a result of %d bytes",
                                   st->MPI_SOURCE, len);
        free(buf);
        return 0;
    }
    uint64_t index;
    memcpy(&index, buf, sizeof index);
    buf[len] = '\0';
    /* Only the rank an item was given to may answer for it, once: every
     * item is run by exactly one rank, and a stray result cannot take
     * the place of the real one. */
    if (index >= bmp_run_count(run) || given[index] != st->MPI_SOURCE) {
        if (!*first)
            *first = bmp_error_set(err, BMP_EPROTO, "mpi", NULL,
                                   "rank %d sent a result for item %llu, "
                                   "which it was not given",
                                   st->MPI_SOURCE, (unsigned long long)index);
        free(buf);
        return 0;
    }
    given[index] = TAKEN;
    bmp_error why = {0};
    rc = bmp_run_set_result_json(run, (size_t)index, buf + sizeof index, &why);
    if (rc < 0 && !*first)
        *first = bmp_error_set(err, rc == -ENOMEM ? rc : BMP_EPROTO, "mpi",
                               NULL,
                               "rank %d sent a result for item %llu that "
                               "the run refused: %s",
                               st->MPI_SOURCE, (unsigned long long)index,
                               why.text[0] ? why.text : bmp_strerror(rc));
    free(buf);
    return 0;
}

static int run_owner(mpi_exec *mx, bmp_run *run, bmp_error *err)
{
    size_t n = bmp_run_count(run), ntodo = 0, next = 0;
    size_t *todo = malloc((n ? n : 1) * sizeof *todo);
    int *given = malloc((n ? n : 1) * sizeof *given);
    int first = 0, rc = 0;
    if (!todo || !given) {
        free(todo);
        todo = NULL;
        first = bmp_error_set(err, -ENOMEM, "mpi", NULL,
                              "out of memory for %zu items", n);
    }
    for (size_t i = 0; given && i < n; i++)
        given[i] = NOT_GIVEN;
    for (size_t i = 0; todo && i < n; i++)
        if (!bmp_run_item_done(run, i))
            todo[ntodo++] = i;
    int active = mx->size - 1;
    while (active > 0) {
        MPI_Status st;
        rc = MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, mx->comm, &st);
        if (rc != MPI_SUCCESS) {
            rc = mpi_fail(err, rc, "MPI_Probe");
            break;
        }
        if (st.MPI_TAG == TAG_REQUEST) {
            rc = answer_request(mx, st.MPI_SOURCE, todo, ntodo, &next, given,
                                err);
        } else if (st.MPI_TAG == TAG_RESULT) {
            rc = take_result(mx, run, &st, given, &first, err);
        } else if (st.MPI_TAG == TAG_DONE) {
            int code = 0;
            rc = MPI_Recv(&code, 1, MPI_INT, st.MPI_SOURCE, TAG_DONE, mx->comm,
                          MPI_STATUS_IGNORE);
            if (rc != MPI_SUCCESS)
                rc = mpi_fail(err, rc, "MPI_Recv of done");
            else if (code < 0 && !first)
                first = bmp_error_set(err, code, "mpi", NULL,
                                      "rank %d stopped: %s", st.MPI_SOURCE,
                                      bmp_strerror(code));
            active--;
        } else {
            int len = 0;
            MPI_Get_count(&st, MPI_BYTE, &len);
            char *junk = malloc((size_t)(len > 0 ? len : 1));
            rc = MPI_Recv(junk, junk ? len : 0, MPI_BYTE, st.MPI_SOURCE,
                          st.MPI_TAG, mx->comm, MPI_STATUS_IGNORE);
            free(junk);
            if (!first)
                first = bmp_error_set(err, BMP_EPROTO, "mpi", NULL,
                                      "rank %d sent a message of unknown "
                                      "tag %d",
                                      st.MPI_SOURCE, st.MPI_TAG);
        }
        if (rc < 0)
            break;
    }
    free(todo);
    free(given);
    if (rc < 0) /* MPI itself failed: no barrier can be trusted */
        return rc;
    rc = MPI_Barrier(mx->comm);
    if (rc != MPI_SUCCESS)
        return mpi_fail(err, rc, "MPI_Barrier");
    return first;
}

/* ---- the other ranks --------------------------------------------------- */

/* Where a helper's items ran, as the text that ends a pout line's stats
 * object: ,"rank":R,"host":"NAME"}} (doc/pout-format.md).  "" when it
 * cannot be made: the results then go without it. */
static void make_origin(mpi_exec *mx)
{
    char name[MPI_MAX_PROCESSOR_NAME + 1] = "";
    int len = 0;
    if (MPI_Get_processor_name(name, &len) != MPI_SUCCESS || len < 0)
        len = 0;
    name[len] = '\0';
    json_t *host = json_string(name);
    char *text = host ? json_dumps(host, JSON_ENCODE_ANY) : NULL;
    json_decref(host);
    mx->origin[0] = '\0';
    if (text && strlen(text) + 40 < sizeof mx->origin)
        snprintf(mx->origin, sizeof mx->origin, ",\"rank\":%d,\"host\":%s}}",
                 mx->rank, text);
    free(text);
}

/* The item's pout line with where it ran added to its stats: the line
 * ends with the stats object, the last key of the entry ("}}"). */
static char *with_origin(char *line, const char *origin)
{
    size_t len = line ? strlen(line) : 0;
    if (!origin[0] || len < 2 || strcmp(line + len - 2, "}}") != 0)
        return line;
    size_t olen = strlen(origin);
    char *out = realloc(line, len - 2 + olen + 1);
    if (!out)
        return line;
    memcpy(out + len - 2, origin, olen + 1);
    return out;
}

static void send_result(size_t index, void *arg)
{
    helper_ctx *h = arg;
    char *line = with_origin(bmp_run_result_json(h->run, index), h->origin);
    size_t len = line ? strlen(line) : 0;
    char *buf = line ? malloc(sizeof(uint64_t) + len) : NULL;
    if (!buf || sizeof(uint64_t) + len > (size_t)INT32_MAX) {
        if (!h->error)
            h->error = line ? -EMSGSIZE : -ENOMEM;
        free(buf);
        free(line);
        return;
    }
    uint64_t i64 = index;
    memcpy(buf, &i64, sizeof i64);
    memcpy(buf + sizeof i64, line, len);
    int rc = MPI_Send(buf, (int)(sizeof i64 + len), MPI_BYTE, 0, TAG_RESULT,
                      h->comm);
    if (rc != MPI_SUCCESS && !h->error)
        h->error = BMP_EPROTO;
    free(buf);
    free(line);
}

/* Asks rank 0 for `want` items and queues them; *ended when none are
 * left. */
static int ask_for_items(mpi_exec *mx, bmp_pool *pool, int want, int *ended,
                         bmp_error *err)
{
    int rc = MPI_Send(&want, 1, MPI_INT, 0, TAG_REQUEST, mx->comm);
    if (rc != MPI_SUCCESS)
        return mpi_fail(err, rc, "MPI_Send of a request");
    MPI_Status st;
    rc = MPI_Probe(0, TAG_ITEMS, mx->comm, &st);
    if (rc != MPI_SUCCESS)
        return mpi_fail(err, rc, "MPI_Probe for items");
    int k = 0;
    MPI_Get_count(&st, MPI_UNSIGNED_LONG_LONG, &k);
    unsigned long long buf[MAX_BATCH];
    if (k > MAX_BATCH) {
        /* Taken off the line first: left there, it would be read as the
         * answer to this rank's next request, in the next run. */
        unsigned long long *big = malloc((size_t)k * sizeof *big);
        if (!big)
            MPI_Abort(mx->comm, 1);
        MPI_Recv(big, k, MPI_UNSIGNED_LONG_LONG, 0, TAG_ITEMS, mx->comm,
                 MPI_STATUS_IGNORE);
        free(big);
        return bmp_error_set(err, BMP_EPROTO, "mpi", NULL,
                             "rank 0 sent %d items at once", k);
    }
    rc = MPI_Recv(buf, k, MPI_UNSIGNED_LONG_LONG, 0, TAG_ITEMS, mx->comm,
                  MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS)
        return mpi_fail(err, rc, "MPI_Recv of items");
    if (k <= 0) {
        bmp_pool_end_input(pool);
        *ended = 1;
        return 0;
    }
    int first = 0;
    for (int j = 0; j < k; j++) {
        rc = bmp_pool_add(pool, (size_t)buf[j]);
        /* An item this rank cannot take stays not_run on rank 0: the
         * ranks were not given the same run. */
        if (rc < 0 && !first)
            first = bmp_error_set(err, BMP_EPROTO, "mpi", NULL,
                                  "rank %d cannot take item %llu: %s",
                                  mx->rank, buf[j], bmp_strerror(rc));
    }
    return first;
}

static int run_helper(mpi_exec *mx, bmp_run *run, int workers, bmp_error *err)
{
    helper_ctx h = {run, mx->comm, mx->origin, 0};
    bmp_pool *pool = NULL;
    int rc = bmp_pool_new(run, workers, send_result, &h, &pool, err);
    int ended = 0;
    while (rc >= 0) {
        size_t running = bmp_pool_running(pool);
        if (!ended && running < (size_t)workers) {
            rc = ask_for_items(mx, pool, workers - (int)running, &ended, err);
            if (rc < 0)
                break;
        }
        rc = bmp_pool_drive(pool, ended ? -1.0 : HELPER_WAIT_S, err);
        if (rc == BMP_POOL_DONE) {
            rc = 0;
            break;
        }
    }
    bmp_pool_free(pool);
    if (rc >= 0 && h.error)
        rc = bmp_error_set(err, h.error, "mpi", NULL,
                           "rank %d could not send a result: %s", mx->rank,
                           bmp_strerror(h.error));
    int code = rc < 0 ? rc : 0;
    int mrc = MPI_Send(&code, 1, MPI_INT, 0, TAG_DONE, mx->comm);
    if (mrc != MPI_SUCCESS)
        return mpi_fail(err, mrc, "MPI_Send of done");
    mrc = MPI_Barrier(mx->comm);
    if (mrc != MPI_SUCCESS)
        return mpi_fail(err, mrc, "MPI_Barrier");
    return code;
}

static int mpi_run(bmp_run *run, int workers, void *arg, bmp_error *err)
{
    mpi_exec *mx = arg;
    if (!mx || mx->magic != MPI_EXEC_MAGIC)
        return bmp_error_set(err, BMP_EINVAL, "mpi", NULL,
                             "MPI executor used after its release");
    if (workers < 1)
        workers = 1;
    if (mx->size == 1)
        return run_alone(run, workers, err);
    if (mx->rank == 0)
        return run_owner(mx, run, err);
    return run_helper(mx, run, workers, err);
}

/* ---- the public functions --------------------------------------------- */

int bmp_mpi_executor(MPI_Comm comm, bmp_executor *out, bmp_error *err)
{
    int up = 0;
    if (!out || comm == MPI_COMM_NULL || MPI_Initialized(&up) != MPI_SUCCESS ||
        !up)
        return bmp_error_set(err, BMP_EINVAL, "mpi", NULL,
                             "bmp_mpi_executor needs an initialized MPI, a "
                             "communicator and a place for the executor");
    mpi_exec *mx = calloc(1, sizeof *mx);
    if (!mx)
        return bmp_error_set(err, -ENOMEM, "mpi", NULL, "out of memory");
    int rc = MPI_Comm_dup(comm, &mx->comm);
    if (rc != MPI_SUCCESS) {
        free(mx);
        return mpi_fail(err, rc, "MPI_Comm_dup");
    }
    /* A failed MPI call on our communicator ends the job: returning
     * from it on one rank would leave the others waiting for a message
     * that never comes (the caller's handler may say "return"). */
    MPI_Comm_set_errhandler(mx->comm, MPI_ERRORS_ARE_FATAL);
    MPI_Comm_rank(mx->comm, &mx->rank);
    MPI_Comm_size(mx->comm, &mx->size);
    mx->magic = MPI_EXEC_MAGIC;
    if (mx->rank != 0)
        make_origin(mx);
    memset(out, 0, sizeof *out);
    out->version = BMP_EXECUTOR_VERSION;
    out->run = mpi_run;
    out->arg = mx;
    out->role = mx->rank == 0 ? BMP_EXECUTOR_OWNER : BMP_EXECUTOR_HELPER;
    return 0;
}

void bmp_mpi_executor_release(bmp_executor *ex)
{
    if (!ex || ex->run != mpi_run || !ex->arg)
        return;
    mpi_exec *mx = ex->arg;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized)
        MPI_Comm_free(&mx->comm);
    mx->magic = 0;
    free(mx);
    memset(ex, 0, sizeof *ex);
}

int bmp_mpi_rank(const bmp_executor *ex)
{
    if (!ex || ex->run != mpi_run || !ex->arg)
        return -1;
    return ((const mpi_exec *)ex->arg)->rank;
}
