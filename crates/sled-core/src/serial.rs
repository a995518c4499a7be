//! Serial queues on a few shared threads: the tasks of the batchers' `getAsync` /
//! `getManyAsync` / `insertAsync` / `removeAsync` calls (`crates/sled-node/src/task_line.rs`). Each
//! [`Serial`] runs its jobs one at a time, in the order they were submitted (a batcher's
//! write tasks); a job given to [`submit_alone`] is a queue of its own and runs in
//! parallel with the others (a batcher's read tasks). The threads are shared by every
//! queue of the process, at most [`MAX_THREADS`] of them.
//!
//! Why not the libuv pool: the facade must not let two write tasks of one batcher run at
//! once (their calls would interleave, and sled's writers contend: each retry clones the
//! node it lost on), so on the pool it sends the next task only once the previous one has
//! finished, and the pool waits for a round trip through the JS thread between the two.
//! Sending it early to wait on another pool thread is worse: on the 2-core test VM the
//! hand-over between two sleeping threads took longer than the round trip. Here the thread
//! that finished a job takes the next job of the same queue at once (up to [`BURST`] in a
//! row, then it lets the other queues' jobs go first). Reads come here too for the spin
//! below, which the libuv pool does not do.
//!
//! A thread starts when a queue has work and no thread is free to take it (below the cap),
//! and ends after [`IDLE`] without work, so an idle process holds no thread. Each push
//! claims one thread that runs no job (a spinning one, else a parked one not already
//! woken for an earlier push), so a job waits for another queue's job only when all
//! [`MAX_THREADS`] threads run one. The locks here are held only to push or pop, never
//! while a job runs, and a parked thread is woken only after they are let go (woken
//! earlier, it would wake only to wait for the queue's lock: a second wake-up per job).
//!
//! Waking a sleeping thread is what a task costs most on a VM, whose idle virtual CPU the
//! host has to wake too. On the 2-core test VM a loop awaiting one `insertAsync` at a
//! time took ~83 µs per call while each job woke a parked thread, against ~31 µs for a
//! libuv pool round trip (`fs.promises.stat`). So a thread that runs out of work first
//! spins for up to [`SPIN`] ([`SPINNERS`] threads at a time) before it parks: a job submitted
//! meanwhile is taken with no wake-up, and its submitter makes no system call. A
//! spinning CPU also stays awake for the JS thread's own wake-up when a task ends. The
//! spin yields the CPU in a loop (`sched_yield`) rather than busy-waiting on it: any
//! thread with work runs first. With 64 `getAsync` calls of missing keys in flight that
//! doubled the calls per second over a busy-wait (500 k → 860 k–1.0 M; random hits
//! +8 %), which on two cores had taken the CPU from the JS thread and the other task.
//! A thread spins only if its last job came less than [`SPIN`] after it ran out of
//! work, i.e. while jobs keep coming that fast; one whose jobs come further apart parks
//! at once. So a spin costs at most [`SPIN`] of one core's otherwise idle time per job,
//! and only while a stream of jobs lasts or when it slows down.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

pub type Job = Box<dyn FnOnce() + Send>;

/// Threads at most (as many as the libuv pool has by default).
pub const MAX_THREADS: usize = 4;
/// How long a thread waits for work before it ends.
pub const IDLE: Duration = Duration::from_millis(200);
/// Jobs of one queue run in a row before the queues waiting behind it get a turn.
pub const BURST: usize = 64;
/// How long an idle thread spins for the next job before it parks. 20 µs caught too few
/// of the next calls of a loop awaiting one `insertAsync` at a time, 50 µs caught them
/// (JS takes ~10 µs from one result to the next call). 64 `getAsync` calls of missing
/// keys kept in flight need more: the JS thread handles one task's results while the
/// next task runs, and a task came ~200 µs after the previous one while threads parked
/// (a wake-up on each side), ~55 µs once one spun. 50 and 150 µs left them parking
/// (326 and 335 k calls/s), 300 µs caught them (531–620 k/s; a busy-wait, with the
/// tasks in order on one queue). All on the 2-core test VM.
pub const SPIN: Duration = Duration::from_micros(300);
/// Threads that may spin at once. A tick of 16 reads or more goes out in two halves that
/// run in parallel: with two spinning threads both start without a wake-up. 64 random
/// `getAsync` hits in flight, 1,000,000 entries: 205–212 k calls/s with one, 221–238 k
/// with two (2-core test VM, alternating runs). The spin yields, so the second thread
/// costs only otherwise idle time.
pub const SPINNERS: usize = 2;

/// One queue: its jobs, run in order.
#[derive(Default)]
pub struct Serial {
    queue: Arc<Queue>,
}

#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
}

#[derive(Default)]
struct QueueState {
    jobs: VecDeque<Job>,
    /// In the pool's ready list or being run by a thread: never both, never twice.
    scheduled: bool,
}

