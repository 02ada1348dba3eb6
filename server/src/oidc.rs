//! The OpenID Connect protocol for admins' sign-in, on the `openidconnect` crate: discovery (cached, fetched again
//! when the provider's keys rotate), the authorization URL with PKCE (S256), state and nonce, the code exchange with
//! `client_secret_basic`, the ID token's signature (against the provider's JWKS), `iss`, `aud`, `exp` and `nonce`,
//! userinfo, and RP-initiated logout. Who gets in, as what, is the domain's ([`roster::service::SsoService`]).
use async_trait::async_trait;
use base64::Engine;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreIdToken};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadataWithLogout, RedirectUrl, Scope,
    TokenResponse,
};
use roster::service::sso::{Authorization, Flow, Identity, OidcClient, Provider};
use roster::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long discovery is trusted before it is fetched again (keys are also fetched again when a token names a new one).
const DISCOVERY_TTL: Duration = Duration::from_secs(600);

type Metadata = Arc<ProviderMetadataWithLogout>;

pub struct Oidc {
    http: reqwest::Client,
    discovered: Mutex<HashMap<String, (Instant, Metadata)>>,
}

impl Oidc {
    pub fn new() -> anyhow::Result<Oidc> {
        let http = reqwest::Client::builder()
            // OpenID Connect forbids following redirects on these calls (SSRF).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("roster/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Oidc { http, discovered: Mutex::default() })
    }

    /// The provider's metadata and keys: cached, or fetched when `fresh` or stale.
    async fn metadata(&self, issuer: &str, fresh: bool) -> Result<Metadata> {
        if !fresh
            && let Some((at, md)) = self.discovered.lock().ok().and_then(|m| m.get(issuer).cloned())
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(md);
        }
        let url = IssuerUrl::new(issuer.to_owned()).map_err(|e| Error::InvalidValue(format!("the issuer: {e}")))?;
        let md = ProviderMetadataWithLogout::discover_async(url, &self.http).await.map_err(|e| {
            tracing::warn!(error = %e, %issuer, "OpenID Connect discovery failed");
            Error::Unavailable(format!("the identity provider at {issuer} could not be reached; try again shortly"))
        })?;
        let md = Arc::new(md);
        if let Ok(mut m) = self.discovered.lock() {
            m.insert(issuer.to_owned(), (Instant::now(), md.clone()));
        }
        Ok(md)
    }

    fn client(md: &ProviderMetadataWithLogout, p: &Provider, redirect_uri: &str) -> Result<CoreClientWith> {
        let redirect =
            RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| Error::internal(format!("redirect URI: {e}")))?;
        Ok(CoreClient::from_provider_metadata(
            md.clone(),
            ClientId::new(p.client_id.clone()),
            Some(ClientSecret::new(p.client_secret.clone())),
        )
        .set_redirect_uri(redirect))
    }
}

type CoreClientWith = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

fn refused(why: impl std::fmt::Display) -> Error {
    Error::Forbidden(format!("the identity provider's answer was not accepted: {why}"))
}

/// Checks the ID token's signature and claims with `client`'s keys.
pub fn verify(
    client: &CoreClientWith,
    token: &CoreIdToken,
    nonce: &str,
) -> std::result::Result<String, ClaimsVerificationError> {
    token.claims(&client.id_token_verifier(), &Nonce::new(nonce.to_owned())).map(|c| c.subject().to_string())
}

