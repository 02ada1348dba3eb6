//! Admins: first-run setup, sign-in (throttled per account and per client address), sessions, adding and removing
//! admins, and passwords. Every argon2 run waits for a permit from [`Hasher`], so hashing can never take all memory
//! or CPU, and an unauthenticated request reaches argon2 only after the cheap checks pass.
use super::secret::{Hasher, random_token, sha256_hex};
use super::sso::{Client, sign_in_entry};
use super::{Ctx, now, target};
use crate::Kind;
use crate::model::{Admin, AdminId, Millis, Role, fold};
use crate::rules::roles::Action;
use crate::store::{NewAdmin, NewLogEntry, Store};
use crate::{Error, Result};
use std::sync::Arc;

/// Sign-in attempts allowed in one window: for one account from one client address, for one account from anywhere,
/// and from one client address to any account. An attempt counts before its password is checked, so parallel guesses
/// each take one; a successful sign-in clears its counts. The strict limit is per account *and* address, so an
/// attacker elsewhere cannot lock an admin out; the per-account limit is high, and stops guessing spread over many
/// addresses; the per-address limit stops one address trying many accounts.
pub const SIGN_IN_PER_ACCOUNT_AND_ADDRESS: i64 = 5;
pub const SIGN_IN_PER_ACCOUNT: i64 = 100;
pub const SIGN_IN_PER_ADDRESS: i64 = 30;
pub const SIGN_IN_WINDOW_MS: Millis = 15 * 60_000;

/// How long a session lasts after sign-in, however active it is (the idle timeout is the cookie's own).
pub const DEFAULT_SESSION_LIFETIME_MS: Millis = 24 * 3600 * 1000;

/// A first, in-memory limit on sign-in attempts per client address: a burst of 10, then one every two seconds. Over
/// it, an attempt is refused without touching the database, so a flood of sign-ins cannot become a flood of writes.
type AddressLimiter = governor::DefaultKeyedRateLimiter<String>;

#[derive(Clone)]
pub struct AdminService {
    store: Arc<dyn Store>,
    hasher: Hasher,
    session_lifetime: Millis,
    addresses: Arc<AddressLimiter>,
}

/// An email an admin signs in with: trimmed, with an `@`, at most 254 characters.
pub fn parse_email(email: &str) -> Result<String> {
    let e = email.trim();
    let ok = e.len() <= 254
        && !e.contains(char::is_whitespace)
        && !e.contains(char::is_control)
        && e.split_once('@').is_some_and(|(l, d)| !l.is_empty() && !d.is_empty());
    if ok {
        Ok(e.to_owned())
    } else {
        Err(Error::InvalidValue(format!("'{}' is not an email address", e.escape_debug())))
    }
}

/// Passwords of at least 10 characters; there is no upper limit beyond sanity.
pub fn check_password(p: &str) -> Result<()> {
    match p.chars().count() {
        n if n < 10 => Err(Error::InvalidValue("the password must be at least 10 characters long".into())),
        n if n > 1024 => Err(Error::InvalidValue("the password is too long".into())),
        _ => Ok(()),
    }
}

impl AdminService {
    pub fn new(store: Arc<dyn Store>) -> Self {
        let quota = governor::Quota::with_period(std::time::Duration::from_secs(2))
            .map(|q| q.allow_burst(std::num::NonZeroU32::MIN.saturating_add(9)))
            .unwrap_or_else(|| governor::Quota::per_second(std::num::NonZeroU32::MIN));
        AdminService {
            store,
            hasher: Hasher::default(),
            session_lifetime: DEFAULT_SESSION_LIFETIME_MS,
            addresses: Arc::new(governor::RateLimiter::keyed(quota)),
        }
    }

    /// Sets the absolute session lifetime.
    pub fn with_session_lifetime(mut self, ms: Millis) -> Self {
        self.session_lifetime = ms;
        self
    }

    pub fn session_lifetime(&self) -> Millis {
        self.session_lifetime
    }

    pub async fn count(&self) -> Result<i64> {
        self.store.begin_read().await?.count_admins().await
    }

    /// On a start with no admin: the one-time setup token, the same on every instance and every start until the
    /// first admin exists or it expires (a new one is made then). None once an admin exists.
    pub async fn issue_setup_token(&self) -> Result<Option<String>> {
        self.store
            .write(|tx| {
                Box::pin(async move {
                    if tx.count_admins().await? > 0 {
                        tx.set_setup_token(None).await?;
                        return Ok(None);
                    }
                    let at = now();
                    if let Some((token, _)) = tx.setup_token().await?.filter(|(_, issued)| live(*issued, at)) {
                        return Ok(Some(token));
                    }
                    let token = random_token("");
                    tx.set_setup_token(Some((&token, at))).await?;
                    Ok(Some(token))
                })
            })
            .await
    }

