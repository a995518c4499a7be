//! Serial queues on a few shared threads: the writers of the batchers' `insertAsync` /
//! `removeAsync` tasks (`crates/sled-node/src/writer.rs`). Each [`Serial`] runs its jobs
//! one at a time, in the order they were submitted; the threads are shared by every
//! `Serial` of the process, at most [`MAX_THREADS`] of them.
//!
//! Why not the libuv pool: the facade must not let two write tasks of one batcher run at
//! once (their calls would interleave, and sled's writers contend: each retry clones the
//! node it lost on), so on the pool it sends the next task only once the previous one has
//! finished, and the pool waits for a round trip through the JS thread between the two.
//! Sending it early to wait on another pool thread is worse: on the 2-core test VM the
//! hand-over between two sleeping threads took longer than the round trip. Here the thread
//! that finished a job takes the next job of the same queue at once (up to [`BURST`] in a
//! row, then it lets the other queues' jobs go first).
//!
//! A thread starts when a queue has work and no thread is idle (below the cap) and ends
//! after [`IDLE`] without work, so an idle process holds no thread. A job never waits for
//! another job; the locks here are held only to push or pop, never while a job runs.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, LazyLock};
use std::thread;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

pub type Job = Box<dyn FnOnce() + Send>;

/// Threads at most (as many as the libuv pool has by default).
pub const MAX_THREADS: usize = 4;
/// How long a thread waits for work before it ends.
pub const IDLE: Duration = Duration::from_millis(200);
/// Jobs of one queue run in a row before the queues waiting behind it get a turn.
pub const BURST: usize = 64;

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
    idle: usize,
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
        let mut state = self.queue.state.lock();
        state.jobs.push_back(job);
        if state.scheduled {
            return Ok(());
        }
        state.scheduled = true;
        // the queue's lock is taken before the pool's, here and nowhere the other way round
        let scheduled = schedule(&self.queue);
        if scheduled.is_err() {
            state.jobs.pop_back();
            state.scheduled = false;
        }
        scheduled
    }
}

/// Puts `queue` on the ready list and makes sure a thread will take it.
fn schedule(queue: &Arc<Queue>) -> std::io::Result<()> {
    let pool = &*POOL;
    let mut state = pool.state.lock();
    state.ready.push_back(queue.clone());
    if state.idle > 0 || state.threads >= MAX_THREADS {
        pool.wake.notify_one();
        return Ok(());
    }
    match thread::Builder::new()
        .name("sled-node-write".into())
        .spawn(serve)
    {
        Ok(_) => {
            state.threads += 1;
            Ok(())
        }
        // the running threads take it in turn; with none running, nothing would
        Err(_) if state.threads > 0 => Ok(()),
        Err(error) => {
            state.ready.pop_back();
            Err(error)
        }
    }
}

fn serve() {
    let pool = &*POOL;
    loop {
        let queue = {
            let mut state = pool.state.lock();
            loop {
                if let Some(queue) = state.ready.pop_front() {
                    break queue;
                }
                state.idle += 1;
                let timed_out = pool.wake.wait_for(&mut state, IDLE).timed_out();
                state.idle -= 1;
                if timed_out && state.ready.is_empty() {
                    state.threads -= 1;
                    return;
                }
            }
        };
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
    pool.state.lock().ready.push_back(queue.clone());
    pool.wake.notify_one();
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
