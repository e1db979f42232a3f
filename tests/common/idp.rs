//! A test identity provider: signing keys from tests/fixtures, a real JWKS
//! endpoint on 127.0.0.1:0 whose key set and health the test controls, and
//! token minting.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio::net::TcpListener;

pub const ISSUER: &str = "https://issuer.test/";
pub const AUDIENCE: &str = "portcullis-test";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A signing key with its kid and algorithm.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub alg: Algorithm,
    pub key: EncodingKey,
}

impl SigningKey {
    pub fn rsa(file: &str, kid: &str) -> Self {
        Self {
            kid: kid.into(),
            alg: Algorithm::RS256,
            key: EncodingKey::from_rsa_pem(&fixture(file)).unwrap(),
        }
    }
    pub fn ec(file: &str, kid: &str, alg: Algorithm) -> Self {
        Self {
            kid: kid.into(),
            alg,
            key: EncodingKey::from_ec_pem(&fixture(file)).unwrap(),
        }
    }
    pub fn ed(kid: &str) -> Self {
        Self {
            kid: kid.into(),
            alg: Algorithm::EdDSA,
            key: EncodingKey::from_ed_pem(&fixture("ed25519.pem")).unwrap(),
        }
    }
    pub fn hmac(secret: &str) -> Self {
        Self {
            kid: String::new(),
            alg: Algorithm::HS256,
            key: EncodingKey::from_secret(secret.as_bytes()),
        }
    }

    /// The public JWK (with kid, alg and use=sig).
    pub fn jwk(&self) -> Value {
        let jwk = Jwk::from_encoding_key(&self.key, self.alg).unwrap();
        let mut value = serde_json::to_value(jwk).unwrap();
        value["kid"] = json!(self.kid);
        value["use"] = json!("sig");
        value
    }

    /// A signed token with `claims`.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        if !self.kid.is_empty() {
            header.kid = Some(self.kid.clone());
        }
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }

    /// A token for `sub` valid for an hour, with the test issuer and audience.
    pub fn token(&self, sub: &str) -> String {
        self.sign(&claims(sub, 3600))
    }
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Standard claims for `sub`, expiring in `ttl` seconds.
pub fn claims(sub: &str, ttl: i64) -> Value {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": sub,
        "iat": now(),
        "exp": now() + ttl,
        "scope": "read chat",
    })
}

#[derive(Default)]
pub struct JwksState {
    pub keys: Mutex<Vec<Value>>,
    pub fetches: AtomicUsize,
    pub failing: AtomicBool,
}

/// A running JWKS endpoint.
pub struct JwksServer {
    pub addr: SocketAddr,
    pub state: Arc<JwksState>,
}

impl JwksServer {
    pub fn url(&self) -> String {
        format!("http://{}/.well-known/jwks.json", self.addr)
    }
    pub fn publish(&self, keys: &[&SigningKey]) {
        *self.state.keys.lock().unwrap() = keys.iter().map(|k| k.jwk()).collect();
    }
    pub fn fetches(&self) -> usize {
        self.state.fetches.load(Ordering::SeqCst)
    }
}

async fn serve_jwks(State(state): State<Arc<JwksState>>) -> Response {
    state.fetches.fetch_add(1, Ordering::SeqCst);
    if state.failing.load(Ordering::SeqCst) {
        return (http::StatusCode::INTERNAL_SERVER_ERROR, "down").into_response();
    }
    let keys = state.keys.lock().unwrap().clone();
    (
        [
            ("cache-control", "max-age=600"),
            ("content-type", "application/json"),
        ],
        json!({ "keys": keys }).to_string(),
    )
        .into_response()
}

/// Starts a JWKS endpoint on `listener` (or a new 127.0.0.1:0 one) publishing `keys`.
pub async fn jwks_server_on(listener: Option<TcpListener>, keys: &[&SigningKey]) -> JwksServer {
    let listener = match listener {
        Some(l) => l,
        None => TcpListener::bind("127.0.0.1:0").await.unwrap(),
    };
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(JwksState::default());
    let app = Router::new()
        .route("/.well-known/jwks.json", axum::routing::get(serve_jwks))
        .with_state(state.clone());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    let server = JwksServer { addr, state };
    server.publish(keys);
    server
}

pub async fn jwks_server(keys: &[&SigningKey]) -> JwksServer {
    jwks_server_on(None, keys).await
}