    /// Whether `token` is the live setup token (the setup page checks before showing its form).
    pub async fn setup_token_valid(&self, token: &str) -> Result<bool> {
        let stored = self.store.begin_read().await?.setup_token().await?;
        Ok(stored.is_some_and(|(stored, issued)| live(issued, now()) && same_token(&stored, token)))
    }

    /// Creates the first admin with the one-time link; the token stops working in the same transaction. The token is
    /// checked before the password is hashed, so a request without it costs no argon2 run.
    pub async fn complete_setup(&self, token: &str, email: &str, password: &str) -> Result<Admin> {
        let used = || Error::Forbidden("this setup link has already been used or has expired; sign in instead".into());
        if !self.setup_token_valid(token).await? {
            return Err(used());
        }
        let email = parse_email(email)?;
        check_password(password)?;
        let hash = self.hasher.hash(password.to_owned()).await?;
        let token = token.to_owned();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let stored = tx.setup_token().await?;
                    let valid = stored.is_some_and(|(s, issued)| live(issued, now()) && same_token(&s, &token));
                    if !valid || tx.count_admins().await? > 0 {
                        return Err(used());
                    }
                    // The first admin owns the installation.
                    let new = NewAdmin { email: &email, password_hash: &hash, role: Role::Owner, break_glass: false };
                    let admin = tx.insert_admin(&new, now()).await?;
                    tx.set_setup_token(None).await?;
                    Ok(admin)
                })
            })
            .await
    }

    /// `roster admin create` and the panel's "add admin": an admin with `role`, and with a break-glass password if
    /// `break_glass` (one that works when sign-in through the IdP is required).
    pub async fn create(&self, ctx: &Ctx, email: &str, password: &str, role: Role, break_glass: bool) -> Result<Admin> {
        ctx.require(Action::Admins)?;
        let email = parse_email(email)?;
        check_password(password)?;
        let hash = self.hasher.hash(password.to_owned()).await?;
        let ctx = ctx.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let new = NewAdmin { email: &email, password_hash: &hash, role, break_glass };
                    let admin = tx.insert_admin(&new, now()).await?;
                    tx.set_setup_token(None).await?;
                    let t = target(Kind::Admin, &admin.id.to_string(), &email);
                    let glass = if break_glass { ", break-glass" } else { "" };
                    tx.add_log_entry(&ctx.entry(201, t, format!("admin {email} added as {role}{glass}"))).await?;
                    Ok(admin)
                })
            })
            .await
    }

    /// Removes an admin: their sessions end at once. The last admin cannot be removed, so roster always has one.
    pub async fn remove(&self, ctx: &Ctx, email: &str) -> Result<Admin> {
        ctx.require(Action::Admins)?;
        let (ctx, email) = (ctx.clone(), email.trim().to_owned());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let Some(admin) = tx.admin_by_email(&fold(&email)).await? else {
                        return Err(Error::not_found(Kind::Admin, format!("'{}'", email.escape_debug())));
                    };
                    if tx.count_admins().await? <= 1 {
                        return Err(Error::InvalidValue(format!(
                            "{} is the only admin; add another admin before removing this one",
                            admin.email
                        )));
                    }
                    check_an_owner_stays(tx.list_admins().await?, admin.id, None)?;
                    tx.delete_admin(admin.id).await?;
                    let t = target(Kind::Admin, &admin.id.to_string(), &admin.email);
                    tx.add_log_entry(&ctx.entry(200, t, format!("admin {} removed", admin.email))).await?;
                    Ok(admin)
                })
            })
            .await
    }

    /// Gives an admin another role. It applies from their next request. The last owner keeps the role, so roster
    /// always has someone who can manage admins.
    pub async fn set_role(&self, ctx: &Ctx, email: &str, role: Role) -> Result<Admin> {
        ctx.require(Action::Admins)?;
        let (ctx, email) = (ctx.clone(), email.trim().to_owned());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let Some(admin) = tx.admin_by_email(&fold(&email)).await? else {
                        return Err(Error::not_found(Kind::Admin, format!("'{}'", email.escape_debug())));
                    };
                    if admin.role == role {
                        return Ok(admin);
                    }
                    check_an_owner_stays(tx.list_admins().await?, admin.id, Some(role))?;
                    tx.set_admin_role(admin.id, role, now()).await?;
                    let t = target(Kind::Admin, &admin.id.to_string(), &admin.email);
                    let diff = format!("role: {} → {role}", admin.role);
                    tx.add_log_entry(&ctx.entry(200, t, diff)).await?;
                    Ok(Admin { role, ..admin })
                })
            })
            .await
    }

    /// Signs in with a password (see [`AdminService::sign_in`]), for callers that know only the client's address.
    pub async fn login(&self, email: &str, password: &str, client: &str) -> Result<Admin> {
        self.sign_in(email, password, &Client { address: client.to_owned(), user_agent: String::new() }).await
    }

    /// Signs in with a password. Every failure says the same thing. The attempt is counted, in one write, before the
    /// password is checked (see [`SIGN_IN_PER_ACCOUNT_AND_ADDRESS`]); over a limit the answer is `Throttled` and no
    /// argon2 run happens. Keys are stored hashed, so their size is bounded whatever a client sends. While single
    /// sign-on is required only break-glass admins get in this way; an SSO admin offboarded in the directory does not.
    /// Every outcome is logged, with the client.
    pub async fn sign_in(&self, email: &str, password: &str, client: &Client) -> Result<Admin> {
        // Over the in-memory limit an attempt touches nothing, not even the log: a flood stays a flood of refusals.
        if self.addresses.check_key(&client.address).is_err() {
            return Err(Error::Throttled { minutes: 1 });
        }
        if self.addresses.len() > 10_000 {
            self.addresses.retain_recent();
        }
        let outcome = self.check_password_sign_in(email, password, &client.address).await;
        let who = email.trim().chars().take(254).collect::<String>();
        let entry = match &outcome {
            Ok(a) if a.break_glass => {
                sign_in_entry(&a.email, "password", 200, "signed in with a break-glass password".into(), client)
            }
            Ok(a) => sign_in_entry(&a.email, "password", 200, "signed in with a password".into(), client),
            Err(Error::Unauthenticated) => {
                sign_in_entry(&who, "password", 401, "refused: wrong email or password".into(), client)
            }
            Err(e @ (Error::Throttled { .. } | Error::Forbidden(_))) => {
                sign_in_entry(&who, "password", e.scim().0, format!("refused: {e}"), client)
            }
            Err(_) => return outcome,
        };
        let at = now();
        let signed_in = outcome.as_ref().ok().map(|a| a.id);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if let Some(id) = signed_in {
                        tx.record_admin_sign_in(id, at).await?;
                    }
                    tx.add_log_entry(&entry).await
                })
            })
            .await?;
        outcome.map(|a| Admin { last_sign_in_at: Some(at), ..a })
    }

    /// Logs a sign-out (by the admin, from `client`); a failure to log is logged, and does not keep anyone signed in.
    pub async fn record_sign_out(&self, admin: &Admin, client: &Client, through_idp: bool) {
        let how = if through_idp { "sso" } else { "password" };
        let entry = sign_in_entry(&admin.email, how, 200, "signed out".into(), client);
        let entry = NewLogEntry { method: "SIGN-OUT".into(), ..entry };
        if let Err(e) = self.store.write(move |tx| Box::pin(async move { tx.add_log_entry(&entry).await })).await {
            tracing::warn!(error = %e, "could not log a sign-out");
        }
    }

    async fn check_password_sign_in(&self, email: &str, password: &str, client: &str) -> Result<Admin> {
        let email = parse_email(email).map(|e| fold(&e));
        let address = sha256_hex(&format!("address:{client}"));
        let mut keys = vec![(address, SIGN_IN_PER_ADDRESS)];
        if let Ok(email) = &email {
            keys.push((sha256_hex(&format!("account:{email}")), SIGN_IN_PER_ACCOUNT));
            keys.push((sha256_hex(&format!("pair:{email}\n{client}")), SIGN_IN_PER_ACCOUNT_AND_ADDRESS));
        }
        let counted = keys.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let at = now();
                    for (key, limit) in &counted {
                        let (attempts, since) = tx.count_sign_in_attempt(key, at, at - SIGN_IN_WINDOW_MS).await?;
                        if attempts > *limit {
                            // Whole minutes left in the window, rounded up: 1 to 15.
                            let minutes = ((since + SIGN_IN_WINDOW_MS - at).max(0) + 59_999) / 60_000;
                            return Err(Error::Throttled { minutes: minutes.max(1) });
                        }
                    }
                    Ok(())
                })
            })
            .await?;
        // A malformed email cannot be an admin's: refused as any wrong password is, after the address was counted.
        let email = email.map_err(|_| Error::Unauthenticated)?;
        let mut read = self.store.begin_read().await?;
        let found = read.admin_credentials(&email).await?;
        let required = read.sso_required().await?;
        drop(read);
        let (admin, hash) = match found {
            Some((a, h)) => (Some(a), Some(h)),
            None => (None, None),
        };
        let ok = self.hasher.verify(password.to_owned(), hash).await?;
        // While single sign-on is required, every refusal says the same, so the answer tells nothing of whether the
        // password was right.
        let sso_required = || {
            Error::Forbidden(
                "sign-in through your company's identity provider is required: use the single sign-on button (a \
                 password works here for break-glass admins only)"
                    .into(),
            )
        };
        let admin = match admin.filter(|_| ok) {
            Some(a) if required && !a.break_glass => return Err(sso_required()),
            Some(a) => a,
            None if required => return Err(sso_required()),
            None => return Err(Error::Unauthenticated),
        };
        let keys: Vec<String> = keys.into_iter().map(|(k, _)| k).collect();
        self.store.write(move |tx| Box::pin(async move { tx.clear_sign_in_attempts(&keys).await })).await?;
        if let Some(subject) = admin.oidc_subject.as_ref().filter(|_| !admin.break_glass) {
            let active = self.store.begin_read().await?.directory_user_active(subject, Some(&admin.email)).await?;
            if active == Some(false) {
                return Err(Error::Forbidden(
                    "your account is deactivated in the directory roster provisions from".into(),
                ));
            }
        }
        Ok(admin)
    }

    /// The admin of a session signed in at `signed_in_at` that last proved the admin's credentials at `proven_at`,
    /// while the session is still valid: the admin exists, has not changed their password (or had their sessions
    /// ended) since `proven_at`, and the absolute lifetime, counted from sign-in, has not run out.
    pub async fn session(&self, id: AdminId, signed_in_at: Millis, proven_at: Millis) -> Result<Admin> {
        let admin = self.store.begin_read().await?.admin(id).await?.ok_or(Error::Unauthenticated)?;
        let fresh = now() - signed_in_at < self.session_lifetime;
        if proven_at >= admin.sessions_valid_from && fresh { Ok(admin) } else { Err(Error::Unauthenticated) }
    }

    pub async fn get(&self, id: AdminId) -> Result<Option<Admin>> {
        self.store.begin_read().await?.admin(id).await
    }

    pub async fn list(&self) -> Result<Vec<Admin>> {
        self.store.begin_read().await?.list_admins().await
    }

    /// Changes a password and ends every session of this admin signed in before now. Returns the moment from which
    /// sessions are valid, so the caller can keep its own session.
    pub async fn change_password(&self, ctx: &Ctx, id: AdminId, current: &str, new: &str) -> Result<Millis> {
        check_password(new)?;
        let hash = self.store.begin_read().await?.admin_password_hash(id).await?;
        if !self.hasher.verify(current.to_owned(), hash).await? {
            return Err(Error::InvalidValue("the current password is not right".into()));
        }
        let new_hash = self.hasher.hash(new.to_owned()).await?;
        let ctx = ctx.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let at = now();
                    tx.set_admin_password(id, &new_hash, at).await?;
                    let t = target(Kind::Admin, &id.to_string(), &ctx.actor.name());
                    tx.add_log_entry(&ctx.entry(200, t, "password changed; other sessions ended".into())).await?;
                    Ok(at)
                })
            })
            .await
    }
}

/// Refuses a change that would leave no owner ([`crate::rules::roles::an_owner_remains`]).
fn check_an_owner_stays(admins: Vec<Admin>, changed: AdminId, role: Option<Role>) -> Result<()> {
    if crate::rules::roles::an_owner_remains(admins.iter().map(|a| (a.id, a.role)), changed, role) {
        return Ok(());
    }
    Err(Error::InvalidValue(
        "this is the only owner; make another admin an owner first, so someone can still manage admins".into(),
    ))
}

/// How long a setup link works: long enough to hand it to whoever sets roster up, short enough that one left in a log
/// or a backup goes stale. A start after that issues a new one.
const SETUP_TOKEN_MS: i64 = 24 * 3600 * 1000;

fn live(issued: crate::model::Millis, at: crate::model::Millis) -> bool {
    at - issued < SETUP_TOKEN_MS
}

/// Compares tokens by their digests, so the time taken says nothing about how much of a guess was right.
fn same_token(live: &str, given: &str) -> bool {
    sha256_hex(live) == sha256_hex(given)
}
