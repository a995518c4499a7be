//! The registry, handles and slots across threads: opens, closes and reopens racing,
//! closing while another thread uses a tree, option conflicts, dropped trees, and the
//! handle-lock rule of `crates/sled-node/src/lib.rs`. Every test that could hang runs
//! its body under a deadline.

use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::Duration;

use sled_core::handle::DbState;
use sled_core::registry;
use sled_core::settings::OpenOptions;
use sled_core::Code;

mod common;
use common::TempDir;

/// Runs `f` on a thread; fails the test if it has not finished in `secs` seconds.
fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("deadline of {secs} s passed: a wait never ended"))
}

fn open(path: &str) -> DbState {
    DbState::new(registry::acquire(path, &OpenOptions::default()).unwrap())
}

fn close(db: &DbState) {
    if let Some(share) = db.detach() {
        DbState::finish(share, true).unwrap();
    }
}

/// sled's own open succeeds only once no clone of the Db is left anywhere.
fn lock_is_free(path: &str) -> bool {
    let opened = sled::Config::new().path(path).open();
    opened.is_ok()
}

#[test]
fn threads_opening_one_path_share_one_database_and_the_last_close_frees_it() {
    let dir = TempDir::new();
    let path = dir.path().to_owned();
    within(60, move || {
        let barrier = Arc::new(Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let (path, barrier) = (path.clone(), barrier.clone());
                thread::spawn(move || {
                    barrier.wait();
                    let share = registry::acquire(&path, &OpenOptions::default()).unwrap();
                    share.db.insert(format!("k{i}"), &[i as u8]).unwrap();
                    share
                })
            })
            .collect();
        let handles: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let id = handles[0].id();
        assert!(
            handles.iter().all(|s| s.id() == id),
            "one shared Db per path"
        );
        assert_eq!(
            handles[0].db.len(),
            8,
            "every thread wrote to the same database"
        );
        drop(handles);
        assert!(lock_is_free(&path), "the file lock outlived the last share");
    });
}

#[test]
fn opens_and_closes_racing_across_threads_never_fail_or_hang() {
    let dir = TempDir::new();
    let path = dir.path().to_owned();
    within(120, move || {
        let threads: Vec<_> = (0..4)
            .map(|w| {
                let path = path.clone();
                thread::spawn(move || {
                    for i in 0..25u32 {
                        let db = open(&path);
                        let tree = db.open_tree(b"t").unwrap();
                        tree.with("insert", |tree| tree.insert(i.to_be_bytes(), &[w as u8]))
                            .unwrap();
                        close(&db);
                        assert_eq!(
                            tree.with("get", |t| t.get(b"x")).unwrap_err().code,
                            Code::Closed
                        );
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(lock_is_free(&path));
    });
    let db = open(dir.path());
    let tree = db.open_tree(b"t").unwrap();
    assert_eq!(tree.with("len", |t| Ok(t.len())).unwrap(), 25);
    close(&db);
}

#[test]
fn close_waits_for_an_operation_running_on_another_thread() {
    let dir = TempDir::new();
    let db = Arc::new(open(dir.path()));
    let tree = db.open_tree(b"t").unwrap();
    let (inside_tx, inside_rx) = mpsc::channel();
    let reader = {
        let tree = tree.clone();
        thread::spawn(move || {
            tree.with("get", |t| {
                inside_tx.send(()).unwrap();
                thread::sleep(Duration::from_millis(200));
                t.get(b"k")
            })
        })
    };
    inside_rx.recv().unwrap();
    let started = std::time::Instant::now();
    let closer = db.clone();
    within(10, move || close(&closer));
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "close() returned while sled was still in use"
    );
    assert!(
        reader.join().unwrap().is_ok(),
        "the running operation finished"
    );
    assert!(db.closed());
    assert_eq!(
        tree.with("get", |t| t.get(b"k")).unwrap_err().code,
        Code::Closed
    );
    assert!(lock_is_free(dir.path()));
}

#[test]
fn reopening_with_other_options_conflicts_while_open_and_not_after() {
    let dir = TempDir::new();
    let small = OpenOptions {
        cache_capacity: Some(4096.0),
        ..Default::default()
    };
    let first = DbState::new(registry::acquire(dir.path(), &small).unwrap());
    let other = OpenOptions {
        cache_capacity: Some(8192.0),
        ..Default::default()
    };
    let err = registry::acquire(dir.path(), &other).map(drop).unwrap_err();
    assert_eq!(err.code, Code::OptionsConflict);
    assert!(err.message.contains("cacheCapacity"), "{}", err.message);
    let create_new = OpenOptions {
        create_new: Some(true),
        ..Default::default()
    };
    let err = registry::acquire(dir.path(), &create_new)
        .map(drop)
        .unwrap_err();
    assert!(err.message.contains("createNew"), "{}", err.message);
    // the same options, or none, join the open database
    let same = DbState::new(registry::acquire(dir.path(), &small).unwrap());
    close(&same);
    close(&first);
    let reopened = DbState::new(registry::acquire(dir.path(), &other).unwrap());
    close(&reopened);
}

#[test]
fn dropping_a_tree_ends_its_handles_in_every_handle_of_the_path() {
    let dir = TempDir::new();
    let (a, b) = (open(dir.path()), open(dir.path()));
    let (ta, tb) = (a.open_tree(b"t").unwrap(), b.open_tree(b"t").unwrap());
    tb.with("insert", |t| t.insert(b"k", b"v")).unwrap();
    assert!(a.drop_tree(b"t").unwrap());
    for slot in [&ta, &tb] {
        let err = slot.with("get", |t| t.get(b"k")).unwrap_err();
        assert_eq!(err.code, Code::CollectionNotFound);
    }
    // a drop wins over a later close
    close(&b);
    assert_eq!(
        tb.with("get", |t| t.get(b"k")).unwrap_err().code,
        Code::CollectionNotFound
    );
    assert_eq!(
        a.drop_tree(b"__sled__default").unwrap_err().code,
        Code::Unsupported
    );
    close(&a);
}

#[test]
fn a_handle_lock_inside_another_on_one_thread_is_refused() {
    let dir = TempDir::new();
    let db = Arc::new(open(dir.path()));
    let tree = db.open_tree(b"t").unwrap();
    let inner = db.clone();
    let code = within(10, move || {
        tree.with("get", |_| {
            Ok(inner.with("treeNames", |_| Ok(())).unwrap_err().code)
        })
        .unwrap()
    });
    assert_eq!(code, Code::ReportableBug);
    close(&db);
}

#[test]
fn a_damaged_conf_file_is_corruption_at_conf() {
    let dir = TempDir::new();
    close(&open(dir.path()));
    let conf = std::path::Path::new(dir.path()).join("conf");
    let mut bytes = std::fs::read(&conf).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&conf, bytes).unwrap();
    let err = registry::acquire(dir.path(), &OpenOptions::default())
        .map(drop)
        .unwrap_err();
    assert_eq!(
        (err.code, err.at.as_deref()),
        (Code::Corruption, Some("conf"))
    );
}
