//! What validation reports: a problem, its key path, and a fix.

use std::fmt;

/// One thing wrong with a config: where, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key path, e.g. `routes[0] (openai).auth`.
    pub key: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Problem {
    /// A problem at `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Problems recorded under one key prefix (`routes[0] (a)`, `auth.main`).
pub struct Problems<'a> {
    prefix: String,
    out: &'a mut Vec<Problem>,
}

impl<'a> Problems<'a> {
    /// Records into `out` under `prefix`.
    pub fn under(prefix: impl Into<String>, out: &'a mut Vec<Problem>) -> Self {
        Self {
            prefix: prefix.into(),
            out,
        }
    }

    /// Records a problem at `prefix.field` (at `prefix` when `field` is empty).
    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        let key = if field.is_empty() {
            self.prefix.clone()
        } else {
            format!("{}.{field}", self.prefix)
        };
        self.out.push(Problem::new(key, message));
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

/// Whether `name` is usable as a route, verifier or limit name: 1-64
/// letters, digits, `-` or `_` (names label logs and metrics).
pub fn is_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
