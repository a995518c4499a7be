//! `db.backup()`'s JS-facing side: a `NativeBackup` the facade polls for progress and
//! cancels, and the libuv pool task that runs `backup.rs` with its own share of the
//! database. The job is a child of the Db handle: `close()` cancels it and waits until
//! it has let go of the database (it checks the cancel flag between entries), so the
//! file lock is still free when `close()` returns.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Result, Task};
use napi_derive::napi;
use parking_lot::{Condvar, Mutex};

use sled_core::backup::{self, Failure, Progress, Summary};
use sled_core::capture::Claim;
use sled_core::error::{closed, from_io, from_sled, Code, Error, Result as CoreResult};
use sled_core::registry::Share;
use sled_core::slot::Child;

use crate::boundary::catch_panic;
use crate::js_error::settle;

#[derive(Default)]
struct Job {
    progress: Progress,
    /// The task's share of the database until it starts (then it moves to the task).
    share: Mutex<Option<Share>>,
    /// Set when a task was made for this job (a job runs once).
    started: Mutex<bool>,
    /// The task has ended and dropped its share.
    done: Mutex<bool>,
    finished: Condvar,
    /// The handle was closed: the job's cancellation is reported as `SLED_CLOSED`.
    closed: std::sync::atomic::AtomicBool,
    /// The destination and whether it existed before, once the job is started.
    target: Mutex<Option<(PathBuf, bool)>>,
}

impl Child for Job {
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.progress.cancel.store(true, Ordering::Release);
        if self.share.lock().take().is_some() {
            return; // the task had not started; it will find no share
        }
        // the running task checks the flag between entries and ends on its own
        let mut done = self.done.lock();
        while !*done {
            self.finished.wait(&mut done);
        }
    }
}

/// Progress of a running backup, read by the facade on a timer.
#[napi(object, object_from_js = false)]
pub struct BackupProgress {
    pub entries: f64,
    pub bytes: f64,
    /// Trees copied so far.
    pub trees: f64,
}

/// What a finished backup reports.
#[napi(object, object_from_js = false)]
pub struct BackupSummary {
    pub trees: f64,
    pub entries: f64,
    pub bytes: f64,
    pub duration_ms: f64,
    /// How long writers were held while the consistent point was taken.
    pub pause_ms: f64,
}

/// A backup's progress counters and cancel switch, made by the facade and given to
/// `NativeDb.backup`.
#[napi]
pub struct NativeBackup {
    job: Arc<Job>,
}

#[napi]
impl NativeBackup {
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> NativeBackup {
        NativeBackup {
            job: Arc::default(),
        }
    }

    /// Asks the backup to stop; it rejects with `ABORT_ERR` and removes the destination.
    #[napi]
    pub fn cancel(&self) {
        self.job.progress.cancel.store(true, Ordering::Release);
    }

    /// Removes the copy of a backup that succeeded but that the facade fails all the same
    /// (its `onProgress` threw too late for the task to see the cancel). Only after the
    /// backup's promise has resolved; a no-op before the job started, after a backup that
    /// failed (it removed its copy itself) and when called again.
    #[napi]
    pub fn discard(&self) {
        if !*self.job.done.lock() {
            return;
        }
        if let Some((path, existed)) = self.job.target.lock().take() {
            backup::remove(&path, existed);
        }
    }

    #[napi]
    pub fn progress(&self) -> BackupProgress {
        let p = &self.job.progress;
        BackupProgress {
            entries: p.entries.load(Ordering::Relaxed) as f64,
            bytes: p.bytes.load(Ordering::Relaxed) as f64,
            trees: p.trees.load(Ordering::Relaxed) as f64,
        }
    }
}

