//! Secret references: `${env:NAME}` and `${file:PATH}` inside config strings.
//!
//! Resolution happens once, when a snapshot is built. Lookups go through the
//! [`SecretSource`] trait so tests can supply values without `std::env::set_var`.
//! A resolved value lives in [`Secret`], whose `Debug` and `Display` print
//! `[redacted]`, so a secret cannot leak through a log line or a panic message.

use std::fmt;
use std::path::{Path, PathBuf};

/// A resolved secret value. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value that must never be printed.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value itself. Call only where the value is put on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Where secret references are looked up.
pub trait SecretSource {
    /// The value of environment variable `name`, if set.
    fn env(&self, name: &str) -> Option<String>;
    /// The contents of the file at `path`.
    fn file(&self, path: &Path) -> std::io::Result<String>;
    /// Where a path from the config points (relative paths: see the source).
    fn resolve_path(&self, path: &Path) -> PathBuf {
        path.to_owned()
    }
}

/// The process environment and the real file system.
///
/// Relative `${file:..}` paths are taken relative to `base` (the config
/// file's directory), so a config works from any working directory.
#[derive(Debug, Default, Clone)]
pub struct SystemSecrets {
    base: Option<PathBuf>,
}

impl SystemSecrets {
    /// Resolves relative file references against `base`.
    pub fn relative_to(base: impl Into<PathBuf>) -> Self {
        Self {
            base: Some(base.into()),
        }
    }
}

impl SecretSource for SystemSecrets {
    fn env(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn file(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(self.resolve_path(path))
    }

    fn resolve_path(&self, path: &Path) -> PathBuf {
        match &self.base {
            Some(base) if path.is_relative() => base.join(path),
            _ => path.to_owned(),
        }
    }
}

/// Why a secret reference could not be resolved. Names the reference, never a value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    /// `${env:NAME}` where NAME is unset.
    #[error(
        "environment variable `{0}` is not set (referenced as ${{env:{0}}}); export it before starting"
    )]
    MissingEnv(String),
    /// `${file:PATH}` that cannot be read.
    #[error("secret file `{path}` cannot be read: {reason}")]
    UnreadableFile {
        /// The path as written in the config.
        path: PathBuf,
        /// The I/O error kind, e.g. "not found".
        reason: String,
    },
    /// `${...}` with a kind other than `env` or `file`, or not closed.
    #[error(
        "`{0}` is not a secret reference; use ${{env:NAME}} or ${{file:PATH}} (write $${{ for a literal ${{)"
    )]
    BadReference(String),
}

/// Replaces every `${env:NAME}` and `${file:PATH}` in `template`.
///
/// `$${` stands for a literal `${`. File contents lose one trailing newline
/// (`\n` or `\r\n`), as written by `echo` or a Kubernetes Secret.
pub fn resolve(template: &str, source: &dyn SecretSource) -> Result<Secret, SecretError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        if rest[..start].ends_with('$') {
            out.push_str(&rest[..start - 1]);
            out.push_str("${");
            rest = &rest[start + 2..];
            continue;
        }
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| SecretError::BadReference(format!("${{{}", truncate(after))))?;
        let reference = &after[..end];
        out.push_str(&lookup(reference, source)?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(Secret(out))
}

fn lookup(reference: &str, source: &dyn SecretSource) -> Result<String, SecretError> {
    match reference.split_once(':') {
        Some(("env", name)) if !name.is_empty() => source
            .env(name)
            .ok_or_else(|| SecretError::MissingEnv(name.to_owned())),
        Some(("file", path)) if !path.is_empty() => {
            let path = Path::new(path);
            let mut text = source.file(path).map_err(|e| SecretError::UnreadableFile {
                path: path.to_owned(),
                reason: e.kind().to_string(),
            })?;
            if text.ends_with('\n') {
                text.pop();
                if text.ends_with('\r') {
                    text.pop();
                }
            }
            Ok(text)
        }
        _ => Err(SecretError::BadReference(format!(
            "${{{}}}",
            truncate(reference)
        ))),
    }
}

/// At most 40 characters of a reference, for error messages.
fn truncate(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    struct Fake {
        env: HashMap<String, String>,
        files: HashMap<PathBuf, String>,
    }

    impl SecretSource for Fake {
        fn env(&self, name: &str) -> Option<String> {
            self.env.get(name).cloned()
        }
        fn file(&self, path: &Path) -> std::io::Result<String> {
            self.files
                .get(path)
                .cloned()
                .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
        }
    }

    fn fake() -> Fake {
        let mut f = Fake::default();
        f.env.insert("KEY".into(), "sk-123".into());
        f.files
            .insert(PathBuf::from("/run/k"), "file-secret\r\n".into());
        f
    }

    #[test]
    fn resolves_env_and_file_inside_text() {
        let s = resolve("Bearer ${env:KEY} and ${file:/run/k}!", &fake()).unwrap();
        assert_eq!(s.expose(), "Bearer sk-123 and file-secret!");
    }

    #[test]
    fn plain_text_and_escapes_pass_through() {
        assert_eq!(resolve("plain", &fake()).unwrap().expose(), "plain");
        assert_eq!(
            resolve("a$${env:KEY}", &fake()).unwrap().expose(),
            "a${env:KEY}"
        );
    }

    #[test]
    fn missing_env_names_the_variable() {
        let e = resolve("${env:NOPE}", &fake()).unwrap_err();
        assert_eq!(e, SecretError::MissingEnv("NOPE".into()));
        assert!(e.to_string().contains("NOPE"));
    }

    #[test]
    fn unreadable_file_names_the_path() {
        let e = resolve("${file:/missing}", &fake()).unwrap_err();
        assert!(e.to_string().contains("/missing"), "{e}");
    }

    #[test]
    fn bad_references_are_refused() {
        for t in ["${vault:x}", "${env:}", "${env:KEY", "${}"] {
            assert!(
                matches!(resolve(t, &fake()), Err(SecretError::BadReference(_))),
                "{t}"
            );
        }
    }

    #[test]
    fn debug_and_display_redact() {
        let s = Secret::new("sk-very-secret");
        assert!(!format!("{s:?}").contains("sk-very"));
        assert!(!format!("{s}").contains("sk-very"));
    }
}
