//! Small pieces used across pages: the source badge, the pager, status badges, query-string helpers.
use leptos::prelude::*;
use roster::model::{LogEntry, ManagedBy, human_time};

/// "Managed by Okta" for IdP-managed objects, "Local" otherwise.
#[component]
pub fn ManagedBadge(managed_by: ManagedBy) -> impl IntoView {
    match managed_by {
        ManagedBy::Scim { idp } => {
            let (title, text) = (format!("Synced from {idp} over SCIM"), format!("Managed by {idp}"));
            view! { <span class="badge" title=title>{text}</span> }.into_any()
        }
        ManagedBy::Local => view! { <span class="badge off">"Local"</span> }.into_any(),
    }
}

/// Percent-encodes a query value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `path?k=v&…` from the non-empty pairs.
pub fn href(path: &str, pairs: &[(&str, String)]) -> String {
    let q: Vec<String> =
        pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", encode(v))).collect();
    if q.is_empty() { path.to_owned() } else { format!("{path}?{}", q.join("&")) }
}

/// "1–50 of 100,000" with previous/next links that keep the other query parameters.
#[component]
pub fn Pager(
    total: i64,
    start_index: i64,
    shown: usize,
    per_page: i64,
    path: String,
    pairs: Vec<(&'static str, String)>,
) -> impl IntoView {
    let page = (start_index - 1) / per_page + 1;
    let last = start_index + shown as i64 - 1;
    let link = move |p: i64| {
        let mut all = pairs.clone();
        all.push(("page", p.to_string()));
        href(&path, &all)
    };
    let prev = (page > 1).then(|| link(page - 1));
    let next = (last < total).then(|| link(page + 1));
    view! {
        <nav class="pager" aria-label="Pages">
            <span class="muted">{if total == 0 { "0".to_owned() } else { format!("{}–{} of {}", start_index, last, thousands(total)) }}</span>
            {prev.map(|h| view! { <a class="button" href=h rel="prev">"← Previous"</a> })}
            {next.map(|h| view! { <a class="button" href=h rel="next">"Next →"</a> })}
        </nav>
    }
}

pub fn thousands(n: i64) -> String {
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// Active / Inactive / Deleted in the IdP.
#[component]
pub fn StatusBadge(active: bool, deleted: bool) -> impl IntoView {
    let (class, text) = match (deleted, active) {
        (true, _) => ("badge bad", "Deleted in the IdP"),
        (false, true) => ("badge ok", "Active"),
        (false, false) => ("badge off", "Inactive"),
    };
    view! { <span class=class>{text}</span> }
}

/// The error of the last submission of an action, if any.
pub fn action_error<I, O>(a: ServerAction<I>) -> impl Fn() -> Option<AnyView> + Send + Sync + Copy + 'static
where
    I: leptos::server_fn::ServerFn<Output = O, Error = crate::error::UiError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
    I::Output: Send + Sync,
{
    move || {
        a.value()
            .get()
            .and_then(|r| r.err())
            .map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any())
    }
}

/// Provisioning-log entries as a table, each time linking to the entry's page.
#[component]
pub fn LogTable(events: Vec<LogEntry>) -> impl IntoView {
    view! {
        <table>
            <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"Request"</th><th scope="col">"Status"</th><th scope="col">"What changed"</th></tr></thead>
            <tbody>
                {events.into_iter().map(|e| view! {
                    <tr>
                        <td><a href=format!("/log/{}", e.id)>{human_time(e.at)}</a></td>
                        <td>{e.actor}</td>
                        <td><code>{e.method}" "{e.path}</code></td>
                        <td>{e.status}</td>
                        <td>{if e.detail.is_empty() { e.diff } else { e.detail }}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// A secret just created (a token, a webhook signing secret): shown this once, with a button that copies it once the
/// page has hydrated.
#[component]
pub fn ShownOnce(token: String, heading: &'static str, hint: &'static str) -> impl IntoView {
    let (copied, set_copied) = signal(false);
    let value = token.clone();
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let _ = leptos::prelude::window().navigator().clipboard().write_text(&value);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &value;
        set_copied.set(true);
    };
    view! {
        <section class="card notice" aria-labelledby="new-token-heading">
            <h2 id="new-token-heading">{heading}</h2>
            <p>{hint}</p>
            <p class="secret"><code id="new-token">{token}</code>" "
                <button type="button" class="copy" on:click=copy>{move || if copied.get() { "Copied" } else { "Copy" }}</button>
            </p>
        </section>
    }
}

/// Bearer tokens (SCIM or directory API) as a table: name, created, last used, status, and `revoke(name)`'s control
/// for the live ones.
pub fn token_table(tokens: Vec<roster::model::Token>, revoke: impl Fn(String) -> AnyView + 'static) -> AnyView {
    view! {
        <table>
            <thead><tr><th scope="col">"Name"</th><th scope="col">"Created"</th><th scope="col">"Last used"</th><th scope="col">"Status"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
            <tbody>
                {tokens.into_iter().map(|t| view! {
                    <tr>
                        <td>{t.name.clone()}</td>
                        <td>{human_time(t.created_at)}</td>
                        <td>{t.last_used_at.map(human_time).unwrap_or_else(|| "never".into())}</td>
                        <td>{match t.revoked_at {
                            Some(r) => view! { <span class="badge off">"Revoked "{human_time(r)}</span> }.into_any(),
                            None => view! { <span class="badge ok">"Active"</span> }.into_any(),
                        }}</td>
                        <td>{t.revoked_at.is_none().then(|| revoke(t.name.clone()))}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
