//! The `portcullis` binary: parse the command line, set up logging, hand over
//! to the library.

use std::process::ExitCode;

use clap::Parser;

// mimalloc: a proxy allocates many small, short-lived buffers per request;
// measured ~10% of CPU in glibc malloc/free under load (see benches/).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = portcullis::cli::Cli::parse();
    let _log_guard = portcullis::observability::logging::init();
    // The control runtime: signals and housekeeping. Requests are served by
    // the worker threads that `run` starts (see `server::run_workers`).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("portcullis: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(portcullis::cli::main(cli));
    // Stop the runtime before the log guard flushes the last lines. Worker
    // threads still holding connections past the shutdown grace are not
    // waited for: they end with the process.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    code
}
