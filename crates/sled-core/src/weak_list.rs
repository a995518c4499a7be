//! A list of weak links whose dead ones are pruned now and then, not on every push.
//!
//! Pruning on every push made each push walk the whole list: a tree's slot keeps a
//! link to every iterator made on it, and an iterator stays alive until the GC
//! finalizes its JS object, so a loop of `range()` calls between two collections
//! walked thousands of links per call (two thirds of a one-entry `range()`'s time).
//! Pruning only when the list has doubled since the last prune costs O(1) per push,
//! amortized, and keeps the list at most about twice its live links.

use std::sync::{Arc, Weak};

/// Below this length the list is never pruned.
const MIN_PRUNE: usize = 16;

pub struct WeakList<T: ?Sized> {
    links: Vec<Weak<T>>,
    /// Prune when a push finds the list this long.
    prune_at: usize,
}

impl<T: ?Sized> Default for WeakList<T> {
    fn default() -> Self {
        WeakList {
            links: Vec::new(),
            prune_at: MIN_PRUNE,
        }
    }
}

impl<T: ?Sized> WeakList<T> {
    pub fn push(&mut self, link: Weak<T>) {
        if self.links.len() >= self.prune_at {
            self.links.retain(|l| l.strong_count() > 0);
            self.prune_at = (self.links.len() * 2).max(MIN_PRUNE);
        }
        self.links.push(link);
    }

    /// The links still alive, emptying the list.
    pub fn take_live(&mut self) -> Vec<Arc<T>> {
        let links = std::mem::take(self);
        links.links.iter().filter_map(Weak::upgrade).collect()
    }

    /// How many links the list holds, dead ones included.
    pub fn len(&self) -> usize {
        self.links.len()
    }

    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `count` values kept alive, and a list linking each of them.
    fn kept(count: u32) -> (Vec<Arc<u32>>, WeakList<u32>) {
        let kept: Vec<Arc<u32>> = (0..count).map(Arc::new).collect();
        let mut list = WeakList::default();
        for k in &kept {
            list.push(Arc::downgrade(k));
        }
        (kept, list)
    }

    #[test]
    fn keeps_live_links_and_stays_within_twice_the_live_ones() {
        let (kept, mut list) = kept(10);
        for i in 0..100_000 {
            // each dropped at once, as an iterator the GC collected
            let gone = Arc::new(i);
            list.push(Arc::downgrade(&gone));
            assert!(list.len() <= 2 * (kept.len() + 1) + MIN_PRUNE);
        }
        assert_eq!(list.take_live().len(), kept.len());
        assert!(list.is_empty());
    }

    #[test]
    fn many_live_links_are_all_kept() {
        let (_kept, mut list) = kept(1000);
        assert_eq!(list.take_live().len(), 1000);
    }
}
