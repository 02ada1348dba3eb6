//! The dashboard: seats, SCIM status, counts, charts and the latest log entries.
use crate::api::dashboard::get_dashboard;
use crate::components::charts::{ActivityChart, SeatsChart};
use crate::components::page::{Loaded, PageShell};
use crate::components::seat_meter::SeatMeter;
use crate::components::widgets::LogTable;
use leptos::prelude::*;
use roster::model::{Dashboard, human_time};

#[component]
pub fn DashboardPage() -> impl IntoView {
    let data = Resource::new_blocking(|| (), |_| get_dashboard());
    view! {
        <PageShell title="Dashboard">
            <Loaded data show={|d: Dashboard| view! { <DashboardView d /> }} />
        </PageShell>
    }
}

#[component]
fn DashboardView(d: Dashboard) -> impl IntoView {
    let scim = if d.settings.scim_enabled { "On" } else { "Off" };
    let last = d.last_request_at.map(human_time).unwrap_or_else(|| "none yet".into());
    let refused = d.refused.clone();
    view! {
        <section class="grid">
            <article class="card" aria-labelledby="seats-h">
                <h2 id="seats-h">"Seats"</h2>
                <SeatMeter seats=d.seats />
                <p class="muted">{d.refused_total}" IdP pushes refused for lack of seats"</p>
                <ul class="refused">
                    {refused.into_iter().map(|e| view! {
                        <li>{human_time(e.at)}" · "{e.actor}" · "{e.target.map(|t| t.name).unwrap_or_default()}</li>
                    }).collect_view()}
                </ul>
            </article>
            <article class="card" aria-labelledby="scim-h">
                <h2 id="scim-h">"SCIM provisioning"</h2>
                <p class="big" data-testid="scim-status">{scim}</p>
                <p class="muted">"Last request: "{last}</p>
                <p class="muted">{d.errors_24h}" errors in the last 24 hours"</p>
            </article>
            <article class="card" aria-labelledby="counts-h">
                <h2 id="counts-h">"Directory"</h2>
                <p><strong data-testid="user-count">{d.counts.users}</strong>" users, "{d.seats.used}" active"</p>
                <p><strong data-testid="group-count">{d.counts.groups}</strong>" groups"</p>
            </article>
        </section>
        <section class="grid charts">
            <article class="card" aria-labelledby="seats-chart-h">
                <h2 id="seats-chart-h">"Seats, 30 days"</h2>
                <SeatsChart days=d.charts.seats />
            </article>
            <article class="card" aria-labelledby="activity-chart-h">
                <h2 id="activity-chart-h">"Provisioning, 7 days"</h2>
                <ActivityChart hours=d.charts.activity />
            </article>
        </section>
        <section class="card">
            <h2>"Recent provisioning"</h2>
            {if d.recent.is_empty() {
                view! { <p class="empty">"Nothing yet. Connect Okta or Entra ID under SCIM settings, or add users by hand."</p> }.into_any()
            } else {
                view! { <LogTable events=d.recent /> }.into_any()
            }}
        </section>
    }
}
