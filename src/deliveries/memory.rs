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
    /// Claims in order, for eviction: (key, claim number). An item whose
    /// number is not its entry's any more (released, or claimed again) is
    /// stale and skipped, so eviction never takes a newer claim for an older.
    order: VecDeque<(DeliveryKey, u64)>,
    next: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    accepted: bool,
    until: Instant,
    /// Which claim made this entry.
    claim: u64,
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
        let claim = inner.next;
        inner.next += 1;
        let until = now
            .checked_add(in_flight)
            .unwrap_or(now + Duration::from_secs(86_400 * 365));
        inner.entries.insert(
            key,
            Entry {
                accepted: false,
                until,
                claim,
            },
        );
        inner.order.push_back((key, claim));
        let Inner { entries, order, .. } = &mut *inner;
        while entries.len() > self.capacity {
            let Some((oldest, number)) = order.pop_front() else {
                break;
            };
            if entries.get(&oldest).is_some_and(|e| e.claim == number) {
                entries.remove(&oldest);
            }
        }
        // Keep the queue from growing with stale items (released claims).
        if order.len() > 2 * self.capacity {
            order.retain(|(k, n)| entries.get(k).is_some_and(|e| e.claim == *n));
        }
        State::Claimed
    }

    pub(super) fn settle(&self, key: DeliveryKey, accepted: Option<Duration>) {
        let mut inner = self.lock();
        match accepted {
            Some(window) => {
                if let Some(entry) = inner.entries.get_mut(&key) {
                    entry.accepted = true;
                    entry.until = deadline(Instant::now(), window);
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

/// `now + span`, saturating at a year for spans too long to represent.
fn deadline(now: Instant, span: Duration) -> Instant {
    now.checked_add(span)
        .unwrap_or(now + Duration::from_secs(86_400 * 365))
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

    /// A released key claimed again is the newest claim, not the oldest.
    #[test]
    fn eviction_follows_the_latest_claim() {
        let store = MemoryDeliveries::new(2);
        let k = |n: u8| [n; 32];
        store.claim(k(1), MIN);
        store.settle(k(1), None);
        store.claim(k(2), MIN);
        store.claim(k(1), MIN); // claimed again: now the newest
        store.claim(k(3), MIN); // evicts k(2), the oldest live claim
        assert_eq!(
            store.claim(k(1), MIN),
            State::InFlight,
            "the newest claim survived"
        );
        assert_eq!(store.claim(k(2), MIN), State::Claimed);
    }

    #[test]
    fn huge_windows_do_not_overflow() {
        let store = MemoryDeliveries::new(2);
        assert_eq!(store.claim([9; 32], Duration::MAX), State::Claimed);
        store.settle([9; 32], Some(Duration::MAX));
        assert_eq!(store.claim([9; 32], MIN), State::Accepted);
    }
}
