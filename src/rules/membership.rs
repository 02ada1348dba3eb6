//! Membership effects: a user is marked Inactive when the IdP removes the only group they were in, and a later push
//! from the IdP brings them back (README: "How provisioning behaves").
use crate::model::{InactiveReason, Millis};

/// What happens to a former member of a deleted group. `remaining_groups` counts the groups they are still in.
pub fn after_group_deleted(
    active: bool,
    remaining_groups: i64,
    group: &str,
    idp: &str,
    at: Millis,
) -> Option<InactiveReason> {
    (active && remaining_groups == 0).then(|| InactiveReason::LastGroupRemoved {
        group: group.to_owned(),
        idp: idp.to_owned(),
        at,
    })
}

/// Whether an IdP group add should re-activate a user: only those made inactive by losing their last group, so a
/// user the IdP deactivated on purpose is not revived by a membership push.
pub fn reactivates_on_group_add(active: bool, reason: Option<&InactiveReason>) -> bool {
    !active && matches!(reason, Some(InactiveReason::LastGroupRemoved { .. }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sole_group_deletion_deactivates() {
        assert!(after_group_deleted(true, 0, "Eng", "Okta", 1).is_some());
        assert!(after_group_deleted(true, 1, "Eng", "Okta", 1).is_none(), "still in another group");
        assert!(after_group_deleted(false, 0, "Eng", "Okta", 1).is_none(), "already inactive keeps its reason");
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