/// The shared threads and the queues that have jobs waiting for one.
struct Pool {
    state: Mutex<PoolState>,
    wake: Condvar,
}

#[derive(Default)]
struct PoolState {
    ready: VecDeque<Arc<Queue>>,
    threads: usize,
    /// Threads parked on `wake`.
    idle: usize,
    /// Wake-ups sent to parked threads that none has taken yet (a parked thread leaves
    /// `idle` only once it has the lock again): `idle - wakeups` are free to claim.
    wakeups: usize,
    /// The spinning threads that no push has claimed yet (their tokens). Each push claims
    /// one; a push beyond them needs another thread.
    spinners: Vec<u64>,
    last_spinner: u64,
}

/// `ready.len()`, kept under the pool's lock: what a spinning thread watches without it.
static READY: AtomicUsize = AtomicUsize::new(0);
/// When a queue was last pushed (see [`since_start`]), kept under the pool's lock.
static LAST_PUSH: AtomicU64 = AtomicU64::new(0);
static START: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Nanoseconds since the pool's first use.
fn since_start(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(*START).as_nanos()).unwrap_or(u64::MAX)
}

impl PoolState {
    fn push(&mut self, queue: Arc<Queue>) {
        self.ready.push_back(queue);
        READY.store(self.ready.len(), Ordering::Release);
        LAST_PUSH.store(since_start(Instant::now()), Ordering::Relaxed);
    }

    fn pop(&mut self) -> Option<Arc<Queue>> {
        let queue = self.ready.pop_front();
        READY.store(self.ready.len(), Ordering::Release);
        queue
    }

    /// Takes back the last push (no thread could be found for it).
    fn unpush(&mut self) {
        self.ready.pop_back();
        READY.store(self.ready.len(), Ordering::Release);
    }

    /// After a push, a thread for it that is not running a job: the spinning one
    /// (`Some(false)`: it sees the push by itself), else a parked one (`Some(true)`: the
    /// caller wakes it once it holds no lock); `None` when there is neither.
    fn claim(&mut self) -> Option<bool> {
        if self.spinners.pop().is_some() {
            return Some(false);
        }
        if self.idle > self.wakeups {
            self.wakeups += 1;
            return Some(true);
        }
        None
    }
}

static POOL: LazyLock<Pool> = LazyLock::new(|| Pool {
    state: Mutex::new(PoolState::default()),
    wake: Condvar::new(),
});

impl Serial {
    pub fn new() -> Serial {
        Serial::default()
    }

    /// Queues `job` after the jobs submitted before it. Fails only when the queue needs a
    /// thread and none runs or can be started (and then queues nothing).
    pub fn submit(&self, job: Job) -> std::io::Result<()> {
        let wake = {
            let mut state = self.queue.state.lock();
            state.jobs.push_back(job);
            if state.scheduled {
                return Ok(());
            }
            state.scheduled = true;
            // the queue's lock is taken before the pool's, here and nowhere the other way round
            match schedule(&self.queue) {
                Ok(wake) => wake,
                Err(error) => {
                    state.jobs.pop_back();
                    state.scheduled = false;
                    return Err(error);
                }
            }
        };
        // after both locks are let go: a thread woken while this one still held the
        // queue's lock would wake only to wait for it (a second wake-up per job, which
        // doubled the cost of one insertAsync awaited at a time). An idle thread cannot
        // miss it: it looks at the ready list under the pool's lock before it waits.
        if wake {
            POOL.wake.notify_one();
        }
        Ok(())
    }
}

/// Runs `job` on the shared threads in no order with any other job: a queue of its own,
/// so that jobs submitted this way run in parallel on the threads that are free. Fails as
/// [`Serial::submit`] does.
pub fn submit_alone(job: Job) -> std::io::Result<()> {
    Serial::new().submit(job)
}

/// Puts `queue` on the ready list and makes sure a thread will take it: `true` when an
/// idle thread must be woken for it (by the caller, once it holds no lock).
fn schedule(queue: &Arc<Queue>) -> std::io::Result<bool> {
    let pool = &*POOL;
    let mut state = pool.state.lock();
    state.push(queue.clone());
    if let Some(wake) = state.claim() {
        return Ok(wake);
    }
    if state.threads >= MAX_THREADS {
        // every thread runs a job: one of them takes this queue when its job ends
        return Ok(false);
    }
    match thread::Builder::new()
        .name("sled-node-task".into())
        .spawn(serve)
    {
        Ok(_) => {
            state.threads += 1;
            Ok(false)
        }
        // the running threads take it in turn; with none running, nothing would
        Err(_) if state.threads > 0 => Ok(false),
        Err(error) => {
            state.unpush();
            Err(error)
        }
    }
}

