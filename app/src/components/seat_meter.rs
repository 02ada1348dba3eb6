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
    view! {
        <div class=format!("seat-meter {state}")>
            <p class="seat-figures">
                <strong>{seats.used}</strong>" of "<strong>{seats.limit}</strong>" seats in use · "
                <span class="free">{seats.free()}" free"</span>
            </p>
            <div class="bar" role="meter" aria-label="Seats in use" aria-valuemin="0"
                aria-valuemax=seats.limit aria-valuenow=seats.used>
                <span style=format!("width: {pct}%")></span>
            </div>
        </div>
    }
}
