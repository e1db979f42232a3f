//! Deliveries in this process: a map bounded in entries, the oldest
//! evicted first; accepted entries expire after their window.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{DeliveryKey, State};

/// The in-memory delivery store.
#[derive(Debug)]
pub struct MemoryDeliveries {
    inner: Mutex<Inner>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<DeliveryKey, Entry>,
    /// Keys in insertion order, for eviction (may hold keys since removed).
    order: VecDeque<DeliveryKey>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    accepted: bool,
    until: Instant,
}

impl MemoryDeliveries {
    /// A store holding at most `capacity` deliveries.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::default(),
            capacity: capacity.max(1),
        }
    }

    /// Deliveries held now (expired ones included until touched).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map inconsistent
        // (every update is one insert or remove); keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn claim(&self, key: DeliveryKey, in_flight: Duration) -> State {
        let now = Instant::now();
        let mut inner = self.lock();
        if let Some(entry) = inner.entries.get(&key)
            && entry.until > now
        {
            return if entry.accepted {
                State::Accepted
            } else {
                State::InFlight
            };
        }
        let fresh = inner
            .entries
            .insert(
                key,
                Entry {
                    accepted: false,
                    until: now + in_flight,
                },
            )
            .is_none();
        if fresh {
            inner.order.push_back(key);
        }
        while inner.entries.len() > self.capacity {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            inner.entries.remove(&oldest);
        }
        // Keep the order queue from growing with keys removed by release.
        if inner.order.len() > 2 * self.capacity {
            let Inner { entries, order } = &mut *inner;
            order.retain(|k| entries.contains_key(k));
        }
        State::Claimed
    }

    pub(super) fn settle(&self, key: DeliveryKey, accepted: Option<Duration>) {
        let mut inner = self.lock();
        match accepted {
            Some(window) => {
                if let Some(entry) = inner.entries.get_mut(&key) {
                    *entry = Entry {
                        accepted: true,
                        until: Instant::now() + window,
                    };
                }
            }
            None => {
                if inner.entries.get(&key).is_some_and(|e| !e.accepted) {
                    inner.entries.remove(&key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn claim_accept_release_and_bound() {
        let store = MemoryDeliveries::new(3);
        let k = |n: u8| [n; 32];
        assert_eq!(store.claim(k(1), MIN), State::Claimed);
        assert_eq!(store.claim(k(1), MIN), State::InFlight);
        store.settle(k(1), None);
        assert_eq!(store.claim(k(1), MIN), State::Claimed, "released: retried");
        store.settle(k(1), Some(MIN));
        assert_eq!(store.claim(k(1), MIN), State::Accepted);
        store.settle(k(1), None);
        assert_eq!(
            store.claim(k(1), MIN),
            State::Accepted,
            "release never forgets an accepted one"
        );
        for n in 2..10 {
            store.claim(k(n), MIN);
        }
        assert_eq!(store.len(), 3, "bounded");
        assert_eq!(
            store.claim(k(1), MIN),
            State::Claimed,
            "the oldest was evicted"
        );
    }

    #[test]
    fn accepted_entries_expire() {
        let store = MemoryDeliveries::new(10);
        assert_eq!(store.claim([7; 32], MIN), State::Claimed);
        store.settle([7; 32], Some(Duration::ZERO));
        assert_eq!(store.claim([7; 32], MIN), State::Claimed);
    }
}
