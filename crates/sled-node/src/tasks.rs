//! Work that runs on the libuv pool (`…Async` methods).
//!
//! Each task copies its arguments (JS may mutate a Buffer while the task runs),
//! catches panics itself (a panic in `compute` would abort the process), and uses
//! the slot's read lock only while sled runs, so `close()` waits for it.

use std::sync::Arc;

use napi::{Env, Result, Task};

use crate::boundary::catch_panic;
use crate::bytes::{MaybeBytes, PackedValues};
use crate::db::DbState;
use crate::options::NativeOpenOptions;
use crate::registry::{self, Share};
use crate::slot::Slot;

pub enum TreeOp {
    Get(Vec<u8>),
    Insert(Vec<u8>, Vec<u8>),
    Remove(Vec<u8>),
    /// The batch and the keys it writes.
    Apply(sled::Batch, Vec<Vec<u8>>),
}

/// get / insert / remove off the JS thread.
pub struct TreeOpTask {
    pub slot: Arc<Slot>,
    pub op: TreeOp,
}

impl Task for TreeOpTask {
    type Output = Option<sled::IVec>;
    type JsValue = MaybeBytes;

    fn compute(&mut self) -> Result<Self::Output> {
        let (name, slot) = match &self.op {
            TreeOp::Get(_) => ("getAsync", &self.slot),
            TreeOp::Insert(..) => ("insertAsync", &self.slot),
            TreeOp::Remove(_) => ("removeAsync", &self.slot),
            TreeOp::Apply(..) => ("applyAsync", &self.slot),
        };
        catch_panic(name, || {
            slot.with(name, |tree| match &self.op {
                TreeOp::Get(key) => tree.get(key),
                TreeOp::Insert(key, value) => slot.write(tree, |r| r.insert(key, value)),
                TreeOp::Remove(key) => slot.write(tree, |r| r.remove(key)),
                TreeOp::Apply(batch, keys) => slot
                    .write(tree, |r| r.apply(batch.clone(), keys))
                    .map(|()| None),
            })
        })
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(MaybeBytes(output))
    }
}

/// Several `getAsync` calls of one tick in one pool task (the facade coalesces
/// them): the pool hop is paid once per batch, not once per key.
pub struct GetManyTask {
    pub slot: Arc<Slot>,
    pub keys: Vec<Vec<u8>>,
}

impl Task for GetManyTask {
    type Output = Vec<Option<sled::IVec>>;
    type JsValue = PackedValues;

    fn compute(&mut self) -> Result<Self::Output> {
        catch_panic("getAsync", || {
            self.slot.with("getAsync", |tree| {
                self.keys.iter().map(|key| tree.get(key)).collect()
            })
        })
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(PackedValues(output))
    }
}

/// `flushAsync`: sled's flush blocks on disk I/O.
pub struct FlushTask {
    pub slot: Arc<Slot>,
}

impl Task for FlushTask {
    type Output = usize;
    type JsValue = f64;

    fn compute(&mut self) -> Result<usize> {
        catch_panic("flushAsync", || {
            self.slot.with("flushAsync", |tree| tree.flush())
        })
    }

    fn resolve(&mut self, _env: Env, output: usize) -> Result<f64> {
        Ok(output as f64)
    }
}

/// `openAsync`: recovery of a large database can take seconds.
pub struct OpenTask {
    pub path: String,
    pub options: NativeOpenOptions,
}

impl Task for OpenTask {
    /// A share releases itself when dropped, so a result that never reaches JS (the
    /// environment was torn down first) cannot keep the database open.
    type Output = Share;
    type JsValue = crate::db::NativeDb;

    fn compute(&mut self) -> Result<Share> {
        catch_panic("openAsync", || registry::acquire(&self.path, &self.options))
    }

    fn resolve(&mut self, _env: Env, shared: Share) -> Result<Self::JsValue> {
        crate::db::NativeDb::from_shared(shared)
    }
}

/// `closeAsync`: the flush and, for the last handle, sled's drop, off the JS thread.
/// The handle was already detached on the JS thread, so it is closed from the call on.
pub struct CloseTask {
    pub shared: Option<Share>,
}

impl Task for CloseTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> Result<()> {
        match self.shared.take() {
            Some(shared) => catch_panic("closeAsync", || DbState::finish(shared, true)),
            None => Ok(()),
        }
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> Result<()> {
        Ok(())
    }
}