/// Checks `destination` now (before any work) and makes the pool task; `adopt`
/// registers the job with the Db handle so that `close()` ends it.
pub fn start(
    share: &Share,
    destination: String,
    job: &NativeBackup,
    adopt: impl FnOnce(Weak<dyn Child>),
) -> CoreResult<AsyncTask<BackupTask>> {
    let subject = format!("{} to {destination:?}", share.subject);
    let path = PathBuf::from(&destination);
    let existed = backup::check_destination(&path).map_err(|f| failed(&subject, f, false))?;
    // claimed here, not on the pool: of two backups started in turn, the second is refused
    let claim = share
        .capture
        .claim()
        .map_err(|_| failed(&subject, Failure::Busy, false))?;
    {
        let mut started = job.job.started.lock();
        if *started {
            return Err(Error::new(
                Code::InvalidArgValue,
                "backup: this NativeBackup was already used",
            ));
        }
        *started = true;
    }
    *job.job.share.lock() = Some(share.join());
    *job.job.target.lock() = Some((path, existed));
    let weak: Weak<dyn Child> = Arc::downgrade(&job.job) as Weak<dyn Child>;
    adopt(weak);
    Ok(AsyncTask::new(BackupTask {
        claim: Some(claim),
        job: job.job.clone(),
        subject,
    }))
}

pub struct BackupTask {
    /// Moves into the run; dropped unused when `close()` took the share first.
    claim: Option<Claim>,
    /// The destination is the job's `target`.
    job: Arc<Job>,
    subject: String,
}

/// Marks the job done (and wakes a waiting `close()`) however the task ends.
struct Done<'a>(&'a Job);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        *self.0.done.lock() = true;
        self.0.finished.notify_all();
    }
}

impl Task for BackupTask {
    type Output = CoreResult<Summary>;
    type JsValue = BackupSummary;

    fn compute(&mut self) -> Result<Self::Output> {
        let job = &self.job;
        let _done = Done(job);
        // taken for the run, and put back only for a copy that succeeded: a failed run
        // has removed what it wrote, and `discard` must then remove nothing (the path may
        // hold another backup's copy by then)
        let target = job.target.lock().take();
        let (Some(share), Some(claim), Some((path, existed))) =
            (job.share.lock().take(), self.claim.take(), target)
        else {
            return Ok(Err(closed("backup", &self.subject)));
        };
        let outcome = catch_panic("backup", || {
            backup::run(
                &share.db,
                claim,
                &path,
                existed,
                |path| share.backup_config(path),
                &job.progress,
            )
            .map_err(|f| failed(&self.subject, f, job.closed.load(Ordering::Acquire)))
        });
        drop(share);
        if outcome.is_ok() {
            *job.target.lock() = Some((path, existed));
        }
        Ok(outcome)
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<BackupSummary> {
        let s = settle(&env, output)?;
        Ok(BackupSummary {
            trees: s.trees as f64,
            entries: s.entries as f64,
            bytes: s.bytes as f64,
            duration_ms: s.duration.as_secs_f64() * 1000.0,
            pause_ms: s.pause.as_secs_f64() * 1000.0,
        })
    }
}

/// EEXIST where there is an errno for it (as `createNew` on an existing database).
fn exists() -> std::io::Error {
    if cfg!(unix) {
        std::io::Error::from_raw_os_error(17)
    } else {
        std::io::Error::from(std::io::ErrorKind::AlreadyExists)
    }
}

/// The coded error for a failed backup (`handle_closed`: cancelled by `close()`).
fn failed(subject: &str, failure: Failure, handle_closed: bool) -> Error {
    match failure {
        Failure::Busy => Error::new(
            Code::Unsupported,
            format!("backup of {subject}: another backup of this database is running"),
        ),
        Failure::Cancelled if handle_closed => closed("backup", subject),
        Failure::Cancelled => Error::new(Code::Aborted, format!("backup of {subject}: aborted")),
        Failure::Exists => from_io("backup", subject, &exists()),
        Failure::Io(e) => from_io("backup", subject, &e),
        Failure::Sled(e) => from_sled("backup", subject, e),
        Failure::Panicked => Error::new(
            Code::Panic,
            format!("backup of {subject}: sled panicked; the copy was removed"),
        ),
        Failure::Mismatch(m) => Error::new(
            Code::Corruption,
            format!("backup of {subject}: the copy read back differs from what was written: {m}"),
        ),
    }
}
