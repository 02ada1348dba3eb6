//! The services: every mutation, from SCIM, the panel or the CLI, is one function here that runs as one store write
//! job, applies the ownership, seat and membership rules inside it, records the provisioning log entry, and commits.
//! Users are written only by [`users::save`] and groups only by [`groups::save`].
mod admins;
mod audit;
mod directory;
mod groups;
pub mod network;
mod outbox;
pub mod sealed;
mod secret;
mod settings;
pub mod sso;
mod tokens;
mod users;
mod webhooks;

pub use admins::{
    AdminService, SIGN_IN_PER_ACCOUNT, SIGN_IN_PER_ACCOUNT_AND_ADDRESS, SIGN_IN_PER_ADDRESS, SIGN_IN_WINDOW_MS,
};
pub use audit::{AuditPage, AuditService, MAX_AUDIT_LIMIT, Verification};
pub use directory::{
    DirectoryService, EventFeed, FeedPage, MAX_PAGE_BYTES, MAX_WAITERS, MAX_WAITERS_PER_TOKEN, limit as directory_limit,
};
pub use groups::GroupService;
pub use network::{NetworkPolicy, classify as classify_address};
pub use sealed::SecretKeys;
pub use secret::sha256_hex;
pub use settings::SettingsService;
pub use sso::SsoService;
pub use tokens::TokenService;
pub use users::UserService;
pub use webhooks::{SEND_TIMEOUT_SECS as WEBHOOK_TIMEOUT_SECS, WebhookSender, WebhookService, sign};

use crate::Kind;
use crate::model::{Actor, Client, LogEntryId, ManagedBy, Millis, Outcome, Target};
use crate::store::{NewLogEntry, Store};
use crate::{Error, Result};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// All services, cheap to clone, handed to every front door.
#[derive(Clone)]
pub struct Services {
    pub users: UserService,
    pub groups: GroupService,
    pub tokens: TokenService,
    pub admins: AdminService,
    pub settings: SettingsService,
    pub directory: DirectoryService,
    pub webhooks: WebhookService,
    pub sso: SsoService,
    pub audit: AuditService,
    pub activity: Arc<Activity>,
    store: Arc<dyn Store>,
}

impl Services {
    pub fn new(store: Arc<dyn Store>) -> Self {
        let activity = Arc::new(Activity::default());
        let auth = tokens::AuthCache::default();
        Services {
            users: UserService { store: store.clone() },
            groups: GroupService { store: store.clone() },
            tokens: TokenService { store: store.clone(), cache: auth.clone() },
            admins: AdminService::new(store.clone()),
            settings: SettingsService { store: store.clone(), activity: activity.clone(), auth },
            directory: DirectoryService { store: store.clone(), feed: Arc::default() },
            webhooks: WebhookService {
                store: store.clone(),
                sender: None,
                instance: uuid::Uuid::new_v4().simple().to_string().chars().take(12).collect::<String>().into(),
                allow_http: false,
                policy: NetworkPolicy::default(),
                keys: SecretKeys::none(),
            },
            sso: SsoService::new(store.clone()),
            audit: AuditService { store: store.clone() },
            activity,
            store,
        }
    }

    /// Whether the database answers, for `/readyz`.
    pub async fn ready(&self) -> Result<()> {
        self.store.ping().await
    }

    /// Records a request that failed, in its own transaction (the failed one rolled back). Returns the entry's id,
    /// which the SCIM error detail quotes. A push the licence refused is also a `seats.refused` event.
    pub async fn record_failure(&self, event: NewLogEntry) -> Result<LogEntryId> {
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if event.outcome == Outcome::NoSeats {
                        let usage = tx.seat_usage().await?;
                        outbox::seats_refused(tx, &event, usage).await?;
                    }
                    tx.insert_log_entry(&event).await
                })
            })
            .await
    }
}

