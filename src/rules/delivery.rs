//! Webhook delivery: what one attempt does to its endpoint. Delivery is at least once and in order per endpoint: an
//! endpoint's next event waits until the one before it is delivered, or given up on after [`GIVE_UP_AFTER_MS`] of
//! failures; retries back off from 5 seconds to 6 hours. A pure function of the endpoint's state, the attempt's
//! result and the time, so every branch is tested without a clock or a receiver.
use crate::model::{AttemptResult, DeliveryOutcome, EndpointState, Millis};

/// Retries stop after a day of failures at one event; that event is given up on and the next one goes.
pub const GIVE_UP_AFTER_MS: i64 = 24 * 3600 * 1000;
/// The wait before retry n (1-based): the first within 10 seconds, then growing; the last repeats.
const BACKOFF_MS: [i64; 9] = [5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000, 21_600_000];

/// When the next attempt goes after `attempt` failures.
pub fn next_attempt(at: Millis, attempt: i64) -> Millis {
    let i = usize::try_from(attempt - 1).unwrap_or(0).min(BACKOFF_MS.len() - 1);
    at + BACKOFF_MS[i]
}

/// The endpoint after an attempt at the event numbered `seq` (its id `event_id`) that came to `result` at `at`, and
/// what the attempt is recorded as. Delivered: the endpoint moves past the event. Failed: it stays, and retries after
/// the backoff. Failing for [`GIVE_UP_AFTER_MS`]: the event is given up on and the endpoint moves past it.
pub fn after_attempt(
    state: &EndpointState,
    seq: i64,
    event_id: &str,
    result: &AttemptResult,
    at: Millis,
) -> (EndpointState, DeliveryOutcome) {
    let moved_on = |last_error| EndpointState {
        delivered_through: seq,
        attempt: 0,
        failing_since: None,
        next_attempt_at: at,
        last_error,
    };
    if result.delivered() {
        return (moved_on(None), DeliveryOutcome::Delivered);
    }
    let attempt = state.attempt + 1;
    let failing_since = state.failing_since.unwrap_or(at);
    let error = if result.error.is_empty() {
        format!("HTTP {}", result.status.unwrap_or_default())
    } else {
        result.error.clone()
    };
    if at - failing_since >= GIVE_UP_AFTER_MS {
        // A day of failures: this event is given up on, so the endpoint's later events can go next time.
        let why = format!("gave up on {event_id} after 24 hours: {error}");
        return (moved_on(Some(why)), DeliveryOutcome::GaveUp);
    }
    let state = EndpointState {
        delivered_through: state.delivered_through,
        attempt,
        failing_since: Some(failing_since),
        next_attempt_at: next_attempt(at, attempt),
        last_error: Some(error),
    };
    (state, DeliveryOutcome::Failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn fresh() -> EndpointState {
        EndpointState { delivered_through: 7, attempt: 0, failing_since: None, next_attempt_at: 0, last_error: None }
    }

    fn answered(status: i64) -> AttemptResult {
        let error = if (200..300).contains(&status) { String::new() } else { format!("HTTP {status}") };
        AttemptResult { status: Some(status), error, duration_ms: 3 }
    }

    fn refused() -> AttemptResult {
        AttemptResult { status: None, error: "connection failed".into(), duration_ms: 1 }
    }

    #[test]
    fn a_delivery_moves_the_endpoint_past_the_event_and_clears_failures() {
        let failing = EndpointState { attempt: 3, failing_since: Some(10), last_error: Some("x".into()), ..fresh() };
        let (s, outcome) = after_attempt(&failing, 8, "evt_8", &answered(204), 100);
        assert_eq!(outcome, DeliveryOutcome::Delivered);
        assert_eq!(
            s,
            EndpointState {
                delivered_through: 8,
                attempt: 0,
                failing_since: None,
                next_attempt_at: 100,
                last_error: None
            }
        );
    }

    #[test]
    fn a_failure_stays_on_the_event_and_backs_off_from_seconds_to_hours() {
        let (s, outcome) = after_attempt(&fresh(), 8, "evt_8", &answered(500), 1_000);
        assert_eq!(outcome, DeliveryOutcome::Failed);
        assert_eq!((s.delivered_through, s.attempt, s.failing_since), (7, 1, Some(1_000)));
        assert_eq!(s.last_error.as_deref(), Some("HTTP 500"));
        assert!(s.next_attempt_at - 1_000 <= 10_000, "the first retry within ten seconds");
        let (s2, _) = after_attempt(&s, 8, "evt_8", &refused(), 2_000);
        assert_eq!((s2.attempt, s2.failing_since), (2, Some(1_000)), "failing since the first failure");
        assert_eq!(s2.last_error.as_deref(), Some("connection failed"));
        assert!(s2.next_attempt_at - 2_000 > s.next_attempt_at - 1_000, "the waits grow");
        assert_eq!(next_attempt(0, 50), next_attempt(0, 9), "the longest wait repeats");
        assert_eq!(next_attempt(0, 9), 6 * HOUR);
    }

    #[test]
    fn after_a_day_of_failures_the_event_is_given_up_and_the_endpoint_moves_on() {
        let failing = EndpointState { attempt: 12, failing_since: Some(0), ..fresh() };
        let (s, outcome) = after_attempt(&failing, 8, "evt_8", &refused(), 24 * HOUR - 1);
        assert_eq!((outcome, s.delivered_through), (DeliveryOutcome::Failed, 7), "a moment short of a day: retried");
        let (s, outcome) = after_attempt(&failing, 8, "evt_8", &refused(), 24 * HOUR);
        assert_eq!(outcome, DeliveryOutcome::GaveUp);
        assert_eq!((s.delivered_through, s.attempt, s.failing_since), (8, 0, None));
        assert_eq!(s.last_error.as_deref(), Some("gave up on evt_8 after 24 hours: connection failed"));
        // The next event starts afresh.
        let (next, outcome) = after_attempt(&s, 9, "evt_9", &refused(), 24 * HOUR + 5);
        assert_eq!((outcome, next.failing_since, next.attempt), (DeliveryOutcome::Failed, Some(24 * HOUR + 5), 1));
    }
}
