//! An OpenID Connect provider (Google by default; `PFN_GOOGLE_DISCOVERY_URL` points elsewhere):
//! its discovery document and keys, fetched on first use and cached for an hour, an OAuth
//! client for its endpoints, and ID-token verification (RS256 by a key of its JWKS, issuer,
//! audience, expiry with a minute of leeway, the flow's nonce).

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use oauth2::{
    basic::{
        BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
        BasicTokenType,
    },
    AuthUrl, ClientId, ClientSecret, EndpointNotSet, EndpointSet, ExtraTokenFields, RedirectUrl,
    StandardRevocableToken, StandardTokenResponse, TokenUrl,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::config::GoogleConfig;

/// The provider's configuration and keys, fetched on first use and cached.
pub struct Google {
    config: GoogleConfig,
    /// Follows no redirects (see [`Google::new`]).
    pub http: reqwest::Client,
    cache: Mutex<Option<(Instant, Discovery, Jwks)>>,
}

#[derive(Clone, Deserialize)]
pub struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

#[derive(Clone, Deserialize)]
pub struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Clone, Deserialize)]
pub struct Jwk {
    kid: Option<String>,
    kty: String,
    n: Option<String>,
    e: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdFields {
    pub id_token: String,
}
impl ExtraTokenFields for IdFields {}

type TokenResponse = StandardTokenResponse<IdFields, BasicTokenType>;
pub type OidcClient = oauth2::Client<
    BasicErrorResponse,
    TokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

#[derive(Deserialize)]
pub struct Claims {
    pub sub: String,
    pub email: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub email_verified: bool,
    pub nonce: Option<String>,
    pub name: Option<String>,
    /// When the person logged in at the provider (unix seconds); sent when `max_age` was asked.
    #[serde(default)]
    pub auth_time: Option<i64>,
}

/// Some providers send `"true"` as a string.
fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Bool(b) => b,
        serde_json::Value::String(s) => s == "true",
        _ => false,
    })
}

impl Google {
    pub fn new(config: GoogleConfig) -> anyhow::Result<Self> {
        Ok(Self {
            config,
            // No redirects: an authorization server redirecting our back-channel calls is an
            // SSRF vector (oauth2's advice).
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()?,
            cache: Mutex::new(None),
        })
    }

    async fn fetch<T: serde::de::DeserializeOwned>(&self, url: &str) -> anyhow::Result<T> {
        let res = self.http.get(url).send().await?.error_for_status()?;
        Ok(res.json().await?)
    }

    /// The discovery document and keys; `refresh` forces a new fetch (an unknown `kid` after
    /// the provider rotated its keys).
    pub async fn provider(&self, refresh: bool) -> anyhow::Result<(Discovery, Jwks)> {
        if !refresh {
            if let Some((at, d, k)) = self
                .cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
            {
                if at.elapsed() < Duration::from_secs(3600) {
                    return Ok((d.clone(), k.clone()));
                }
            }
        }
        let d: Discovery = self.fetch(self.config.discovery_url.as_str()).await?;
        let k: Jwks = self.fetch(&d.jwks_uri).await?;
        *self.cache.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), d.clone(), k.clone()));
        Ok((d, k))
    }

    pub fn client(&self, d: &Discovery, redirect: &str) -> anyhow::Result<OidcClient> {
        Ok(
            oauth2::Client::new(ClientId::new(self.config.client_id.clone()))
                .set_client_secret(ClientSecret::new(
                    self.config.client_secret.expose_secret().to_string(),
                ))
                .set_auth_uri(AuthUrl::new(d.authorization_endpoint.clone())?)
                .set_token_uri(TokenUrl::new(d.token_endpoint.clone())?)
                .set_redirect_uri(RedirectUrl::new(redirect.to_string())?),
        )
    }

    /// Checks the ID token: RS256 by a key of the provider's JWKS, issuer, audience, expiry
    /// (one minute of leeway) and the nonce of this flow.
    pub async fn verify(&self, id_token: &str, nonce: &str) -> anyhow::Result<Claims> {
        let header = jsonwebtoken::decode_header(id_token)?;
        anyhow::ensure!(
            header.alg == Algorithm::RS256,
            "unexpected algorithm {:?}",
            header.alg
        );
        let (mut d, mut jwks) = self.provider(false).await?;
        let find = |jwks: &Jwks| {
            jwks.keys
                .iter()
                .filter(|k| k.kty == "RSA")
                .find(|k| header.kid.is_none() || k.kid == header.kid)
                .cloned()
        };
        let key = match find(&jwks) {
            Some(k) => k,
            None => {
                (d, jwks) = self.provider(true).await?;
                find(&jwks).ok_or_else(|| anyhow::anyhow!("no key {:?} in the JWKS", header.kid))?
            }
        };
        let (Some(n), Some(e)) = (key.n.as_deref(), key.e.as_deref()) else {
            anyhow::bail!("JWK without n/e");
        };
        let mut v = Validation::new(Algorithm::RS256);
        v.set_issuer(&[d.issuer.as_str()]);
        v.set_audience(&[self.config.client_id.as_str()]);
        v.leeway = 60;
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data =
            jsonwebtoken::decode::<Claims>(id_token, &DecodingKey::from_rsa_components(n, e)?, &v)?;
        let claims = data.claims;
        let matches = claims
            .nonce
            .as_deref()
            .is_some_and(|got| bool::from(got.as_bytes().ct_eq(nonce.as_bytes())));
        anyhow::ensure!(matches, "nonce mismatch");
        Ok(claims)
    }
}
