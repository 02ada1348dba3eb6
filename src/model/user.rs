use super::{ManagedBy, Millis, UserId, human_time};
use serde::{Deserialize, Serialize};

/// A user. The SCIM document (`attributes`) is the record of everything an IdP sent; the named fields are the parts
/// roster queries and shows, derived from it on every write so the two never disagree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub user_name: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// The primary (or first) email, for search and display.
    pub email: Option<String>,
    pub active: bool,
    /// Why an inactive user is inactive, in words the panel can show.
    pub inactive_reason: Option<InactiveReason>,
    pub managed_by: ManagedBy,
    /// Set when the IdP sent DELETE: the user is a tombstone, 404 over SCIM, kept with memberships and history.
    pub deleted_at: Option<Millis>,
    /// The SCIM User document without `id`, `meta`, `groups` and `password` (RFC 7643 §4.1).
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub version: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// Why a user is inactive. Stored with the user so the panel can explain it and a later push knows what to undo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InactiveReason {
    /// `active: false` arrived from the IdP (PATCH or PUT).
    DeactivatedByIdp { idp: String, at: Millis },
    /// DELETE /Users/{id} arrived from the IdP.
    DeletedInIdp { idp: String, at: Millis },
    /// The group that was the user's only group was deleted (docs/provisioning.md).
    LastGroupRemoved { group: String, idp: String, at: Millis },
    /// An admin deactivated a local user.
    DeactivatedByAdmin { admin: String, at: Millis },
    /// Created inactive.
    CreatedInactive { at: Millis },
}

impl InactiveReason {
    /// "Inactive: group 'Eng' was deleted in Okta on 2026-11-29 14:02 UTC; it was their only group".
    pub fn describe(&self) -> String {
        match self {
            InactiveReason::DeactivatedByIdp { idp, at } => {
                format!("Inactive: deactivated by {idp} on {}", human_time(*at))
            }
            InactiveReason::DeletedInIdp { idp, at } => {
                format!("Inactive: deleted in {idp} on {}; kept here with their history", human_time(*at))
            }
            InactiveReason::LastGroupRemoved { group, idp, at } => format!(
                "Inactive: group '{group}' was deleted in {idp} on {}; it was their only group",
                human_time(*at)
            ),
            InactiveReason::DeactivatedByAdmin { admin, at } => {
                format!("Inactive: deactivated by {admin} on {}", human_time(*at))
            }
            InactiveReason::CreatedInactive { at } => {
                format!("Inactive since creation on {}", human_time(*at))
            }
        }
    }
}

impl User {
    /// Whether this user takes a licence seat: active and not deleted in the IdP. The one definition: the seat rule,
    /// the store's running count and every page that shows seats used all follow from it.
    pub fn takes_seat(&self) -> bool {
        self.active && self.deleted_at.is_none()
    }

    /// Status in words for the panel.
    pub fn status_text(&self) -> String {
        if self.active {
            "Active".into()
        } else if let Some(r) = &self.inactive_reason {
            r.describe()
        } else {
            "Inactive".into()
        }
    }

    /// Recomputes the named fields from `attributes`, so lists, search and filters see what the IdP sent.
    pub fn derive_fields(&mut self) {
        let a = &self.attributes;
        let s = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_owned);
        self.external_id = s(a.get("externalId"));
        self.display_name = s(a.get("displayName"));
        let name = a.get("name");
        self.given_name = s(name.and_then(|n| n.get("givenName")));
        self.family_name = s(name.and_then(|n| n.get("familyName")));
        self.email =
            self.emails().into_iter().find(|e| e.primary).or_else(|| self.emails().into_iter().next()).map(|e| e.value);
        if let Some(u) = a.get("userName").and_then(|v| v.as_str()) {
            self.user_name = u.to_owned();
        }
    }

    /// The user's emails, as indexed for `emails[type eq "work"].value eq …` lookups.
    pub fn emails(&self) -> Vec<Email> {
        self.attributes
            .get("emails")
            .and_then(|v| v.as_array())
            .map(|list| {
                list.iter()
                    .filter_map(|e| {
                        Some(Email {
                            value: e.get("value")?.as_str()?.to_owned(),
                            kind: e.get("type").and_then(|t| t.as_str()).map(str::to_owned),
                            primary: e.get("primary").and_then(|p| p.as_bool()).unwrap_or(false),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// "Ada Lovelace", else the display name, else the userName.
    pub fn full_name(&self) -> String {
        match (&self.given_name, &self.family_name, &self.display_name) {
            (Some(g), Some(f), _) => format!("{g} {f}"),
            (_, _, Some(d)) => d.clone(),
            (Some(g), None, None) => g.clone(),
            (None, Some(f), None) => f.clone(),
            (None, None, None) => self.user_name.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    pub value: String,
    pub kind: Option<String>,
    pub primary: bool,
}
