//! Logs, the access log, and the admin endpoints (health, readiness).

pub mod access_log;
pub mod admin;
pub mod log_writer;
pub mod logging;
pub mod metrics;