/// SCIM traffic counters kept in memory, so a successful read never waits on a database write.
#[derive(Debug, Default)]
pub struct Activity {
    pub reads: AtomicI64,
    pub last_request_at: AtomicI64,
}

impl Activity {
    pub fn record_request(&self, read: bool) {
        if read {
            self.reads.fetch_add(1, Ordering::Relaxed);
        }
        self.last_request_at.store(now(), Ordering::Relaxed);
    }
}

/// Who acts, and for SCIM the request line that the provisioning log records.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub actor: Actor,
    pub method: String,
    pub path: String,
    /// The HTTP request's id (its `X-Request-Id`), so a log entry leads to the request's log lines.
    pub request_id: Option<String>,
    /// Where the request came from; None for the CLI.
    pub client: Option<Client>,
}

impl Ctx {
    /// An action in the panel, logged as `PANEL <what>`.
    pub fn panel(actor: Actor, what: &str) -> Self {
        Ctx { actor, method: "PANEL".into(), path: what.into(), request_id: None, client: None }
    }

    /// The same, recording where the request came from.
    pub fn from_client(self, client: Client) -> Self {
        Ctx { client: Some(client), ..self }
    }

    pub fn cli(what: &str) -> Self {
        Ctx { actor: Actor::System, method: "CLI".into(), path: what.into(), request_id: None, client: None }
    }

    /// Refuses, with 403 and nothing changed, what this actor's role may not do ([`crate::rules::roles`]). Every
    /// service function that changes something asks first.
    pub fn require(&self, action: crate::rules::roles::Action) -> Result<()> {
        if crate::rules::roles::actor_may(&self.actor, action) {
            return Ok(());
        }
        let who = match &self.actor {
            Actor::Admin { role, .. } => format!("Your role ({role})"),
            _ => "This client".into(),
        };
        Err(Error::Forbidden(format!("{who} may not {}; an owner can change what you may do.", action.describe())))
    }

    /// The IdP's label for ownership ("Okta"), or None for admins.
    fn idp(&self) -> Option<String> {
        match &self.actor {
            Actor::Scim { name, .. } => Some(name.clone()),
            _ => None,
        }
    }

    /// Who owns what this actor creates: the IdP, or roster for admins and the CLI.
    fn owner(&self) -> ManagedBy {
        self.idp().map(|idp| ManagedBy::Scim { idp }).unwrap_or(ManagedBy::Local)
    }

    fn entry(&self, status: u16, target: Option<Target>, diff: String) -> NewLogEntry {
        NewLogEntry {
            at: now(),
            actor: self.actor.name(),
            method: self.method.clone(),
            path: self.path.clone(),
            status,
            outcome: Outcome::Ok,
            target,
            diff,
            detail: String::new(),
            request_id: self.request_id.clone(),
            client: self.client.clone(),
        }
    }
}

pub fn now() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Compares an `If-Match` header with the current version (RFC 7644 §3.14). `*` matches anything.
fn check_if_match(if_match: Option<&str>, version: i64) -> Result<()> {
    let Some(header) = if_match else {
        return Ok(());
    };
    let current = crate::scim::resource::etag(version);
    let strip = |t: &str| t.trim().trim_start_matches("W/").trim_matches('"').to_owned();
    if header.split(',').any(|t| t.trim() == "*" || strip(t) == strip(&current)) {
        Ok(())
    } else {
        Err(Error::PreconditionFailed { current })
    }
}

fn target(kind: Kind, id: &str, name: &str) -> Option<Target> {
    Some(Target { kind, id: id.to_owned(), name: name.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match() {
        assert!(check_if_match(None, 3).is_ok());
        assert!(check_if_match(Some("W/\"3\""), 3).is_ok());
        assert!(check_if_match(Some("\"3\""), 3).is_ok());
        assert!(check_if_match(Some("*"), 3).is_ok());
        assert!(matches!(check_if_match(Some("W/\"2\""), 3), Err(Error::PreconditionFailed { .. })));
    }
}
