//! Drift (docs/provisioning.md): membership changes admins make to an IdP's group while SCIM is off are
//! kept, net of each other, until the IdP's next write says what the group is. The SCIM page lists them before SCIM
//! goes back on, and the IdP write that reverses them names what it undid in its log entry.
use crate::model::{DriftMember, ManagedBy, UserId};
use std::collections::{HashMap, HashSet};

/// Whether a membership change is drift: one an admin (or the CLI) makes to a group an IdP manages. An IdP's own
/// changes are what drift is measured against.
pub fn is_drift(by_idp: bool, group: &ManagedBy) -> bool {
    !by_idp && group.is_scim()
}

/// An admin's changes, netted against the drift kept for the group.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Netted {
    /// Drift that the change reverses, to forget: the group is back to what the IdP pushed for these users.
    pub cancel: Vec<UserId>,
    /// Changes to keep: each user and whether the admin added (true) or removed them.
    pub keep: Vec<(UserId, bool)>,
}

/// Nets `added` and `removed` against `kept`: adding back a user the admin had removed cancels that removal (and the
/// reverse); any other change is kept.
pub fn net(kept: &[DriftMember], added: &[UserId], removed: &[UserId]) -> Netted {
    let kept: HashMap<&UserId, bool> = kept.iter().map(|d| (&d.user_id, d.added)).collect();
    let mut netted = Netted::default();
    for (users, now_added) in [(added, true), (removed, false)] {
        for u in users {
            if kept.get(u) == Some(&!now_added) {
                netted.cancel.push(u.clone());
            } else {
                netted.keep.push((u.clone(), now_added));
            }
        }
    }
    netted
}

/// What an IdP's write to the group does to the drift kept: the admin's changes it reverses (`undone`, named in its log
/// entry), and the drift to forget. A replace (Push now) is the IdP's whole membership, so it forgets all drift, the
/// changes it agrees with too; a PATCH forgets only what it reversed.
pub fn after_idp_write<'a>(
    kept: &'a [DriftMember],
    added: &[UserId],
    removed: &[UserId],
    replace: bool,
) -> (Vec<&'a DriftMember>, Vec<UserId>) {
    let (added, removed): (HashSet<&UserId>, HashSet<&UserId>) = (added.iter().collect(), removed.iter().collect());
    let undone: Vec<&DriftMember> = kept
        .iter()
        .filter(|d| if d.added { removed.contains(&d.user_id) } else { added.contains(&d.user_id) })
        .collect();
    let forget = if replace { kept.iter().collect() } else { undone.clone() };
    let forget = forget.into_iter().map(|d| d.user_id.clone()).collect();
    (undone, forget)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(user: &str, added: bool) -> DriftMember {
        DriftMember { user_id: UserId(user.into()), user_name: user.into(), added, by_admin: "ada".into(), at: 1 }
    }

    fn ids(v: &[&str]) -> Vec<UserId> {
        v.iter().map(|s| UserId((*s).into())).collect()
    }

    #[test]
    fn only_an_admins_change_to_an_idp_group_is_drift() {
        let okta = ManagedBy::Scim { idp: "Okta".into() };
        assert!(is_drift(false, &okta));
        assert!(!is_drift(true, &okta), "the IdP's own change");
        assert!(!is_drift(false, &ManagedBy::Local), "a group roster manages");
    }

    #[test]
    fn a_change_back_cancels_and_anything_else_is_kept() {
        let k = [kept("a", false), kept("b", true)];
        let n = net(&k, &ids(&["a", "c"]), &ids(&["b", "d"]));
        assert_eq!(n.cancel, ids(&["a", "b"]), "a re-added and b removed again: back to what the IdP pushed");
        let keep = vec![(UserId("c".into()), true), (UserId("d".into()), false)];
        assert_eq!(n.keep, keep);
        assert_eq!(net(&[], &ids(&["x"]), &[]).keep, vec![(UserId("x".into()), true)]);
    }

    #[test]
    fn an_idp_patch_forgets_what_it_reverses_and_a_push_forgets_everything() {
        let k = [kept("a", true), kept("b", false), kept("c", true)];
        let (undone, forget) = after_idp_write(&k, &ids(&["b"]), &ids(&["a"]), false);
        let names: Vec<&str> = undone.iter().map(|d| d.user_name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(forget, ids(&["a", "b"]), "c is still the admin's change");
        let (undone, forget) = after_idp_write(&k, &[], &ids(&["a"]), true);
        assert_eq!(undone.len(), 1);
        assert_eq!(forget, ids(&["a", "b", "c"]), "a push is the whole membership");
    }
}
