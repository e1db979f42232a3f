//! Config values typed at load: a bad rate, limit key, token source or
//! algorithm is reported by serde (through figment) with its key path, the
//! same way an unknown key is. Each type keeps what the user wrote for
//! display and parses it into what the runtime needs.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use http::HeaderName;
use serde::Deserialize;

/// `N/s`, `N/min`, `N/hour` or `N/day`: a rate as the interval between
/// requests once a burst is spent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Rate {
    text: String,
    interval: Duration,
}

impl Rate {
    /// Time between requests once the burst is spent (`60/min`: 1 s).
    pub fn interval(&self) -> Duration {
        self.interval
    }
}

impl TryFrom<String> for Rate {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let bad =
            || format!("`{text}` is not a rate; write e.g. \"60/min\" (units: s, min, hour, day)");
        let (count, unit) = text.split_once('/').ok_or_else(bad)?;
        let count: u32 = count
            .trim()
            .parse()
            .ok()
            .filter(|c| *c > 0)
            .ok_or_else(bad)?;
        let period = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            "d" | "day" => Duration::from_secs(86_400),
            _ => return Err(bad()),
        };
        let interval = period / count;
        if interval.is_zero() {
            return Err(format!("`{text}` is too fine to represent"));
        }
        Ok(Self { text, interval })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// What a limit (or budget) is keyed by: `claim:NAME`, `ip`, `header:NAME` or `global`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum LimitKey {
    /// A claim of the verified token.
    Claim(String),
    /// The client address (peer, or right-most untrusted X-Forwarded-For from a trusted proxy).
    Ip,
    /// A request header's value.
    Header(HeaderName),
    /// One bucket for everyone.
    Global,
}

impl LimitKey {
    /// Whether the limit runs before authentication (it needs no token).
    pub fn before_auth(&self) -> bool {
        matches!(self, LimitKey::Ip | LimitKey::Header(_))
    }
}

impl TryFrom<String> for LimitKey {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let key = match text.split_once(':') {
            None if text == "ip" => Some(LimitKey::Ip),
            None if text == "global" => Some(LimitKey::Global),
            Some(("claim", claim)) if !claim.is_empty() => Some(LimitKey::Claim(claim.to_owned())),
            Some(("header", header)) => HeaderName::from_bytes(header.as_bytes())
                .ok()
                .map(LimitKey::Header),
            _ => None,
        };
        key.ok_or_else(|| {
            format!(
                "`{text}` is not a key; use \"claim:NAME\", \"ip\", \"header:NAME\" or \"global\""
            )
        })
    }
}

/// Where a verifier reads tokens: `header` (Authorization: Bearer) or `cookie:NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum TokenFrom {
    /// `Authorization: Bearer <token>`.
    Header,
    /// A cookie of this name.
    Cookie(String),
}

impl TryFrom<String> for TokenFrom {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        match text.split_once(':') {
            None if text == "header" => Ok(TokenFrom::Header),
            Some(("cookie", name))
                if !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) =>
            {
                Ok(TokenFrom::Cookie(name.to_owned()))
            }
            _ => Err(format!(
                "`{text}` is not a source; use \"header\" or \"cookie:NAME\""
            )),
        }
    }
}

/// A JWT signature algorithm a verifier accepts; `none` is never one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct JwtAlgorithm(pub jsonwebtoken::Algorithm);

impl TryFrom<String> for JwtAlgorithm {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        if text.eq_ignore_ascii_case("none") {
            return Err("`none` (unsigned tokens) can never be accepted".to_owned());
        }
        jsonwebtoken::Algorithm::from_str(&text)
            .map(JwtAlgorithm)
            .map_err(|_| {
                format!("`{text}` is not an algorithm; use HS256/384/512, RS256/384/512, PS256/384/512, ES256/384 or EdDSA")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(text: &str) -> Result<Duration, String> {
        Rate::try_from(text.to_owned()).map(|r| r.interval())
    }

    #[test]
    fn rates_parse_into_intervals() {
        assert_eq!(rate("60/min"), Ok(Duration::from_secs(1)));
        assert_eq!(rate("10/s"), Ok(Duration::from_millis(100)));
        assert_eq!(rate("3000/min"), Ok(Duration::from_millis(20)));
        assert_eq!(rate("24/day"), Ok(Duration::from_secs(3600)));
        for bad in ["", "60", "0/min", "-1/min", "x/min", "60/fortnight", "60/"] {
            assert!(rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn limit_keys_and_token_sources_parse() {
        let key = |t: &str| LimitKey::try_from(t.to_owned());
        assert_eq!(key("claim:sub"), Ok(LimitKey::Claim("sub".into())));
        assert_eq!(key("ip"), Ok(LimitKey::Ip));
        assert_eq!(key("global"), Ok(LimitKey::Global));
        assert!(matches!(key("header:x-api-user"), Ok(LimitKey::Header(_))));
        for bad in ["claim:", "cookie:x", "header:bad header", "IP", ""] {
            assert!(key(bad).is_err(), "{bad}");
        }
        let from = |t: &str| TokenFrom::try_from(t.to_owned());
        assert_eq!(
            from("cookie:session"),
            Ok(TokenFrom::Cookie("session".into()))
        );
        assert!(from("cookie:a;b").is_err());
        assert!(from("query:token").is_err());
    }

    #[test]
    fn none_is_never_an_algorithm() {
        for bad in ["none", "NONE", "nOnE", "HS257"] {
            assert!(JwtAlgorithm::try_from(bad.to_owned()).is_err(), "{bad}");
        }
        assert!(JwtAlgorithm::try_from("ES256".to_owned()).is_ok());
    }
}
