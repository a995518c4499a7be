//! `NativeDb`: the JS face of one handle on a shared database
//! (`sled_core::handle::DbState` owns the share, the default tree and the children).

use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, ObjectFinalize};
use napi::{Env, Result, Task};
use napi_derive::napi;
use sled_core::error::{from_sled, Result as CoreResult};
use sled_core::handle::DbState;
use sled_core::registry::{self, Share};
use sled_core::settings::OpenOptions;

use crate::boundary::{catch_panic, guard, off_transaction};
use crate::bytes::{Bytes, Key};
use crate::js_error::settle;
use crate::options::NativeOpenOptions;
use crate::tree::NativeTree;

/// A handle on an open sled database (the facade's `Db` wraps it).
#[napi(custom_finalize)]
pub struct NativeDb {
    state: Arc<DbState>,
}

impl NativeDb {
    pub fn from_shared(shared: Share) -> NativeDb {
        NativeDb {
            state: Arc::new(DbState::new(shared)),
        }
    }

    /// Runs `f` with the open database inside the entry guard.
    fn with<T>(&self, op: &str, f: impl FnOnce(&Share) -> CoreResult<T>) -> Result<T> {
        guard(op, || self.state.with(op, f))
    }

    /// Runs the sled call `f` on the open database, with sled's error mapped.
    fn on_db<T>(&self, op: &str, f: impl FnOnce(&sled::Db) -> sled::Result<T>) -> Result<T> {
        self.with(op, |shared| {
            f(&shared.db).map_err(|e| from_sled(op, &shared.subject, e))
        })
    }
}

/// Opens (or joins, when this process already has it open) the database at `path`.
#[napi]
pub fn open(path: String, options: Option<NativeOpenOptions>) -> Result<NativeDb> {
    guard("open", || {
        let options = options.unwrap_or_default().into();
        registry::acquire(&path, &options).map(NativeDb::from_shared)
    })
}

/// `open` with sled's recovery on the libuv pool.
#[napi(ts_return_type = "Promise<NativeDb>")]
pub fn open_async(path: String, options: Option<NativeOpenOptions>) -> Result<AsyncTask<OpenTask>> {
    guard("openAsync", || {
        CoreResult::Ok(AsyncTask::new(OpenTask {
            path,
            options: options.unwrap_or_default().into(),
        }))
    })
}

/// Flushes every database open in this process (called when a JS environment ends).
/// Does nothing on a thread inside a transaction callback (`process.exit()` there):
/// sled's flush waits for the transaction lock that this very thread holds.
#[napi]
pub fn flush_all() {
    registry::flush_all();
}

/// Installs the environment cleanup hook that flushes every open database when this
/// environment (the main thread or a worker) is torn down.
#[napi]
pub fn install_exit_flush(env: Env) -> Result<()> {
    env.add_env_cleanup_hook((), |_| registry::flush_all())?;
    Ok(())
}

#[napi]
impl NativeDb {
    /// The canonical path of the database directory.
    #[napi(getter)]
    pub fn path(&self) -> String {
        self.state.path().to_owned()
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.state.closed()
    }

    /// Whether sled recovered an existing database when this path was first opened.
    #[napi(getter)]
    pub fn was_recovered(&self) -> bool {
        self.state.was_recovered()
    }

    /// The default tree, as a tree handle sharing this handle's lifetime.
    #[napi]
    pub fn default_tree(&self) -> Result<NativeTree> {
        guard("defaultTree", || self.state.default_tree("defaultTree")).map(NativeTree::new)
    }

    #[napi]
    pub fn open_tree(&self, #[napi(ts_arg_type = "Uint8Array")] name: Key) -> Result<NativeTree> {
        guard("openTree", || self.state.open_tree(&name)).map(NativeTree::new)
    }

    /// Starts an online backup into `destination` (which must not exist or be an empty
    /// directory); `job` reports its progress and cancels it. See `backup.rs`.
    #[napi(ts_return_type = "Promise<BackupSummary>")]
    pub fn backup(
        &self,
        destination: String,
        job: &crate::backup_job::NativeBackup,
    ) -> Result<AsyncTask<crate::backup_job::BackupTask>> {
        self.with("backup", |shared| {
            crate::backup_job::start(shared, destination, job, |c| self.state.adopt(c))
        })
    }

    /// Drops a tree and invalidates every live handle of it, in every thread.
    #[napi]
    pub fn drop_tree(&self, #[napi(ts_arg_type = "Uint8Array")] name: Key) -> Result<bool> {
        guard("dropTree", || self.state.drop_tree(&name))
    }

    #[napi(ts_return_type = "Buffer[]")]
    pub fn tree_names(&self) -> Result<Vec<Bytes>> {
        self.with("treeNames", |shared| {
            Ok(shared.db.tree_names().into_iter().map(Bytes).collect())
        })
    }

    #[napi]
    pub fn generate_id(&self) -> Result<u64> {
        self.on_db("generateId", sled::Db::generate_id)
    }

    #[napi]
    pub fn size_on_disk(&self) -> Result<f64> {
        self.on_db("sizeOnDisk", sled::Db::size_on_disk)
            .map(|n| n as f64)
    }

    /// CRC32 over every tree (takes sled's process-wide write lock while it runs).
    #[napi]
    pub fn checksum(&self) -> Result<u32> {
        self.on_db("checksum", |db| db.checksum())
    }

    /// Flushes, closes every child, and releases this handle's share of the
    /// database; the last handle of a path releases sled's file lock before this
    /// returns. Closing twice does nothing.
    #[napi]
    pub fn close(&self) -> Result<()> {
        guard("close", || match self.state.detach() {
            Some(shared) => DbState::finish(shared, true),
            None => Ok(()),
        })
    }

    /// `close` with the flush and sled's drop on the libuv pool; the handle is closed
    /// as soon as this is called.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close_async(&self) -> Result<AsyncTask<CloseTask>> {
        guard("closeAsync", || {
            CoreResult::Ok(AsyncTask::new(CloseTask {
                shared: self.state.detach(),
            }))
        })
    }
}

impl ObjectFinalize for NativeDb {
    fn finalize(self, _env: Env) -> Result<()> {
        // the last owner of the state: dropping it closes the handle (see DbState's Drop)
        let state = self.state;
        off_transaction(move || drop(state));
        Ok(())
    }
}

/// `openAsync`: recovery of a large database can take seconds.
pub struct OpenTask {
    path: String,
    options: OpenOptions,
}

impl Task for OpenTask {
    /// A share releases itself when dropped, so a result that never reaches JS (the
    /// environment was torn down first) cannot keep the database open.
    type Output = CoreResult<Share>;
    type JsValue = NativeDb;

    fn compute(&mut self) -> Result<Self::Output> {
        Ok(catch_panic("openAsync", || {
            registry::acquire(&self.path, &self.options)
        }))
    }

    fn resolve(&mut self, env: Env, shared: Self::Output) -> Result<NativeDb> {
        settle(&env, shared).map(NativeDb::from_shared)
    }
}

/// `closeAsync`: the flush and, for the last handle, sled's drop, off the JS thread.
/// The handle was already detached on the JS thread, so it is closed from the call on.
pub struct CloseTask {
    shared: Option<Share>,
}

impl Task for CloseTask {
    type Output = CoreResult<()>;
    type JsValue = ();

    fn compute(&mut self) -> Result<Self::Output> {
        Ok(match self.shared.take() {
            Some(shared) => catch_panic("closeAsync", || DbState::finish(shared, true)),
            None => Ok(()),
        })
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<()> {
        settle(&env, output)
    }
}
