//! Admins signing in through the company's OpenID provider (OIDC authorization code with PKCE): the settings, the
//! group-to-role map, and the rules of a sign-in. The protocol itself (discovery, the code exchange, the ID token's
//! signature and claims) is an [`OidcClient`], which the server implements; this file decides who gets in, as what.
use super::sealed::SecretKeys;
use super::{Ctx, now, target};
use crate::Kind;
use crate::model::{Admin, Millis, Role, SsoSettings, fold};
use crate::rules::roles::{Action, highest};
use crate::store::{NewLogEntry, Store};
use crate::{Error, Result};
use async_trait::async_trait;
use std::sync::Arc;

/// What the protocol needs of the settings: the client secret opened.
#[derive(Debug, Clone)]
pub struct Provider {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Beyond `openid email profile`.
    pub scopes: Vec<String>,
}

/// A sign-in under way, kept in the browser's session until the provider sends it back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Flow {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub started_at: Millis,
}

/// Where to send the browser, and what to keep until it comes back.
#[derive(Debug, Clone)]
pub struct Authorization {
    pub url: String,
    pub flow: Flow,
}

/// Who the provider says signed in: the ID token's claims (signature, issuer, audience, expiry and nonce checked)
/// merged with userinfo's.
#[derive(Debug, Clone)]
pub struct Identity {
    pub subject: String,
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// The ID token as received, the `id_token_hint` of a later sign-out.
    pub id_token: String,
}

impl Identity {
    fn email(&self) -> Option<&str> {
        self.claims.get("email").and_then(|v| v.as_str()).filter(|e| e.contains('@'))
    }

    fn email_verified(&self) -> bool {
        match self.claims.get("email_verified") {
            Some(serde_json::Value::Bool(b)) => *b,
            // Some providers send it as a string.
            Some(serde_json::Value::String(s)) => s == "true",
            _ => false,
        }
    }

    /// The groups the claim lists: an array of strings, or one string.
    fn groups(&self, claim: &str) -> Vec<String> {
        match self.claims.get(claim) {
            Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    }
}

/// The OpenID Connect protocol, as the server speaks it.
#[async_trait]
pub trait OidcClient: Send + Sync {
    /// The provider's authorization URL for a new sign-in: PKCE (S256), state and nonce.
    async fn authorize(&self, p: &Provider, redirect_uri: &str) -> Result<Authorization>;
    /// Exchanges the code (client_secret_basic), validates the ID token against the provider's keys (fetching them
    /// again once if the key is new), and merges userinfo. A refusal is `Error::Forbidden` with the reason.
    async fn finish(&self, p: &Provider, redirect_uri: &str, code: &str, flow: &Flow) -> Result<Identity>;
    /// The provider's `end_session_endpoint` with `id_token_hint` and `post_logout_redirect_uri`, if it has one.
    async fn end_session_url(&self, p: &Provider, id_token: &str, post_logout: &str) -> Result<Option<String>>;
}

/// How long a sign-in may take at the provider.
const FLOW_MS: Millis = 10 * 60_000;

pub use crate::model::Client;

/// A sign-in attempt's entry in the log: `SIGN-IN sso` or `SIGN-IN password`, with the address and user agent.
pub(super) fn sign_in_entry(who: &str, how: &str, status: u16, diff: String, client: &Client) -> NewLogEntry {
    NewLogEntry {
        at: now(),
        actor: who.to_owned(),
        method: "SIGN-IN".into(),
        path: how.into(),
        status,
        outcome: if status < 400 { crate::model::Outcome::Ok } else { crate::model::Outcome::Failed },
        target: None,
        diff,
        detail: String::new(),
        request_id: None,
        client: Some(client.clone()),
    }
}

#[derive(Clone)]
pub struct SsoService {
    store: Arc<dyn Store>,
    keys: SecretKeys,
    client: Option<Arc<dyn OidcClient>>,
}

/// An issuer: an https URL, or http on loopback (a provider on this machine, for tests).
pub fn parse_issuer(issuer: &str) -> Result<String> {
    let bad = |why: &str| Error::InvalidValue(format!("the issuer '{}' {why}", issuer.escape_debug()));
    let url = url::Url::parse(issuer.trim()).map_err(|_| bad("is not a URL"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(bad("has no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(bad("must be an https URL")),
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or fragment"));
    }
    // Exactly as given: the ID token's `iss` must equal it to the character (OpenID Connect Core §3.1.3.7).
    Ok(issuer.trim().to_owned())
}

impl SsoService {
    pub fn new(store: Arc<dyn Store>) -> Self {
        SsoService { store, keys: SecretKeys::none(), client: None }
    }

    pub fn with_keys(mut self, keys: SecretKeys) -> Self {
        self.keys = keys;
        self
    }

    pub fn with_client(mut self, client: Arc<dyn OidcClient>) -> Self {
        self.client = Some(client);
        self
    }

    /// Seals the client secret with the key file's first key if it is in clear or under another key (each start).
    pub async fn reseal_secret(&self) -> Result<bool> {
        if !self.keys.is_set() {
            return Ok(false);
        }
        let keys = self.keys.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let Some(stored) = tx.sso().await? else { return Ok(false) };
                    if !keys.needs_reseal(&stored.client_secret) {
                        return Ok(false);
                    }
                    tx.set_sso_secret(&keys.seal(&keys.open(&stored.client_secret)?)?).await?;
                    Ok(true)
                })
            })
            .await
    }

