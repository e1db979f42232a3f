//! Webhook deliveries already accepted, so a provider's retry of one is not
//! handed to the app twice.
//!
//! A verified delivery with a key is *claimed* before it is forwarded: the
//! first claim marks it in flight; a claim of a key the upstream already
//! accepted (2xx) within the window is a duplicate (answered 200 without
//! forwarding); a claim while the first is still in flight is refused (409).
//! After the upstream answers, the claim is settled: accepted on 2xx,
//! released otherwise (so the provider's retry is forwarded again). A claim
//! dropped unsettled (the client went away, the upstream failed) is
//! released.
//!
//! The store is in memory (bounded, the oldest evicted first) or, when
//! `[rate_limit] backend` is Redis, in Redis so every replica sees it.
//! Keys are SHA-256 of the verifier's name and the delivery key: the store
//! holds no delivery ids or signatures.

mod memory;
mod redis;

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::config::model::OnBackendError;
use crate::rate_limit::redis::RedisBackend;
use memory::MemoryDeliveries;

/// Deliveries remembered in memory at most (about 100 bytes each).
pub const MEMORY_CAPACITY: usize = 100_000;

/// A delivery's key in the store.
pub type DeliveryKey = [u8; 32];

/// The key of delivery `delivery` of verifier `verifier`.
pub fn key(verifier: &str, delivery: &str) -> DeliveryKey {
    let mut hash = Sha256::new();
    hash.update(verifier.as_bytes());
    hash.update([0]);
    hash.update(delivery.as_bytes());
    hash.finalize().into()
}

/// Where accepted deliveries are remembered.
#[derive(Debug)]
pub enum DeliveryStore {
    /// This process.
    Memory(MemoryDeliveries),
    /// Redis, shared by replicas.
    Redis {
        /// The connection.
        backend: Arc<RedisBackend>,
        /// What to do when Redis cannot answer.
        on_error: OnBackendError,
    },
}

/// What a claim found.
#[derive(Debug)]
pub enum Claim {
    /// A new delivery: forward it, then settle the guard.
    New(ClaimGuard),
    /// Accepted before, within the window.
    Duplicate,
    /// Being forwarded right now by another request.
    InFlight,
    /// The store is down and the policy allows forwarding without it.
    Unchecked,
}

/// The store cannot answer and the policy is to deny.
#[derive(Debug, thiserror::Error)]
#[error("the delivery store is unavailable")]
pub struct Unavailable;

impl DeliveryStore {
    /// A store in memory.
    pub fn memory() -> Self {
        DeliveryStore::Memory(MemoryDeliveries::new(MEMORY_CAPACITY))
    }

    /// Starts background work (the Redis connection) on the current runtime.
    pub fn start(&self) {
        if let DeliveryStore::Redis { backend, .. } = self {
            backend.start();
        }
    }

    /// Whether the store can answer (Redis connected at least once).
    pub fn ready(&self) -> bool {
        match self {
            DeliveryStore::Memory(_) => true,
            DeliveryStore::Redis { backend, .. } => backend.connected(),
        }
    }

    /// Claims `key`; an in-flight mark lasts at most `in_flight` (a
    /// replica that dies mid-forward must not block retries for long).
    pub async fn claim(
        self: &Arc<Self>,
        key: DeliveryKey,
        in_flight: Duration,
    ) -> Result<Claim, Unavailable> {
        let token = uuid::Uuid::new_v4().as_u128();
        let state = match &**self {
            DeliveryStore::Memory(memory) => Ok(memory.claim(key, in_flight)),
            DeliveryStore::Redis { backend, .. } => {
                redis::claim(backend, key, in_flight, token).await
            }
        };
        match state {
            Ok(State::Claimed) => Ok(Claim::New(ClaimGuard {
                store: Arc::clone(self),
                key,
                token,
                settled: false,
            })),
            Ok(State::Accepted) => Ok(Claim::Duplicate),
            Ok(State::InFlight) => Ok(Claim::InFlight),
            Err(e) => {
                tracing::warn!(error = %e, "webhook delivery store unavailable");
                match self.on_error() {
                    OnBackendError::Allow => Ok(Claim::Unchecked),
                    OnBackendError::Deny => Err(Unavailable),
                }
            }
        }
    }

    fn on_error(&self) -> OnBackendError {
        match self {
            DeliveryStore::Memory(_) => OnBackendError::Deny,
            DeliveryStore::Redis { on_error, .. } => *on_error,
        }
    }

    async fn settle(&self, key: DeliveryKey, accepted: Option<Duration>, token: u128) {
        match self {
            DeliveryStore::Memory(memory) => memory.settle(key, accepted),
            DeliveryStore::Redis { backend, .. } => {
                if let Err(e) = redis::settle(backend, key, accepted, token).await {
                    tracing::warn!(error = %e, "could not record a webhook delivery's outcome");
                }
            }
        }
    }
}

/// What the store holds for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing: the caller now holds the in-flight mark.
    Claimed,
    /// Being forwarded.
    InFlight,
    /// Accepted by the upstream.
    Accepted,
}

/// The in-flight mark of one delivery; settle it, or dropping releases it.
#[derive(Debug)]
pub struct ClaimGuard {
    store: Arc<DeliveryStore>,
    key: DeliveryKey,
    /// Tells this claim's Redis mark from another replica's.
    token: u128,
    settled: bool,
}

impl ClaimGuard {
    /// The upstream accepted the delivery: remember it for `window`.
    pub async fn accept(mut self, window: Duration) {
        self.settle(Some(window)).await;
    }

    /// The upstream did not accept it: a retry may be forwarded.
    pub async fn release(mut self) {
        self.settle(None).await;
    }

    /// Records the outcome in a task of its own, so a request cancelled
    /// meanwhile (the client went away) cannot leave it half-done.
    async fn settle(&mut self, accepted: Option<Duration>) {
        if let Some(task) = self.settle_detached(accepted) {
            let _ = task.await;
        }
    }

    /// Records the outcome: at once in memory; in Redis, in a spawned task
    /// (returned, for a caller that wants to wait for it).
    fn settle_detached(
        &mut self,
        accepted: Option<Duration>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        self.settled = true;
        match &*self.store {
            DeliveryStore::Memory(memory) => {
                memory.settle(self.key, accepted);
                None
            }
            DeliveryStore::Redis { .. } => {
                let (store, key, token) = (Arc::clone(&self.store), self.key, self.token);
                let runtime = tokio::runtime::Handle::try_current().ok()?;
                Some(runtime.spawn(async move { store.settle(key, accepted, token).await }))
            }
        }
    }
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        if !self.settled {
            self.settle_detached(None);
        }
    }
}
