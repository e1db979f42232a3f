//! Path safety and the upstream URL.
//!
//! The client's path is normalized once ([`normalize`]): escapes of unreserved
//! characters are decoded (RFC 3986 §6.2.2.2, so `%2e%2e` is seen as `..`),
//! and anything that could climb out of the route's upstream base path or be
//! read differently by the upstream is refused: dot-segments, encoded `/`, `\`
//! or NUL, double-encoded forms of those, and malformed escapes.
//!
//! The upstream URL is the route's base URL with only its path and query
//! replaced ([`upstream_url`]), so nothing the client sends can change the
//! scheme, host or port.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;
use url::Url;

use crate::routing::Route;

/// Why a request path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PathError {
    /// `.` or `..` as a segment, in any spelling.
    #[error("the path contains a dot-segment (`.` or `..`)")]
    DotSegment,
    /// `%2f`, `%5c`, a literal `\`, or a double-encoded form.
    #[error("the path contains an encoded slash or a backslash")]
    EncodedSeparator,
    /// NUL in any spelling.
    #[error("the path contains a NUL byte")]
    Nul,
    /// `%` not followed by two hex digits, or a path not starting with `/`.
    #[error("the path is not a valid absolute URL path")]
    Malformed,
}

/// Normalizes a raw request path or refuses it.
pub(crate) fn normalize(raw: &str) -> Result<Cow<'_, str>, PathError> {
    if !raw.starts_with('/') {
        return Err(PathError::Malformed);
    }
    if raw.contains('\\') {
        return Err(PathError::EncodedSeparator);
    }
    if raw.contains('\0') {
        return Err(PathError::Nul);
    }
    let path = if raw.contains('%') {
        Cow::Owned(decode_unreserved(raw)?)
    } else {
        Cow::Borrowed(raw)
    };
    for segment in path.split('/') {
        // `..;x` is read as `..` by some servlet containers.
        let name = segment.split(';').next().unwrap_or(segment);
        if name == "." || name == ".." {
            return Err(PathError::DotSegment);
        }
    }
    Ok(path)
}

/// Decodes `%XX` of unreserved characters, upper-cases the others, and refuses
/// escapes that would change how the path splits.
fn decode_unreserved(raw: &str) -> Result<String, PathError> {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !b.is_ascii() {
            return Err(PathError::Malformed);
        }
        if b != b'%' {
            out.push(b as char);
            i += 1;
            continue;
        }
        let byte = hex_pair(bytes, i + 1).ok_or(PathError::Malformed)?;
        match byte {
            b'/' | b'\\' => return Err(PathError::EncodedSeparator),
            0 => return Err(PathError::Nul),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            b'%' => {
                // `%25` followed by an escape that we would refuse: double encoding.
                if let Some(inner) = hex_pair(bytes, i + 3) {
                    match inner {
                        b'/' | b'\\' => return Err(PathError::EncodedSeparator),
                        0 => return Err(PathError::Nul),
                        b'.' => return Err(PathError::DotSegment),
                        _ => {}
                    }
                }
                out.push_str("%25");
            }
            _ => {
                out.push('%');
                out.push_str(&raw[i + 1..i + 3].to_ascii_uppercase());
            }
        }
        i += 3;
    }
    Ok(out)
}

fn hex_pair(bytes: &[u8], at: usize) -> Option<u8> {
    let hi = (*bytes.get(at)? as char).to_digit(16)?;
    let lo = (*bytes.get(at + 1)? as char).to_digit(16)?;
    Some((hi * 16 + lo) as u8)
}

/// The upstream URL for `remainder` (the normalized path after the route's
/// prefix) and the client's raw query.
///
/// Returns `None` only if the result would leave the route's base (it cannot
/// for a normalized remainder; the check is a second line of defence).
pub(crate) fn upstream_url(route: &Route, remainder: &str, query: Option<&str>) -> Option<Url> {
    let mut url = route.upstream.clone();
    let mut path = String::with_capacity(route.upstream_path.len() + remainder.len() + 1);
    path.push_str(&route.upstream_path);
    path.push_str(remainder);
    if path.is_empty() {
        path.push('/');
    }
    url.set_path(&path);
    let query = forwarded_query(route, query);
    url.set_query(query.as_deref().filter(|q| !q.is_empty()));
    let same_origin = url.scheme() == route.upstream.scheme()
        && url.host() == route.upstream.host()
        && url.port() == route.upstream.port();
    (same_origin && url.path().starts_with(&route.upstream_path)).then_some(url)
}

/// The client's query, byte for byte, minus parameters the route injects
/// (the injection step adds those, see [`inject_query`]).
fn forwarded_query<'q>(route: &Route, query: Option<&'q str>) -> Option<Cow<'q, str>> {
    if route.inject_query.is_empty() {
        return query.map(Cow::Borrowed);
    }
    let mut out = String::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let name = pair.split('=').next().unwrap_or(pair);
        let name = percent_decode_str(&name.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned();
        if route
            .inject_query
            .iter()
            .any(|(injected, _)| *injected == name)
        {
            continue;
        }
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(pair);
    }
    Some(Cow::Owned(out))
}

/// Appends the route's injected query parameters (already encoded) to `url`.
pub(crate) fn inject_query(url: &mut Url, route: &Route) {
    if route.inject_query.is_empty() {
        return;
    }
    let mut query = url.query().unwrap_or("").to_owned();
    for (_, encoded) in &route.inject_query {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(encoded.expose());
    }
    url.set_query(Some(&query));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_pass_unchanged() {
        assert_eq!(normalize("/api/a/b").unwrap(), "/api/a/b");
        assert!(matches!(normalize("/api/x").unwrap(), Cow::Borrowed(_)));
        assert_eq!(normalize("/api/a.b/..c/.d").unwrap(), "/api/a.b/..c/.d");
    }

    #[test]
    fn unreserved_escapes_are_decoded() {
        assert_eq!(normalize("/api/%6Fpenai/%7e").unwrap(), "/api/openai/~");
        assert_eq!(normalize("/a/%20b%3a").unwrap(), "/a/%20b%3A");
        assert_eq!(normalize("/a/100%25").unwrap(), "/a/100%25");
    }

    #[test]
    fn hostile_paths_are_refused() {
        use PathError::*;
        let cases = [
            ("/api/../secret", DotSegment),
            ("/api/./x", DotSegment),
            ("/api/..", DotSegment),
            ("/api/%2e%2e/x", DotSegment),
            ("/api/%2E./x", DotSegment),
            ("/api/.%2e", DotSegment),
            ("/api/%2e", DotSegment),
            ("/api/..;/x", DotSegment),
            ("/api/%252e%252e/x", DotSegment),
            ("/api/a%2fb", EncodedSeparator),
            ("/api/a%2Fb", EncodedSeparator),
            ("/api/a%5cb", EncodedSeparator),
            ("/api/a\\b", EncodedSeparator),
            ("/api/a%252fb", EncodedSeparator),
            ("/api/a%00b", Nul),
            ("/api/a%2500b", Nul),
            ("/api/a%zzb", Malformed),
            ("/api/a%2", Malformed),
            ("api/x", Malformed),
        ];
        for (path, want) in cases {
            assert_eq!(normalize(path), Err(want), "{path}");
        }
    }
}
