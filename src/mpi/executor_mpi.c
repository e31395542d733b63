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
 *   helper -> 0   TAG_ALIVE    int: 0; sent when the helper has sent
 *                              nothing else for a quarter of the
 *                              heartbeat time-out
 *
 * At the start of each run rank 0 broadcasts its heartbeat time-out, so
 * that every rank uses rank 0's.  With a time-out (the default), rank 0
 * waits for messages in MPI_Iprobe with a nanosleep back-off (20 us
 * doubling to 2 ms, back to 20 us at each message), so that it can see a
 * helper pass its deadline; without one it blocks in MPI_Probe.  A
 * helper that stays silent past the time-out (stopped, hung, its node
 * lost without MPI noticing) ends rank 0's run: the items it held are
 * failed with BMP_ETIMEOUT, the run returns BMP_EINTERRUPTED with the
 * pout of what finished, and the caller must end the job (MPI_Abort), as
 * the lost rank can no longer meet the others.
 *
 * A helper asks again only after the answer to its last request, so rank
 * 0 answers at once and never waits for one helper while another needs
 * it.  After "none left" the helper ends its pool's input, drains it
 * (results go out from the pool's final callback), and says done.  Rank 0
 * waits for messages until every helper is done (or lost, below); then
 * all ranks meet at a barrier, so that a helper's next run cannot start
 * talking before rank 0 has left this one.
 *
 * Uses the public API only (bigmultipipe.h).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep */
#include <bigmultipipe.h>
#include <bigmultipipe/mpi.h>

#include "binding.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    TAG_REQUEST = 1,
    TAG_ITEMS = 2,
    TAG_RESULT = 3,
    TAG_DONE = 4,
    TAG_ALIVE = 5
};

#define MPI_EXEC_MAGIC 0x6d706931u /* "mpi1" */
#define HELPER_WAIT_S 0.1
#define HELPER_MIN_WAIT_S 0.005
#define MAX_BATCH 256 /* items handed out in one answer, at most */
/* Rank 0's sleep between two empty MPI_Iprobe calls: short after a
 * message, when the next is likely soon, doubling to a bound that keeps
 * an idle rank 0 at a few hundred wake-ups a second. */
#define BACKOFF_MIN_NS 20000L
#define BACKOFF_MAX_NS 2000000L

typedef struct mpi_exec {
    unsigned magic;
    MPI_Comm comm; /* our duplicate of the caller's communicator */
    int rank, size;
    double heartbeat;    /* seconds; 0: no time-out (rank 0's rules) */
    int lost;            /* rank 0: helpers lost in the last run */
    bmp_mpi_stats stats; /* rank 0: its last run's costs */
    char *hosts;         /* rank 0: each rank's processor name */
    char origin[MPI_MAX_PROCESSOR_NAME + 64]; /* see with_origin() */
} mpi_exec;

/* What a helper's pool callback needs. */
typedef struct helper_ctx {
    bmp_run *run;
    MPI_Comm comm;
    const char *origin;
    int error;        /* first failure to send a result */
    double last_sent; /* when this rank last sent rank 0 anything */
} helper_ctx;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *host_of(const mpi_exec *mx, int rank)
{
    return mx->hosts ? mx->hosts + (size_t)rank * MPI_MAX_PROCESSOR_NAME : "?";
}

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

/* Items given to `rank` whose result never came: failed, with the code
 * and the reason of what happened to that rank, so that the pout and the
 * journal say it, and resume runs them again (it takes only ok and
 * no_output from the journal). */
static void fail_given(bmp_run *run, int *given, int rank, int code,
                       const char *why)
{
    size_t n = bmp_run_count(run);
    for (size_t i = 0; i < n; i++) {
        if (given[i] != rank)
            continue;
        bmp_item_result r = {.version = BMP_ITEM_RESULT_VERSION,
                             .status = BMP_ITEM_FAILED,
                             .error = why,
                             .code = code};
        bmp_run_set_result(run, i, &r, NULL);
        given[i] = TAKEN;
    }
}

/* What rank 0 knows of each helper. */
enum { HELPER_ACTIVE = 0, HELPER_DONE = 1, HELPER_LOST = 2 };

/* The next message for rank 0, into *st: 0; 1 when, before one came, a
 * helper still active passed the heartbeat time-out (*late is its rank);
 * a negative code when MPI failed.  Without a time-out it blocks in
 * MPI_Probe.  With one, it polls with MPI_Iprobe and sleeps between two
 * empty polls, so rank 0 sleeps, not spins, while it waits: a thread
 * blocked in MPI_Probe beside a watchdog would need MPI_THREAD_MULTIPLE
 * to end the run, which the caller may not have asked for. */
