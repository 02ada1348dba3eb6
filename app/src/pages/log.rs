//! The provisioning log: every write and every failed SCIM request, filterable; and one entry in full.
use super::{id_param, page_param, param};
use crate::api::log::{get_log_entry, list_events};
use crate::api::users::PER_PAGE;
use crate::components::page::{Loaded, PageShell};
use crate::components::widgets::Pager;
use leptos::prelude::*;
use roster::model::{LogEntry, Outcome, Page, human_time};

#[component]
pub fn LogPage() -> impl IntoView {
    let (q, status, kind, since, until, page) =
        (param("q"), param("status"), param("kind"), param("since"), param("until"), page_param());
    let data = Resource::new_blocking(
        move || (q.get(), status.get(), kind.get(), since.get(), until.get(), page.get()),
        |(q, s, k, since, until, p)| list_events(q, s, k, since, until, p),
    );
    let opt = |value: &'static str, label: &'static str, current: String| {
        view! { <option value=value selected=current == value>{label}</option> }
    };
    view! {
        <PageShell title="Provisioning log">
            <form method="get" action="/log" class="card" role="search">
                <div class="row">
                    <div>
                        <label for="q">"User, group, actor or #id"</label>
                        <input id="q" name="q" type="search" value=q.get() placeholder="#42, ada@example.com, Engineering" />
                    </div>
                    <div>
                        <label for="status">"Result"</label>
                        <select id="status" name="status">
                            {opt("", "All", status.get())}
                            {opt("failed", "Failed", status.get())}
                            {opt("no_seats", "Refused: no seats", status.get())}
                        </select>
                    </div>
                    <div>
                        <label for="kind">"About"</label>
                        <select id="kind" name="kind">
                            {opt("", "Anything", kind.get())}
                            {opt("user", "Users", kind.get())}
                            {opt("group", "Groups", kind.get())}
                        </select>
                    </div>
                    <div><label for="since">"From"</label><input id="since" name="since" type="date" value=since.get() /></div>
                    <div><label for="until">"To"</label><input id="until" name="until" type="date" value=until.get() /></div>
                    <div class="grow-0"><button type="submit">"Filter"</button></div>
                </div>
            </form>
            <p class="actions">
                <a
                    id="log-csv"
                    rel="external"
                    download
                    href=move || crate::components::widgets::href("/log/export.csv", &[("q", q.get()), ("status", status.get()), ("kind", kind.get()), ("since", since.get()), ("until", until.get())])
                >
                    "Download these entries as CSV"
                </a>
                " · every page of them, oldest first, safe to open in a spreadsheet"
            </p>
            <Loaded data show={move |p: Page<LogEntry>| if p.total == 0 {
                view! { <p class="card empty">"No entries match."</p> }.into_any()
            } else {
                            let shown = p.items.len();
                            let pairs = vec![("q", q.get()), ("status", status.get()), ("kind", kind.get()), ("since", since.get()), ("until", until.get())];
                            view! {
                                <div class="card table-wrap">
                                    <table>
                                        <thead><tr><th scope="col">"#"</th><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"Request"</th><th scope="col">"Status"</th><th scope="col">"Target"</th><th scope="col">"What"</th></tr></thead>
                                        <tbody>
                                            {p.items.into_iter().map(|e| view! {
                                                <tr class=if e.outcome == Outcome::Ok { "" } else { "failed" }>
                                                    <td><a href=format!("/log/{}", e.id)>"#"{e.id.0}</a></td>
                                                    <td>{human_time(e.at)}</td>
                                                    <td>{e.actor}</td>
                                                    <td><code>{e.method}" "{e.path}</code></td>
                                                    <td>{e.status}</td>
                                                    <td>{e.target.map(|t| if t.name.is_empty() { t.id } else { t.name }).unwrap_or_default()}</td>
                                                    <td>{if e.detail.is_empty() { e.diff } else { e.detail }}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                    <Pager total=p.total start_index=p.start_index shown per_page=PER_PAGE path="/log".into() pairs />
                                </div>
                            }.into_any()
                        }} />
        </PageShell>
    }
}

#[component]
pub fn LogEntryPage() -> impl IntoView {
    let id = id_param();
    let data =
        Resource::new_blocking(move || id.get().trim_start_matches('#').parse::<i64>().unwrap_or(0), get_log_entry);
    view! {
        <PageShell title="Log entry" no_heading=true>
            <Loaded data show={|e: LogEntry| view! {
                            <h1>"Log entry #"{e.id.0}</h1>
                            <div class="card">
                                <dl class="settings">
                                    <dt>"When"</dt><dd>{human_time(e.at)}</dd>
                                    <dt>"Who"</dt><dd>{e.actor}</dd>
                                    <dt>"Request"</dt><dd><code>{e.method}" "{e.path}</code></dd>
                                    <dt>"Status"</dt><dd>{e.status}</dd>
                                    <dt>"Target"</dt><dd>{e.target.map(|t| {
                                        let href = match t.kind { roster::error::Kind::User => format!("/users/{}", t.id), roster::error::Kind::Group => format!("/groups/{}", t.id), _ => String::new() };
                                        let label = if t.name.is_empty() { t.id.clone() } else { t.name.clone() };
                                        view! { <a href=href>{label}</a> }
                                    })}</dd>
                                    <dt>"What changed"</dt><dd>{e.diff}</dd>
                                    <dt>"Detail"</dt><dd data-testid="event-detail">{e.detail}</dd>
                                    <dt>"Request id"</dt><dd data-testid="event-request-id">{e.request_id.map(|id| view! { <code>{id}</code> })}</dd>
                                    <dt>"From"</dt><dd data-testid="event-client">{e.client.map(|c| format!("{} · {}", c.address, c.user_agent))}</dd>
                                    <dt>"Chain hash"</dt><dd data-testid="event-hash">{e.hash.map(|h| view! { <code class="hash">{h}</code> })}</dd>
                                </dl>
                            </div>
            }} />
        </PageShell>
    }
}
