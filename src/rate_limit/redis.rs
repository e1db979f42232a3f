//! Limits shared by replicas: the same GCRA, computed atomically in Redis by
//! one Lua script call per check (no read-modify-write races), with Redis's
//! own clock so replicas agree on time.
//!
//! The connection is a multiplexed `ConnectionManager` that reconnects by
//! itself; a check that cannot reach Redis within 500 ms is a backend
//! error, handled by `on_backend_error`.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use redis::aio::ConnectionManager;
use sha2::{Digest, Sha256};

use super::Decision;
use crate::task::OwnedTask;

const CHECK_TIMEOUT: Duration = Duration::from_millis(500);

/// GCRA with tolerance for `burst`: KEYS[1] the bucket, ARGV[1] the emission
/// interval in microseconds, ARGV[2] the burst. Returns
/// {allowed (0/1), wait µs when refused, remaining burst when allowed}.
const GCRA: &str = r"
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - interval * burst
if now < allow_at then
  return {0, allow_at - now, 0}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1000)
return {1, 0, math.floor((now - allow_at) / interval)}
";

/// The shared Redis connection of a snapshot's limits.
#[derive(Debug)]
pub struct RedisBackend {
    client: redis::Client,
    manager: Arc<ArcSwapOption<ConnectionManager>>,
    script: redis::Script,
    task: OwnedTask,
}

/// Redis could not answer.
#[derive(Debug, thiserror::Error)]
#[error("rate-limit backend unavailable: {0}")]
pub struct BackendError(String);

impl RedisBackend {
    /// A backend for `url`; connects when started.
    pub fn new(url: &str) -> Result<Self, redis::RedisError> {
        Ok(Self {
            client: redis::Client::open(url)?,
            manager: Arc::new(ArcSwapOption::empty()),
            script: redis::Script::new(GCRA),
            task: OwnedTask::default(),
        })
    }

    /// Connects in the background on the current runtime, retrying each second.
    pub fn start(&self) {
        let client = self.client.clone();
        let slot = Arc::clone(&self.manager);
        self.task.start_once(move || async move {
            loop {
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(2)))
                    .set_response_timeout(Some(CHECK_TIMEOUT));
                match ConnectionManager::new_with_config(client.clone(), config).await {
                    Ok(manager) => {
                        tracing::info!("rate-limit backend connected to Redis");
                        slot.store(Some(Arc::new(manager)));
                        return;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot connect to the rate-limit Redis; retrying in 1s");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
    }

    /// A handle on the connection, once made (it reconnects by itself).
    pub fn connection(&self) -> Option<ConnectionManager> {
        self.manager.load_full().map(|manager| (*manager).clone())
    }

    /// Whether the first connection has been made.
    pub fn connected(&self) -> bool {
        self.manager.load().is_some()
    }

    /// Takes one request for `key` of limit `limit`.
    pub async fn check(
        &self,
        limit: &str,
        key: &str,
        interval: Duration,
        burst: u32,
    ) -> Result<Decision, BackendError> {
        let manager = self
            .manager
            .load_full()
            .ok_or_else(|| BackendError("not connected yet".into()))?;
        let mut connection = (*manager).clone();
        let bucket = bucket_name(limit, key);
        let mut invocation = self.script.key(bucket);
        invocation.arg(interval.as_micros() as u64).arg(burst);
        let reply: (i64, i64, i64) =
            tokio::time::timeout(CHECK_TIMEOUT, invocation.invoke_async(&mut connection))
                .await
                .map_err(|_| BackendError("timed out".into()))?
                .map_err(|e| BackendError(e.to_string()))?;
        Ok(match reply {
            (1, _, remaining) => Decision::allowed(burst, remaining.max(0) as u32, interval),
            (_, wait_us, _) => Decision::refused(
                burst,
                Duration::from_micros(wait_us.max(0) as u64),
                interval,
            ),
        })
    }
}

/// `portcullis:rl:LIMIT:KEY`, with long or binary keys hashed.
fn bucket_name(limit: &str, key: &str) -> String {
    if key.len() <= 64 && key.bytes().all(|b| b.is_ascii_graphic()) {
        format!("portcullis:rl:{limit}:{key}")
    } else {
        let digest = Sha256::digest(key.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("portcullis:rl:{limit}:#{hex}")
    }
}