static int next_message(const mpi_exec *mx, const int *state, double *heard,
                        MPI_Status *st, int *late, bmp_error *err)
{
    if (mx->heartbeat <= 0) {
        int rc = MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, mx->comm, st);
        return rc == MPI_SUCCESS ? 0 : mpi_fail(err, rc, "MPI_Probe");
    }
    long backoff = BACKOFF_MIN_NS;
    for (;;) {
        int flag = 0;
        int rc = MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, mx->comm, &flag, st);
        if (rc != MPI_SUCCESS)
            return mpi_fail(err, rc, "MPI_Iprobe");
        double t = now_s();
        if (flag) {
            heard[st->MPI_SOURCE] = t;
            return 0;
        }
        for (int r = 1; r < mx->size; r++)
            if (state[r] == HELPER_ACTIVE && t - heard[r] > mx->heartbeat) {
                *late = r;
                return 1;
            }
        struct timespec ts = {0, backoff};
        nanosleep(&ts, NULL);
        backoff = backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : backoff * 2;
    }
}

/* A message of no use: taken off the line. */
static int discard(mpi_exec *mx, const MPI_Status *st)
{
    int len = 0;
    MPI_Get_count(st, MPI_BYTE, &len);
    char *junk = malloc((size_t)(len > 0 ? len : 1));
    int rc = MPI_Recv(junk, junk ? len : 0, MPI_BYTE, st->MPI_SOURCE,
                      st->MPI_TAG, mx->comm, MPI_STATUS_IGNORE);
    free(junk);
    return rc;
}