    /// The settings for the SSO page, which only owners see.
    pub async fn settings_for(&self, ctx: &Ctx) -> Result<Option<SsoSettings>> {
        ctx.require(Action::Admins)?;
        self.settings().await
    }

    /// The settings, without the secret; None while SSO is not set up.
    pub async fn settings(&self) -> Result<Option<SsoSettings>> {
        Ok(self.store.begin_read().await?.sso().await?.map(|s| s.settings))
    }

    /// Sets up (or changes) the provider. The role map and the require switch stay as they were.
    #[allow(clippy::too_many_arguments)]
    pub async fn set(
        &self,
        ctx: &Ctx,
        issuer: &str,
        client_id: &str,
        client_secret: &str,
        label: Option<&str>,
        groups_claim: &str,
        scopes: &str,
    ) -> Result<SsoSettings> {
        ctx.require(Action::Admins)?;
        let issuer = parse_issuer(issuer)?;
        let field = |v: &str, what: &str| {
            let v = v.trim();
            if v.is_empty() || v.len() > 512 || v.contains(char::is_control) {
                Err(Error::InvalidValue(format!("{what} must be 1 to 512 characters")))
            } else {
                Ok(v.to_owned())
            }
        };
        let client_id = field(client_id, "the client id")?;
        let secret = self.keys.seal(&field(client_secret, "the client secret")?)?;
        let groups_claim = field(groups_claim, "the groups claim")?;
        let label = field(label.unwrap_or("single sign-on"), "the label")?;
        let scopes: Vec<String> = scopes.split_whitespace().map(str::to_owned).collect();
        if scopes.iter().any(|s| s.len() > 128 || !s.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')) {
            return Err(Error::InvalidValue("scopes are words of visible ASCII, separated by spaces".into()));
        }
        let ctx = ctx.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let old = tx.sso().await?.map(|s| s.settings);
                    let (roles, required) = old.map(|o| (o.roles, o.required)).unwrap_or_default();
                    let settings = SsoSettings { issuer, client_id, label, groups_claim, scopes, required, roles };
                    tx.set_sso(&settings, &secret).await?;
                    let diff = format!("single sign-on: issuer {}, client {}", settings.issuer, settings.client_id);
                    tx.add_log_entry(&ctx.entry(200, None, diff)).await?;
                    Ok(settings)
                })
            })
            .await
    }

    /// Maps a group of the provider's to a role (or changes its role).
    pub async fn map(&self, ctx: &Ctx, group: &str, role: Role) -> Result<()> {
        ctx.require(Action::Admins)?;
        let group = group.trim().to_owned();
        if group.is_empty() || group.len() > 512 {
            return Err(Error::InvalidValue("the group must be 1 to 512 characters".into()));
        }
        let ctx = ctx.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    tx.map_group(&group, role).await?;
                    tx.add_log_entry(&ctx.entry(200, None, format!("group '{group}' signs in as {role}"))).await
                })
            })
            .await
    }

    pub async fn unmap(&self, ctx: &Ctx, group: &str) -> Result<()> {
        ctx.require(Action::Admins)?;
        let (ctx, group) = (ctx.clone(), group.trim().to_owned());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if !tx.unmap_group(&group).await? {
                        return Err(Error::InvalidValue(format!("the group '{}' is not mapped", group.escape_debug())));
                    }
                    tx.add_log_entry(&ctx.entry(200, None, format!("group '{group}' no longer maps to a role"))).await
                })
            })
            .await
    }

    /// Requires sign-in through the provider (password sign-in refused but for break-glass admins), or not.
    pub async fn set_required(&self, ctx: &Ctx, on: bool) -> Result<()> {
        ctx.require(Action::Admins)?;
        let ctx = ctx.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if on && tx.sso().await?.is_none() {
                        return Err(Error::InvalidValue("set up single sign-on first: roster sso set …".into()));
                    }
                    // The way in when the IdP is down: without one, an outage locks every owner out of the panel.
                    let glass = tx.list_admins().await?.iter().any(|a| a.break_glass && a.role == Role::Owner);
                    if on && !glass {
                        return Err(Error::InvalidValue(
                            "add a break-glass owner first (roster admin create --email … --break-glass), the way in \
                             when the identity provider is down"
                                .into(),
                        ));
                    }
                    tx.set_sso_required(on).await?;
                    let diff = format!("single sign-on required: {}", if on { "on" } else { "off" });
                    tx.add_log_entry(&ctx.entry(200, None, diff)).await
                })
            })
            .await
    }

    /// Turns single sign-on off: its settings and role map go; admins who only signed in through it cannot sign in
    /// until it is set up again (or they are given a password by being added again).
    pub async fn disable(&self, ctx: &Ctx) -> Result<()> {
        ctx.require(Action::Admins)?;
        let ctx = ctx.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    tx.clear_sso().await?;
                    tx.add_log_entry(&ctx.entry(200, None, "single sign-on turned off".into())).await
                })
            })
            .await
    }

    async fn provider(&self) -> Result<(Provider, SsoSettings, Arc<dyn OidcClient>)> {
        let Some(client) = self.client.clone() else {
            return Err(Error::Unavailable("this process does not sign admins in through an IdP".into()));
        };
        let Some(stored) = self.store.begin_read().await?.sso().await? else {
            return Err(Error::Forbidden("single sign-on is not set up; sign in with your password".into()));
        };
        let s = stored.settings;
        let client_secret = self.keys.open(&stored.client_secret)?;
        let p = Provider {
            issuer: s.issuer.clone(),
            client_id: s.client_id.clone(),
            client_secret,
            scopes: s.scopes.clone(),
        };
        Ok((p, s, client))
    }

    /// Starts a sign-in: where to send the browser, and the flow to keep in its session.
    pub async fn begin(&self, redirect_uri: &str) -> Result<Authorization> {
        let (p, _, client) = self.provider().await?;
        client.authorize(&p, redirect_uri).await
    }

    /// Finishes a sign-in the provider sent back. The flow is the one the session kept (taken out of it, so a replay
    /// finds none); `state` must be its state. Every outcome is logged, with the client. Returns the admin and the ID
    /// token (for the sign-out).
    pub async fn finish(
        &self,
        flow: Option<Flow>,
        code: &str,
        state: &str,
        redirect_uri: &str,
        who: &Client,
    ) -> Result<(Admin, String)> {
        let refused = |reason: String| Error::Forbidden(reason);
        let started = flow.as_ref().is_some_and(|f| f.state == state);
        let outcome = async {
            let flow = flow.ok_or_else(|| {
                refused("this sign-in was not started here, or it was used already; start again".into())
            })?;
            if flow.state != state || now() - flow.started_at > FLOW_MS {
                return Err(refused(
                    "this sign-in does not match the one started here, or took too long; start again".into(),
                ));
            }
            let (p, settings, client) = self.provider().await?;
            let identity = client.finish(&p, redirect_uri, code, &flow).await?;
            Ok((identity, settings))
        }
        .await;
        let (identity, settings) = match outcome {
            Ok(x) => x,
            // A callback this browser did not start (a replay, a crafted link, a bot) is refused without a write.
            Err(e) if !started => return Err(e),
            Err(e) => {
                self.log_sign_in(sign_in_entry("unknown", "sso", e.scim().0, format!("refused: {e}"), who)).await;
                return Err(e);
            }
        };
        let who = who.clone();
        let decision = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let decided = decide(tx, &identity, &settings).await?;
                    let name = identity.email().unwrap_or(&identity.subject).to_owned();
                    match decided {
                        Err(reason) => {
                            tx.add_log_entry(&sign_in_entry(&name, "sso", 403, format!("refused: {reason}"), &who))
                                .await?;
                            Ok(Err(reason))
                        }
                        Ok((admin, changed)) => {
                            let at = now();
                            tx.record_admin_sign_in(admin.id, at).await?;
                            let mut diff = format!("signed in through {} as {}", settings.label, admin.role);
                            if let Some(old) = changed {
                                diff.push_str(&format!(" (role: {old} → {})", admin.role));
                            }
                            tx.add_log_entry(&sign_in_entry(&admin.email, "sso", 200, diff, &who)).await?;
                            Ok(Ok((Admin { last_sign_in_at: Some(at), ..admin }, identity.id_token)))
                        }
                    }
                })
            })
            .await?;
        decision.map_err(refused)
    }

    /// Where a sign-out sends the browser: the provider's end-session endpoint when it has one and the session came
    /// from it, else None (the login page).
    pub async fn end_session_url(&self, id_token: &str, post_logout: &str) -> Option<String> {
        let (p, _, client) = self.provider().await.ok()?;
        match client.end_session_url(&p, id_token, post_logout).await {
            Ok(url) => url,
            Err(e) => {
                tracing::warn!(error = %e, "could not end the session at the identity provider");
                None
            }
        }
    }

    async fn log_sign_in(&self, entry: NewLogEntry) {
        let logged = self.store.write(move |tx| Box::pin(async move { tx.add_log_entry(&entry).await })).await;
        if let Err(e) = logged {
            tracing::warn!(error = %e, "could not log a sign-in attempt");
        }
    }
}

