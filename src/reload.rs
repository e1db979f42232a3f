//! Hot reload, as an explicit state machine:
//!
//! ```text
//! trigger (SIGHUP, or the config file changed) -> load -> validate + build
//!   -> swap   (requests in flight finish on the snapshot they started with)
//!   -> or keep the current snapshot and say so at error level
//! ```
//!
//! The file watch covers the config file's directory, so it also sees a
//! Kubernetes ConfigMap update (an atomic swap of the `..data` symlink).
//! Changes to `listen`, `admin_listen` or `workers` need a restart; the log
//! says so. JWKS verifiers and rate limits whose definitions did not change
//! are carried into the new snapshot with their keys and counters.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};
use tokio::sync::mpsc;

use crate::config::{self, SystemSecrets};
use crate::snapshot::{Gateway, Snapshot};

const DEBOUNCE: Duration = Duration::from_millis(250);

/// Loads `path` and swaps it in, or explains why not; either way counted in
/// `portcullis_config_reloads_total`.
pub(crate) fn reload(gateway: &Gateway, path: &Path) -> Result<usize, String> {
    let result = load_and_swap(gateway, path);
    crate::observability::metrics::config_reload(result.is_ok());
    result
}

fn load_and_swap(gateway: &Gateway, path: &Path) -> Result<usize, String> {
    let current = gateway.snapshot();
    let config = config::load(path).map_err(|e| e.to_string())?;
    let base = path.parent().unwrap_or(Path::new("."));
    let next = Snapshot::rebuild(config, &SystemSecrets::relative_to(base), &current)
        .map_err(|e| e.to_string())?;
    let (old, new) = (&current.config.server, &next.config.server);
    if old.listen != new.listen
        || old.admin_listen != new.admin_listen
        || old.workers != new.workers
        || old.header_read_timeout != new.header_read_timeout
        || old.max_connections != new.max_connections
        || old.http2_max_concurrent_streams != new.http2_max_concurrent_streams
        || old.max_header_size != new.max_header_size
        || old.max_headers != new.max_headers
    {
        tracing::warn!(
            "listen, admin_listen, workers and connection settings (header_read_timeout, max_connections, http2_max_concurrent_streams) take effect only after a restart"
        );
    }
    let routes = next.routes.iter().count();
    gateway.swap(next);
    Ok(routes)
}

/// Reloads on SIGHUP and, when `watch` is set, when the config file changes.
/// Runs until the process ends.
pub(crate) async fn run(gateway: Gateway, path: PathBuf, watch: bool) {
    let (tx, mut triggers) = mpsc::unbounded_channel::<&'static str>();
    #[cfg(unix)]
    {
        let tx = tx.clone();
        tokio::spawn(async move {
            let Ok(mut hup) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            else {
                return;
            };
            while hup.recv().await.is_some() {
                let _ = tx.send("SIGHUP");
            }
        });
    }
    // Kept alive for as long as we listen to its events.
    let _watcher = if watch { watch_file(&path, tx) } else { None };
    while let Some(trigger) = triggers.recv().await {
        match reload(&gateway, &path) {
            Ok(routes) => tracing::info!(trigger, routes, "config reloaded"),
            Err(e) => {
                tracing::error!(trigger, error = %e, "config reload failed; keeping the current config")
            }
        }
    }
}

type Watcher = Debouncer<notify_debouncer_mini::notify::RecommendedWatcher>;

fn watch_file(path: &Path, tx: mpsc::UnboundedSender<&'static str>) -> Option<Watcher> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_owned();
    let name = path.file_name()?.to_owned();
    let handler = move |events: DebounceEventResult| {
        let Ok(events) = events else { return };
        // The file itself, or Kubernetes' `..data` symlink swap.
        let relevant = events.iter().any(|e| {
            e.path
                .file_name()
                .is_some_and(|f| f == name || f.to_string_lossy().starts_with(".."))
        });
        if relevant {
            let _ = tx.send("file changed");
        }
    };
    let mut debouncer = match new_debouncer(DEBOUNCE, handler) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "cannot watch the config file; reload with SIGHUP");
            return None;
        }
    };
    if let Err(e) = debouncer.watcher().watch(&dir, RecursiveMode::NonRecursive) {
        tracing::error!(dir = %dir.display(), error = %e, "cannot watch the config directory; reload with SIGHUP");
        return None;
    }
    Some(debouncer)
}
