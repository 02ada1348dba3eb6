//! The seat meter: used of total, with a bar that turns amber near the limit and red at it.
use leptos::prelude::*;
use roster::model::SeatUsage;

#[component]
pub fn SeatMeter(seats: SeatUsage) -> impl IntoView {
    let pct = if seats.limit > 0 { (seats.used * 100 / seats.limit).min(100) } else { 100 };
    let state = if seats.used >= seats.limit {
        "full"
    } else if pct >= 90 {
        "near"
    } else {
        "ok"
    };
    let (low, high) = (seats.limit as f64 * 0.9, seats.limit as f64 - 0.5);
    view! {
        <div class=format!("seat-meter {state}")>
            <p class="seat-figures">
                <strong>{seats.used}</strong>" of "<strong>{seats.limit}</strong>" seats in use · "
                <span class="free">{seats.free()}" free"</span>
            </p>
            // A native meter: the browser colours it green, amber from 90% and red at the limit (low, high and optimum),
            // and no inline style is needed, so the CSP can forbid them.
            <meter class="bar" aria-label="Seats in use" min="0" max=seats.limit.max(1) value=seats.used.min(seats.limit.max(1))
                low=low high=high optimum="0">
                {format!("{pct}%")}
            </meter>
        </div>
    }
}