/// The rules of an SSO sign-in, in its write transaction. `Ok(Err(reason))` is a refusal to log and show; `Ok(Ok)` the
/// admin (found by subject, linked by verified email, or created) with their role as the groups give it, and their
/// old role if it changed.
async fn decide(
    tx: &mut dyn crate::store::Tx,
    id: &Identity,
    settings: &SsoSettings,
) -> Result<std::result::Result<(Admin, Option<Role>), String>> {
    let groups = id.groups(&settings.groups_claim);
    let mapped = settings.roles.iter().filter(|(g, _)| groups.contains(g)).map(|(_, r)| *r);
    let Some(role) = highest(mapped) else {
        let seen = if groups.is_empty() { "no groups".to_owned() } else { groups.join(", ") };
        return Ok(Err(format!(
            "none of your groups gives a role in roster (roster read the claim '{}' and found {seen}); ask an owner to \
             map one of your groups",
            settings.groups_claim
        )));
    };
    let verified = id.email().filter(|_| id.email_verified());
    // Offboarded in the directory: the IdP deactivated or deleted this person over SCIM. Any email the IdP sent serves
    // here, verified or not: a match can only refuse.
    if tx.directory_user_active(&id.subject, id.email()).await? == Some(false) {
        return Ok(Err("your account is deactivated in the directory roster provisions from".into()));
    }
    let admin = match tx.admin_by_subject(&id.subject).await? {
        Some(a) => a,
        None => match verified.map(fold) {
            Some(email) => match tx.admin_by_email(&email).await? {
                Some(local) if local.oidc_subject.is_some() => {
                    return Ok(Err("your email belongs to another single sign-on account in roster".into()));
                }
                // A break-glass admin is the way in when the IdP is not: it stays a password, never an IdP account.
                Some(local) if local.break_glass => {
                    return Ok(Err(
                        "your email belongs to a break-glass admin, which signs in with its password".into()
                    ));
                }
                Some(local) => {
                    tx.link_admin_subject(local.id, &id.subject).await?;
                    Admin { oidc_subject: Some(id.subject.clone()), ..local }
                }
                None => tx.insert_sso_admin(verified.unwrap_or(&email), &id.subject, role, now()).await?,
            },
            None => {
                let Some(email) = id.email() else {
                    return Ok(Err("the identity provider sent no email for your account".into()));
                };
                if tx.admin_by_email(&fold(email)).await?.is_some() {
                    return Ok(Err("your email is not verified at the identity provider, so roster cannot link it \
                                   to the existing admin with that email"
                        .into()));
                }
                tx.insert_sso_admin(email, &id.subject, role, now()).await?
            }
        },
    };
    if admin.role == role {
        return Ok(Ok((admin, None)));
    }
    // roster keeps an owner: the last one keeps the role whatever their groups now say (an owner can then hand it on).
    let admins = tx.list_admins().await?;
    if !crate::rules::roles::an_owner_remains(admins.iter().map(|a| (a.id, a.role)), admin.id, Some(role)) {
        tracing::warn!(admin = %admin.email, "the last owner's groups give {role}; they stay the owner");
        return Ok(Ok((admin, None)));
    }
    tx.set_admin_role(admin.id, role, now()).await?;
    let old = admin.role;
    Ok(Ok((Admin { role, ..admin }, Some(old))))
}

/// Ends the sessions of the SSO admins the directory user `user` is, inside the write that deactivated or deleted them,
/// and logs it. Called by the user service.
pub(super) async fn offboard(tx: &mut dyn crate::store::Tx, user: &crate::model::UserId, ctx: &Ctx) -> Result<()> {
    for admin in tx.admins_of_user(user).await? {
        tx.end_admin_sessions(admin.id, now()).await?;
        let t = target(Kind::Admin, &admin.id.to_string(), &admin.email);
        let diff = "deactivated in the directory: panel sessions ended, sign-in refused while inactive".to_owned();
        tx.add_log_entry(&ctx.entry(200, t, diff)).await?;
    }
    Ok(())
}
