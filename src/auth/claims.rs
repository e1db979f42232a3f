//! Route-level claim rules: `require_claims` and `forward_claims`.

use http::HeaderValue;
use serde_json::{Map, Value};

use super::AuthError;

/// Checks every required claim: a string claim must equal the value; an
/// array claim, or a space-separated string claim (OAuth `scope`), must
/// contain it.
pub fn require(
    claims: &Map<String, Value>,
    required: &[(String, String)],
) -> Result<(), AuthError> {
    for (name, want) in required {
        let ok = match claims.get(name) {
            Some(Value::String(s)) => s == want || s.split(' ').any(|part| part == want),
            Some(Value::Array(items)) => items.iter().any(|i| i.as_str() == Some(want.as_str())),
            Some(Value::Bool(b)) => b.to_string() == *want,
            Some(Value::Number(n)) => n.to_string() == *want,
            _ => false,
        };
        if !ok {
            return Err(AuthError::Forbidden(name.clone()));
        }
    }
    Ok(())
}

/// A claim as a header value: strings as they are, numbers and booleans
/// printed, arrays of strings comma-joined, anything else as JSON. `None`
/// when the claim is absent.
pub fn header_value(
    claims: &Map<String, Value>,
    name: &str,
) -> Result<Option<HeaderValue>, AuthError> {
    let text = match claims.get(name) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.to_string(),
    };
    HeaderValue::from_str(&text)
        .map(Some)
        .map_err(|_| AuthError::ClaimType("a forwarded claim"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Map<String, Value> {
        serde_json::from_str(
            r#"{"scope":"read chat","roles":["admin","dev"],"sub":"u1","n":3,"bad":"a\nb"}"#,
        )
        .unwrap()
    }

    #[test]
    fn required_claims_match_strings_arrays_and_scopes() {
        let c = claims();
        let req = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
        assert!(require(&c, &req("scope", "chat")).is_ok());
        assert!(require(&c, &req("scope", "read chat")).is_ok());
        assert!(require(&c, &req("roles", "dev")).is_ok());
        assert!(require(&c, &req("sub", "u1")).is_ok());
        assert!(require(&c, &req("scope", "cha")).is_err());
        assert!(require(&c, &req("roles", "root")).is_err());
        assert!(require(&c, &req("missing", "x")).is_err());
    }

    #[test]
    fn claims_become_header_values() {
        let c = claims();
        assert_eq!(header_value(&c, "sub").unwrap().unwrap(), "u1");
        assert_eq!(header_value(&c, "roles").unwrap().unwrap(), "admin,dev");
        assert_eq!(header_value(&c, "n").unwrap().unwrap(), "3");
        assert!(header_value(&c, "missing").unwrap().is_none());
        assert!(header_value(&c, "bad").is_err());
    }
}
