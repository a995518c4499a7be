//! A job of one serial queue never waits for another queue's running job while the pool
//! has fewer than `MAX_THREADS` busy: each push must claim a thread of its own, whether
//! the free ones are spinning, parked and already woken for an earlier push, or parked.
//! A file of its own, so that no other test's threads are in this process's pool: the
//! scenarios depend on how many threads it has and what they are doing.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use sled_core::serial::{Serial, IDLE};

/// Runs a job on `a` that waits (up to 10 s) for `count` jobs submitted by `submit_others`
/// right after it: whether they all ran while `a`'s job was running.
fn others_run_while_a_runs(
    a: &Serial,
    count: usize,
    submit_others: impl FnOnce(mpsc::Sender<()>),
) -> bool {
    let (ran_tx, ran_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel();
    a.submit(Box::new(move || {
        let ran = (0..count).all(|_| ran_rx.recv_timeout(Duration::from_secs(10)).is_ok());
        done_tx.send(ran).expect("receiver alive");
    }))
    .expect("submit");
    submit_others(ran_tx);
    done_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("a's job ended")
}

/// A job on `serial` that reports on `tx`.
fn report(serial: &Serial, tx: mpsc::Sender<()>) {
    serial
        .submit(Box::new(move || {
            let _ = tx.send(());
        }))
        .expect("submit");
}

/// Lets every pool thread end ([`IDLE`] without work), then runs one job: the pool is
/// left with exactly one thread, which has just run out of work.
fn one_thread_just_idle(warm: &Serial) {
    thread::sleep(IDLE + Duration::from_millis(100));
    let (tx, rx) = mpsc::channel();
    report(warm, tx);
    rx.recv_timeout(Duration::from_secs(10))
        .expect("warm-up ran");
}

#[test]
fn a_job_of_another_queue_gets_a_thread_while_one_blocks() {
    let (a, b, warm) = (Serial::new(), Serial::new(), Serial::new());
    for round in 0..12 {
        one_thread_just_idle(&warm);
        // odd rounds: past the spin, the one thread is parked, and the two pushes below
        // come before it has the lock again; even rounds: it is spinning
        if round % 2 == 1 {
            thread::sleep(Duration::from_millis(3));
        }
        assert!(
            others_run_while_a_runs(&a, 1, |tx| report(&b, tx)),
            "round {round}: b's job waited for a's"
        );
    }

    // the other jobs pushed from two threads at once, with threads spinning, parked or busy
    let (b, c) = (Serial::new(), std::sync::Arc::new(Serial::new()));
    for round in 0..30 {
        thread::sleep(Duration::from_micros(if round % 2 == 0 {
            20
        } else {
            3000
        }));
        let ran = others_run_while_a_runs(&a, 2, |tx| {
            let other = {
                let (c, tx) = (c.clone(), tx.clone());
                thread::spawn(move || report(&c, tx))
            };
            report(&b, tx);
            other.join().expect("submitter");
        });
        assert!(
            ran,
            "round {round}: a job pushed from two threads waited for a's"
        );
    }
}
