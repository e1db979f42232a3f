//! One `[auth.NAME]`, whatever its kind, behind one interface.
//!
//! A kind says whether it needs the request body (a webhook signature is
//! computed over the raw bytes; a JWT is not): the authenticate phase reads
//! the body first only for those. Adding a kind is a variant here and a
//! file of its own beside `jwt_verifier.rs`.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method};

use super::jwt_verifier::{JwtVerifier, unix_now};
use super::token::Site;
use super::webhook::WebhookVerifier;
use super::{AuthError, Authenticated, Credential, Identity, TokenSource, claims, token};

/// One `[auth.NAME]`, ready to verify.
#[derive(Debug)]
pub struct Verifier {
    /// Its name, for logs, metrics and readiness.
    pub name: Arc<str>,
    /// What it checks, and how.
    pub kind: VerifierKind,
}

/// The kinds of verifier (`[auth.NAME].type`).
#[derive(Debug)]
pub enum VerifierKind {
    /// A JWT from the `Authorization` header or a cookie.
    Jwt(JwtVerifier),
    /// A webhook signature over the raw body.
    Webhook(WebhookVerifier),
}

/// What a verifier may look at: the request head and, when the kind needs
/// it, the whole body as received (never printed by `Debug`).
#[derive(Clone, Copy)]
pub struct AuthRequest<'a> {
    /// The request method (CSRF applies to unsafe methods).
    pub method: &'a Method,
    /// The client's headers.
    pub headers: &'a HeaderMap,
    /// The raw body, present when [`Verifier::needs_body`].
    pub body: Option<&'a Bytes>,
    /// How to tell the site's own origin (CSRF rule for cookie tokens).
    pub site: Site<'a>,
}

impl std::fmt::Debug for AuthRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthRequest")
            .field("method", self.method)
            .field("body_len", &self.body.map(|b| b.len()))
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier named `name` of kind `kind`.
    pub fn new(name: Arc<str>, kind: VerifierKind) -> Self {
        Self { name, kind }
    }

    /// Whether [`Verifier::authenticate`] needs the whole request body.
    pub fn needs_body(&self) -> bool {
        matches!(self.kind, VerifierKind::Webhook(_))
    }

    /// What can be refused from the headers alone, before the body is
    /// read: a webhook delivery without its signature header.
    pub fn precheck(&self, headers: &HeaderMap) -> Result<(), AuthError> {
        match &self.kind {
            VerifierKind::Webhook(webhook)
                if !headers.contains_key(webhook.scheme.signature_header()) =>
            {
                Err(AuthError::MissingSignature)
            }
            _ => Ok(()),
        }
    }

    /// The kind, as `type` names it in the config.
    pub fn kind_name(&self) -> &'static str {
        use super::webhook::Scheme;
        match &self.kind {
            VerifierKind::Jwt(_) => "jwt",
            VerifierKind::Webhook(w) => match w.scheme {
                Scheme::Stripe => "stripe",
                Scheme::Github => "github",
                Scheme::Standard => "standard",
                Scheme::Slack => "slack",
                Scheme::Hmac(_) => "hmac",
            },
        }
    }

    /// The JWT verifier, if this is one.
    pub fn jwt(&self) -> Option<&JwtVerifier> {
        match &self.kind {
            VerifierKind::Jwt(jwt) => Some(jwt),
            VerifierKind::Webhook(_) => None,
        }
    }

    /// The webhook verifier, if this is one.
    pub fn webhook(&self) -> Option<&WebhookVerifier> {
        match &self.kind {
            VerifierKind::Webhook(webhook) => Some(webhook),
            VerifierKind::Jwt(_) => None,
        }
    }

    /// Starts background work (JWKS fetching); call inside a runtime.
    pub fn start(&self) {
        match &self.kind {
            VerifierKind::Jwt(jwt) => jwt.start(),
            VerifierKind::Webhook(webhook) => {
                if let Some(dedupe) = &webhook.dedupe {
                    dedupe.store.start();
                }
            }
        }
    }

    /// Why the verifier cannot verify yet, or `None` when it can.
    pub fn not_ready(&self) -> Option<String> {
        match &self.kind {
            VerifierKind::Jwt(jwt) if !jwt.ready() => Some(format!(
                "verifier `{}` has no keys yet (JWKS not loaded)",
                self.name
            )),
            VerifierKind::Jwt(_) => None,
            VerifierKind::Webhook(webhook) => webhook
                .dedupe
                .as_ref()
                .is_some_and(|d| !d.store.ready())
                .then(|| {
                    format!(
                        "verifier `{}` cannot deduplicate yet (the delivery Redis is not connected)",
                        self.name
                    )
                }),
        }
    }

    /// The cookie a token was read from, which is consumed (not forwarded).
    pub fn token_cookie(&self) -> Option<&str> {
        self.jwt().and_then(|jwt| jwt.sources.cookie.as_deref())
    }

    /// Authenticates a request and applies the route's claim rules.
    ///
    /// `allowed_origin` tells whether a cross-origin page may send cookie
    /// tokens on unsafe methods (the CORS allow-list).
    pub async fn authenticate(
        &self,
        request: AuthRequest<'_>,
        required: &[(String, String)],
        allowed_origin: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Authenticated, AuthError> {
        match &self.kind {
            VerifierKind::Jwt(jwt) => {
                let (token, source) = token::extract(request.headers, &jwt.sources)?;
                if source == TokenSource::Cookie {
                    token::check_csrf(
                        request.method,
                        request.headers,
                        request.site,
                        allowed_origin,
                    )?;
                }
                let identity = jwt.verify(token).await?;
                claims::require(&identity.claims, required)?;
                Ok(Authenticated {
                    identity,
                    credential: Credential::Token(source),
                })
            }
            VerifierKind::Webhook(webhook) => {
                let body = request.body.map_or(&[][..], |b| &b[..]);
                let delivery = webhook.verify(request.headers, body, unix_now())?;
                Ok(Authenticated {
                    identity: Arc::new(Identity {
                        claims: serde_json::Map::new(),
                        exp: 0,
                    }),
                    credential: Credential::Webhook { delivery },
                })
            }
        }
    }
}
