//! Sign-in through the company's OpenID provider: its settings, the group-to-role map, admins by subject, and the
//! directory users that offboard them.
use crate::Result;
use crate::model::*;
use async_trait::async_trait;

/// The SSO settings as stored: the client secret as stored too (sealed when a key file is set).
#[derive(Debug, Clone)]
pub struct StoredSso {
    pub settings: SsoSettings,
    pub client_secret: String,
}

/// Reads of this concern: on a read connection, a snapshot, or inside a write transaction.
#[async_trait]
pub trait SsoRead: Send {
    /// None while SSO is not set up.
    async fn sso(&mut self) -> Result<Option<StoredSso>>;
    /// Whether password sign-in is refused but for break-glass admins (false while SSO is not set up).
    async fn sso_required(&mut self) -> Result<bool>;
    async fn admin_by_subject(&mut self, subject: &str) -> Result<Option<Admin>>;
    /// The directory user an SSO admin is, among users an IdP provisioned: those whose `externalId` is the subject,
    /// else those whose userName or primary email is the email. Returns whether they may use roster (any of them
    /// active and not deleted); None when none matches.
    async fn directory_user_active(&mut self, subject: &str, email: Option<&str>) -> Result<Option<bool>>;
    /// The SSO admins a directory user is (by subject = `externalId`, else by email = userName or primary email).
    async fn admins_of_user(&mut self, user: &UserId) -> Result<Vec<Admin>>;
}

/// Writes of this concern: only a write transaction has them.
#[async_trait]
pub trait SsoWrite: Send {
    async fn set_sso(&mut self, settings: &SsoSettings, client_secret: &str) -> Result<()>;
    async fn set_sso_secret(&mut self, client_secret: &str) -> Result<()>;
    async fn set_sso_required(&mut self, on: bool) -> Result<()>;
    /// Turns SSO off: settings and role map gone; SSO admins stay, and sign in with a password only if they have one.
    async fn clear_sso(&mut self) -> Result<()>;
    async fn map_group(&mut self, group: &str, role: Role) -> Result<()>;
    async fn unmap_group(&mut self, group: &str) -> Result<bool>;
    /// A new admin who signed in through the provider: no password.
    async fn insert_sso_admin(&mut self, email: &str, subject: &str, role: Role, now: Millis) -> Result<Admin>;
    async fn link_admin_subject(&mut self, id: AdminId, subject: &str) -> Result<()>;
    /// Ends every session of the admin signed in before `now`.
    async fn end_admin_sessions(&mut self, id: AdminId, now: Millis) -> Result<()>;
}
