//! Bounded property tests over the parsers a hostile client reaches: the
//! path normaliser, the JWT parser, the webhook signature headers, and the
//! config loader. Each runs a few hundred generated inputs on every
//! `cargo test`: nothing panics, and what is accepted keeps its invariants.

use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;

use crate::auth::webhook::{HmacSpec, Scheme, WebhookVerifier};
use crate::config::model::{HmacAlgorithm, SignatureEncoding};
use crate::proxy::path::normalize;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 400,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Paths built from the pieces attacks are made of.
fn hostile_path() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("/".to_owned()),
        Just("..".to_owned()),
        Just(".".to_owned()),
        Just("%2e".to_owned()),
        Just("%2E".to_owned()),
        Just("%2f".to_owned()),
        Just("%5c".to_owned()),
        Just("%25".to_owned()),
        Just("%00".to_owned()),
        Just(";".to_owned()),
        Just("\\".to_owned()),
        "[a-zA-Z0-9_~-]{1,4}",
        "%[0-9a-fA-F]{2}",
        "%[g-z]{1,2}",
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|pieces| format!("/{}", pieces.concat()))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn normalized_paths_never_climb_or_hide_separators(path in hostile_path()) {
        if let Ok(normal) = normalize(&path) {
            prop_assert!(normal.starts_with('/'));
            for segment in normal.split('/') {
                prop_assert!(segment != "." && segment != "..", "{path} -> {normal}");
            }
            let lower = normal.to_ascii_lowercase();
            for hidden in ["%2f", "%5c", "%00", "%2e", "\\"] {
                prop_assert!(!lower.contains(hidden), "{path} -> {normal}");
            }
            // Normalising twice changes nothing.
            let again = normalize(&normal).map(|p| p.into_owned());
            prop_assert_eq!(again.ok(), Some(normal.clone().into_owned()));
        }
    }

    #[test]
    fn the_jwt_parser_never_panics(token in "[A-Za-z0-9_.=-]{0,300}") {
        let _ = crate::auth::jwt::parse(&token, &[jsonwebtoken::Algorithm::HS256]);
    }

    #[test]
    fn webhook_headers_never_panic_or_verify_by_accident(
        value in "[ -~]{0,120}",
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let hmac = Scheme::Hmac(HmacSpec {
            header: HeaderName::from_static("x-signature"),
            algorithm: HmacAlgorithm::Sha256,
            encoding: SignatureEncoding::Base64,
            prefix: Some("sha256=".into()),
        });
        let Ok(value) = HeaderValue::from_str(&value) else { return Ok(()) };
        for (scheme, header) in [
            (Scheme::Stripe, "stripe-signature"),
            (Scheme::Github, "x-hub-signature-256"),
            (Scheme::Standard, "webhook-signature"),
            (Scheme::Slack, "x-slack-signature"),
            (hmac.clone(), "x-signature"),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(HeaderName::from_static(header), value.clone());
            for other in ["webhook-id", "webhook-timestamp", "x-slack-request-timestamp"] {
                headers.insert(HeaderName::from_static(other), value.clone());
            }
            let verifier = WebhookVerifier::new(scheme, vec![b"secret".to_vec()], std::time::Duration::from_secs(300), None);
            prop_assert!(verifier.verify(&headers, &body, 1_700_000_000).is_err());
        }
    }

    #[test]
    fn the_config_loader_never_panics(text in "[a-z_\\[\\]=\" .0-9/:{},\\n]{0,200}") {
        if let Ok(config) = crate::config::from_toml(&text) {
            let _ = crate::config::validate::check(&config);
        }
    }
}
