//! Admins and the sign-in throttle's counts.
use super::direct::record;
use super::job::SqlTx;
use super::sql::args;
use async_trait::async_trait;
use roster::Result;
use roster::model::*;
use roster::store::{AdminRead, AdminWrite, NewAdmin};

record! {
    pub struct AdminRecord {
        admin_id: i64,
        email: String,
        created_at: i64,
        sessions_valid_from: i64,
        role: String,
        break_glass: bool,
        last_sign_in_at: Option<i64>,
        oidc_subject: Option<String>,
    }
}

pub const ADMIN_COLUMNS: &str =
    "admin_id, email, created_at, sessions_valid_from, role, break_glass, last_sign_in_at, oidc_subject";

impl From<AdminRecord> for Admin {
    fn from(r: AdminRecord) -> Admin {
        Admin {
            id: AdminId(r.admin_id),
            email: r.email,
            created_at: r.created_at,
            sessions_valid_from: r.sessions_valid_from,
            // A role this release does not know (written by a newer one) grants the least.
            role: Role::parse(&r.role).unwrap_or(Role::Auditor),
            break_glass: r.break_glass,
            last_sign_in_at: r.last_sign_in_at,
            oidc_subject: r.oidc_subject,
        }
    }
}

#[async_trait]
impl AdminRead for SqlTx {
    async fn count_admins(&mut self) -> Result<i64> {
        self.scalar("select count(*) from admin", &[]).await
    }

    async fn admin_credentials(&mut self, email_folded: &str) -> Result<Option<(Admin, String)>> {
        let Some(admin) = self.admin_by_email(email_folded).await? else { return Ok(None) };
        Ok(self.admin_password_hash(admin.id).await?.map(|hash| (admin, hash)))
    }

    async fn admin_by_email(&mut self, email_folded: &str) -> Result<Option<Admin>> {
        let sql = format!("select {ADMIN_COLUMNS} from admin where email_folded = $1");
        let row: Option<AdminRecord> = self.fetch_optional(&sql, &args![email_folded]).await?;
        Ok(row.map(Into::into))
    }

    async fn admin_password_hash(&mut self, id: AdminId) -> Result<Option<String>> {
        let row: Option<(String,)> =
            self.fetch_optional("select password_hash from admin where admin_id = $1", &args![id.0]).await?;
        // An admin who only signs in through the IdP has no password: an empty hash, which no password matches.
        Ok(row.map(|(h,)| h).filter(|h| !h.is_empty()))
    }

    async fn admin(&mut self, id: AdminId) -> Result<Option<Admin>> {
        let sql = format!("select {ADMIN_COLUMNS} from admin where admin_id = $1");
        let row: Option<AdminRecord> = self.fetch_optional(&sql, &args![id.0]).await?;
        Ok(row.map(Into::into))
    }

    async fn list_admins(&mut self) -> Result<Vec<Admin>> {
        let rows: Vec<AdminRecord> =
            self.fetch_all(&format!("select {ADMIN_COLUMNS} from admin order by email_folded"), &[]).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}

#[async_trait]
impl AdminWrite for SqlTx {
    async fn insert_admin(&mut self, new: &NewAdmin<'_>, now: Millis) -> Result<Admin> {
        let NewAdmin { email, password_hash, role, break_glass } = *new;
        self.unique_write(
            "insert into admin (email, email_folded, password_hash, role, break_glass, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $6)",
            &args![email, fold(email), password_hash, role.as_str(), break_glass, now],
            "admin email",
            email,
        )
        .await?;
        let sql = format!("select {ADMIN_COLUMNS} from admin where email_folded = $1");
        let row: AdminRecord = self.fetch_one(&sql, &args![fold(email)]).await?;
        Ok(row.into())
    }

    async fn set_admin_password(&mut self, id: AdminId, password_hash: &str, now: Millis) -> Result<()> {
        self.write(
            "update admin set password_hash = $1, updated_at = $2, sessions_valid_from = $2 where admin_id = $3",
            &args![password_hash, now, id.0],
        )
        .await
        .map(|_| ())
    }

    async fn set_admin_role(&mut self, id: AdminId, role: Role, now: Millis) -> Result<()> {
        let sql = "update admin set role = $1, updated_at = $2 where admin_id = $3";
        self.write(sql, &args![role.as_str(), now, id.0]).await.map(|_| ())
    }

    async fn record_admin_sign_in(&mut self, id: AdminId, at: Millis) -> Result<()> {
        self.write("update admin set last_sign_in_at = $1 where admin_id = $2", &args![at, id.0]).await.map(|_| ())
    }

    async fn delete_admin(&mut self, id: AdminId) -> Result<()> {
        self.write("delete from admin where admin_id = $1", &args![id.0]).await.map(|_| ())
    }

    async fn count_sign_in_attempt(&mut self, key: &str, now: Millis, window_floor: Millis) -> Result<(i64, Millis)> {
        // One statement, so the count and the check cannot be split by another attempt.
        self.write_returning_one(
            "insert into sign_in_attempt (attempt_key, window_start, attempts) values ($1, $2, 1) \
             on conflict (attempt_key) do update set \
             attempts = case when sign_in_attempt.window_start < $3 then 1 else sign_in_attempt.attempts + 1 end, \
             window_start = case when sign_in_attempt.window_start < $3 then $2 else sign_in_attempt.window_start end \
             returning attempts, window_start",
            &args![key, now, window_floor],
        )
        .await
    }

    async fn clear_sign_in_attempts(&mut self, keys: &[String]) -> Result<()> {
        for key in keys {
            self.write("delete from sign_in_attempt where attempt_key = $1", &args![key]).await?;
        }
        Ok(())
    }

    async fn prune_sign_in_attempts(&mut self, before: Millis) -> Result<u64> {
        self.write("delete from sign_in_attempt where window_start < $1", &args![before]).await
    }
}
