//! Sign-in through the company's OpenID provider: the settings on the settings row, the group-to-role map, admins by
//! subject, and the directory users that offboard them.
use super::admins::{ADMIN_COLUMNS, AdminRecord};
use super::job::SqlTx;
use super::sql::args;
use async_trait::async_trait;
use roster::Result;
use roster::model::*;
use roster::store::{SsoRead, SsoWrite, StoredSso};

type SsoRow = (Option<String>, Option<String>, Option<String>, Option<String>, String, String, bool);

#[async_trait]
impl SsoRead for SqlTx {
    async fn sso(&mut self) -> Result<Option<StoredSso>> {
        let sql = "select sso_issuer, sso_client_id, sso_client_secret, sso_label, sso_groups_claim, sso_scopes, \
                   sso_required from setting where setting_id = 1";
        let (issuer, client_id, secret, label, groups_claim, scopes, required): SsoRow =
            self.fetch_one(sql, &[]).await?;
        let (Some(issuer), Some(client_id), Some(client_secret)) = (issuer, client_id, secret) else { return Ok(None) };
        let rows: Vec<(String, String)> =
            self.fetch_all("select group_name, role from sso_role_map order by group_name", &[]).await?;
        let roles = rows.into_iter().filter_map(|(g, r)| Role::parse(&r).map(|r| (g, r))).collect();
        let label = label.unwrap_or_else(|| "single sign-on".into());
        let scopes = scopes.split_whitespace().map(str::to_owned).collect();
        let settings = SsoSettings { issuer, client_id, label, groups_claim, scopes, required, roles };
        Ok(Some(StoredSso { settings, client_secret }))
    }

    async fn sso_required(&mut self) -> Result<bool> {
        let sql = "select sso_required and sso_issuer is not null from setting where setting_id = 1";
        self.fetch_one::<(bool,)>(sql, &[]).await.map(|(b,)| b)
    }

    async fn admin_by_subject(&mut self, subject: &str) -> Result<Option<Admin>> {
        let sql = format!("select {ADMIN_COLUMNS} from admin where oidc_subject = $1");
        let row: Option<AdminRecord> = self.fetch_optional(&sql, &args![subject]).await?;
        Ok(row.map(Into::into))
    }

    async fn directory_user_active(&mut self, subject: &str, email: Option<&str>) -> Result<Option<bool>> {
        // Only users an IdP provisioned are the directory; several matches are active if any of them is.
        let state = |filter: &str| {
            format!(
                "select case when count(*) = 0 then null \
                   when sum(case when active and deleted_at is null then 1 else 0 end) > 0 then 1 else 0 end \
                 from app_user where managed_by_idp = $1 and ({filter})"
            )
        };
        let by_subject: (Option<i64>,) = self.fetch_one(&state("external_id = $2"), &args![true, subject]).await?;
        if let (Some(active),) = by_subject {
            return Ok(Some(active == 1));
        }
        let Some(email) = email else { return Ok(None) };
        let filter = "user_name_folded = $2 or user_id in \
                      (select user_id from user_email where value_folded = $2 and is_primary = $1)";
        let (by_email,): (Option<i64>,) = self.fetch_one(&state(filter), &args![true, fold(email)]).await?;
        Ok(by_email.map(|a| a == 1))
    }

    async fn admins_of_user(&mut self, user: &UserId) -> Result<Vec<Admin>> {
        // SSO admins only (break-glass admins are the way in when the IdP is not), and only for a user an IdP
        // provisioned: by subject, else by email, the same order sign-in uses.
        let sql = format!(
            "select {ADMIN_COLUMNS} from admin where oidc_subject is not null and break_glass = $3 \
               and exists (select 1 from app_user where user_id = $1 and managed_by_idp = $2) and ( \
               oidc_subject = (select external_id from app_user where user_id = $1) \
               or email_folded = (select user_name_folded from app_user where user_id = $1) \
               or email_folded in (select value_folded from user_email where user_id = $1 and is_primary = $2))"
        );
        let rows: Vec<AdminRecord> = self.fetch_all(&sql, &args![user.as_str(), true, false]).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}

#[async_trait]
impl SsoWrite for SqlTx {
    async fn set_sso(&mut self, s: &SsoSettings, client_secret: &str) -> Result<()> {
        let sql = "update setting set sso_issuer = $1, sso_client_id = $2, sso_client_secret = $3, sso_label = $4, \
                   sso_groups_claim = $5, sso_scopes = $6 where setting_id = 1";
        let scopes = s.scopes.join(" ");
        let a = args![
            s.issuer.as_str(),
            s.client_id.as_str(),
            client_secret,
            s.label.as_str(),
            s.groups_claim.as_str(),
            scopes
        ];
        self.write(sql, &a).await.map(|_| ())
    }

    async fn set_sso_secret(&mut self, client_secret: &str) -> Result<()> {
        let sql = "update setting set sso_client_secret = $1 where setting_id = 1";
        self.write(sql, &args![client_secret]).await.map(|_| ())
    }

    async fn set_sso_required(&mut self, on: bool) -> Result<()> {
        self.write("update setting set sso_required = $1 where setting_id = 1", &args![on]).await.map(|_| ())
    }

    async fn clear_sso(&mut self) -> Result<()> {
        let sql = "update setting set sso_issuer = null, sso_client_id = null, sso_client_secret = null, \
                   sso_label = null, sso_required = $1 where setting_id = 1";
        self.write(sql, &args![false]).await?;
        self.write("delete from sso_role_map", &[]).await.map(|_| ())
    }

    async fn map_group(&mut self, group: &str, role: Role) -> Result<()> {
        let sql = "insert into sso_role_map (group_name, role) values ($1, $2) \
                   on conflict (group_name) do update set role = excluded.role";
        self.write(sql, &args![group, role.as_str()]).await.map(|_| ())
    }

    async fn unmap_group(&mut self, group: &str) -> Result<bool> {
        Ok(self.write("delete from sso_role_map where group_name = $1", &args![group]).await? > 0)
    }

    async fn insert_sso_admin(&mut self, email: &str, subject: &str, role: Role, now: Millis) -> Result<Admin> {
        self.unique_write(
            "insert into admin (email, email_folded, password_hash, role, oidc_subject, last_sign_in_at, created_at, \
             updated_at) values ($1, $2, '', $3, $4, $5, $5, $5)",
            &args![email, fold(email), role.as_str(), subject, now],
            "admin email",
            email,
        )
        .await?;
        let admin = self.admin_by_subject(subject).await?;
        admin.ok_or_else(|| roster::Error::internal("the new admin was not found"))
    }

    async fn link_admin_subject(&mut self, id: AdminId, subject: &str) -> Result<()> {
        let sql = "update admin set oidc_subject = $1 where admin_id = $2";
        self.write(sql, &args![subject, id.0]).await.map(|_| ())
    }

    async fn end_admin_sessions(&mut self, id: AdminId, now: Millis) -> Result<()> {
        let sql = "update admin set sessions_valid_from = $1, updated_at = $1 where admin_id = $2";
        self.write(sql, &args![now, id.0]).await.map(|_| ())
    }
}
