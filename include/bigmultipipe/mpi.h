/*
 * bigmultipipe/mpi.h -- one pipeline across the ranks of an MPI job.
 *
 * A separate library, libbigmultipipe-mpi (CMake bigmultipipe::mpi,
 * pkg-config bigmultipipe-mpi), on top of the public API of
 * bigmultipipe.h; the core library never links MPI.  Include it after
 * <mpi.h> or on its own (it includes both headers it needs).
 *
 * Model (SPMD): every rank runs the same program, sets the executor made
 * by bmp_mpi_executor() on the same pipe and calls bmp_pipeline() with
 * the same in_names, keywords and steps.  Rank 0 owns the run (role
 * BMP_EXECUTOR_OWNER): it checks the paths, opens the journal, takes
 * resumed items from it, reports progress and gathers the pout.  Every
 * other rank helps (role BMP_EXECUTOR_HELPER): it runs a local pool of
 * worker processes (bmp_pool_new(); as many as bmp_num_can_process()
 * allows on its node), asks rank 0 for as many items as it has free
 * slots, and sends each finished item's pout line back.  With more than
 * one rank, rank 0 only coordinates: it waits for messages (sleeping
 * between polls while a heartbeat deadline runs, below) and runs no item
 * itself.  With one rank it runs every item on a local pool,
 * as the process executor would.  See doc/scale-out.md.
 *
 * What bmp_pipeline() returns
 *   rank 0   the whole run's pout, in input order, with every item that a
 *            rank finished (journal, progress and resume as for any
 *            executor).  An item handed to a rank whose pool stopped
 *            early (interrupted) stays not_run.
 *   others   a pout with the items this rank ran, and every other item
 *            not_run; the journal and progress are rank 0's alone.
 *   A crash, failure or time-out of an item on any rank costs that item
 *   only (the local pool's isolation); its status says so in rank 0's
 *   pout.  A rank that dies ends the job (MPI aborts it).
 *
 * Heartbeat: every helper sends rank 0 a message at least every quarter
 * of the heartbeat time-out (rank 0 answers each heartbeat) (default
 * BMP_MPI_HEARTBEAT_DEFAULT seconds; the environment variable
 * BMP_MPI_HEARTBEAT, read on rank 0 when the executor is made, or
 * bmp_mpi_executor_set_heartbeat() on rank 0 sets it; 0 turns it off, and the
 * join time-out with it).  A helper silent for longer (stopped, hung, its node
 * gone without MPI noticing) is lost: the items it held are failed with code
 * BMP_ETIMEOUT and an error naming its rank and host, the other helpers finish
 * the items not handed out yet, and rank 0's run returns BMP_EINTERRUPTED with
 * the pout.  The lost rank can no longer meet the others: when
 * bmp_mpi_ranks_lost() is not 0, write what is needed and end the job with
 * MPI_Abort().
 *
 * Return codes of the run on rank 0 (the table of doc/scale-out.md,
 * "What bmp_pipeline() returns", says which come with a pout):
 *   0;
 *   BMP_EINTERRUPTED, with the pout of what finished and `err` naming the
 *     rank: a helper was lost (bmp_mpi_ranks_lost() > 0; its items failed
 *     with BMP_ETIMEOUT), or stopped with an error (its pool interrupted,
 *     an item it could not take...; the items it held are failed with
 *     the helper's own code, which appears only there -- not_run when it
 *     was interrupted), or rank 0 itself was interrupted;
 *   BMP_EPROTO, no pout: a helper sent a result rank 0 could not take
 *     (for an item it was not given, a second time, or one the run
 *     refuses: the ranks were not given the same run); `err` names the
 *     rank and the item;
 *   -ENOMEM, no pout: the run could not store a result.
 * Out of memory to receive a result, for the run's own tables or to
 * release the helpers ends the job (MPI_Abort, with a message).  Rank 0
 * keeps answering until every helper is done or lost, so an error never
 * leaves a live rank waiting.
 *
 * On the other ranks: 0 (also when rank 0 took a stored pout: every
 * item not_run); the rank's own error; BMP_EINTERRUPTED when rank 0 lost
 * a rank in this run: the job must end, and rank 0's caller ends it
 * once it has written what it needs -- wait for that (in MPI_Finalize(),
 * say) rather than call MPI_Abort() at once, which would cut rank 0
 * short.
 *
 * Deadlines (no rank blocks in MPI; see doc/scale-out.md, "Faults"): a
 * helper's heartbeat counts from its first message of the run; before
 * it, rank 0 waits up to the join time-out (BMP_MPI_JOIN_DEFAULT).  A
 * helper waits for rank 0's start up to its own join time-out, and for
 * each answer of rank 0 (items, heartbeat, release) and each message it
 * sends to be taken up to the heartbeat time-out; past either, rank 0 is
 * taken for hung and the helper ends the job with MPI_Abort() and a
 * message on standard error.
 *
 * Binding: a rank that runs items and whose affinity mask holds fewer
 * CPUs than its cgroup's CPU set (cgroup v2), or than its node has online
 * when no set can be read, runs fewer workers than it could
 * (bmp_num_can_process() counts the mask); bmp_mpi_executor() says so
 * once on standard error, naming the rank, its host and the fix
 * (mpirun --bind-to none, srun -c N).
 *
 * Every rank must reach the executor: a call of bmp_pipeline() that
 * fails on one rank before its executor runs (bad keywords, refused
 * paths) leaves the others waiting for it.  Check the result and call
 * MPI_Abort() on a failure.
 *
 * Threads: MPI must be initialized (any thread level); the executor's
 * MPI calls are made by the thread that calls bmp_pipeline(), which must
 * be the same on each rank as MPI's thread level requires.  One run at a
 * time per executor: runs with the same executor follow each other in
 * the same order on every rank.
 */