fn serve() {
    let pool = &*POOL;
    // the first wait may spin: a thread is started for a job that just came
    let mut spin = true;
    loop {
        let idle_since = Instant::now();
        let queue = {
            let mut state = pool.state.lock();
            loop {
                if let Some(queue) = state.pop() {
                    break queue;
                }
                if spin && state.spinners.len() < SPINNERS {
                    state.last_spinner += 1;
                    let token = state.last_spinner;
                    state.spinners.push(token);
                    drop(state);
                    // yielding, not spinning on the CPU: a thread that has work (the JS
                    // thread, a task) runs first, and only otherwise idle time is spent
                    while READY.load(Ordering::Acquire) == 0 && idle_since.elapsed() < SPIN {
                        thread::yield_now();
                    }
                    state = pool.state.lock();
                    // unclaimed, it is taken back; claimed, another thread may have
                    // taken the job meanwhile, and this one finds nothing and parks
                    state.spinners.retain(|&t| t != token);
                    spin = false;
                    continue;
                }
                state.idle += 1;
                let timed_out = pool.wake.wait_for(&mut state, IDLE).timed_out();
                state.idle -= 1;
                // woken or not, this thread takes one wake-up's place: it looks at the
                // ready list now, as the woken one would
                state.wakeups = state.wakeups.saturating_sub(1);
                if timed_out && state.ready.is_empty() {
                    state.threads -= 1;
                    return;
                }
            }
        };
        // spin after this job only if a spin would have caught this one: it was pushed
        // less than SPIN after this thread ran out of work (however long the wake-up took)
        let waited = LAST_PUSH
            .load(Ordering::Relaxed)
            .saturating_sub(since_start(idle_since));
        spin = waited < SPIN.as_nanos() as u64;
        run(&queue);
    }
}

