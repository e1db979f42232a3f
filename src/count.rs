//! Counting live things against a limit: open connections
//! (`max_connections`), requests in flight (`max_in_flight`). A taken place
//! is a guard that gives it back when dropped, whichever way its owner ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A count shared by everything that takes a place in it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Count(Arc<AtomicUsize>);

/// One place in a [`Count`], held until dropped.
#[derive(Debug)]
pub(crate) struct Counted(Arc<AtomicUsize>);

impl Count {
    /// Takes a place, or `None` when `limit` are already taken.
    pub(crate) fn try_take(&self, limit: usize) -> Option<Counted> {
        let before = self.0.fetch_add(1, Ordering::AcqRel);
        let place = Counted(Arc::clone(&self.0));
        (before < limit).then_some(place)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_given_back() {
        let count = Count::default();
        let a = count.try_take(2).unwrap();
        let _b = count.try_take(2).unwrap();
        assert!(count.try_take(2).is_none(), "a refused take holds nothing");
        drop(a);
        assert!(count.try_take(2).is_some());
    }
}
