//! Builds the limits of `[limits.NAME]` on the `[rate_limit]` backend.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::model::Config;
use crate::config::validate::Problem;
use crate::rate_limit::memory::MemoryLimiter;
use crate::rate_limit::redis::RedisBackend;
use crate::rate_limit::{Limit, Store};

/// Builds every limit, recording problems; broken ones are left out.
///
/// `reuse` offers the previous generation's limit when its definition and
/// `[rate_limit]` are unchanged, so counters survive a reload.
pub(super) fn build(
    config: &Config,
    problems: &mut Vec<Problem>,
    reuse: &dyn Fn(&str) -> Option<Arc<Limit>>,
) -> BTreeMap<String, Arc<Limit>> {
    let settings = &config.rate_limit;
    let redis = match settings.backend.as_str() {
        "memory" => None,
        url if url.starts_with("redis://") || url.starts_with("rediss://") => {
            match RedisBackend::new(url) {
                Ok(backend) => Some(Arc::new(backend)),
                Err(e) => {
                    problems.push(Problem::new(
                        "rate_limit.backend",
                        format!("is not a usable Redis URL ({e})"),
                    ));
                    return BTreeMap::new();
                }
            }
        }
        // Reported by `config::validate`.
        _ => return BTreeMap::new(),
    };
    let mut out = BTreeMap::new();
    for (name, lc) in &config.limits {
        if let Some(previous) = reuse(name) {
            out.insert(name.clone(), previous);
            continue;
        }
        if lc.burst == 0 {
            continue;
        }
        let interval = lc.rate.interval();
        let store = match &redis {
            Some(backend) => Store::Redis(Arc::clone(backend)),
            None => match MemoryLimiter::new(interval, lc.burst, settings.max_keys.max(1)) {
                Some(m) => Store::Memory(m),
                None => {
                    problems.push(Problem::new(
                        format!("limits.{name}.rate"),
                        "is too fine to represent",
                    ));
                    continue;
                }
            },
        };
        out.insert(
            name.clone(),
            Arc::new(Limit {
                name: Arc::from(name.as_str()),
                key: lc.key.clone(),
                interval,
                burst: lc.burst,
                on_backend_error: settings.on_backend_error,
                store,
            }),
        );
    }
    out
}
