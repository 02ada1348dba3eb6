//! Users: list with search, filters, sorting and paging; detail; local users; activation.
use crate::error::UiError;
use leptos::prelude::*;
use roster::model::{Page, UserDetail, UserRow};
#[cfg(feature = "ssr")]
use {
    super::ctx::{admin, done, panel_ctx},
    roster::model::UserId,
};

pub const PER_PAGE: i64 = 50;

/// The users table. `status`: active | inactive | deleted; `source`: idp | local; `sort`: name | created | modified.
#[server(prefix = "/api", endpoint = "users")]
pub async fn list_users(
    q: String,
    status: String,
    source: String,
    sort: String,
    page: i64,
) -> Result<Page<UserRow>, UiError> {
    use roster::model::{UserQuery, UserSort, UserStatus};
    let (panel, _) = admin().await?;
    let query = UserQuery {
        search: Some(q),
        status: match status.as_str() {
            "active" => Some(UserStatus::Active),
            "inactive" => Some(UserStatus::Inactive),
            "deleted" => Some(UserStatus::DeletedInIdp),
            _ => None,
        },
        managed_by_idp: match source.as_str() {
            "idp" => Some(true),
            "local" => Some(false),
            _ => None,
        },
        sort: match sort.trim_start_matches('-') {
            "name" => UserSort::UserName,
            "modified" => UserSort::LastModified,
            _ => UserSort::Created,
        },
        descending: sort.starts_with('-'),
        start_index: roster::model::Page::<()>::start_of(page, PER_PAGE),
        count: PER_PAGE,
        include_deleted: true,
        ..Default::default()
    };
    Ok(panel.services.users.list(&query).await?.map(|u| UserRow::from(&u)))
}

#[server(prefix = "/api", endpoint = "user")]
pub async fn get_user(id: String) -> Result<UserDetail, UiError> {
    let (panel, actor) = admin().await?;
    Ok(panel.services.users.detail(&actor, &UserId(id)).await?)
}

#[server(prefix = "/api", endpoint = "user_create")]
pub async fn create_user(email: String, given_name: String, family_name: String) -> Result<(), UiError> {
    let (panel, actor) = admin().await?;
    let u =
        panel.services.users.create_local(&panel_ctx(actor, "create user"), &email, &given_name, &family_name).await?;
    done(&format!("/users/{}", u.id), format!("User {} created.", u.user_name)).await
}

/// Activates or deactivates. The service refuses IdP-managed users while SCIM is on, and applies the seat rule.
#[server(prefix = "/api", endpoint = "user_active")]
pub async fn set_user_active(id: String, active: bool) -> Result<(), UiError> {
    let (panel, actor) = admin().await?;
    let what = if active { "activate user" } else { "deactivate user" };
    let u = panel.services.users.set_active(&panel_ctx(actor, what), &UserId(id), active).await?;
    let msg = format!("{} is now {}.", u.user_name, if u.active { "active" } else { "inactive" });
    done(&format!("/users/{}", u.id), msg).await
}
