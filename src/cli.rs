//! The command line: `run` serves, `check` validates without binding.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{self, SystemSecrets};
use crate::snapshot::{Gateway, Snapshot};

/// portcullis: a secure API gateway that keeps API keys on the server.
#[derive(Debug, Parser)]
#[command(name = "portcullis", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the routes of the config file.
    Run(ConfigArg),
    /// Load, validate and resolve the config without binding; print the route table.
    Check(ConfigArg),
    /// Print a development token for a verifier that has a `secret` (HS256).
    Token(TokenArgs),
    /// GET a URL and exit 0 on a 2xx answer: a health probe for images
    /// without a shell or curl (e.g. `probe http://127.0.0.1:9901/readyz`).
    Probe {
        /// The URL to fetch.
        url: String,
    },
}

/// `portcullis token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The config file.
    #[command(flatten)]
    pub config: ConfigArg,
    /// The verifier (`[auth.NAME]`) the token is for.
    #[arg(long)]
    pub verifier: String,
    /// The `sub` claim.
    #[arg(long, default_value = "dev-user")]
    pub sub: String,
    /// Extra claims, e.g. `--claim scope="read chat"` (repeatable).
    #[arg(long = "claim", value_parser = parse_claim)]
    pub claims: Vec<(String, String)>,
    /// Lifetime, e.g. `1h`.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub ttl: std::time::Duration,
}

fn parse_claim(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| "write claims as NAME=VALUE".to_owned())
}

/// Where the config file is.
#[derive(Debug, Args)]
pub struct ConfigArg {
    /// Path of the config file.
    #[arg(long, short, env = "PORTCULLIS_CONFIG", default_value = config::DEFAULT_PATH)]
    pub config: PathBuf,
}

/// Runs the parsed command line; returns the process exit code.
pub async fn main(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Run(arg) => run(arg).await,
        Command::Check(arg) => check(arg),
        Command::Token(args) => token(args),
        Command::Probe { url } => probe(&url).await,
    }
}

async fn probe(url: &str) -> ExitCode {
    let client = match reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .no_proxy()
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            eprintln!("probe: {e}");
            return ExitCode::FAILURE;
        }
    };
    match client.get(url).send().await {
        Ok(response) if response.status().is_success() => ExitCode::SUCCESS,
        Ok(response) => {
            eprintln!("probe: {url} answered {}", response.status());
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("probe: {}", e.without_url());
            ExitCode::FAILURE
        }
    }
}

