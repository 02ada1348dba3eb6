//! The dashboard's charts, drawn on the server as SVG: no JavaScript, and each with a text alternative that gives the
//! figures a sighted admin reads off the picture.
use leptos::prelude::*;
use roster::model::{ActivityHour, SeatDay};

const W: f64 = 600.0;
const H: f64 = 150.0;
/// Room for the axis labels on the left and at the bottom.
const LEFT: f64 = 40.0;
const BOTTOM: f64 = 20.0;

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// y in the drawing for `v` on a scale up to `max`.
fn y(v: i64, max: i64) -> f64 {
    let plot = H - BOTTOM - 8.0;
    H - BOTTOM - plot * (v as f64) / (max.max(1) as f64)
}

/// Seats used per day over 30 days, with the licence as a dashed line.
#[component]
pub fn SeatsChart(days: Vec<SeatDay>) -> impl IntoView {
    let max = days.iter().map(|d| d.limit.max(d.peak)).max().unwrap_or(1).max(1);
    let step = (W - LEFT - 10.0) / 29.0;
    let first = days.first().map(|d| d.day).unwrap_or(0);
    let last = days.last().map(|d| d.day).unwrap_or(0);
    let x = move |day: i64| LEFT + step * ((day - last + 29) as f64);
    let line = |f: &dyn Fn(&SeatDay) -> i64| {
        days.iter().map(|d| format!("{:.1},{:.1}", x(d.day), y(f(d), max))).collect::<Vec<_>>().join(" ")
    };
    let (used, limit) = (line(&|d| d.used), line(&|d| d.limit));
    // A dot per day, so that a history of one day still shows.
    let dots = days
        .iter()
        .map(|d| {
            let (cx, cy, ly) =
                (format!("{:.1}", x(d.day)), format!("{:.1}", y(d.used, max)), format!("{:.1}", y(d.limit, max)));
            view! {
                <circle class="licence-dot" cx=cx.clone() cy=ly r="3" />
                <circle class="used-dot" cx=cx cy=cy r="3" />
            }
        })
        .collect_view();
    let today = days.last().copied();
    let peak = days.iter().map(|d| d.peak).max().unwrap_or(0);
    let summary = match today {
        Some(t) => format!(
            "Today {} of {} seats are used; the highest in the last 30 days was {}. Recorded for {}.",
            t.used,
            t.limit,
            peak,
            plural(last - first + 1, "day", "days")
        ),
        None => "No seat history yet.".to_owned(),
    };
    let (top, mid) = (format!("{max}"), format!("{}", max / 2));
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {W} {H}") role="img" aria-labelledby="seats-chart-title seats-chart-desc" data-testid="seats-chart">
                <title id="seats-chart-title">"Seats used over the last 30 days"</title>
                <desc id="seats-chart-desc">{summary.clone()}</desc>
                <line class="axis" x1=LEFT y1=y(0, max) x2=W - 10.0 y2=y(0, max) />
                <text class="tick" x=LEFT - 6.0 y=y(max, max) + 4.0 text-anchor="end">{top}</text>
                <text class="tick" x=LEFT - 6.0 y=y(max / 2, max) + 4.0 text-anchor="end">{mid}</text>
                <text class="tick" x=LEFT - 6.0 y=y(0, max) + 4.0 text-anchor="end">"0"</text>
                <text class="tick" x=LEFT y=H - 4.0>"30 days ago"</text>
                <text class="tick" x=W - 10.0 y=H - 4.0 text-anchor="end">"today"</text>
                <polyline class="licence" points=limit />
                <polyline class="used" points=used />
                {dots}
            </svg>
            <figcaption>
                <span class="key used">"Seats used"</span>" "<span class="key licence">"Licence"</span>
                <span class="muted">" · "{summary}</span>
            </figcaption>
        </figure>
    }
}

/// Provisioning per hour over 7 days: writes, pushes refused for lack of seats, and errors, stacked.
#[component]
pub fn ActivityChart(hours: Vec<ActivityHour>) -> impl IntoView {
    let max = hours.iter().map(|h| h.writes + h.no_seats + h.failed).max().unwrap_or(0).max(1);
    let step = (W - LEFT - 10.0) / (hours.len().max(1) as f64);
    let (writes, refused, errors): (i64, i64, i64) =
        hours.iter().fold((0, 0, 0), |(w, n, f), h| (w + h.writes, n + h.no_seats, f + h.failed));
    let busiest =
        hours.iter().max_by_key(|h| h.writes + h.no_seats + h.failed).filter(|h| h.writes + h.no_seats + h.failed > 0);
    let summary = format!(
        "Over the last 7 days: {}, {} for lack of seats, {}.{}",
        plural(writes, "write", "writes"),
        plural(refused, "push refused", "pushes refused"),
        plural(errors, "error", "errors"),
        busiest
            .map(|h| format!(
                " The busiest hour was {} with {}.",
                roster::model::human_time(h.hour * 3_600_000),
                plural(h.writes + h.no_seats + h.failed, "request", "requests")
            ))
            .unwrap_or_default()
    );
    let bars = hours
        .iter()
        .enumerate()
        .flat_map(|(i, h)| {
            let x = LEFT + step * i as f64;
            let mut base = 0;
            [("writes", h.writes), ("refused", h.no_seats), ("errors", h.failed)].into_iter().filter(|(_, n)| *n > 0).map(
                move |(class, n)| {
                    let (top, bottom) = (y(base + n, max), y(base, max));
                    base += n;
                    view! { <rect class=class x=format!("{x:.1}") y=format!("{top:.1}") width=format!("{:.2}", step.max(1.0)) height=format!("{:.1}", bottom - top) /> }
                },
            ).collect::<Vec<_>>()
        })
        .collect_view();
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {W} {H}") role="img" aria-labelledby="activity-chart-title activity-chart-desc" data-testid="activity-chart">
                <title id="activity-chart-title">"Provisioning per hour over the last 7 days"</title>
                <desc id="activity-chart-desc">{summary.clone()}</desc>
                <line class="axis" x1=LEFT y1=y(0, max) x2=W - 10.0 y2=y(0, max) />
                <text class="tick" x=LEFT - 6.0 y=y(max, max) + 4.0 text-anchor="end">{max.to_string()}</text>
                <text class="tick" x=LEFT - 6.0 y=y(0, max) + 4.0 text-anchor="end">"0"</text>
                <text class="tick" x=LEFT y=H - 4.0>"7 days ago"</text>
                <text class="tick" x=W - 10.0 y=H - 4.0 text-anchor="end">"now"</text>
                {bars}
            </svg>
            <figcaption>
                <span class="key writes">"Writes"</span>" "<span class="key refused">"Refused: no seats"</span>" "
                <span class="key errors">"Errors"</span>
                <span class="muted">" · "{summary}</span>
            </figcaption>
        </figure>
    }
}
