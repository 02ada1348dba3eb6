//! The read-only rule: while SCIM provisioning is on, the users and groups an IdP syncs cannot be edited in roster
//! (docs/provisioning.md). It depends on who acts and who owns the object, never on the endpoint.
use crate::model::{Actor, ManagedBy, fold};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// What an actor may do with one object, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    pub can_edit: bool,
    /// When set, the object is read-only because this IdP manages it.
    pub read_only_by: Option<String>,
}

impl Access {
    /// The sentence the panel shows beside disabled controls.
    pub fn reason(&self) -> Option<String> {
        self.read_only_by
            .as_ref()
            .map(|by| format!("Managed by {by}: edit it in {by}, or turn SCIM provisioning off to edit it here"))
    }
}

/// The access decision. An IdP may write what it manages and what is local (it adopts local objects it pushes, as a
/// same-name push requires), never what another IdP manages: ownership follows the token's name, so rotating a token
/// (revoking it and creating one with the same name) keeps it. Admins and the CLI may not touch IdP-managed objects
/// while SCIM is on.
pub fn access(actor: &Actor, managed_by: &ManagedBy, scim_enabled: bool) -> Access {
    let editable = Access { can_edit: true, read_only_by: None };
    match (actor, managed_by) {
        (_, ManagedBy::Local) => editable,
        (Actor::Scim { name, .. }, ManagedBy::Scim { idp }) if same_idp(name, idp) => editable,
        (_, ManagedBy::Scim { idp }) if scim_enabled || matches!(actor, Actor::Scim { .. }) => {
            Access { can_edit: false, read_only_by: Some(idp.clone()) }
        }
        (_, ManagedBy::Scim { .. }) => editable,
    }
}

/// Whether a POST may adopt an existing object of the same name (a same-name push): an IdP adopts local objects and
/// its own, never another IdP's; admins and the CLI adopt nothing.
pub fn may_adopt(actor: &Actor, managed_by: &ManagedBy) -> bool {
    matches!(actor, Actor::Scim { .. }) && access(actor, managed_by, true).can_edit
}

/// [`access`] as a guard for the write path: `ReadOnly` for admins, `OtherIdp` for another IdP.
pub fn check_write(
    actor: &Actor,
    managed_by: &ManagedBy,
    scim_enabled: bool,
    what: impl FnOnce() -> String,
) -> Result<()> {
    match (access(actor, managed_by, scim_enabled).read_only_by, actor) {
        (None, _) => Ok(()),
        (Some(owner), Actor::Scim { name, .. }) => Err(Error::OtherIdp { what: what(), owner, actor: name.clone() }),
        (Some(by), _) => Err(Error::ReadOnly { what: what(), by }),
    }
}

/// Token names are unique without regard to case, so ownership compares them so too.
fn same_idp(a: &str, b: &str) -> bool {
    fold(a) == fold(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AdminId, TokenId};

    #[test]
    fn who_may_write_what() {
        let admin = Actor::Admin { id: AdminId(1), email: "a@x".into(), role: crate::model::Role::Owner };
        let okta = Actor::Scim { token: TokenId(1), name: "Okta".into() };
        let okta_rotated = Actor::Scim { token: TokenId(3), name: "OKTA".into() };
        let entra = Actor::Scim { token: TokenId(2), name: "Entra".into() };
        let scim = ManagedBy::Scim { idp: "Okta".into() };
        let table = [
            (&admin, &ManagedBy::Local, true, true),
            (&admin, &ManagedBy::Local, false, true),
            (&admin, &scim, true, false),
            (&admin, &scim, false, true),
            (&Actor::System, &scim, true, false),
            (&okta, &scim, true, true),
            (&okta, &ManagedBy::Local, true, true),
            (&entra, &scim, true, false),
            (&entra, &scim, false, false),
            (&okta_rotated, &scim, true, true),
        ];
        for (actor, owner, enabled, can) in table {
            assert_eq!(access(actor, owner, enabled).can_edit, can, "{actor:?} {owner:?} scim_enabled={enabled}");
            assert_eq!(check_write(actor, owner, enabled, || "x".into()).is_ok(), can);
        }
        assert!(access(&admin, &scim, true).reason().is_some_and(|r| r.contains("Okta")));
        assert!(matches!(check_write(&entra, &scim, true, || "x".into()), Err(Error::OtherIdp { .. })));
        assert!(may_adopt(&okta, &ManagedBy::Local) && may_adopt(&okta, &scim));
        assert!(!may_adopt(&entra, &scim), "never another IdP's");
        assert!(!may_adopt(&admin, &ManagedBy::Local), "admins create, they do not adopt");
    }
}
