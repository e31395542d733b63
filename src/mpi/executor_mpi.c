/*
 * executor_mpi.c -- the MPI executor: rank 0 hands out items and takes
 * results, the other ranks run them on a local pool of worker processes.
 *
 * Protocol, on a duplicate of the user's communicator, one run at a time:
 *
 *   0 -> helper   TAG_START    double[2]: rank 0's heartbeat time-out, and
 *                              1 when there is nothing to run (rank 0
 *                              took a stored pout): the helper returns
 *   helper -> 0   TAG_REQUEST  int: how many items it can take now (>= 1)
 *   0 -> helper   TAG_ITEMS    unsigned long long[]: item indices; an
 *                              empty array means "none left"
 *   helper -> 0   TAG_RESULT   bytes: the index (uint64_t, native order)
 *                              and the item's pout line, no newline
 *   helper -> 0   TAG_DONE     int: 0, or the helper's error code
 *   helper -> 0   TAG_ALIVE    int: the run's number; sent when the helper has
 * sent nothing for a quarter of the heartbeat time-out, or heard nothing for
 * as long 0 -> helper   TAG_PONG     int: the answer to each TAG_ALIVE of this
 *                              run (one of the run before, sent while
 *                              rank 0 was leaving it, is dropped)
 *   0 -> helper   TAG_RELEASE  int: 0, or BMP_EINTERRUPTED when the run
 *                              lost a rank; the helper's run is over
 *
 * Deadlines, with a heartbeat time-out (the default).  Rank 0 waits for
 * messages in MPI_Iprobe with a nanosleep back-off (20 us doubling to
 * 2 ms, back to 20 us at each message) and checks every helper's
 * deadline every few milliseconds, busy or not.  A helper's heartbeat
 * clock starts at its first message: until then it has the join
 * time-out (BMP_MPI_JOIN, default BMP_MPI_JOIN_DEFAULT), so that a
 * helper slow to reach bmp_pipeline() (its own path checks on a cold
 * shared file system) is not taken for a lost one.  A helper silent past
 * its deadline (stopped, hung, its node lost without MPI noticing) ends
 * rank 0's run: the items it held are failed with BMP_ETIMEOUT, the run
 * returns BMP_EINTERRUPTED with the pout of what finished, and the
 * caller must end the job (MPI_Abort), as the lost rank can no longer
 * meet the others.
 *
 * The helpers watch rank 0 the same way: they never block in MPI.  A
 * helper waits for TAG_START up to its join time-out, and from then on
 * every request, TAG_ALIVE and TAG_DONE it sends must be answered (items,
 * TAG_PONG, TAG_RELEASE) within the heartbeat time-out; past it rank 0 is
 * hung and the helper ends the job with MPI_Abort and a message naming
 * rank 0's silence.
 *
 * A helper asks again only after the answer to its last request, so rank
 * 0 answers at once and never waits for one helper while another needs
 * it.  After "none left" the helper ends its pool's input, drains it
 * (results go out from the pool's final callback), and says done; then
 * it sleeps and polls for TAG_RELEASE, which rank 0 sends each helper
 * once every helper is done (or lost), so that a drained helper takes no
 * CPU from the working ones (MPI_Barrier spins in Open MPI) and its next
 * run cannot start talking before rank 0 has left this one.
 *
 * Uses the public API only (bigmultipipe.h).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep */
#include <bigmultipipe.h>
#include <bigmultipipe/mpi.h>

#include "binding.h"
#include "origin.h"
#include "outbox.h"

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
    TAG_ALIVE = 5,
    TAG_START = 6,
    TAG_PONG = 7,
    TAG_RELEASE = 8
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
/* A helper that has said done sleeps up to this long between two polls
 * for its release: short, since the job's end waits for it too. */
#define RELEASE_WAIT_MAX_NS 5000000L
/* A helper waiting for a run's start (rank 0 may be checking paths for
 * a long while) sleeps up to this long between two polls. */
#define START_WAIT_MAX_NS 20000000L
/* How often rank 0 checks the helpers' deadlines, busy or not. */
#define LATE_CHECK_S 0.005

