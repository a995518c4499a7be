//! sled-core: the part of sled-node that needs no Node-API, tested by `cargo test`.
//!
//! It holds the error type with its stable codes (`error.rs`), the entry-point guard
//! (`guard.rs`: panics caught, calls from a transaction callback refused), open
//! settings and their validation (`settings.rs`), batch decoding (`batch.rs`), the
//! serial queues on shared threads that run the batchers' write tasks in order
//! (`serial.rs`).
//! `crates/sled-node` converts arguments and results, owns the JS classes, and turns
//! an [`Error`] into the JS error class registered for its code. The lock discipline
//! of the whole binding is written at the top of `crates/sled-node/src/lib.rs`.

pub mod backup;
pub mod batch;
pub mod capture;
pub mod children;
pub mod error;
pub mod guard;
pub mod handle;
pub mod registry;
pub mod serial;
pub mod settings;
pub mod slot;
pub mod watch;
pub mod weak_list;

pub use error::{Code, Error, Result};
