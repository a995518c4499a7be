//! What a handle created and must close with it: the `Child` trait, and the list of
//! weak links a Db handle or a tree's slot keeps of its children.

use std::sync::Weak;

use parking_lot::Mutex;

use crate::weak_list::WeakList;

/// Something a handle created and must empty when it closes.
pub trait Child: Send + Sync {
    fn close(&self);
}

/// What a handle (a Db handle or a tree's slot) created: weak links, so a child that
/// JS dropped is not kept alive by its parent. The lock is held only to push or take
/// the list, never while closing what is in it.
#[derive(Default)]
pub struct Children(Mutex<WeakList<dyn Child>>);

impl Children {
    pub fn adopt(&self, child: Weak<dyn Child>) {
        self.0.lock().push(child);
    }

    /// Closes every child still alive; later adoptions start a new list.
    pub fn close_all(&self) {
        let children = self.0.lock().take_live();
        for child in children {
            child.close();
        }
    }
}
