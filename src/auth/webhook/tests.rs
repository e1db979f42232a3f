//! Published vectors, checked at a fixed clock.

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};

use super::*;
use crate::config::model::SignatureEncoding;

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        map.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    map
}

fn verifier(scheme: Scheme, secrets: &[&[u8]]) -> WebhookVerifier {
    WebhookVerifier::new(
        scheme,
        secrets.iter().map(|s| s.to_vec()).collect(),
        Duration::from_secs(300),
        None,
    )
}

fn code(result: Result<Option<String>, AuthError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

/// GitHub's documented example (docs: "Validating webhook deliveries").
#[test]
fn github_documented_vector() {
    let v = verifier(Scheme::Github, &[b"It's a Secret to Everybody"]);
    let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    let h = headers(&[("x-hub-signature-256", sig)]);
    let key = v.verify(&h, b"Hello, World!", 0).unwrap();
    assert_eq!(
        key.as_deref(),
        Some(&sig[7..]),
        "the signature is the delivery key"
    );
    assert_eq!(code(v.verify(&h, b"Hello, World?", 0)), "invalid_signature");
    // The legacy SHA-1 header alone is no signature at all.
    let legacy = headers(&[("x-hub-signature", "sha1=0123")]);
    assert_eq!(
        code(v.verify(&legacy, b"Hello, World!", 0)),
        "missing_signature"
    );
}

/// The Standard Webhooks specification's example.
#[test]
fn standard_webhooks_spec_vector() {
    let key = standard_key("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
    let v = verifier(Scheme::Standard, &[&key]);
    let body = br#"{"email":"test@example.com","username":"test_user"}"#;
    let h = headers(&[
        ("webhook-id", "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk"),
        ("webhook-timestamp", "1649367553"),
        (
            "webhook-signature",
            "v1,bm9ldHZhbGlk v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
        ),
    ]);
    let key = v.verify(&h, body, 1_649_367_553 + 10).unwrap();
    assert_eq!(key.as_deref(), Some("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk"));
    assert_eq!(
        code(v.verify(&h, body, 1_649_367_553 + 301)),
        "signature_expired"
    );
    assert_eq!(
        code(v.verify(&h, body, 1_649_367_553 - 301)),
        "signature_expired"
    );
    // A secret without the prefix is base64-decoded whole.
    assert_eq!(
        standard_key("C2FVsBQIhrscChlQIMV+b5sSYspob7oD"),
        standard_key("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
    );
    assert_eq!(standard_key("whsec_not base64!"), None);
}

/// Slack's documented example (api.slack.com, "Verifying requests from Slack").
#[test]
fn slack_documented_vector() {
    let v = verifier(Scheme::Slack, &[b"8f742231b10e8888abcd99yyyzzz85a5"]);
    let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    let h = headers(&[
        ("x-slack-request-timestamp", "1531420618"),
        (
            "x-slack-signature",
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
        ),
    ]);
    assert_eq!(v.verify(&h, body, 1_531_420_618).unwrap(), None);
    assert_eq!(
        code(v.verify(&h, body, 1_531_420_618 + 3600)),
        "signature_expired"
    );
}

/// A Stripe header computed independently (openssl) with a known secret.
#[test]
fn stripe_header_with_a_known_secret() {
    let v = verifier(Scheme::Stripe, &[b"whsec_old", b"whsec_test_secret"]);
    let body = br#"{"id":"evt_1","object":"event"}"#;
    let good = "0c8670ed117751cc551a20e35839447075c42800ea3cf3e8a2fbda99cd1e6edd";
    let at = 1_700_000_000;
    let ok = |header: &str| v.verify(&headers(&[("stripe-signature", header)]), body, at);
    assert_eq!(
        ok(&format!("t={at},v1={good}")).unwrap().as_deref(),
        Some("evt_1")
    );
    // Several v1, one valid; v0 and unknown schemes are ignored.
    assert!(ok(&format!("t={at},v1={},v1={good},v0=00", "ab".repeat(32))).is_ok());
    // A v0 alone, or a valid v1 under another name, cannot pass.
    assert_eq!(code(ok(&format!("t={at},v0={good}"))), "invalid_signature");
    assert_eq!(code(ok(&format!("t={at},v2={good}"))), "invalid_signature");
    for bad in [
        format!("v1={good}"),
        format!("t=abc,v1={good}"),
        format!("t={at},t={at},v1={good}"),
        format!("t={at};v1={good}"),
        "garbage".to_owned(),
        format!("t={},v1={good}", at + 1),
    ] {
        assert_eq!(code(ok(&bad)), "invalid_signature", "{bad}");
    }
    assert_eq!(
        code(v.verify(&HeaderMap::new(), body, at)),
        "missing_signature"
    );
    let late = v.verify(
        &headers(&[("stripe-signature", &format!("t={at},v1={good}"))]),
        body,
        at + 301,
    );
    assert_eq!(code(late), "signature_expired");
    // Two Stripe-Signature headers are refused rather than picked between.
    let two = headers(&[
        ("stripe-signature", &format!("t={at},v1={good}")),
        ("stripe-signature", "t=1,v1=00"),
    ]);
    assert_eq!(code(v.verify(&two, body, at)), "invalid_signature");
}

#[test]
fn generic_hmac_encodings_and_prefix() {
    let spec = |algorithm, encoding, prefix: Option<&str>| {
        Scheme::Hmac(HmacSpec {
            header: HeaderName::from_static("x-signature"),
            algorithm,
            encoding,
            prefix: prefix.map(str::to_owned),
        })
    };
    let b64 =
        "n5neXVzdUXPi2xfrA24dZx2RfC86FLipDhcYy4zbLubgiQ7DzlxwoxBaudEB4Wq9SH0re3pgSZP6O27zP1I9qQ";
    let v = verifier(
        spec(HmacAlgorithm::Sha512, SignatureEncoding::Base64, None),
        &[b"partner-secret"],
    );
    for value in [b64.to_owned(), format!("{b64}==")] {
        assert!(
            v.verify(&headers(&[("x-signature", &value)]), b"payload", 0)
                .is_ok(),
            "{value}"
        );
    }
    let sha1 = "0820bb2da93ad508e4ea758b99007bb029044f22";
    let v = verifier(
        spec(HmacAlgorithm::Sha1, SignatureEncoding::Hex, Some("sha1=")),
        &[b"partner-secret"],
    );
    let upper = format!("sha1={}", sha1.to_uppercase());
    assert!(
        v.verify(&headers(&[("x-signature", &upper)]), b"payload", 0)
            .is_ok()
    );
    assert_eq!(
        code(v.verify(&headers(&[("x-signature", sha1)]), b"payload", 0)),
        "invalid_signature"
    );
}
