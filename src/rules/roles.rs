//! What each admin role may do: one table, checked by the services before every change ([`crate::service::Ctx`]'s
//! `require`) and read by the panel to hide what a role cannot use. Reading is open to every role; secrets are shown to
//! no one, whatever the role.
use crate::model::{Actor, AdminId, Role};

/// A kind of change, as the table below grants it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Action {
    /// Create, activate and deactivate users roster manages; add and remove members of groups roster manages.
    LocalUsers,
    /// Create, rename and delete groups.
    Groups,
    /// The SCIM switch and tokens, seats, releasing an IdP, directory API tokens, webhooks.
    Integrations,
    /// Admins, their roles, and how admins sign in.
    Admins,
}

impl Action {
    /// What the action is, for a refusal: "Your role (helpdesk) may not change groups".
    pub fn describe(self) -> &'static str {
        match self {
            Action::LocalUsers => "change users or group members",
            Action::Groups => "create, rename or delete groups",
            Action::Integrations => "change provisioning, seats, tokens or webhooks",
            Action::Admins => "change admins, roles or sign-in settings",
        }
    }
}

/// The table. An owner may do everything; an auditor nothing but read.
pub fn may(role: Role, action: Action) -> bool {
    use Action::*;
    match role {
        Role::Owner => true,
        Role::Admin => matches!(action, LocalUsers | Groups | Integrations),
        Role::Helpdesk => matches!(action, LocalUsers),
        Role::Auditor => false,
    }
}

/// The role an actor acts with. The CLI is run by whoever holds the server's database: an owner. An IdP's writes are
/// bounded by the ownership rules ([`super::ownership`]), not by a role: it may change users and groups, nothing else.
pub fn actor_may(actor: &Actor, action: Action) -> bool {
    match actor {
        Actor::Admin { role, .. } => may(*role, action),
        Actor::System => true,
        Actor::Scim { .. } => matches!(action, Action::LocalUsers | Action::Groups),
    }
}

/// Whether an owner remains after the admin `changed` leaves (`role` None) or takes `role`: roster always keeps someone
/// who can manage admins. `admins` is every admin as they are now, as (id, role). A change to an admin who is not an
/// owner never takes the last owner away.
pub fn an_owner_remains(
    admins: impl IntoIterator<Item = (AdminId, Role)>,
    changed: AdminId,
    role: Option<Role>,
) -> bool {
    let admins: Vec<(AdminId, Role)> = admins.into_iter().collect();
    let was_owner = admins.iter().any(|&(id, r)| id == changed && r == Role::Owner);
    !was_owner || admins.iter().any(|&(id, r)| if id == changed { role == Some(Role::Owner) } else { r == Role::Owner })
}

/// The role several IdP groups give: the highest of them.
pub fn highest(roles: impl IntoIterator<Item = Role>) -> Option<Role> {
    roles.into_iter().min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        use Action::*;
        let rows = [
            (LocalUsers, [true, true, true, false]),
            (Groups, [true, true, false, false]),
            (Integrations, [true, true, false, false]),
            (Admins, [true, false, false, false]),
        ];
        for (action, allowed) in rows {
            for (role, allowed) in Role::ALL.into_iter().zip(allowed) {
                assert_eq!(may(role, action), allowed, "{role} {action:?}");
            }
        }
    }

    #[test]
    fn the_cli_is_an_owner_and_an_idp_changes_only_users_and_groups() {
        for action in [Action::LocalUsers, Action::Groups, Action::Integrations, Action::Admins] {
            assert!(actor_may(&Actor::System, action));
        }
        let idp = Actor::Scim { token: crate::model::TokenId(1), name: "Okta".into() };
        assert!(actor_may(&idp, Action::Groups) && !actor_may(&idp, Action::Integrations));
        let auditor = Actor::Admin { id: AdminId(1), email: "a@x".into(), role: Role::Auditor };
        assert!(!actor_may(&auditor, Action::LocalUsers));
    }

    #[test]
    fn an_owner_always_remains() {
        let (a, b) = (AdminId(1), AdminId(2));
        assert!(!an_owner_remains([(a, Role::Owner), (b, Role::Admin)], a, None), "the only owner leaves");
        assert!(!an_owner_remains([(a, Role::Owner)], a, Some(Role::Auditor)), "the only owner steps down");
        assert!(an_owner_remains([(a, Role::Owner), (b, Role::Owner)], a, Some(Role::Admin)));
        assert!(an_owner_remains([(a, Role::Owner), (b, Role::Admin)], b, None), "a non-owner leaves");
    }

    #[test]
    fn the_highest_role_wins() {
        assert_eq!(highest([Role::Auditor, Role::Admin, Role::Helpdesk]), Some(Role::Admin));
        assert_eq!(highest([]), None);
        assert_eq!(Role::parse(" Helpdesk "), Some(Role::Helpdesk));
        assert_eq!(Role::parse("root"), None);
    }
}
