//! A thread of its own that runs jobs one at a time, in the order they were submitted:
//! the writer of one batcher's `insertAsync` / `removeAsync` tasks
//! (`crates/sled-node/src/writer.rs`).
//!
//! Why not the libuv pool: the facade must not let two write tasks of one batcher run at
//! once (their calls would interleave, and sled's writers contend: each retry clones the
//! node it lost on), so on the pool it sends the next task only once the previous one has
//! finished, and the pool waits for a round trip through the JS thread between the two.
//! Sending it early to wait on another pool thread is worse: on the 2-core test VM the
//! hand-over between two sleeping threads took longer than the round trip. Here the thread
//! that finished a task finds the next one queued and starts it at once.
//!
//! The thread starts with the first job and ends after [`Serial::new`]'s `idle` without
//! one (or once the `Serial` is dropped and its queue is empty), so an idle batcher holds
//! no thread. A job never waits for another job, and the queue's lock is held only to
//! push or pop, never while a job runs.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

pub type Job = Box<dyn FnOnce() + Send>;

pub struct Serial {
    shared: Arc<Shared>,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    idle: Duration,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// A thread is running jobs or waiting for the next.
    serving: bool,
    /// The `Serial` was dropped: the thread ends once the queue is empty.
    ended: bool,
}

impl Serial {
    pub fn new(idle: Duration) -> Serial {
        Serial {
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue::default()),
                wake: Condvar::new(),
                idle,
            }),
        }
    }

    /// Queues `job` after the ones submitted before it; starts the thread if none is
    /// serving. Fails only when a thread cannot be started (and then queues nothing).
    pub fn submit(&self, job: Job) -> std::io::Result<()> {
        let mut queue = self.shared.queue.lock();
        queue.jobs.push_back(job);
        if queue.serving {
            self.shared.wake.notify_one();
            return Ok(());
        }
        let shared = self.shared.clone();
        // started with the lock held: the thread's first pop waits for this push to end
        match thread::Builder::new()
            .name("sled-node-writer".into())
            .spawn(move || serve(&shared))
        {
            Ok(_) => {
                queue.serving = true;
                Ok(())
            }
            Err(error) => {
                queue.jobs.pop_back();
                Err(error)
            }
        }
    }
}

fn serve(shared: &Shared) {
    loop {
        let job = {
            let mut queue = shared.queue.lock();
            loop {
                if let Some(job) = queue.jobs.pop_front() {
                    break job;
                }
                if queue.ended
                    || (shared.wake.wait_for(&mut queue, shared.idle).timed_out()
                        && queue.jobs.is_empty())
                {
                    queue.serving = false;
                    return;
                }
            }
        };
        // the binding's jobs catch their own panics; one that did not must still not
        // strand the jobs queued behind it
        let _ = catch_unwind(AssertUnwindSafe(job));
    }
}

impl Drop for Serial {
    fn drop(&mut self) {
        self.shared.queue.lock().ended = true;
        self.shared.wake.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Instant;

    fn serving(serial: &Serial) -> bool {
        serial.shared.queue.lock().serving
    }

    #[test]
    fn runs_jobs_in_submission_order_on_one_thread() {
        let serial = Serial::new(Duration::from_secs(5));
        let (tx, rx) = mpsc::channel();
        for i in 0..1000 {
            let tx = tx.clone();
            serial
                .submit(Box::new(move || {
                    tx.send((i, thread::current().id()))
                        .expect("receiver alive")
                }))
                .expect("submit");
        }
        let got: Vec<_> = (0..1000)
            .map(|_| rx.recv_timeout(Duration::from_secs(10)).expect("a job ran"))
            .collect();
        assert_eq!(
            got.iter().map(|g| g.0).collect::<Vec<_>>(),
            (0..1000).collect::<Vec<_>>()
        );
        assert!(got.iter().all(|g| g.1 == got[0].1));
        assert_ne!(got[0].1, thread::current().id());
    }

    #[test]
    fn the_thread_ends_when_idle_and_a_later_job_starts_another() {
        let serial = Serial::new(Duration::from_millis(20));
        let (tx, rx) = mpsc::channel();
        let first = tx.clone();
        serial
            .submit(Box::new(move || first.send(1).expect("receiver alive")))
            .expect("submit");
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(1));
        let deadline = Instant::now() + Duration::from_secs(10);
        while serving(&serial) {
            assert!(Instant::now() < deadline, "the idle thread never ended");
            thread::sleep(Duration::from_millis(5));
        }
        serial
            .submit(Box::new(move || tx.send(2).expect("receiver alive")))
            .expect("submit");
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(2));
    }

    #[test]
    fn a_panicking_job_does_not_strand_the_ones_behind_it() {
        let serial = Serial::new(Duration::from_secs(5));
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
    fn jobs_queued_when_the_serial_is_dropped_still_run_then_the_thread_ends() {
        let serial = Serial::new(Duration::from_secs(60));
        let shared = serial.shared.clone();
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
        // ended without waiting out its 60 s idle time
        let deadline = Instant::now() + Duration::from_secs(10);
        while shared.queue.lock().serving {
            assert!(Instant::now() < deadline, "the thread outlived its Serial");
            thread::sleep(Duration::from_millis(5));
        }
    }
}
