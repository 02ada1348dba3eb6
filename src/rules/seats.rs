//! Seats: an active user takes one. Only a change from inactive to active needs a free seat, so lookups,
//! deactivations and group pushes keep working at 100% use.
use crate::{Error, Result};

/// `used` counts active users before this change.
pub fn check(was_active: bool, will_be_active: bool, used: i64, limit: i64) -> Result<()> {
    if !was_active && will_be_active && used >= limit {
        return Err(Error::NoFreeSeats { used, limit });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_activation_needs_a_seat() {
        assert!(check(false, true, 49, 50).is_ok());
        assert!(matches!(check(false, true, 50, 50), Err(Error::NoFreeSeats { used: 50, limit: 50 })));
        assert!(check(false, true, 51, 50).is_err(), "over the limit after a licence cut");
        assert!(check(true, true, 50, 50).is_ok(), "updates of active users");
        assert!(check(true, false, 50, 50).is_ok(), "deactivation");
        assert!(check(false, false, 50, 50).is_ok(), "inactive stays inactive");
        let msg = check(false, true, 50, 50).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            msg,
            "No free seats: 50 of 50 in use. Raise the licence seats in roster, then retry the task in Okta."
        );
    }
}
