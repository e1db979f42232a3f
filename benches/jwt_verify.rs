//! JWT verification cost per request, RS256 and ES256, with and without the
//! verified-token cache, through the real `Verifier` (config -> snapshot).
//!
//! "uncached": every token is new (distinct `sub`), so each call parses,
//! checks the signature and the claims, and fills the cache. "cached": the
//! same token again, the steady state of a logged-in user.

use std::path::Path;
use std::time::Instant;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use portcullis::config::{self, SecretSource};
use portcullis::snapshot::Snapshot;

struct Files;

impl SecretSource for Files {
    fn env(&self, _: &str) -> Option<String> {
        None
    }
    fn file(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(path),
        )
    }
}

fn snapshot(pubkey: &str, alg: &str) -> Snapshot {
    let toml = format!(
        r#"
[auth.v]
issuer = "bench"
audience = ["bench"]
public_key = "${{file:{pubkey}}}"
algorithms = ["{alg}"]
[[routes]]
name = "r"
path = "/r"
upstream = "http://127.0.0.1:9"
auth = "v"
"#
    );
    Snapshot::build(config::from_toml(&toml).expect("toml"), &Files).expect("snapshot")
}

fn main() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let n: usize = std::env::var("BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    println!("portcullis jwt_verify: {n} verifications per case");
    println!(
        "{:<10} {:>16} {:>14}",
        "alg", "uncached µs/op", "cached µs/op"
    );
    for (alg, algorithm, private, public) in [
        ("RS256", Algorithm::RS256, "rsa1.pem", "rsa1.pub.pem"),
        ("ES256", Algorithm::ES256, "ec256.pem", "ec256.pub.pem"),
    ] {
        let snapshot = snapshot(public, alg);
        let verifier = snapshot.verifiers().next().expect("verifier").clone();
        let verifier = verifier.jwt().expect("a JWT verifier");
        let pem = std::fs::read(fixtures.join(private)).expect("key");
        let key = match algorithm {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem),
            _ => EncodingKey::from_ec_pem(&pem),
        }
        .expect("key");
        let tokens: Vec<String> = (0..n)
            .map(|i| {
                let claims = serde_json::json!({"iss": "bench", "aud": "bench", "sub": format!("user-{i}"), "exp": 4_000_000_000u64});
                jsonwebtoken::encode(&Header::new(algorithm), &claims, &key).expect("sign")
            })
            .collect();
        let (uncached, cached) = runtime.block_on(async {
            let start = Instant::now();
            for token in &tokens {
                verifier.verify(token).await.expect("valid");
            }
            let uncached = start.elapsed();
            let start = Instant::now();
            for _ in 0..n {
                verifier.verify(&tokens[0]).await.expect("valid");
            }
            (uncached, start.elapsed())
        });
        println!(
            "{alg:<10} {:>16.2} {:>14.3}",
            uncached.as_secs_f64() * 1e6 / n as f64,
            cached.as_secs_f64() * 1e6 / n as f64
        );
    }
}
