//! Deliveries in Redis, shared by every replica. A claim is one Lua script
//! call (read and mark atomically, so two replicas never both forward the
//! same delivery); settling is one `SET` (accepted) or a conditional `DEL`.

use std::time::Duration;

use super::{DeliveryKey, State};
use crate::rate_limit::redis::RedisBackend;

const TIMEOUT: Duration = Duration::from_millis(500);

/// KEYS[1] the delivery; ARGV[1] the in-flight mark's lifetime in ms,
/// ARGV[2] the claim's own mark (`inflight:<token>`). Returns what was
/// there (`accepted`, `inflight:..`), or `claimed` after marking it.
const CLAIM: &str = r"
local state = redis.call('GET', KEYS[1])
if state then return state end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[1])
return 'claimed'
";

/// Removes this claim's in-flight mark (ARGV[1]); never an accepted record
/// or another replica's mark.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// The value of a claim's in-flight mark.
fn mark(token: u128) -> String {
    format!("inflight:{token:032x}")
}

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
    token: u128,
) -> Result<State, StoreError> {
    let mut connection = backend
        .connection()
        .ok_or_else(|| StoreError("not connected yet".into()))?;
    let script = redis::Script::new(CLAIM);
    let mut invocation = script.key(name(key));
    invocation.arg(millis(in_flight)).arg(mark(token));
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
    token: u128,
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
            let mut invocation = script.key(name(key));
            invocation.arg(mark(token));
            tokio::time::timeout(TIMEOUT, invocation.invoke_async::<i64>(&mut connection))
                .await
                .map(|reply| reply.map(|_| ()))
        }
    };
    result
        .map_err(|_| StoreError("timed out".into()))?
        .map_err(|e| StoreError(e.to_string()))
}
