//! Validation of `[rate_limit]` and `[limits.NAME]`, and the limits built
//! from them.

use std::collections::BTreeMap;
use std::sync::Arc;

use http::HeaderName;

use super::model::Config;
use super::validate::{Problem, is_name};
use crate::rate_limit::memory::MemoryLimiter;
use crate::rate_limit::redis::RedisBackend;
use crate::rate_limit::{Limit, LimitKey, Store, parse_rate};

/// Builds every limit, recording problems; broken ones are left out.
///
/// `reuse` offers the previous generation's limit when its definition and
/// `[rate_limit]` are unchanged, so counters survive a reload.
pub fn build(
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
        _ => {
            problems.push(Problem::new(
                "rate_limit.backend",
                "must be \"memory\" or a redis:// URL such as \"redis://127.0.0.1:6379\"",
            ));
            return BTreeMap::new();
        }
    };
    if settings.max_keys == 0 {
        problems.push(Problem::new("rate_limit.max_keys", "must be more than 0"));
    }
    let mut out = BTreeMap::new();
    for (name, lc) in &config.limits {
        if let Some(previous) = reuse(name) {
            out.insert(name.clone(), previous);
            continue;
        }
        let at = |field: &str| format!("limits.{name}.{field}");
        let before = problems.len();
        if !is_name(name) {
            problems.push(Problem::new(
                format!("limits.{name}"),
                "limit names are letters, digits, '-' or '_'",
            ));
        }
        let key = match lc.key.split_once(':') {
            None if lc.key == "ip" => Some(LimitKey::Ip),
            None if lc.key == "global" => Some(LimitKey::Global),
            Some(("claim", claim)) if !claim.is_empty() => Some(LimitKey::Claim(claim.to_owned())),
            Some(("header", header)) => match HeaderName::from_bytes(header.as_bytes()) {
                Ok(h) => Some(LimitKey::Header(h)),
                Err(_) => None,
            },
            _ => None,
        };
        if key.is_none() {
            problems.push(Problem::new(
                at("key"),
                format!(
                    "`{}` is not a key; use \"claim:NAME\", \"ip\", \"header:NAME\" or \"global\"",
                    lc.key
                ),
            ));
        }
        let interval = parse_rate(&lc.rate);
        if interval.is_none() {
            problems.push(Problem::new(
                at("rate"),
                format!(
                    "`{}` is not a rate; write e.g. \"60/min\" (units: s, min, hour, day)",
                    lc.rate
                ),
            ));
        }
        if lc.burst == 0 {
            problems.push(Problem::new(at("burst"), "must be at least 1"));
        }
        if problems.len() != before {
            continue;
        }
        let (Some(key), Some(interval)) = (key, interval) else {
            continue;
        };
        let store = match &redis {
            Some(backend) => Store::Redis(Arc::clone(backend)),
            None => match MemoryLimiter::new(interval, lc.burst, settings.max_keys) {
                Some(m) => Store::Memory(m),
                None => {
                    problems.push(Problem::new(at("rate"), "is too fine to represent"));
                    continue;
                }
            },
        };
        out.insert(
            name.clone(),
            Arc::new(Limit {
                name: Arc::from(name.as_str()),
                key,
                interval,
                burst: lc.burst,
                on_backend_error: settings.on_backend_error,
                store,
            }),
        );
    }
    out
}
