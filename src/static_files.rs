//! A built frontend served from the same origin (tower-http's ServeDir),
//! so one process serves the SPA and its API with no CORS at all.
//!
//! Routes always win: only requests that match no route get here. Caching:
//! fingerprinted assets (`index-BwKhJ4r3.js`, `app.3f2a1b9c.css`) are
//! `immutable` for a year; everything else, `index.html` included, is
//! `no-cache` (revalidated with ETag / Last-Modified). Precompressed
//! `.br` / `.gz` siblings are served when the browser accepts them. With
//! `spa_fallback`, page paths (no file extension) outside the API's first
//! path segments get `index.html`; a missing `/app.js` or `/api/x` stays 404.

use std::convert::Infallible;
use std::path::PathBuf;

use axum::body::Body;
use http::{HeaderValue, Request, Response, StatusCode, header};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// The static site of a snapshot.
#[derive(Debug, Clone)]
pub struct StaticFiles {
    dir: PathBuf,
    spa_fallback: bool,
    /// First path segments owned by routes (e.g. `api`): never a fallback.
    api_segments: Vec<String>,
}

impl StaticFiles {
    /// Serves `dir`; `route_prefixes` are the routes' paths.
    pub fn new(dir: PathBuf, spa_fallback: bool, route_prefixes: &[&str]) -> Self {
        let api_segments = route_prefixes
            .iter()
            .filter_map(|p| p.trim_start_matches('/').split('/').next())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        Self {
            dir,
            spa_fallback,
            api_segments,
        }
    }

    /// Answers a GET/HEAD request that matched no route; `None` when there
    /// is no such file (the gateway then answers its JSON 404).
    pub async fn serve(&self, request: Request<Body>, path: &str) -> Option<Response<Body>> {
        let serve_dir = ServeDir::new(&self.dir)
            .precompressed_br()
            .precompressed_gzip()
            .append_index_html_on_directories(true);
        let mut response: Response<Body> =
            match serve_dir.oneshot(request.map(|_| Body::empty())).await {
                Ok(response) => response.map(Body::new),
                Err(never) => match never {},
            };
        if response.status() == StatusCode::NOT_FOUND && self.falls_back(path) {
            let index = ServeFile::new(self.dir.join("index.html"));
            let result: Result<_, Infallible> = index.oneshot(Request::new(Body::empty())).await;
            response = match result {
                Ok(response) => response.map(Body::new),
                Err(never) => match never {},
            };
            set_cache(&mut response, REVALIDATE);
            return Some(response);
        }
        if response.status() == StatusCode::NOT_FOUND {
            return None;
        }
        let policy = if is_fingerprinted(path) {
            IMMUTABLE
        } else {
            REVALIDATE
        };
        if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
            set_cache(&mut response, policy);
        }
        Some(response)
    }

    fn falls_back(&self, path: &str) -> bool {
        let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
        let last = path.rsplit('/').next().unwrap_or("");
        self.spa_fallback && !last.contains('.') && !self.api_segments.iter().any(|s| s == first)
    }
}

fn set_cache(response: &mut Response<Body>, policy: &'static str) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// Whether a file name carries a content hash (`name-HASH.ext`, `name.HASH.ext`).
fn is_fingerprinted(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or("");
    let Some((stem, _ext)) = name.rsplit_once('.') else {
        return false;
    };
    stem.split(['.', '-']).skip(1).any(|part| {
        part.len() >= 8
            && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && part.bytes().any(|b| b.is_ascii_digit())
            && part.bytes().any(|b| b.is_ascii_alphabetic())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_recognised() {
        assert!(is_fingerprinted("/assets/index-BwKhJ4r3.js"));
        assert!(is_fingerprinted("/app.3f2a1b9c.css"));
        assert!(!is_fingerprinted("/index.html"));
        assert!(!is_fingerprinted("/favicon.ico"));
        assert!(!is_fingerprinted("/my-component.js"));
    }
}
