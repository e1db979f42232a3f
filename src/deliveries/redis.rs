//! Deliveries in Redis, shared by every replica. A claim is one Lua script
//! call (read and mark atomically, so two replicas never both forward the
//! same delivery); settling is one `SET` (accepted) or a conditional `DEL`.

use std::time::Duration;

use super::{DeliveryKey, State};
use crate::rate_limit::redis::RedisBackend;

const TIMEOUT: Duration = Duration::from_millis(500);

/// KEYS[1] the delivery; ARGV[1] the in-flight mark's lifetime in ms.
/// Returns what was there (`accepted`, `inflight`), or `claimed` after
/// marking it in flight.
const CLAIM: &str = r"
local state = redis.call('GET', KEYS[1])
if state then return state end
redis.call('SET', KEYS[1], 'inflight', 'PX', ARGV[1])
return 'claimed'
";

/// Removes an in-flight mark, never an accepted record.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == 'inflight' then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Redis could not answer.
#[derive(Debug, thiserror::Error)]
#[error("delivery store: {0}")]
pub(super) struct StoreError(String);

fn name(key: DeliveryKey) -> String {
    format!("portcullis:wh:{}", hex::encode(key))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

pub(super) async fn claim(
    backend: &RedisBackend,
    key: DeliveryKey,
    in_flight: Duration,
) -> Result<State, StoreError> {
    let mut connection = backend
        .connection()
        .ok_or_else(|| StoreError("not connected yet".into()))?;
    let script = redis::Script::new(CLAIM);
    let mut invocation = script.key(name(key));
    invocation.arg(millis(in_flight));
    let reply: String = tokio::time::timeout(TIMEOUT, invocation.invoke_async(&mut connection))
        .await
        .map_err(|_| StoreError("timed out".into()))?
        .map_err(|e| StoreError(e.to_string()))?;
    Ok(match reply.as_str() {
        "claimed" => State::Claimed,
        "accepted" => State::Accepted,
        _ => State::InFlight,
    })
}

pub(super) async fn settle(
    backend: &RedisBackend,
    key: DeliveryKey,
    accepted: Option<Duration>,
) -> Result<(), StoreError> {
    let mut connection = backend
        .connection()
        .ok_or_else(|| StoreError("not connected".into()))?;
    let result = match accepted {
        Some(window) => {
            let cmd = redis::cmd("SET")
                .arg(name(key))
                .arg("accepted")
                .arg("PX")
                .arg(millis(window))
                .to_owned();
            tokio::time::timeout(TIMEOUT, cmd.query_async::<()>(&mut connection)).await
        }
        None => {
            let script = redis::Script::new(RELEASE);
            let invocation = script.key(name(key));
            tokio::time::timeout(TIMEOUT, invocation.invoke_async::<i64>(&mut connection))
                .await
                .map(|reply| reply.map(|_| ()))
        }
    };
    result
        .map_err(|_| StoreError("timed out".into()))?
        .map_err(|e| StoreError(e.to_string()))
}