/// Every claim of a JWT whose signature was checked already, as JSON.
fn payload(jwt: &str) -> serde_json::Map<String, serde_json::Value> {
    jwt.split('.')
        .nth(1)
        .and_then(|p| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

#[async_trait]
impl OidcClient for Oidc {
    async fn authorize(&self, p: &Provider, redirect_uri: &str) -> Result<Authorization> {
        let md = self.metadata(&p.issuer, false).await?;
        let client = Oidc::client(&md, p, redirect_uri)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut req =
            client.authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random);
        for scope in ["email", "profile"].into_iter().map(str::to_owned).chain(p.scopes.iter().cloned()) {
            req = req.add_scope(Scope::new(scope));
        }
        let (url, state, nonce) = req.set_pkce_challenge(challenge).url();
        let flow = Flow {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            started_at: roster::service::now(),
        };
        Ok(Authorization { url: url.to_string(), flow })
    }

    async fn finish(&self, p: &Provider, redirect_uri: &str, code: &str, flow: &Flow) -> Result<Identity> {
        let mut md = self.metadata(&p.issuer, false).await?;
        let mut client = Oidc::client(&md, p, redirect_uri)?;
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| Error::internal(format!("token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(flow.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "the identity provider refused the code");
                Error::Forbidden(
                    "the identity provider did not accept this sign-in (a code used twice, or expired); start again"
                        .into(),
                )
            })?;
        let id_token = token.id_token().ok_or_else(|| refused("it sent no ID token"))?;
        let subject = match verify(&client, id_token, &flow.nonce) {
            Ok(s) => s,
            // A key roster has not seen: the provider rotated its keys. Fetch them once more and check again.
            Err(ClaimsVerificationError::SignatureVerification(_)) => {
                md = self.metadata(&p.issuer, true).await?;
                client = Oidc::client(&md, p, redirect_uri)?;
                verify(&client, id_token, &flow.nonce).map_err(refused)?
            }
            Err(e) => return Err(refused(e)),
        };
        let jwt = id_token.to_string();
        let mut claims = payload(&jwt);
        // Userinfo adds what the ID token left out (many providers put only `sub` there); it must be about the same
        // subject (OpenID Connect Core §5.3.2).
        if let Some(endpoint) = md.userinfo_endpoint() {
            let info = self
                .http
                .get(endpoint.url().clone())
                .bearer_auth(token.access_token().secret())
                .send()
                .await
                .and_then(reqwest::Response::error_for_status);
            match info {
                Ok(r) => {
                    let info: serde_json::Map<String, serde_json::Value> = r.json().await.unwrap_or_default();
                    if info.get("sub").and_then(|s| s.as_str()) == Some(subject.as_str()) {
                        // An email and whether it is verified come from one source: userinfo's `email_verified`
                        // speaks of userinfo's email.
                        let own_email = claims.contains_key("email");
                        for (k, v) in info {
                            if own_email && k == "email_verified" {
                                continue;
                            }
                            claims.entry(k).or_insert(v);
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "userinfo failed; using the ID token's claims alone"),
            }
        }
        Ok(Identity { subject, claims, id_token: jwt })
    }

    async fn end_session_url(&self, p: &Provider, id_token: &str, post_logout: &str) -> Result<Option<String>> {
        let md = self.metadata(&p.issuer, false).await?;
        let Some(endpoint) = md.additional_metadata().end_session_endpoint.clone() else { return Ok(None) };
        let mut url = endpoint.url().clone();
        url.query_pairs_mut()
            .append_pair("id_token_hint", id_token)
            .append_pair("post_logout_redirect_uri", post_logout)
            .append_pair("client_id", &p.client_id);
        Ok(Some(url.to_string()))
    }
}

#[cfg(test)]
mod tests {
    //! ID tokens as a provider would sign them, checked offline: each defect is refused.
    use super::*;
    use chrono::{Duration as Age, Utc};
    use openidconnect::core::{
        CoreIdTokenClaims, CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreResponseType, CoreRsaPrivateSigningKey,
        CoreSubjectIdentifierType,
    };
    use openidconnect::{
        Audience, AuthUrl, EmptyAdditionalClaims, EmptyAdditionalProviderMetadata, JsonWebKeyId, JsonWebKeySetUrl,
        LogoutProviderMetadata, PrivateSigningKey, ResponseTypes, StandardClaims, SubjectIdentifier,
    };

    const ISSUER: &str = "https://idp.example.com";
    const SIGNING: &str = include_str!("oidc_keys/test-signing-key.pem");
    const OTHER: &str = include_str!("oidc_keys/test-other-key.pem");

    fn key(pem: &str) -> CoreRsaPrivateSigningKey {
        CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new("k1".into()))).unwrap()
    }

    /// roster's client for a provider whose published keys are the signing key's.
    fn client() -> CoreClientWith {
        let md = ProviderMetadataWithLogout::new(
            IssuerUrl::new(ISSUER.into()).unwrap(),
            AuthUrl::new(format!("{ISSUER}/auth")).unwrap(),
            JsonWebKeySetUrl::new(format!("{ISSUER}/jwks")).unwrap(),
            vec![ResponseTypes::new(vec![CoreResponseType::Code])],
            vec![CoreSubjectIdentifierType::Public],
            vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256],
            LogoutProviderMetadata {
                end_session_endpoint: None,
                additional_metadata: EmptyAdditionalProviderMetadata {},
            },
        )
        .set_jwks(CoreJsonWebKeySet::new(vec![key(SIGNING).as_verification_key()]));
        let p =
            Provider { issuer: ISSUER.into(), client_id: "roster".into(), client_secret: "s".into(), scopes: vec![] };
        Oidc::client(&md, &p, "https://roster.example.com/auth/oidc/callback").unwrap()
    }

    struct Token {
        issuer: &'static str,
        audience: &'static str,
        expires_in: Age,
        nonce: &'static str,
        signed_by: &'static str,
    }

    const GOOD: Token =
        Token { issuer: ISSUER, audience: "roster", expires_in: Age::minutes(5), nonce: "n-1", signed_by: SIGNING };

    fn sign(t: Token) -> CoreIdToken {
        let claims = CoreIdTokenClaims::new(
            IssuerUrl::new(t.issuer.into()).unwrap(),
            vec![Audience::new(t.audience.into())],
            Utc::now() + t.expires_in,
            Utc::now() - Age::minutes(10),
            StandardClaims::new(SubjectIdentifier::new("00u-ada".into())),
            EmptyAdditionalClaims {},
        )
        .set_nonce(Some(Nonce::new(t.nonce.into())));
        CoreIdToken::new(claims, &key(t.signed_by), CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, None, None).unwrap()
    }

    #[test]
    fn a_good_token_gives_its_subject_and_its_claims() {
        let token = sign(GOOD);
        assert_eq!(verify(&client(), &token, "n-1").unwrap(), "00u-ada");
        assert_eq!(payload(&token.to_string())["sub"], "00u-ada");
    }

    #[test]
    fn each_defect_is_refused() {
        let c = client();
        let refused = |t: Token, nonce: &str| verify(&c, &sign(t), nonce).unwrap_err();
        assert!(matches!(
            refused(Token { audience: "someone-else", ..GOOD }, "n-1"),
            ClaimsVerificationError::InvalidAudience(_)
        ));
        assert!(matches!(
            refused(Token { issuer: "https://evil.example.com", ..GOOD }, "n-1"),
            ClaimsVerificationError::InvalidIssuer(_)
        ));
        assert!(matches!(
            refused(Token { expires_in: Age::minutes(-5), ..GOOD }, "n-1"),
            ClaimsVerificationError::Expired(_)
        ));
        assert!(matches!(refused(GOOD, "another-nonce"), ClaimsVerificationError::InvalidNonce(_)));
        // Signed by a key the provider does not publish, under the published key's id.
        assert!(matches!(
            refused(Token { signed_by: OTHER, ..GOOD }, "n-1"),
            ClaimsVerificationError::SignatureVerification(_)
        ));
    }
}
