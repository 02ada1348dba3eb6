//! Seats: a user who [takes a seat](crate::model::User::takes_seat) holds one. Only a change that makes a user take a
//! seat needs a free one, so lookups, deactivations and group pushes keep working at 100% use.
use crate::model::{SeatUsage, User};
use crate::{Error, Result};

/// How a write changes the seats in use: +1, 0 or -1. `before` is `None` for a new user.
pub fn delta(before: Option<&User>, after: &User) -> i64 {
    i64::from(after.takes_seat()) - i64::from(before.is_some_and(User::takes_seat))
}

/// Refuses a write that needs a seat when none is free. `usage` is the count before this write.
pub fn check(before: Option<&User>, after: &User, usage: SeatUsage) -> Result<()> {
    if delta(before, after) > 0 && usage.used >= usage.limit {
        return Err(Error::NoFreeSeats { used: usage.used, limit: usage.limit, user: after.user_name.clone() });
    }
    Ok(())
}

/// The licence cannot go below the seats in use: refused, saying how many users must be deactivated first.
pub fn check_licence(seats: i64, usage: SeatUsage) -> Result<()> {
    if !(0..=MAX_SEATS).contains(&seats) {
        return Err(Error::InvalidValue("seats must be a whole number from 0 to 10,000,000".into()));
    }
    if seats < usage.used {
        let used = usage.used;
        return Err(Error::InvalidValue(format!(
            "{used} users are active, so the licence cannot go below {used} seats; deactivate users first"
        )));
    }
    Ok(())
}

/// The largest licence roster takes.
pub const MAX_SEATS: i64 = 10_000_000;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ManagedBy, UserId};

    fn user(active: bool, deleted: bool) -> User {
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
            managed_by: ManagedBy::Local,
            deleted_at: deleted.then_some(1),
            attributes: Default::default(),
            version: 1,
            created_at: 1,
            updated_at: 1,
        }
    }

    #[test]
    fn the_licence_never_goes_below_the_seats_in_use() {
        let usage = SeatUsage { used: 40, limit: 50 };
        assert!(check_licence(40, usage).is_ok());
        assert!(check_licence(100, usage).is_ok());
        let e = check_licence(39, usage).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("cannot go below 40 seats"), "{e}");
        assert!(check_licence(-1, usage).is_err() && check_licence(MAX_SEATS + 1, usage).is_err());
    }

    #[test]
    fn only_taking_a_seat_needs_one() {
        let (on, off, gone) = (user(true, false), user(false, false), user(true, true));
        let full = SeatUsage { used: 50, limit: 50 };
        let room = SeatUsage { used: 49, limit: 50 };
        assert!(check(Some(&off), &on, room).is_ok());
        assert!(matches!(check(Some(&off), &on, full), Err(Error::NoFreeSeats { used: 50, limit: 50, .. })));
        assert!(check(None, &on, full).is_err(), "a new active user");
        assert!(check(None, &off, full).is_ok(), "a new inactive user");
        assert!(check(Some(&gone), &on, full).is_err(), "restoring a tombstone");
        assert!(check(Some(&off), &on, SeatUsage { used: 51, limit: 50 }).is_err(), "over the limit after a cut");
        assert!(check(Some(&on), &on, full).is_ok(), "updates of active users");
        assert!(check(Some(&on), &off, full).is_ok(), "deactivation");
        assert!(check(Some(&on), &gone, full).is_ok(), "deletion");
        assert_eq!((delta(None, &on), delta(Some(&on), &gone), delta(Some(&off), &off)), (1, -1, 0));
        let msg = check(Some(&off), &on, full).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            msg,
            "No free seats: 50 of 50 in use. Raise the licence seats in roster, then retry the task in Okta."
        );
    }
}