#ifndef BIGMULTIPIPE_MPI_H
#define BIGMULTIPIPE_MPI_H

#include <mpi.h>
#include <bigmultipipe.h>

#ifdef __cplusplus
extern "C" {
#endif

/*! bmp_mpi_executor() : fills `*out` with an executor for
 *  bmp_pipe_set_executor() that runs the pipe's runs across the ranks
 *  of `comm`.  Collective over `comm`: every rank calls it.  The
 *  executor's messages travel on a duplicate of `comm` (MPI_Comm_dup),
 *  so they never mix with the program's own.  Its role is
 *  BMP_EXECUTOR_OWNER on rank 0 of `comm` and BMP_EXECUTOR_HELPER on the
 *  others.
 *  Ownership: out->arg is the executor's state, allocated here; release
 *  it with bmp_mpi_executor_release(), after the last run that uses it
 *  and before MPI_Finalize().  bmp_pipe_set_executor() copies the table
 *  and borrows out->arg.
 *  The executor's communicator is a duplicate of `comm` whose MPI errors
 *  are fatal: a failed MPI call ends the job (MPI aborts it) rather than
 *  leave the other ranks waiting.
 *  Out of memory on any rank ends the job (MPI_Abort, with a message on
 *  standard error): the call is collective, and a rank that returned
 *  alone would leave the others waiting for it.
 *  @return 0; BMP_EINVAL (NULL out, MPI not initialized, or
 *          MPI_COMM_NULL: checked before any collective step, the same
 *          on every rank); BMP_EPROTO when duplicating `comm` failed;
 *          `err` (may be NULL) says which. */
int bmp_mpi_executor(MPI_Comm comm, bmp_executor *out, bmp_error *err);

/*! bmp_mpi_executor_release() : frees the state of an executor made by
 *  bmp_mpi_executor() and its duplicate communicator (collective: every
 *  rank calls it), and clears `*ex`.  NULL, or an executor already
 *  released, is a no-op. */
void bmp_mpi_executor_release(bmp_executor *ex);

/* The heartbeat time-out when neither BMP_MPI_HEARTBEAT nor
 * bmp_mpi_executor_set_heartbeat() says otherwise, in seconds. */
#define BMP_MPI_HEARTBEAT_DEFAULT 60.0

/* How long each side waits for the other's first message of a run, in
 * seconds, when the environment variable BMP_MPI_JOIN (read by each rank
 * when its executor is made; 0: no limit) does not say otherwise.  Rank
 * 0 waits this long for a helper's first message before it takes it for
 * lost, and a helper this long for rank 0's start before it ends the job
 * with MPI_Abort: the ranks may reach bmp_pipeline() far apart (each
 * checks its paths, on a cold shared file system that can take minutes),
 * and only from a helper's first message does the heartbeat time-out
 * count.  Not applied when the heartbeat is off. */
#define BMP_MPI_JOIN_DEFAULT 600.0

/*! bmp_mpi_executor_set_heartbeat() : the heartbeat time-out of the runs
 *  that follow, in seconds; 0 turns it off (rank 0 then blocks in
 *  MPI_Probe and waits for a hung rank for ever).  Only rank 0's value
 *  counts: it is sent to the helpers at the start of each run.  Not
 *  during a run.
 *  @return 0; BMP_EINVAL (not an MPI executor, a negative or non-finite
 *          value). */
int bmp_mpi_executor_set_heartbeat(bmp_executor *ex, double seconds);

/*! bmp_mpi_executor_heartbeat() : the heartbeat time-out this rank
 *  holds, in seconds (on a helper, rank 0's once a run has started); -1
 *  for an executor not made by bmp_mpi_executor(). */
double bmp_mpi_executor_heartbeat(const bmp_executor *ex);

/*! bmp_mpi_ranks_lost() : on rank 0, how many helpers its last run lost
 *  to the heartbeat time-out; 0 on the other ranks and for an executor
 *  not made by bmp_mpi_executor().  When not 0, the executor's
 *  communicator cannot be used again (no collective call can complete):
 *  end the job with MPI_Abort(). */
int bmp_mpi_ranks_lost(const bmp_executor *ex);

/* What rank 0's last run with more than one rank cost it: to see
 * whether rank 0 keeps up (doc/scale-out.md, "Benchmark").  Set
 * `version` to BMP_MPI_STATS_VERSION before the call. */
typedef struct bmp_mpi_stats {
    unsigned version;   /* BMP_MPI_STATS_VERSION */
    size_t items_given; /* items handed out to helpers */
    size_t results;     /* items that left the helpers' hands: a result
                           taken, or failed with a lost or stopped helper */
    size_t messages;    /* messages received */
    double wall_s;      /* from the first wait to the last message */
    double cpu_s;       /* CPU time of the calling thread in that span */
    double wait_cpu_s;  /* of which spent waiting for messages (polling
                           and sleeping); cpu_s - wait_cpu_s is the work */
} bmp_mpi_stats;

#define BMP_MPI_STATS_VERSION 1u

/*! bmp_mpi_owner_stats() : fills `*out` with what rank 0's last run cost
 *  it; all zero on the other ranks, before a run, and after a run with
 *  one rank.  Not during a run.
 *  @return 0; BMP_EINVAL (not an MPI executor, NULL out, or a version
 *          this library does not know). */
int bmp_mpi_owner_stats(const bmp_executor *ex, bmp_mpi_stats *out);

/*! bmp_mpi_rank() : the rank, in the executor's communicator, of the
 *  calling process (0 is the owner of each run); -1 for an executor not
 *  made by bmp_mpi_executor(). */
int bmp_mpi_rank(const bmp_executor *ex);

#ifdef __cplusplus
}
#endif

#endif /* BIGMULTIPIPE_MPI_H */
