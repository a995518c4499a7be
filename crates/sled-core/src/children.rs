//! What a handle created and must close with it: the `Child` trait, and the list of
//! weak links a Db handle or a tree's slot keeps of its children.

use std::sync::Weak;

use parking_lot::Mutex;

/// Something a handle created and must empty when it closes.
pub trait Child: Send + Sync {
    fn close(&self);
}

/// What a handle (a Db handle or a tree's slot) created: weak links, so a child that
/// JS dropped is not kept alive by its parent. The lock is held only to push or take
/// the list, never while closing what is in it.
#[derive(Default)]
pub struct Children(Mutex<Vec<Weak<dyn Child>>>);

impl Children {
    pub fn adopt(&self, child: Weak<dyn Child>) {
        let mut children = self.0.lock();
        children.retain(|c| c.strong_count() > 0);
        children.push(child);
    }

    /// Closes every child still alive; later adoptions start a new list.
    pub fn close_all(&self) {
        let children = std::mem::take(&mut *self.0.lock());
        for child in children.iter().filter_map(Weak::upgrade) {
            child.close();
        }
    }
}
