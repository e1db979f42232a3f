//! The published examples of RFC 7515 (Appendix A.1-A.3, the JWS used by
//! RFC 7519) verify with their published keys, and fail with one byte of
//! the payload changed. These tokens expired in 2011, so this checks the
//! signature layer (`jwt::parse` + `KeySet::verify`), not the clock.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use portcullis::auth::jwt;
use portcullis::auth::keys::{Key, KeySet, SignatureOutcome};

const PAYLOAD: &str = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

const HS256_TOKEN: (&str, &str) = (
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9",
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
);
const HS256_KEY: &str =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";

const RS256_TOKEN: (&str, &str) = (
    "eyJhbGciOiJSUzI1NiJ9",
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7\
     AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4\
     BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K\
     0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv\
     hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB\
     p0igcN_IoypGlUPQGe77Rw",
);
const RS256_JWKS: &str = r#"{"keys":[{"kty":"RSA","e":"AQAB","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"}]}"#;

const ES256_TOKEN: (&str, &str) = (
    "eyJhbGciOiJFUzI1NiJ9",
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q",
);
const ES256_JWKS: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;

const ALL: &[Algorithm] = &[Algorithm::HS256, Algorithm::RS256, Algorithm::ES256];

fn token((header, signature): (&str, &str), payload: &str) -> String {
    format!(
        "{header}.{payload}.{}",
        signature.replace(char::is_whitespace, "")
    )
}

/// The payload with one byte changed: `"iss":"joe"` -> `"iss":"jof"`.
fn tampered_payload() -> String {
    let bytes = URL_SAFE_NO_PAD.decode(PAYLOAD).unwrap();
    let text = String::from_utf8(bytes).unwrap().replacen("joe", "jof", 1);
    URL_SAFE_NO_PAD.encode(text)
}

fn check(keys: &KeySet, parts: (&str, &str)) {
    let good = token(parts, PAYLOAD);
    let parsed = jwt::parse(&good, ALL).unwrap();
    assert_eq!(parsed.claims["iss"], "joe");
    assert_eq!(keys.verify(&parsed), SignatureOutcome::Valid);
    let bad = token(parts, &tampered_payload());
    let parsed = jwt::parse(&bad, ALL).unwrap();
    assert_eq!(keys.verify(&parsed), SignatureOutcome::Invalid);
}

#[test]
fn rfc7515_a1_hs256() {
    let secret = URL_SAFE_NO_PAD.decode(HS256_KEY).unwrap();
    let keys = KeySet::new(vec![Key::configured(DecodingKey::from_secret(&secret))]);
    check(&keys, HS256_TOKEN);
}

#[test]
fn rfc7515_a2_rs256() {
    check(
        &KeySet::from_jwks(RS256_JWKS.as_bytes()).unwrap(),
        RS256_TOKEN,
    );
}

#[test]
fn rfc7515_a3_es256() {
    check(
        &KeySet::from_jwks(ES256_JWKS.as_bytes()).unwrap(),
        ES256_TOKEN,
    );
}

#[test]
fn rsa_jwks_key_never_verifies_an_hmac_token() {
    // The HS256 example checked against the RSA key set: no key of that family.
    let keys = KeySet::from_jwks(RS256_JWKS.as_bytes()).unwrap();
    let hs = token(HS256_TOKEN, PAYLOAD);
    let parsed = jwt::parse(&hs, ALL).unwrap();
    assert_eq!(keys.verify(&parsed), SignatureOutcome::NoKey);
}

#[test]
fn hmac_keys_in_a_jwks_are_ignored() {
    let jwks = format!(r#"{{"keys":[{{"kty":"oct","k":"{HS256_KEY}"}}]}}"#);
    assert!(KeySet::from_jwks(jwks.as_bytes()).is_err());
}
