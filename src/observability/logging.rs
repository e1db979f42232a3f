//! Tracing setup: human format on a terminal, JSON otherwise.
//!
//! Lines are batched (see `log_writer`): request threads format and append,
//! a flusher thread writes to stderr every 50 ms.
//!
//! The filter comes from `PORTCULLIS_LOG` (or `RUST_LOG`), default `info`.
//! HTTP client internals are held at `warn` whatever the filter says: their
//! debug lines print full upstream URLs, which may carry an injected `?key=`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Targets whose debug output may contain upstream URLs or header values.
const QUIET_TARGETS: [&str; 5] = ["reqwest", "hyper", "hyper_util", "h2", "rustls"];

/// Keeps the log writer thread alive; dropping it flushes what is queued.
pub type LogGuard = super::log_writer::FlushGuard;

/// Installs the global subscriber. Keep the guard until the process exits.
pub fn init() -> LogGuard {
    let spec = std::env::var("PORTCULLIS_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into());
    let mut filter = EnvFilter::try_new(&spec).unwrap_or_else(|_| EnvFilter::new("info"));
    for target in QUIET_TARGETS {
        if let Ok(directive) = format!("{target}=warn").parse() {
            filter = filter.add_directive(directive);
        }
    }
    let json = match std::env::var("PORTCULLIS_LOG_FORMAT").as_deref() {
        Ok("json") => true,
        Ok("pretty" | "text") => false,
        _ => !std::io::stderr().is_terminal(),
    };
    let (writer, guard) = super::log_writer::batch_writer(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(!json)
        .with_writer(writer);
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
    guard
}