/// Runs up to [`BURST`] of `queue`'s jobs; puts it back on the ready list if more wait.
fn run(queue: &Arc<Queue>) {
    for _ in 0..BURST {
        let job = {
            let mut state = queue.state.lock();
            match state.jobs.pop_front() {
                Some(job) => job,
                None => {
                    state.scheduled = false;
                    return;
                }
            }
        };
        // the binding's jobs catch their own panics; one that did not must still not
        // strand the jobs queued behind it
        let _ = catch_unwind(AssertUnwindSafe(job));
    }
    {
        let mut state = queue.state.lock();
        if state.jobs.is_empty() {
            // under the lock: a job pushed later finds `scheduled` false and schedules
            state.scheduled = false;
            return;
        }
    }
    let pool = &*POOL;
    let wake = {
        let mut state = pool.state.lock();
        state.push(queue.clone());
        // without a free thread, this one takes it in turn
        state.claim() == Some(true)
    };
    if wake {
        pool.wake.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::mpsc;
    use std::time::Instant;

    fn threads() -> usize {
        POOL.state.lock().threads
    }

    /// The claim rule on a state of its own (no threads): a spinning thread serves one
    /// push, a parked one serves one push per wake-up, and a push beyond them finds none
    /// (its caller then starts a thread). The thread-level scenarios are in
    /// tests/serial_claims.rs, where whether a thread is still spinning depends on timing.
    #[test]
    fn each_push_claims_a_thread_of_its_own() {
        // two spinning threads, nothing parked: they serve the first two pushes only
        let mut state = PoolState {
            spinners: vec![6, 7],
            last_spinner: 7,
            ..PoolState::default()
        };
        assert_eq!(state.claim(), Some(false), "a spinning thread");
        assert_eq!(state.claim(), Some(false), "the other spinning thread");
        assert!(state.spinners.is_empty(), "each claimed once");
        assert_eq!(
            state.claim(),
            None,
            "a spinner stands in for one push, not two"
        );

        // a spinning thread and two parked ones, one of them already woken for an
        // earlier push: the spinner, then the one not yet woken, then none
        let mut state = PoolState {
            idle: 2,
            wakeups: 1,
            spinners: vec![3],
            last_spinner: 3,
            ..PoolState::default()
        };
        assert_eq!(state.claim(), Some(false));
        assert_eq!(
            state.claim(),
            Some(true),
            "the parked thread no push has woken"
        );
        assert_eq!(state.wakeups, 2);
        assert_eq!(state.claim(), None, "both parked threads are woken already");

        // nothing idle at all
        assert_eq!(PoolState::default().claim(), None);
    }

    #[test]
    fn each_queue_runs_its_jobs_in_submission_order_one_at_a_time() {
        let queues: Vec<Serial> = (0..8).map(|_| Serial::new()).collect();
        let (tx, rx) = mpsc::channel();
        let running: Arc<Vec<Mutex<bool>>> = Arc::new((0..8).map(|_| Mutex::new(false)).collect());
        for i in 0..400 {
            for (q, serial) in queues.iter().enumerate() {
                let (tx, running) = (tx.clone(), running.clone());
                serial
                    .submit(Box::new(move || {
                        let mut busy = running[q]
                            .try_lock()
                            .expect("two jobs of one queue at once");
                        *busy = true;
                        tx.send((q, i)).expect("receiver alive");
                        *busy = false;
                    }))
                    .expect("submit");
            }
        }
        let mut next = [0; 8];
        for _ in 0..8 * 400 {
            let (q, i) = rx.recv_timeout(Duration::from_secs(10)).expect("a job ran");
            assert_eq!(i, next[q], "queue {q} ran a job out of order");
            next[q] += 1;
        }
        assert!(threads() <= MAX_THREADS);
    }

    #[test]
    fn jobs_submitted_alone_run_in_parallel() {
        // each job waits for the other: they finish only if two threads run them at once
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let (tx, rx) = mpsc::channel();
        for i in 0..2 {
            let (barrier, tx) = (barrier.clone(), tx.clone());
            submit_alone(Box::new(move || {
                barrier.wait();
                tx.send(i).expect("receiver alive");
            }))
            .expect("submit");
        }
        let mut got: Vec<_> = (0..2)
            .map(|_| {
                rx.recv_timeout(Duration::from_secs(10))
                    .expect("both jobs ran")
            })
            .collect();
        got.sort();
        assert_eq!(got, [0, 1]);
    }

    #[test]
    fn many_queues_share_at_most_max_threads() {
        let (tx, rx) = mpsc::channel();
        let queues: Vec<Serial> = (0..500).map(|_| Serial::new()).collect();
        for serial in &queues {
            let tx = tx.clone();
            serial
                .submit(Box::new(move || {
                    thread::sleep(Duration::from_millis(1));
                    tx.send(thread::current().id()).expect("receiver alive");
                }))
                .expect("submit");
        }
        let ids: HashSet<_> = (0..500)
            .map(|_| rx.recv_timeout(Duration::from_secs(30)).expect("a job ran"))
            .collect();
        assert!(
            ids.len() <= MAX_THREADS,
            "{} threads ran the jobs",
            ids.len()
        );
    }

    #[test]
    fn threads_end_when_idle_and_later_jobs_start_new_ones() {
        let serial = Serial::new();
        let (tx, rx) = mpsc::channel();
        let first = tx.clone();
        serial
            .submit(Box::new(move || first.send(1).expect("receiver alive")))
            .expect("submit");
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(1));
        // other tests share the pool: wait for a moment when every thread has ended
        let deadline = Instant::now() + Duration::from_secs(30);
        while threads() > 0 {
            assert!(Instant::now() < deadline, "idle threads never ended");
            thread::sleep(Duration::from_millis(5));
        }
        serial
            .submit(Box::new(move || tx.send(2).expect("receiver alive")))
            .expect("submit");
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(2));
    }

    #[test]
    fn jobs_submitted_one_after_another_run_whether_the_thread_spins_or_parks() {
        // gaps below SPIN meet a spinning thread, longer ones a parked one, and the
        // mixed order switches between the two
        let serial = Serial::new();
        let (tx, rx) = mpsc::channel();
        for gap_us in [0, 20, 80, 400, 10, 0, 200, 30] {
            for i in 0..200 {
                let tx = tx.clone();
                serial
                    .submit(Box::new(move || tx.send(i).expect("receiver alive")))
                    .expect("submit");
                assert_eq!(
                    rx.recv_timeout(Duration::from_secs(10)),
                    Ok(i),
                    "gap {gap_us} µs"
                );
                thread::sleep(Duration::from_micros(gap_us));
            }
        }
        assert!(threads() <= MAX_THREADS);
    }

    #[test]
    fn a_panicking_job_does_not_strand_the_ones_behind_it() {
        let serial = Serial::new();
        let (tx, rx) = mpsc::channel();
        serial
            .submit(Box::new(|| panic!("a job failed")))
            .expect("submit");
        serial
            .submit(Box::new(move || tx.send(()).expect("receiver alive")))
            .expect("submit");
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(()));
    }

    #[test]
    fn jobs_queued_when_the_serial_is_dropped_still_run() {
        let serial = Serial::new();
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        let (tx, rx) = mpsc::channel();
        serial
            .submit(Box::new(move || gate_rx.recv().expect("gate")))
            .expect("submit");
        for i in 0..10 {
            let tx = tx.clone();
            serial
                .submit(Box::new(move || tx.send(i).expect("receiver alive")))
                .expect("submit");
        }
        drop(serial);
        gate_tx.send(()).expect("the first job waits");
        let got: Vec<_> = (0..10)
            .map(|_| rx.recv_timeout(Duration::from_secs(10)).expect("a job ran"))
            .collect();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
    }
}