static int run_owner(mpi_exec *mx, bmp_run *run, bmp_error *err)
{
    size_t n = bmp_run_count(run), ntodo = 0, next = 0;
    size_t *todo = malloc((n ? n : 1) * sizeof *todo);
    int *given = malloc((n ? n : 1) * sizeof *given);
    int *state = calloc((size_t)mx->size, sizeof *state);
    double *heard = malloc((size_t)mx->size * sizeof *heard);
    int first = 0, stopped = 0, rc = 0;
    mx->lost = 0;
    if (!todo || !given || !state || !heard) {
        free(todo);
        free(given);
        free(state);
        free(heard);
        /* The helpers are waiting for rank 0: nothing else can be done. */
        bmp_error_set(err, -ENOMEM, "mpi", NULL,
                      "out of memory for %zu items: ending the job", n);
        MPI_Abort(mx->comm, 1);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        given[i] = NOT_GIVEN;
    for (size_t i = 0; i < n; i++)
        if (!bmp_run_item_done(run, i))
            todo[ntodo++] = i;
    double t0 = now_s(), c0 = cpu_s();
    for (int r = 0; r < mx->size; r++)
        heard[r] = t0;
    mx->stats = (bmp_mpi_stats){.version = BMP_MPI_STATS_VERSION};
    int active = mx->size - 1;
    char why[MPI_MAX_PROCESSOR_NAME + 256];
    while (active > 0) {
        MPI_Status st;
        int late = 0;
        double w0 = cpu_s();
        rc = next_message(mx, state, heard, &st, &late, err);
        mx->stats.wait_cpu_s += cpu_s() - w0;
        mx->stats.messages += rc == 0;
        if (rc < 0)
            break;
        if (rc == 1) {
            /* Silent past its deadline: stopped, hung, or its node lost
             * without MPI noticing.  The others go on with the items
             * not given yet; the job must end after this run. */
            snprintf(why, sizeof why,
                     "rank %d (host %s) sent nothing for %.1f s (heartbeat "
                     "time-out): lost with the items it held",
                     late, host_of(mx, late), mx->heartbeat);
            fail_given(run, given, late, BMP_ETIMEOUT, why);
            state[late] = HELPER_LOST;
            active--;
            mx->lost++;
            /* Said whatever came before: the job ends on it. */
            stopped = bmp_error_set(err, BMP_EINTERRUPTED, "mpi", NULL,
                                    "%s; the job must end", why);
            rc = 0;
            continue;
        }
        if (state[st.MPI_SOURCE] != HELPER_ACTIVE) {
            /* A lost rank that woke up: what it says comes too late. */
            rc = discard(mx, &st);
            rc = rc == MPI_SUCCESS ? 0 : mpi_fail(err, rc, "MPI_Recv");
        } else if (st.MPI_TAG == TAG_REQUEST) {
            rc = answer_request(mx, st.MPI_SOURCE, todo, ntodo, &next, given,
                                err);
        } else if (st.MPI_TAG == TAG_RESULT) {
            rc = take_result(mx, run, &st, given, &first, err);
        } else if (st.MPI_TAG == TAG_ALIVE) {
            int zero = 0;
            rc = MPI_Recv(&zero, 1, MPI_INT, st.MPI_SOURCE, TAG_ALIVE,
                          mx->comm, MPI_STATUS_IGNORE);
            rc = rc == MPI_SUCCESS ? 0 : mpi_fail(err, rc, "MPI_Recv");
        } else if (st.MPI_TAG == TAG_DONE) {
            int code = 0;
            rc = MPI_Recv(&code, 1, MPI_INT, st.MPI_SOURCE, TAG_DONE, mx->comm,
                          MPI_STATUS_IGNORE);
            if (rc != MPI_SUCCESS) {
                rc = mpi_fail(err, rc, "MPI_Recv of done");
                break;
            }
            if (code < 0) {
                /* Its unfinished items carry its code; an interrupted
                 * pool's stay not_run, as in any interrupted run. */
                snprintf(why, sizeof why,
                         "rank %d (host %s) stopped: %s (code %d)",
                         st.MPI_SOURCE, host_of(mx, st.MPI_SOURCE),
                         bmp_strerror(code), code);
                if (code != BMP_EINTERRUPTED)
                    fail_given(run, given, st.MPI_SOURCE, code, why);
                if (!stopped)
                    stopped = first ? BMP_EINTERRUPTED
                                    : bmp_error_set(err, BMP_EINTERRUPTED,
                                                    "mpi", NULL, "%s", why);
            }
            state[st.MPI_SOURCE] = HELPER_DONE;
            active--;
        } else {
            rc = discard(mx, &st);
            rc = rc == MPI_SUCCESS ? 0 : mpi_fail(err, rc, "MPI_Recv");
            if (!first)
                first = bmp_error_set(err, BMP_EPROTO, "mpi", NULL,
                                      "rank %d sent a message of unknown "
                                      "tag %d",
                                      st.MPI_SOURCE, st.MPI_TAG);
        }
        if (rc < 0)
            break;
    }
    for (size_t i = 0; i < n; i++)
        mx->stats.results += given[i] == TAKEN;
    mx->stats.items_given = next;
    mx->stats.cpu_s = cpu_s() - c0;
    mx->stats.wall_s = now_s() - t0;
    free(todo);
    free(given);
    free(state);
    free(heard);
    if (rc < 0) /* MPI itself failed: no barrier can be trusted */
        return rc;
    /* A lost rank never comes to the barrier: the caller ends the job. */
    if (mx->lost)
        return stopped;
    rc = MPI_Barrier(mx->comm);
    if (rc != MPI_SUCCESS)
        return mpi_fail(err, rc, "MPI_Barrier");
    return first ? first : stopped;
}

/* ---- the other ranks --------------------------------------------------- */

/* Where a helper's items ran, as the text that ends a pout line's stats
 * object: ,"rank":R,"host":"NAME"}} (doc/pout-format.md).  "" when it
 * cannot be made: the results then go without it. */
static void make_origin(mpi_exec *mx, const char *name)
{
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
    h->last_sent = now_s();
    if (rc != MPI_SUCCESS && !h->error)
        h->error = BMP_EPROTO;
    free(buf);
    free(line);
}

/* Asks rank 0 for `want` items and queues them; *ended when none are
 * left. */
static int ask_for_items(mpi_exec *mx, helper_ctx *h, bmp_pool *pool, int want,
                         int *ended, bmp_error *err)
{
    int rc = MPI_Send(&want, 1, MPI_INT, 0, TAG_REQUEST, mx->comm);
    h->last_sent = now_s();
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
    helper_ctx h = {run, mx->comm, mx->origin, 0, now_s()};
    bmp_pool *pool = NULL;
    int rc = bmp_pool_new(run, workers, send_result, &h, &pool, err);
    int ended = 0;
    /* Rank 0 hears from this rank at least every quarter of its
     * time-out, even while one long item runs or the pool drains. */
    double beat = mx->heartbeat > 0 ? mx->heartbeat / 4 : 0;
    double wait = beat > 0 && beat < HELPER_WAIT_S ? beat : HELPER_WAIT_S;
    if (wait < HELPER_MIN_WAIT_S) /* a tiny time-out must not spin */
        wait = HELPER_MIN_WAIT_S;
    while (rc >= 0) {
        size_t running = bmp_pool_running(pool);
        if (!ended && running < (size_t)workers) {
            rc = ask_for_items(mx, &h, pool, workers - (int)running, &ended,
                               err);
            if (rc < 0)
                break;
        }
        rc = bmp_pool_drive(pool, ended && beat <= 0 ? -1.0 : wait, err);
        if (rc == BMP_POOL_DONE) {
            rc = 0;
            break;
        }
        if (rc >= 0 && beat > 0 && now_s() - h.last_sent >= beat) {
            int zero = 0;
            int mrc = MPI_Send(&zero, 1, MPI_INT, 0, TAG_ALIVE, mx->comm);
            if (mrc != MPI_SUCCESS)
                rc = mpi_fail(err, mrc, "MPI_Send of a heartbeat");
            h.last_sent = now_s();
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
    /* Rank 0's time-out is the run's: the helpers beat to it. */
    int rc = MPI_Bcast(&mx->heartbeat, 1, MPI_DOUBLE, 0, mx->comm);
    if (rc != MPI_SUCCESS)
        return mpi_fail(err, rc, "MPI_Bcast of the heartbeat");
    if (mx->rank == 0)
        return run_owner(mx, run, err);
    return run_helper(mx, run, workers, err);
}

/* ---- the public functions --------------------------------------------- */

/* BMP_MPI_HEARTBEAT in seconds (0: none), else the default; a value that
 * is not a number from 0 is said and the default kept. */
static double heartbeat_from_env(void)
{
    const char *text = getenv("BMP_MPI_HEARTBEAT");
    if (!text || !*text)
        return BMP_MPI_HEARTBEAT_DEFAULT;
    char *end = NULL;
    double s = strtod(text, &end);
    if (end == text || *end || !isfinite(s) || s < 0) {
        fprintf(stderr,
                "bigmultipipe: BMP_MPI_HEARTBEAT=\"%s\" is not a number of "
                "seconds from 0: the default, %g s, is used\n",
                text, BMP_MPI_HEARTBEAT_DEFAULT);
        return BMP_MPI_HEARTBEAT_DEFAULT;
    }
    return s;
}

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
    mx->heartbeat = heartbeat_from_env();
    char name[MPI_MAX_PROCESSOR_NAME + 1] = "";
    int len = 0;
    if (MPI_Get_processor_name(name, &len) != MPI_SUCCESS || len < 0)
        len = 0;
    name[len] = '\0';
    if (mx->rank != 0)
        make_origin(mx, name);
    /* Rank 0 names a lost rank's host: it may be all one has to go on
     * when a node hangs. */
    if (mx->rank == 0)
        mx->hosts = calloc((size_t)mx->size, MPI_MAX_PROCESSOR_NAME);
    MPI_Gather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, mx->hosts,
               MPI_MAX_PROCESSOR_NAME, MPI_CHAR, 0, mx->comm);
    if (mx->hosts)
        for (int r = 0; r < mx->size; r++)
            mx->hosts[(size_t)(r + 1) * MPI_MAX_PROCESSOR_NAME - 1] = '\0';
    /* The ranks that run items: a binding that shrinks their pool is
     * said, not silently obeyed. */
    if (mx->rank != 0 || mx->size == 1)
        bmp__mpi_warn_bound(mx->rank, name);
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
    free(mx->hosts);
    free(mx);
    memset(ex, 0, sizeof *ex);
}

int bmp_mpi_rank(const bmp_executor *ex)
{
    if (!ex || ex->run != mpi_run || !ex->arg)
        return -1;
    return ((const mpi_exec *)ex->arg)->rank;
}

int bmp_mpi_executor_set_heartbeat(bmp_executor *ex, double seconds)
{
    if (!ex || ex->run != mpi_run || !ex->arg || !isfinite(seconds) ||
        seconds < 0)
        return BMP_EINVAL;
    ((mpi_exec *)ex->arg)->heartbeat = seconds;
    return 0;
}

double bmp_mpi_executor_heartbeat(const bmp_executor *ex)
{
    if (!ex || ex->run != mpi_run || !ex->arg)
        return -1;
    return ((const mpi_exec *)ex->arg)->heartbeat;
}

int bmp_mpi_ranks_lost(const bmp_executor *ex)
{
    if (!ex || ex->run != mpi_run || !ex->arg)
        return 0;
    return ((const mpi_exec *)ex->arg)->lost;
}

int bmp_mpi_owner_stats(const bmp_executor *ex, bmp_mpi_stats *out)
{
    if (!ex || ex->run != mpi_run || !ex->arg || !out ||
        out->version != BMP_MPI_STATS_VERSION)
        return BMP_EINVAL;
    *out = ((const mpi_exec *)ex->arg)->stats;
    return 0;
}