fn token(args: TokenArgs) -> ExitCode {
    let config = match config::load(&args.config.config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!(
                "config error in {}:\n{}",
                args.config.config.display(),
                indent(&e.to_string())
            );
            return ExitCode::FAILURE;
        }
    };
    let Some(verifier) = config.auth.get(&args.verifier) else {
        let known: Vec<&str> = config.auth.keys().map(String::as_str).collect();
        eprintln!(
            "no verifier named `{}`; configured: {}",
            args.verifier,
            known.join(", ")
        );
        return ExitCode::FAILURE;
    };
    let base = args
        .config
        .config
        .parent()
        .unwrap_or(std::path::Path::new("."));
    let request = crate::auth::mint::DevToken {
        subject: args.sub,
        claims: args.claims,
        ttl: args.ttl,
    };
    match crate::auth::mint::mint(
        &args.verifier,
        verifier,
        &SystemSecrets::relative_to(base),
        &request,
    ) {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn load(arg: &ConfigArg) -> Result<Snapshot, String> {
    let config = config::load(&arg.config).map_err(|e| {
        format!(
            "config error in {}:\n{}",
            arg.config.display(),
            indent(&e.to_string())
        )
    })?;
    let base = arg.config.parent().unwrap_or(std::path::Path::new("."));
    Snapshot::build(config, &SystemSecrets::relative_to(base)).map_err(|e| {
        format!(
            "config error in {}:\n{}",
            arg.config.display(),
            indent(&e.to_string())
        )
    })
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  - {l}\n")).collect()
}

fn check(arg: ConfigArg) -> ExitCode {
    match load(&arg) {
        Ok(snapshot) => {
            print!("{}", route_table(&snapshot));
            println!("config OK: {}", arg.config.display());
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprint!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(arg: ConfigArg) -> ExitCode {
    let snapshot = match load(&arg) {
        Ok(snapshot) => snapshot,
        Err(message) => {
            tracing::error!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let addr = snapshot.config.server.listen;
    let workers = snapshot.config.server.workers();
    let listener = match std::net::TcpListener::bind(addr) {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!(%addr, error = %e, "cannot bind the listen address");
            return ExitCode::FAILURE;
        }
    };
    let routes: Vec<String> = snapshot
        .routes
        .iter()
        .map(|r| format!("{} -> {}", r.path, r.name))
        .collect();
    tracing::info!(addr = %listener.local_addr().unwrap_or(addr), workers, ?routes, "portcullis listening");
    let admin_addr = snapshot.config.server.admin_listen;
    let grace = snapshot.config.server.shutdown_grace;
    let watch_config = snapshot.config.server.watch_config;
    let gateway = Gateway::new(snapshot);
    if let Some(admin_addr) = admin_addr {
        match tokio::net::TcpListener::bind(admin_addr).await {
            Ok(admin) => {
                tracing::info!(addr = %admin.local_addr().unwrap_or(admin_addr), "admin listening (/metrics, /healthz, /readyz)");
                let metrics = crate::observability::metrics::install();
                if let Some(handle) = metrics.clone() {
                    tokio::spawn(crate::observability::metrics::upkeep(handle));
                }
                let app = crate::observability::admin::app(gateway.clone(), metrics);
                tokio::spawn(async move {
                    if let Err(e) = axum::serve(admin, app).await {
                        tracing::error!(error = %e, "admin listener failed");
                    }
                });
            }
            Err(e) => {
                tracing::error!(addr = %admin_addr, error = %e, "cannot bind the admin address");
                return ExitCode::FAILURE;
            }
        }
    }
    tokio::spawn(crate::reload::run(
        gateway.clone(),
        arg.config.clone(),
        watch_config,
    ));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let gateway_for_shutdown = gateway.clone();
    let mut serving = tokio::task::spawn_blocking(move || {
        crate::server::run_workers(listener, gateway, workers, stopped)
    });
    let result = tokio::select! {
        result = &mut serving => result,
        () = crate::server::shutdown_signal() => {
            gateway_for_shutdown.begin_shutdown();
            let _ = stop.send(true);
            match tokio::time::timeout(grace, &mut serving).await {
                Ok(result) => result,
                Err(_) => {
                    tracing::warn!(?grace, "shutdown grace expired; closing the remaining connections");
                    Ok(Ok(()))
                }
            }
        }
    };
    match result {
        Ok(Ok(())) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "server failed");
            ExitCode::FAILURE
        }
        Err(e) => {
            tracing::error!(error = %e, "server task failed");
            ExitCode::FAILURE
        }
    }
}

/// The route table as `check` prints it. Injected values are never shown, only names.
pub fn route_table(snapshot: &Snapshot) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "listen {}", snapshot.config.server.listen);
    for route in snapshot.routes.iter() {
        let methods = match &route.methods {
            Some(m) => m.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(","),
            None => "*".into(),
        };
        let injects: Vec<String> = route
            .inject_headers
            .iter()
            .map(|(name, _)| format!("header:{name}"))
            .chain(
                route
                    .inject_query
                    .iter()
                    .map(|(name, _)| format!("query:{name}")),
            )
            .collect();
        let _ = writeln!(
            out,
            "route {name}: {path} -> {upstream} methods={methods} auth={auth} timeout={timeout:?} max_body={max_body} inject=[{injects}]",
            name = route.name,
            auth = route.auth.as_ref().map_or_else(
                || "none".to_owned(),
                |v| format!("{} ({})", v.name, v.kind_name())
            ),
            path = route.path,
            upstream = route.upstream,
            timeout = route.timeout,
            max_body = route.max_body,
            injects = injects.join(","),
        );
    }
    out
}
