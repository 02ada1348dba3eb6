//! Membership effects (docs/provisioning.md): when an IdP deletes a group, each former member it leaves
//! in no group at all is marked Inactive ("last group removed"); a later push of them into a group by the IdP brings
//! them back. An admin deleting a group never deactivates anyone.
use crate::model::{InactiveReason, Millis, User, UserId};
use std::collections::HashMap;

/// Whether deleting a group can deactivate its members, and for which IdP: only when an IdP deletes it.
pub fn deletion_deactivates(deleted_by_idp: Option<&str>) -> Option<&str> {
    deleted_by_idp
}

/// The former members a deletion leaves in no group: `groups_left` has each user still in a group, with how many.
/// Only these can be affected, so only they need loading.
pub fn left_in_no_group(former: &[UserId], groups_left: &HashMap<UserId, i64>) -> Vec<UserId> {
    former.iter().filter(|u| groups_left.get(*u).is_none_or(|n| *n == 0)).cloned().collect()
}

/// What happens to a former member of a group `idp` deleted who is now in no group: an active one becomes Inactive,
/// with the reason; an inactive one keeps the reason it has.
pub fn after_group_deleted(user: &User, group: &str, idp: &str, at: Millis) -> Option<InactiveReason> {
    user.active.then(|| InactiveReason::LastGroupRemoved { group: group.to_owned(), idp: idp.to_owned(), at })
}

/// Whether an IdP group add should re-activate a user: only those made inactive by losing their last group, so a
/// user the IdP deactivated on purpose is not revived by a membership push.
pub fn reactivates_on_group_add(active: bool, reason: Option<&InactiveReason>) -> bool {
    !active && matches!(reason, Some(InactiveReason::LastGroupRemoved { .. }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ManagedBy;

    fn user(active: bool) -> User {
        User {
            id: UserId("u".into()),
            user_name: "u".into(),
            external_id: None,
            display_name: None,
            given_name: None,
            family_name: None,
            email: None,
            active,
            inactive_reason: None,
            managed_by: ManagedBy::Scim { idp: "Okta".into() },
            deleted_at: None,
            attributes: Default::default(),
            version: 1,
            created_at: 1,
            updated_at: 1,
        }
    }

    #[test]
    fn only_an_idps_deletion_deactivates() {
        assert_eq!(deletion_deactivates(Some("Okta")), Some("Okta"));
        assert_eq!(deletion_deactivates(None), None, "an admin's deletion deactivates no one");
    }

    #[test]
    fn only_members_left_in_no_group_are_affected() {
        let former: Vec<UserId> = ["a", "b", "c"].iter().map(|s| UserId((*s).into())).collect();
        let left = HashMap::from([(UserId("b".into()), 2), (UserId("c".into()), 0)]);
        assert_eq!(left_in_no_group(&former, &left), vec![UserId("a".into()), UserId("c".into())]);
    }

    #[test]
    fn sole_group_deletion_deactivates_active_members_only() {
        let reason = after_group_deleted(&user(true), "Eng", "Okta", 1);
        assert_eq!(reason, Some(InactiveReason::LastGroupRemoved { group: "Eng".into(), idp: "Okta".into(), at: 1 }));
        assert!(after_group_deleted(&user(false), "Eng", "Okta", 1).is_none(), "already inactive keeps its reason");
    }

    #[test]
    fn group_add_revives_only_last_group_casualties() {
        let lost = InactiveReason::LastGroupRemoved { group: "Eng".into(), idp: "Okta".into(), at: 1 };
        let off = InactiveReason::DeactivatedByIdp { idp: "Okta".into(), at: 1 };
        assert!(reactivates_on_group_add(false, Some(&lost)));
        assert!(!reactivates_on_group_add(false, Some(&off)));
        assert!(!reactivates_on_group_add(true, None));
    }
}