typedef struct mpi_exec {
    unsigned magic;
    MPI_Comm comm; /* our duplicate of the caller's communicator */
    int rank, size;
    double heartbeat;    /* seconds; 0: no time-out (rank 0's rules) */
    double join;         /* seconds for the other side's first message */
    double last_check;   /* rank 0: when it last checked the deadlines */
    double prev_heard;   /* rank 0: the last message's sender's, before */
    int seq;             /* runs so far: a heartbeat carries its run's */
    int lost;            /* rank 0: helpers lost in the last run */
    bmp_mpi_stats stats; /* rank 0: its last run's costs */
    char *hosts;         /* rank 0: each rank's processor name */
    char host[MPI_MAX_PROCESSOR_NAME + 1]; /* this rank's processor name */
    bmp__mpi_outbox out;                   /* a helper: its sends in flight */
} mpi_exec;

/* What a helper's pool callback needs. */
typedef struct helper_ctx {
    bmp_run *run;
    struct mpi_exec *mx;
    int error;        /* first failure to send a result */
    double last_sent; /* when this rank last sent rank 0 anything */
    double began;     /* when its pool started */
    size_t results;   /* results sent */
} helper_ctx;

/* The next wait of a back-off: twice this one, up to `cap` (ns). */
static long next_backoff(long backoff, long cap)
{
    return backoff * 2 > cap ? cap : backoff * 2;
}

/* Sleeps *backoff ns, and makes the next sleep longer (next_backoff):
 * a poll that keeps finding nothing looks less and less often, one that
 * found something starts again from BACKOFF_MIN_NS. */
static void sleep_backoff(long *backoff, long cap)
{
    struct timespec ts = {0, *backoff};
    nanosleep(&ts, NULL);
    *backoff = next_backoff(*backoff, cap);
}

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

/* A collective step that failed on this rank alone: the others wait for
 * it in MPI, so the job ends, with the reason. */
static void abort_job(MPI_Comm comm, const char *why)
{
    int rank = -1;
    MPI_Comm_rank(comm, &rank);
    fprintf(stderr, "bigmultipipe: rank %d: %s: ending the job\n", rank, why);
    MPI_Abort(comm, 1);
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
        /* An MPI message cannot be taken in part nor left on the line
         * (the helper's send waits for it): the job ends, saying why. */
        char why[128];
        snprintf(why, sizeof why,
                 "out of memory for a result of %d bytes "
                 "from rank %d",
                 len, st->MPI_SOURCE);
        abort_job(mx->comm, why);
        return bmp_error_set(err, -ENOMEM, "mpi", NULL, "%s", why);
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

/* The time by which rank `r` must be heard from: a heartbeat after its
 * last message, or, before its first, the join time-out after the run's
 * start (0: none). */
static double deadline_of(const mpi_exec *mx, const double *heard, double t0,
                          int r)
{
    if (heard[r] >= 0)
        return heard[r] + mx->heartbeat;
    return mx->join > 0 ? t0 + mx->join : 0;
}

/* A helper still active past its deadline at time t: its rank, else 0. */
static int late_helper(mpi_exec *mx, const int *state, const double *heard,
                       double t0, double t)
{
    mx->last_check = t;
    for (int r = 1; r < mx->size; r++) {
        double d = deadline_of(mx, heard, t0, r);
        if (state[r] == HELPER_ACTIVE && d > 0 && t > d)
            return r;
    }
    return 0;
}

/* The next message for rank 0, into *st: 0; 1 when a helper still
 * active passed its deadline (*late is its rank) -- checked every
 * LATE_CHECK_S of wall time whether messages come or not; a negative
 * code when MPI failed.  Without a time-out it blocks in MPI_Probe.
 * With one, it polls with MPI_Iprobe and sleeps between two empty
 * polls, so rank 0 sleeps, not spins, while it waits: a thread blocked
 * in MPI_Probe beside a watchdog would need MPI_THREAD_MULTIPLE to end
 * the run, which the caller may not have asked for. */
static int next_message(mpi_exec *mx, const int *state, double *heard,
                        double t0, MPI_Status *st, int *late, bmp_error *err)
{
    if (mx->heartbeat <= 0) {
        int rc = MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, mx->comm, st);
        if (rc == MPI_SUCCESS) {
            mx->prev_heard = heard[st->MPI_SOURCE];
            heard[st->MPI_SOURCE] = now_s();
        }
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
            mx->prev_heard = heard[st->MPI_SOURCE];
            heard[st->MPI_SOURCE] = t;
        }
        if (t - mx->last_check >= LATE_CHECK_S) {
            *late = late_helper(mx, state, heard, t0, t);
            if (*late)
                return 1;
        }
        if (flag)
            return 0;
        sleep_backoff(&backoff, BACKOFF_MAX_NS);
    }
}

