//! Logs (and, later, metrics): tracing setup and the access log.

pub mod access_log;
pub mod log_writer;
pub mod logging;
