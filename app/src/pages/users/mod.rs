//! Users: the list, a new local user, and the user page.
use super::{id_param, page_param, param};
use crate::api::users::{CreateUser, PER_PAGE, SetUserActive, get_user, list_users};
use crate::components::layout::Allowed;
use crate::components::page::{Loaded, PageShell};
use crate::components::widgets::{LogTable, ManagedBadge, Pager, StatusBadge, action_error};
use leptos::prelude::*;
use roster::model::{Page, UserDetail, UserRow, human_time};
use roster::rules::roles::Action;

#[component]
pub fn UsersPage() -> impl IntoView {
    let (q, status, source, sort, page) = (param("q"), param("status"), param("source"), param("sort"), page_param());
    let data = Resource::new_blocking(
        move || (q.get(), status.get(), source.get(), sort.get(), page.get()),
        |(q, st, so, sort, page)| list_users(q, st, so, sort, page),
    );
    let opt = |value: &'static str, label: &'static str, current: String| {
        view! { <option value=value selected=current == value>{label}</option> }
    };
    view! {
        <PageShell title="Users" no_heading=true>
            <div class="heading">
                <h1>"Users"</h1>
                <Allowed action=Action::LocalUsers>
                    <a class="button primary" href="/users/new">"Add a local user"</a>
                </Allowed>
            </div>
            <form method="get" action="/users" class="card filters" role="search">
                <div class="row">
                    <div>
                        <label for="q">"Search"</label>
                        <input id="q" name="q" type="search" value=q.get() placeholder="userName, name or email" />
                    </div>
                    <div>
                        <label for="status">"Status"</label>
                        <select id="status" name="status">
                            {opt("", "Any", status.get())}
                            {opt("active", "Active", status.get())}
                            {opt("inactive", "Inactive", status.get())}
                            {opt("deleted", "Deleted in the IdP", status.get())}
                        </select>
                    </div>
                    <div>
                        <label for="source">"Source"</label>
                        <select id="source" name="source">
                            {opt("", "Any", source.get())}
                            {opt("idp", "Managed by the IdP", source.get())}
                            {opt("local", "Local", source.get())}
                        </select>
                    </div>
                    <div>
                        <label for="sort">"Sort by"</label>
                        <select id="sort" name="sort">
                            {opt("", "Oldest first", sort.get())}
                            {opt("-created", "Newest first", sort.get())}
                            {opt("name", "userName A–Z", sort.get())}
                            {opt("-name", "userName Z–A", sort.get())}
                            {opt("-modified", "Recently changed", sort.get())}
                        </select>
                    </div>
                    <div class="grow-0"><button type="submit">"Apply"</button></div>
                </div>
            </form>
            <Loaded data show={move |p: Page<UserRow>| {
                let filtered = !(q.get().is_empty() && status.get().is_empty() && source.get().is_empty());
                if p.total == 0 && !filtered {
                    view! {
                        <div class="card empty">
                            <p><strong>"No users yet."</strong></p>
                            <p>"Connect Okta or Entra ID under "<a href="/scim">"SCIM settings"</a>
                               " and assign people to the app, or "<a href="/users/new">"add a local user"</a>"."</p>
                        </div>
                    }.into_any()
                } else if p.total == 0 {
                    view! { <p class="card empty">"No user matches these filters."</p> }.into_any()
                } else {
                            let shown = p.items.len();
                            let pairs = vec![("q", q.get()), ("status", status.get()), ("source", source.get()), ("sort", sort.get())];
                            view! {
                                <div class="card table-wrap">
                                    <table>
                                        <thead><tr>
                                            <th scope="col">"Name"</th><th scope="col">"userName"</th><th scope="col">"Email"</th>
                                            <th scope="col">"Status"</th><th scope="col">"Source"</th><th scope="col">"Changed"</th>
                                        </tr></thead>
                                        <tbody>
                                            {p.items.into_iter().map(|u| view! {
                                                <tr>
                                                    <td><a href=format!("/users/{}", u.id)>{u.name}</a></td>
                                                    <td>{u.user_name}</td>
                                                    <td>{u.email.unwrap_or_default()}</td>
                                                    <td><StatusBadge active=u.active deleted=u.deleted /></td>
                                                    <td><ManagedBadge managed_by=u.managed_by /></td>
                                                    <td class="muted">{human_time(u.updated_at)}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                    <Pager total=p.total start_index=p.start_index shown per_page=PER_PAGE path="/users".into() pairs />
                                </div>
                            }.into_any()
                        }
            }} />
        </PageShell>
    }
}

#[component]
pub fn NewUserPage() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let error = action_error(create);
    view! {
        <PageShell title="Add a local user">
            <Allowed action=Action::LocalUsers>
                <div class="card narrow">
                    <p class="muted">"Local users are managed here, not by your IdP. An active user takes a licence seat."</p>
                    <ActionForm action=create>
                        <label for="email">"Email (also the userName)"</label>
                        <input id="email" name="email" type="email" required />
                        <label for="given_name">"First name"</label>
                        <input id="given_name" name="given_name" autocomplete="off" />
                        <label for="family_name">"Last name"</label>
                        <input id="family_name" name="family_name" autocomplete="off" />
                        {error}
                        <button type="submit" class="primary">"Create user"</button>
                    </ActionForm>
                </div>
            </Allowed>
        </PageShell>
    }
}

#[component]
pub fn UserPage() -> impl IntoView {
    let id = id_param();
    let data = Resource::new_blocking(move || id.get(), get_user);
    view! {
        <PageShell title="User" no_heading=true>
            <Loaded data show={|d: UserDetail| view! { <UserView d /> }} />
        </PageShell>
    }
}

#[component]
fn UserView(d: UserDetail) -> impl IntoView {
    let toggle = ServerAction::<SetUserActive>::new();
    let error = action_error(toggle);
    let u = d.user;
    let reason = d.access.reason();
    let can_edit = d.access.can_edit && u.deleted_at.is_none();
    let (next, label) = if u.active { ("false", "Deactivate") } else { ("true", "Activate") };
    let (uid, uid_shown, title) = (u.id.to_string(), u.id.to_string(), reason.clone().unwrap_or_default());
    let fields = roster::scim::readable::fields(&u.attributes);
    let raw = serde_json::to_string_pretty(&u.attributes).unwrap_or_default();
    view! {
        <div class="heading">
            <h1>{u.full_name()}</h1>
            <ManagedBadge managed_by=u.managed_by.clone() />
        </div>
        <section class="grid">
            <article class="card">
                <h2>"Status"</h2>
                <p><StatusBadge active=u.active deleted=u.deleted_at.is_some() /></p>
                {(!u.active).then(|| view! { <p data-testid="status-text">{u.status_text()}</p> })}
                <Allowed action=Action::LocalUsers>
                    {let (uid, title) = (uid.clone(), title.clone());
                    view! {
                    <ActionForm action=toggle attr:class="inline">
                        <input type="hidden" name="id" value=uid />
                        <input type="hidden" name="active" value=next />
                        <button type="submit" data-testid="toggle-active" disabled=!can_edit title=title>{label}</button>
                    </ActionForm>
                    }}
                </Allowed>
                {reason.map(|r| view! { <p class="hint" data-testid="read-only">{r}</p> })}
                {error}
            </article>
            <article class="card">
                <h2>"Groups"</h2>
                {if d.groups.is_empty() {
                    view! { <p class="muted">"Not in any group."</p> }.into_any()
                } else {
                    view! { <ul>{d.groups.into_iter().map(|g| view! { <li><a href=format!("/groups/{}", g.id)>{g.display_name}</a></li> }).collect_view()}</ul> }.into_any()
                }}
            </article>
        </section>
        <section class="card">
            <h2>"Details"</h2>
            <dl class="settings" data-testid="user-fields">
                {fields.into_iter().map(|f| view! { <dt>{f.label}</dt><dd>{f.value}</dd> }).collect_view()}
                <dt>"id"</dt><dd><code>{uid_shown}</code></dd>
                <dt>"Created"</dt><dd>{human_time(u.created_at)}</dd>
                <dt>"Last changed"</dt><dd>{human_time(u.updated_at)}</dd>
            </dl>
            <details class="raw">
                <summary>"SCIM attributes as stored (JSON)"</summary>
                <pre><code>{raw}</code></pre>
            </details>
        </section>
        <section class="card">
            <h2>"Provisioning history"</h2>
            <LogTable events=d.history />
        </section>
    }
}
