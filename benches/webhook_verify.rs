//! Webhook signature verification cost per delivery, through the real
//! verifier (config -> snapshot), for Stripe and Standard Webhooks at
//! 1 KiB and 64 KiB bodies, beside the bare HMAC-SHA256 of the same bytes
//! (the floor: what any correct verifier must spend).

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue};
use portcullis::config;
use portcullis::snapshot::Snapshot;
use sha2::Sha256;

struct NoSecrets;

impl config::SecretSource for NoSecrets {
    fn env(&self, _: &str) -> Option<String> {
        None
    }
    fn file(&self, _: &std::path::Path) -> std::io::Result<String> {
        Err(std::io::ErrorKind::NotFound.into())
    }
}

const STRIPE: &str = "whsec_bench_stripe_secret";
const STANDARD: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn hmac256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("key");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

fn main() {
    let toml = format!(
        "[auth.s]\ntype = \"stripe\"\nsecrets = [\"{STRIPE}\"]\n[auth.w]\ntype = \"standard\"\nsecrets = [\"{STANDARD}\"]\n\
         [[routes]]\nname = \"s\"\npath = \"/s\"\nupstream = \"http://127.0.0.1:9\"\nauth = \"s\"\n\
         [[routes]]\nname = \"w\"\npath = \"/w\"\nupstream = \"http://127.0.0.1:9\"\nauth = \"w\"\n"
    );
    let snapshot =
        Snapshot::build(config::from_toml(&toml).expect("toml"), &NoSecrets).expect("snapshot");
    let verifier = |name: &str| {
        snapshot
            .verifiers()
            .find(|v| &*v.name == name)
            .and_then(|v| v.webhook())
            .expect("webhook verifier")
    };
    let (stripe, standard) = (verifier("s"), verifier("w"));
    let n: u32 = std::env::var("BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let key = base64::engine::general_purpose::STANDARD
        .decode(&STANDARD[6..])
        .expect("key");
    println!("portcullis webhook_verify: {n} verifications per case");
    println!(
        "{:<10} {:>8} {:>12} {:>16} {:>8}",
        "scheme", "body", "µs/verify", "bare HMAC µs", "ratio"
    );
    for size in [1024usize, 64 * 1024] {
        let body = vec![b'{'; size];
        let t = now.to_string();
        let mut stripe_headers = HeaderMap::new();
        let sig = hex::encode(hmac256(STRIPE.as_bytes(), &[t.as_bytes(), b".", &body]));
        stripe_headers.insert(
            "stripe-signature",
            HeaderValue::from_str(&format!("t={t},v1={sig}")).expect("header"),
        );
        let mut standard_headers = HeaderMap::new();
        let sig = hmac256(&key, &[b"msg_1", b".", t.as_bytes(), b".", &body]);
        standard_headers.insert("webhook-id", HeaderValue::from_static("msg_1"));
        standard_headers.insert(
            "webhook-timestamp",
            HeaderValue::from_str(&t).expect("header"),
        );
        standard_headers.insert(
            "webhook-signature",
            HeaderValue::from_str(&format!(
                "v1,{}",
                base64::engine::general_purpose::STANDARD.encode(sig)
            ))
            .expect("header"),
        );
        let bare = time(n, || {
            std::hint::black_box(hmac256(STRIPE.as_bytes(), &[t.as_bytes(), b".", &body]));
        });
        for (name, v, headers) in [
            ("stripe", stripe, &stripe_headers),
            ("standard", standard, &standard_headers),
        ] {
            let per = time(n, || {
                v.verify(headers, &body, now).expect("valid");
            });
            println!(
                "{name:<10} {:>7}K {per:>12.2} {bare:>16.2} {:>8.2}",
                size / 1024,
                per / bare
            );
        }
    }
}

/// Mean µs per call of `f` over `n` calls.
fn time(n: u32, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}