/* Sends `count` doubles to every helper with MPI_Isend (rank 0 must not
 * wait for a helper that has not arrived yet); the requests go in
 * reqs[1..size-1]. */
static int start_helpers(mpi_exec *mx, double *msg, MPI_Request *reqs,
                         bmp_error *err)
{
    reqs[0] = MPI_REQUEST_NULL;
    for (int r = 1; r < mx->size; r++) {
        int rc = MPI_Isend(msg, 2, MPI_DOUBLE, r, TAG_START, mx->comm,
                           &reqs[r]);
        if (rc != MPI_SUCCESS)
            return mpi_fail(err, rc, "MPI_Isend of the start");
    }
    return 0;
}

/* Waits, sleeping between polls, until the start messages are out; a
 * lost helper's is let go (it may never be received). */
static void finish_starts(mpi_exec *mx, MPI_Request *reqs, const int *state)
{
    for (int r = 1; r < mx->size; r++)
        if (state && state[r] == HELPER_LOST && reqs[r] != MPI_REQUEST_NULL)
            MPI_Request_free(&reqs[r]);
    long backoff = BACKOFF_MIN_NS;
    for (;;) {
        int flag = 0;
        MPI_Testall(mx->size, reqs, &flag, MPI_STATUSES_IGNORE);
        if (flag)
            return;
        sleep_backoff(&backoff, BACKOFF_MAX_NS);
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
    MPI_Request *starts = malloc((size_t)mx->size * sizeof *starts);
    int first = 0, stopped = 0, rc = 0;
    mx->lost = 0;
    if (!todo || !given || !state || !heard || !starts) {
        free(todo);
        free(given);
        free(state);
        free(heard);
        free(starts);
        /* The helpers are waiting for rank 0: nothing else can be done. */
        abort_job(mx->comm, "out of memory for the run's items");
        return bmp_error_set(err, -ENOMEM, "mpi", NULL,
                             "out of memory for %zu items", n);
    }
    for (size_t i = 0; i < n; i++)
        given[i] = NOT_GIVEN;
    for (size_t i = 0; i < n; i++)
        if (!bmp_run_item_done(run, i))
            todo[ntodo++] = i;
    double t0 = now_s(), c0 = cpu_s();
    for (int r = 0; r < mx->size; r++)
        heard[r] = -1; /* not heard from yet: the join time-out */
    mx->last_check = t0;
    mx->stats = (bmp_mpi_stats){.version = BMP_MPI_STATS_VERSION};
    double start[2] = {mx->heartbeat, 0};
    rc = start_helpers(mx, start, starts, err);
    int active = mx->size - 1;
    char why[MPI_MAX_PROCESSOR_NAME + 256];
    while (rc == 0 && active > 0) {
        MPI_Status st;
        int late = 0;
        double w0 = cpu_s();
        rc = next_message(mx, state, heard, t0, &st, &late, err);
        mx->stats.wait_cpu_s += cpu_s() - w0;
        mx->stats.messages += rc == 0;
        if (rc < 0)
            break;
        if (rc == 1) {
            /* Silent past its deadline: stopped, hung, or its node lost
             * without MPI noticing.  The others go on with the items
             * not given yet; the job must end after this run. */
            if (heard[late] >= 0)
                snprintf(why, sizeof why,
                         "rank %d (host %s) sent nothing for %.1f s "
                         "(heartbeat time-out): lost with the items it held",
                         late, host_of(mx, late), mx->heartbeat);
            else
                snprintf(why, sizeof why,
                         "rank %d (host %s) did not join the run within "
                         "%.1f s (join time-out, BMP_MPI_JOIN): lost",
                         late, host_of(mx, late), mx->join);
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
        if (st.MPI_TAG == TAG_ALIVE && state[st.MPI_SOURCE] != HELPER_LOST) {
            /* Answered, so that the helper knows rank 0 is alive, also
             * while it waits for its release. */
            int seq = 0;
            rc = MPI_Recv(&seq, 1, MPI_INT, st.MPI_SOURCE, TAG_ALIVE, mx->comm,
                          MPI_STATUS_IGNORE);
            if (rc == MPI_SUCCESS && seq != mx->seq) {
                /* Sent in the last run while rank 0 was leaving it: it
                 * says nothing of this run (the helper's clock must not
                 * start before it joins). */
                heard[st.MPI_SOURCE] = mx->prev_heard;
            } else if (rc == MPI_SUCCESS) {
                rc = MPI_Send(&seq, 1, MPI_INT, st.MPI_SOURCE, TAG_PONG,
                              mx->comm);
            }
            rc = rc == MPI_SUCCESS ? 0 : mpi_fail(err, rc, "MPI_Send");
        } else if (state[st.MPI_SOURCE] != HELPER_ACTIVE) {
            /* A lost rank that woke up: what it says comes too late. */
            rc = discard(mx, &st);
            rc = rc == MPI_SUCCESS ? 0 : mpi_fail(err, rc, "MPI_Recv");
        } else if (st.MPI_TAG == TAG_REQUEST) {
            rc = answer_request(mx, st.MPI_SOURCE, todo, ntodo, &next, given,
                                err);
        } else if (st.MPI_TAG == TAG_RESULT) {
            rc = take_result(mx, run, &st, given, &first, err);
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
    free(heard);
    if (rc < 0) { /* MPI itself failed: nothing more can be trusted */
        free(state);
        free(starts);
        return rc;
    }
    /* Every helper done lets go; one that lost a rank hears it, so that
     * its caller ends the job too (a lost rank can meet no one). */
    int release = mx->lost ? BMP_EINTERRUPTED : 0;
    for (int r = 1; r < mx->size && rc == 0; r++) {
        if (state[r] != HELPER_DONE)
            continue;
        int mrc = MPI_Send(&release, 1, MPI_INT, r, TAG_RELEASE, mx->comm);
        if (mrc != MPI_SUCCESS)
            rc = mpi_fail(err, mrc, "MPI_Send of a release");
    }
    finish_starts(mx, starts, state);
    free(state);
    free(starts);
    if (rc < 0)
        return rc;
    if (mx->lost)
        return stopped;
    return first ? first : stopped;
}

/* Rank 0 took a stored pout: the helpers are told there is nothing to
 * run, and return. */
static int release_unrun(mpi_exec *mx, bmp_error *err)
{
    MPI_Request *starts = malloc((size_t)mx->size * sizeof *starts);
    if (!starts) {
        abort_job(mx->comm, "out of memory to release the helpers");
        return bmp_error_set(err, -ENOMEM, "mpi", NULL, "out of memory");
    }
    double start[2] = {mx->heartbeat, 1};
    int rc = start_helpers(mx, start, starts, err);
    if (rc == 0)
        finish_starts(mx, starts, NULL);
    free(starts);
    return rc;
}

/* ---- the other ranks --------------------------------------------------- */

/* Ends the job: rank 0 did not answer within `waited` seconds. */
static void rank0_lost(mpi_exec *mx, const char *what, double waited,
                       const char *limit)
{
    fprintf(stderr,
            "bigmultipipe: rank %d: rank 0 %s for %.1f s (%s): it is taken "
            "for hung, and the job is ended\n",
            mx->rank, what, waited, limit);
    MPI_Abort(mx->comm, 1);
}

/* A helper's message to rank 0 (`buf` malloc'd, taken over), posted
 * without waiting for it to go (outbox.h): a message too large to go
 * eagerly, or eager buffers full, wait for rank 0 to take it, and a hung
 * rank 0 never would; the helper's loop sees to it (helper_progress). */
static int helper_send(mpi_exec *mx, void *buf, int count, MPI_Datatype type,
                       int tag)
{
    return bmp__mpi_outbox_post(&mx->out, mx->comm, 0, buf, count, type, tag,
                                now_s());
}

/* The helper's sends that went are let go; one that rank 0 has not taken
 * within the heartbeat time-out ends the job (rank0_lost). */
static int helper_progress(mpi_exec *mx)
{
    double oldest = 0;
    int rc = bmp__mpi_outbox_progress(&mx->out, &oldest);
    double t = now_s();
    if (rc == MPI_SUCCESS && oldest > 0 && mx->heartbeat > 0 &&
        t - oldest > mx->heartbeat)
        rank0_lost(mx, "did not take a message", t - oldest,
                   "heartbeat time-out, BMP_MPI_HEARTBEAT");
    return rc;
}

/* Waits, sleeping between looks, until every send of the helper went
 * but its heartbeats: one posted as rank 0 sent the release has no one
 * to take it in this run (rank 0 left its loop, and may make no MPI call
 * for a long while); it stays in the outbox, for rank 0's next run to
 * take (a heartbeat of an earlier run is known by its number) or for
 * MPI_Finalize. */
static int helper_flush(mpi_exec *mx)
{
    long backoff = BACKOFF_MIN_NS;
    for (;;) {
        int rc = helper_progress(mx);
        if (rc != MPI_SUCCESS ||
            bmp__mpi_outbox_pending(&mx->out, TAG_ALIVE) == 0)
            return rc;
        sleep_backoff(&backoff, BACKOFF_MAX_NS);
    }
}

static void send_result(size_t index, void *arg)
{
    helper_ctx *h = arg;
    char *bare = bmp_run_result_json(h->run, index);
    /* Which rank and host ran it, in its stats; a line that cannot take
     * them goes as it is, for rank 0 to judge (and refuse, naming the
     * item, if it is not a pout entry). */
    int why = 0;
    char *line = bmp__mpi_with_origin(bare, h->mx->rank, h->mx->host, &why);
    if (line || why != BMP_EPROTO) {
        free(bare);
    } else {
        line = bare;
    }
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
    free(line);
    int rc = helper_send(h->mx, buf, (int)(sizeof i64 + len), MPI_BYTE,
                         TAG_RESULT);
    h->last_sent = now_s();
    h->results++;
    if (rc != MPI_SUCCESS && !h->error)
        h->error = rc == -ENOMEM ? -ENOMEM : BMP_EPROTO;
}

/* How many items the helper asks to hold: one running per worker, and
 * queued behind it enough to last while a request is answered -- rank 0
 * may sleep BACKOFF_MAX_NS between two looks, the helper as long again
 * before it sees the answer -- judged from the items so far (one queued
 * per worker before any is known).  Enough that a worker finishing
 * finds its next item here; no more, so that at the end of the run a
 * helper does not sit on items others are free to take. */
#define PREFETCH_S (2 * BACKOFF_MAX_NS * 1e-9)
#define PREFETCH_MAX 8 /* queued per worker, at most */
static size_t helper_depth(const helper_ctx *h, int workers, double now)
{
    size_t queued = 1;
    if (h->results > 0) {
        double item_s = (now - h->began) * workers / (double)h->results;
        double more = item_s > 0 ? ceil(PREFETCH_S / item_s) : PREFETCH_MAX;
        queued = more >= PREFETCH_MAX ? PREFETCH_MAX : more < 1 ? 1 : more;
    }
    return (1 + queued) * (size_t)workers;
}

/* Waits for rank 0's start, sleeping between polls, within the join
 * time-out: rank 0 may still be checking its paths. */
static int wait_start(mpi_exec *mx, double *start, bmp_error *err)
{
    double t0 = now_s();
    long backoff = BACKOFF_MIN_NS;
    for (;;) {
        int flag = 0;
        MPI_Status st;
        int rc = MPI_Iprobe(0, TAG_START, mx->comm, &flag, &st);
        if (rc != MPI_SUCCESS)
            return mpi_fail(err, rc, "MPI_Iprobe for the start");
        if (flag)
            break;
        if (mx->join > 0 && mx->heartbeat > 0 && now_s() - t0 > mx->join)
            rank0_lost(mx, "did not start the run", mx->join,
                       "join time-out, BMP_MPI_JOIN");
        sleep_backoff(&backoff, START_WAIT_MAX_NS);
    }
    int rc = MPI_Recv(start, 2, MPI_DOUBLE, 0, TAG_START, mx->comm,
                      MPI_STATUS_IGNORE);
    return rc == MPI_SUCCESS ? 0 : mpi_fail(err, rc, "MPI_Recv of the start");
}

/* A helper's side of one run, as seen between its polls. */
typedef struct helper_state {
    bmp_pool *pool;
    int awaiting;     /* a request is not answered yet */
    int ended;        /* rank 0 said "none left" */
    int done_sent;    /* this rank said done: only the release is awaited */
    int released;     /* rank 0 released it: the run is over */
    int release_code; /* what rank 0's release said */
    double owed;      /* since when rank 0 owes an answer; 0: it owes none */
    double last_heard;
} helper_state;

/* The items of an answer: queued, or, after "done", dropped (rank 0
 * fails the items of a helper that stopped with an error). */
static int take_items(mpi_exec *mx, helper_state *hs, const MPI_Status *st,
                      bmp_error *err)
{
    int k = 0;
    MPI_Get_count(st, MPI_UNSIGNED_LONG_LONG, &k);
    if (k < 0 || k > MAX_BATCH) {
        fprintf(stderr,
                "bigmultipipe: rank %d: rank 0 sent %d items at once\n",
                mx->rank, k);
        MPI_Abort(mx->comm, 1);
    }
    unsigned long long buf[MAX_BATCH];
    int rc = MPI_Recv(buf, k, MPI_UNSIGNED_LONG_LONG, 0, TAG_ITEMS, mx->comm,
                      MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS)
        return mpi_fail(err, rc, "MPI_Recv of items");
    hs->awaiting = 0;
    if (hs->done_sent || !hs->pool)
        return 0;
    if (k == 0) {
        bmp_pool_end_input(hs->pool);
        hs->ended = 1;
        return 0;
    }
    int first = 0;
    for (int j = 0; j < k; j++) {
        rc = bmp_pool_add(hs->pool, (size_t)buf[j]);
        /* An item this rank cannot take stays not_run on rank 0: the
         * ranks were not given the same run. */
        if (rc < 0 && !first)
            first = bmp_error_set(err, BMP_EPROTO, "mpi", NULL,
                                  "rank %d cannot take item %llu: %s",
                                  mx->rank, buf[j], bmp_strerror(rc));
    }
    return first;
}

/* Takes every message rank 0 has sent this rank. */
static int take_messages(mpi_exec *mx, helper_state *hs, bmp_error *err)
{
    int first = 0;
    for (;;) {
        int flag = 0;
        MPI_Status st;
        int rc = MPI_Iprobe(0, MPI_ANY_TAG, mx->comm, &flag, &st);
        if (rc != MPI_SUCCESS)
            return mpi_fail(err, rc, "MPI_Iprobe");
        if (!flag)
            break;
        if (st.MPI_TAG == TAG_ITEMS) {
            rc = take_items(mx, hs, &st, err);
            if (rc < 0 && !first)
                first = rc;
        } else if (st.MPI_TAG == TAG_PONG || st.MPI_TAG == TAG_RELEASE) {
            int code = 0;
            rc = MPI_Recv(&code, 1, MPI_INT, 0, st.MPI_TAG, mx->comm,
                          MPI_STATUS_IGNORE);
            if (rc != MPI_SUCCESS)
                return mpi_fail(err, rc, "MPI_Recv");
            if (st.MPI_TAG == TAG_RELEASE) {
                hs->released = 1;
                hs->release_code = code;
            }
        } else {
            /* TAG_START of the next run: left for it. */
            break;
        }
        double t = now_s();
        hs->last_heard = t;
        hs->owed = hs->awaiting || hs->done_sent ? t : 0;
        if (hs->released)
            break;
    }
    return first;
}

static int send_int(mpi_exec *mx, helper_ctx *h, helper_state *hs, int value,
                    int tag, bmp_error *err)
{
    int *copy = malloc(sizeof *copy);
    if (!copy)
        return bmp_error_set(err, -ENOMEM, "mpi", NULL, "out of memory");
    *copy = value;
    int rc = helper_send(mx, copy, 1, MPI_INT, tag);
    h->last_sent = now_s();
    if (!hs->owed)
        hs->owed = h->last_sent;
    if (rc == -ENOMEM)
        return bmp_error_set(err, -ENOMEM, "mpi", NULL,
                             "out of memory for a message to rank 0");
    return rc == MPI_SUCCESS ? 0 : mpi_fail(err, rc, "MPI_Isend");
}

static int run_helper(mpi_exec *mx, bmp_run *run, int workers, bmp_error *err)
{
    helper_ctx h = {run, mx, 0, now_s(), now_s(), 0};
    /* What an earlier run left in flight counts from now. */
    bmp__mpi_outbox_restamp(&mx->out, now_s());
    helper_state hs = {.last_heard = now_s()};
    int code = bmp_pool_new(run, workers, send_result, &h, &hs.pool, err);
    /* Rank 0 hears from this rank at least every quarter of its
     * time-out, even while one long item runs or the pool drains. */
    double beat = mx->heartbeat > 0 ? mx->heartbeat / 4 : 0;
    double wait = beat > 0 && beat < HELPER_WAIT_S ? beat : HELPER_WAIT_S;
    if (wait < HELPER_MIN_WAIT_S) /* a tiny time-out must not spin */
        wait = HELPER_MIN_WAIT_S;
    long backoff = BACKOFF_MIN_NS;
    long answer_wait = BACKOFF_MIN_NS;
    int rc = 0;
    while (rc >= 0) {
        int prc = helper_progress(mx);
        if (prc != MPI_SUCCESS) {
            rc = mpi_fail(err, prc, "MPI_Test of a send");
            break;
        }
        rc = take_messages(mx, &hs, err);
        if (rc < 0 && !code)
            code = rc;
        rc = 0;
        if (hs.released)
            break;
        int idle = 1; /* nothing for the pool to do: sleep instead */
        if (!hs.done_sent && code == 0) {
            /* Items queued beyond those running, so that a worker
             * finishing finds its next item here instead of waiting a
             * round trip to rank 0 (both sides sleep between polls). */
            size_t running = bmp_pool_running(hs.pool);
            size_t depth = helper_depth(&h, workers, now_s());
            if (!hs.ended && !hs.awaiting && running < depth) {
                rc = send_int(mx, &h, &hs, (int)(depth - running), TAG_REQUEST,
                              err);
                hs.awaiting = 1;
                backoff = BACKOFF_MIN_NS;
                answer_wait = BACKOFF_MIN_NS;
            }
            if (rc >= 0 && (running > 0 || hs.ended)) {
                idle = 0;
                /* Awaiting an answer, the pool is driven in short
                 * slices, growing like rank 0's back-off (the pool's
                 * poll counts whole milliseconds, its naps finer): the
                 * answer is looked for soon after it can have come, so
                 * a worker whose queue ran dry waits for it about a
                 * round trip, not a whole slice. */
                double slice = wait;
                if (hs.awaiting) {
                    slice = (double)answer_wait * 1e-9;
                    answer_wait = next_backoff(answer_wait, BACKOFF_MAX_NS);
                }
                int drc = bmp_pool_drive(hs.pool, slice, err);
                if (drc < 0)
                    code = drc;
                else if (drc == BMP_POOL_DONE)
                    hs.done_sent = -1; /* said below */
            }
        }
        if (rc >= 0 && !hs.done_sent && code == 0 && h.error)
            code = bmp_error_set(err, h.error, "mpi", NULL,
                                 "rank %d could not send a result: %s",
                                 mx->rank, bmp_strerror(h.error));
        if (rc >= 0 && (hs.done_sent < 0 || (!hs.done_sent && code < 0))) {
            hs.done_sent = 1;
            rc = send_int(mx, &h, &hs, code, TAG_DONE, err);
            backoff = BACKOFF_MIN_NS;
        }
        if (rc < 0)
            break;
        if (idle)
            sleep_backoff(&backoff,
                          hs.done_sent ? RELEASE_WAIT_MAX_NS : BACKOFF_MAX_NS);
        double t = now_s();
        if (beat > 0 && (t - h.last_sent >= beat ||
                         (!hs.owed && t - hs.last_heard >= beat)))
            rc = send_int(mx, &h, &hs, mx->seq, TAG_ALIVE, err);
        if (mx->heartbeat > 0 && hs.owed && t - hs.owed > mx->heartbeat)
            rank0_lost(mx, "did not answer", t - hs.owed,
                       "heartbeat time-out, BMP_MPI_HEARTBEAT");
    }
    bmp_pool_free(hs.pool);
    /* Whatever is still on its way goes before the run is left: its
     * buffers must live until then, and the next run's messages after. */
    int frc = helper_flush(mx);
    if (rc >= 0 && frc != MPI_SUCCESS)
        rc = mpi_fail(err, frc, "MPI_Test of a send");
    if (rc < 0)
        return rc;
    if (code < 0)
        return code;
    if (hs.release_code < 0)
        return bmp_error_set(err, hs.release_code, "mpi", NULL,
                             "rank 0 lost a rank in this run: the job must "
                             "end");
    return 0;
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
        return run ? run_alone(run, workers, err) : 0;
    mx->seq++; /* the same on every rank: runs follow in the same order */
    if (mx->rank == 0)
        return run ? run_owner(mx, run, err) : release_unrun(mx, err);
    if (!run)
        return 0;
    /* Rank 0's time-out is the run's: the helpers beat to it. */
    double start[2] = {0, 0};
    int rc = wait_start(mx, start, err);
    if (rc < 0)
        return rc;
    mx->heartbeat = start[0];
    if (start[1] != 0) /* rank 0 took a stored pout: nothing runs */
        return 0;
    return run_helper(mx, run, workers, err);
}

/* ---- the public functions --------------------------------------------- */

/* The environment variable `name` in seconds (0: none), else `fallback`;
 * a value that is not a number from 0 is said and the default kept. */
static double seconds_from_env(const char *name, double fallback)
{
    const char *text = getenv(name);
    if (!text || !*text)
        return fallback;
    char *end = NULL;
    double s = strtod(text, &end);
    if (end == text || *end || !isfinite(s) || s < 0) {
        fprintf(stderr,
                "bigmultipipe: %s=\"%s\" is not a number of seconds from 0: "
                "the default, %g s, is used\n",
                name, text, fallback);
        return fallback;
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
    /* Collective: a rank that returned here alone would leave the others
     * waiting in MPI_Comm_dup for ever, so a failure ends the job. */
    mpi_exec *mx = calloc(1, sizeof *mx);
    if (!mx)
        abort_job(comm, "out of memory for the MPI executor");
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
    mx->heartbeat = seconds_from_env("BMP_MPI_HEARTBEAT",
                                     BMP_MPI_HEARTBEAT_DEFAULT);
    mx->join = seconds_from_env("BMP_MPI_JOIN", BMP_MPI_JOIN_DEFAULT);
    char name[MPI_MAX_PROCESSOR_NAME + 1] = "";
    int len = 0;
    if (MPI_Get_processor_name(name, &len) != MPI_SUCCESS || len < 0)
        len = 0;
    name[len] = '\0';
    memcpy(mx->host, name, (size_t)len + 1);
    /* Rank 0 names a lost rank's host: it may be all one has to go on
     * when a node hangs. */
    if (mx->rank == 0) {
        mx->hosts = calloc((size_t)mx->size, MPI_MAX_PROCESSOR_NAME);
        if (!mx->hosts)
            abort_job(mx->comm, "out of memory for the ranks' host names");
    }
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
    bmp__mpi_outbox_free(&mx->out, !finalized);
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
