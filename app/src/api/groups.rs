//! Groups: list, create, and the group page's rename, delete and membership edits.
#[cfg(feature = "ssr")]
use super::users::PER_PAGE;
use crate::error::UiError;
use leptos::prelude::*;
use roster::model::{Group, GroupDetail, Page, UserRow};
#[cfg(feature = "ssr")]
use {
    super::ctx::{admin, done, panel_ctx},
    roster::model::GroupId,
};

#[server(prefix = "/api", endpoint = "groups")]
pub async fn list_groups(q: String, page: i64) -> Result<Page<Group>, UiError> {
    let (panel, _) = admin().await?;
    let query = roster::model::GroupQuery {
        search: Some(q),
        sort_by_name: true,
        start_index: roster::model::Page::<()>::start_of(page, PER_PAGE),
        count: PER_PAGE,
        ..Default::default()
    };
    Ok(panel.services.groups.list(&query).await?)
}

/// The group page, and the member picker's matches for `find` (users not yet in the group come first to mind).
#[server(prefix = "/api", endpoint = "group")]
pub async fn get_group(id: String, page: i64, find: String) -> Result<(GroupDetail, Vec<UserRow>), UiError> {
    let (panel, actor) = admin().await?;
    let start = roster::model::Page::<()>::start_of(page, PER_PAGE);
    let detail = panel.services.groups.detail(&actor, &GroupId(id), start, PER_PAGE).await?;
    let mut found = Vec::new();
    if !find.trim().is_empty() {
        let q = roster::model::UserQuery { search: Some(find), start_index: 1, count: 10, ..Default::default() };
        found = panel.services.users.list(&q).await?.items.iter().map(UserRow::from).collect();
    }
    Ok((detail, found))
}

#[server(prefix = "/api", endpoint = "group_create")]
pub async fn create_group(name: String) -> Result<(), UiError> {
    let (panel, actor) = admin().await?;
    let g = panel.services.groups.create_local(&panel_ctx(actor, "create group"), &name).await?;
    done(&format!("/groups/{}", g.id), format!("Group '{}' created.", g.display_name)).await
}

#[server(prefix = "/api", endpoint = "group_rename")]
pub async fn rename_group(id: String, name: String) -> Result<(), UiError> {
    let (panel, actor) = admin().await?;
    let g = panel.services.groups.rename(&panel_ctx(actor, "rename group"), &GroupId(id), &name).await?;
    done(&format!("/groups/{}", g.id), format!("Renamed to '{}'.", g.display_name)).await
}

/// Deleting needs the confirmation box ticked: the page says what it does.
#[server(prefix = "/api", endpoint = "group_delete")]
pub async fn delete_group(id: String, confirm: Option<String>) -> Result<(), UiError> {
    if confirm.is_none() {
        return Err(UiError::Message("Tick the box to confirm the deletion.".into()));
    }
    let (panel, actor) = admin().await?;
    panel.services.groups.delete(&panel_ctx(actor, "delete group"), &GroupId(id), None).await?;
    done("/groups", "Group deleted.").await
}

#[server(prefix = "/api", endpoint = "group_add_member")]
pub async fn add_member(id: String, user_id: String) -> Result<(), UiError> {
    let (panel, actor) = admin().await?;
    let g = panel.services.groups.add_members(&panel_ctx(actor, "add member"), &GroupId(id), vec![user_id]).await?;
    done(&format!("/groups/{}", g.id), "Member added.").await
}

#[server(prefix = "/api", endpoint = "group_remove_member")]
pub async fn remove_member(id: String, user_id: String) -> Result<(), UiError> {
    let (panel, actor) = admin().await?;
    let g =
        panel.services.groups.remove_members(&panel_ctx(actor, "remove member"), &GroupId(id), vec![user_id]).await?;
    done(&format!("/groups/{}", g.id), "Member removed.").await
}
