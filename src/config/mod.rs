//! Configuration as data: load (figment: TOML file, then `PORTCULLIS_` env
//! vars), model (serde structs), typed values, secret references,
//! validation. Nothing here builds a runtime object or imports one: the
//! snapshot builds routes, verifiers and limits from a validated config.
//!
//! Loading is phase one: figment's errors already carry the key path and
//! file, for unknown keys and for bad values alike ([`values`] parses rates,
//! limit keys, token sources and algorithms while loading). [`validate`] is
//! phase two: cross-field rules, every problem at once.

pub mod model;
mod model_auth;
mod problem;
pub mod secret;
pub mod validate;
mod validate_auth;
pub mod values;

use std::fmt;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};

pub use model::Config;
pub use secret::{Secret, SecretSource, SystemSecrets};
pub use validate::Problem;

/// The default config path, relative to the working directory.
pub const DEFAULT_PATH: &str = "config/proxy.toml";

/// Why a config could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file is missing or unreadable.
    #[error("config file `{path}` cannot be read: {reason}")]
    Unreadable {
        /// The path given.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// TOML syntax, an unknown key, or a value of the wrong type.
    #[error("{}", ParseErrors(.0))]
    Parse(Box<figment::Error>),
    /// Cross-field rules, unresolved secrets.
    #[error("{}", Problems(.0))]
    Invalid(Vec<Problem>),
}

/// Reads `path` and layers `PORTCULLIS_*` environment variables on top
/// (`PORTCULLIS_SERVER__LISTEN=0.0.0.0:8080` sets `server.listen`).
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    std::fs::metadata(path).map_err(|e| ConfigError::Unreadable {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    Figment::from(Toml::file_exact(path))
        .merge(
            Env::prefixed("PORTCULLIS_")
                .ignore(&["CONFIG", "LOG", "LOG_FORMAT"])
                .split("__"),
        )
        .extract()
        .map_err(|e| ConfigError::Parse(Box::new(e)))
}

/// Parses a config from TOML text alone (no environment), for tests and tools.
pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
    Figment::from(Toml::string(text))
        .extract()
        .map_err(|e| ConfigError::Parse(Box::new(e)))
}

struct ParseErrors<'a>(&'a figment::Error);

impl fmt::Display for ParseErrors<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.clone().into_iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let key = e.path.join(".");
            let key = if key.is_empty() {
                "config".to_owned()
            } else {
                key
            };
            match &e.kind {
                figment::error::Kind::UnknownField(found, expected) => {
                    write!(f, "{key}: unknown key `{found}`")?;
                    if let Some(near) = closest(found, expected) {
                        write!(f, "; did you mean `{near}`?")?;
                    }
                    write!(f, " (valid keys here: {})", expected.join(", "))?;
                }
                kind => {
                    write!(f, "{key}: {kind}")?;
                    if let Some(hint) = value_hint(&e.path) {
                        write!(f, "; {hint}")?;
                    }
                }
            }
            if let Some(source) = e.metadata.as_ref().and_then(|m| m.source.as_ref()) {
                write!(f, " (in {source})")?;
            }
        }
        Ok(())
    }
}

/// How to write the value of a key whose value failed to parse.
fn value_hint(path: &[String]) -> Option<&'static str> {
    let key = path.iter().rev().find(|p| p.parse::<usize>().is_err())?;
    Some(match key.as_str() {
        "timeout" => "write a duration such as \"30s\", \"500ms\" or \"2m\"",
        "max_body" => "write a size such as \"1MiB\", \"512KiB\" or a number of bytes",
        "listen" => "write an address and port such as \"127.0.0.1:8080\"",
        "trusted_proxies" => "write CIDRs such as [\"10.0.0.0/8\", \"::1/128\"]",
        _ => return None,
    })
}

/// The expected key nearest to a misspelt one, if it is near enough.
fn closest<'k>(found: &str, expected: &[&'k str]) -> Option<&'k str> {
    expected
        .iter()
        .map(|k| (strsim::damerau_levenshtein(found, k), *k))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, k)| k)
}

struct Problems<'a>(&'a [Problem]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}
