//! Background tasks that die with their owner (JWKS refresh, limiter
//! eviction, Redis connection): started at most once, on the current
//! runtime, and aborted when the owning value is dropped, so a replaced
//! snapshot leaves nothing running behind it.

use std::future::Future;
use std::sync::Mutex;

use tokio::task::AbortHandle;

/// A task slot owned by a value.
#[derive(Debug, Default)]
pub(crate) struct OwnedTask(Mutex<Option<AbortHandle>>);

impl OwnedTask {
    /// Spawns `make()` on the current runtime unless already started.
    /// Without a runtime nothing starts (e.g. `portcullis check`).
    pub(crate) fn start_once<F>(&self, make: impl FnOnce() -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let Ok(mut slot) = self.0.lock() else { return };
        if slot.is_some() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            *slot = Some(runtime.spawn(make()).abort_handle());
        }
    }
}

impl Drop for OwnedTask {
    fn drop(&mut self) {
        if let Ok(mut slot) = self.0.lock()
            && let Some(task) = slot.take()
        {
            task.abort();
        }
    }
}
