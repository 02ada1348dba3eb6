//! Admins: first-run setup, sign-in with throttling, adding admins and changing passwords.
use super::secret::{hash_password, random_token, sha256_hex, verify_password};
use super::{Ctx, now};
use crate::model::{Admin, AdminId, fold};
use crate::store::Store;
use crate::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Failed sign-ins allowed per email per window before it is throttled.
const MAX_FAILURES: u32 = 5;
const WINDOW_MS: i64 = 60_000;

#[derive(Clone)]
pub struct AdminService {
    store: Arc<dyn Store>,
    failures: Arc<Mutex<HashMap<String, (u32, i64)>>>,
}

/// An email an admin signs in with: trimmed, with an `@`, at most 254 characters.
pub fn parse_email(email: &str) -> Result<String> {
    let e = email.trim();
    let ok = e.len() <= 254
        && !e.contains(char::is_whitespace)
        && e.split_once('@').is_some_and(|(l, d)| !l.is_empty() && !d.is_empty());
    if ok { Ok(e.to_owned()) } else { Err(Error::InvalidValue(format!("'{e}' is not an email address"))) }
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
        AdminService { store, failures: Arc::default() }
    }

    pub async fn count(&self) -> Result<i64> {
        self.store.begin_read().await?.count_admins().await
    }

    /// On a start with no admin: a fresh one-time setup token (replacing any earlier one). None once an admin exists.
    pub async fn issue_setup_token(&self) -> Result<Option<String>> {
        self.store
            .write(|tx| {
                Box::pin(async move {
                    if tx.count_admins().await? > 0 {
                        tx.set_setup_token_hash(None).await?;
                        return Ok(None);
                    }
                    let token = random_token("");
                    tx.set_setup_token_hash(Some(&sha256_hex(&token))).await?;
                    Ok(Some(token))
                })
            })
            .await
    }

    /// Whether `token` is the live setup token (the setup page checks before showing its form).
    pub async fn setup_token_valid(&self, token: &str) -> Result<bool> {
        let hash = self.store.begin_read().await?.setup_token_hash().await?;
        Ok(hash.is_some_and(|h| h == sha256_hex(token)))
    }

    /// Creates the first admin with the one-time link; the token stops working in the same transaction.
    pub async fn complete_setup(&self, token: &str, email: &str, password: &str) -> Result<Admin> {
        let email = parse_email(email)?;
        check_password(password)?;
        let hash = hash_password(password.to_owned()).await?;
        let token_hash = sha256_hex(token);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let live = tx.setup_token_hash().await?;
                    if live.is_none_or(|h| h != token_hash) || tx.count_admins().await? > 0 {
                        return Err(Error::Forbidden(
                            "this setup link has already been used or has expired; sign in instead".into(),
                        ));
                    }
                    let admin = tx.insert_admin(&email, &hash, now()).await?;
                    tx.set_setup_token_hash(None).await?;
                    Ok(admin)
                })
            })
            .await
    }

    /// `roster admin create` and the panel's "add admin".
    pub async fn create(&self, ctx: &Ctx, email: &str, password: &str) -> Result<Admin> {
        let email = parse_email(email)?;
        check_password(password)?;
        let hash = hash_password(password.to_owned()).await?;
        let ctx = ctx.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let admin = tx.insert_admin(&email, &hash, now()).await?;
                    tx.set_setup_token_hash(None).await?;
                    tx.insert_event(&ctx.event(201, None, format!("admin {email} added"))).await?;
                    Ok(admin)
                })
            })
            .await
    }

    /// Signs in. Every failure says the same thing; repeated failures for one email are throttled for a minute.
    pub async fn login(&self, email: &str, password: &str) -> Result<Admin> {
        let key = fold(email.trim());
        if self.throttled(&key) {
            return Err(Error::Throttled);
        }
        let found = self.store.begin_read().await?.admin_credentials(&key).await?;
        let (admin, hash) = match found {
            Some((a, h)) => (Some(a), Some(h)),
            None => (None, None),
        };
        let ok = verify_password(password.to_owned(), hash).await?;
        match admin.filter(|_| ok) {
            Some(a) => {
                self.lock().remove(&key);
                Ok(a)
            }
            None => {
                self.note_failure(key);
                Err(Error::Unauthenticated)
            }
        }
    }

    pub async fn get(&self, id: AdminId) -> Result<Option<Admin>> {
        self.store.begin_read().await?.admin(id).await
    }

    pub async fn list(&self) -> Result<Vec<Admin>> {
        self.store.begin_read().await?.list_admins().await
    }

    pub async fn change_password(&self, id: AdminId, current: &str, new: &str) -> Result<()> {
        check_password(new)?;
        let hash = self.store.begin_read().await?.admin_password_hash(id).await?;
        if !verify_password(current.to_owned(), hash).await? {
            return Err(Error::InvalidValue("the current password is not right".into()));
        }
        let new_hash = hash_password(new.to_owned()).await?;
        self.store.write(move |tx| Box::pin(async move { tx.set_admin_password(id, &new_hash, now()).await })).await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, i64)>> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn throttled(&self, key: &str) -> bool {
        self.lock().get(key).is_some_and(|(n, since)| *n >= MAX_FAILURES && now() - since < WINDOW_MS)
    }

    fn note_failure(&self, key: String) {
        let mut map = self.lock();
        let t = now();
        if map.len() > 10_000 {
            map.retain(|_, (_, since)| t - *since < WINDOW_MS);
        }
        let entry = map.entry(key).or_insert((0, t));
        if t - entry.1 >= WINDOW_MS {
            *entry = (0, t);
        }
        entry.0 += 1;
    }
}
