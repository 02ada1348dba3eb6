//! Groups: the list with a create form, and the group page with members, the member picker, rename and delete.
use super::{id_param, page_param, param};
use crate::api::groups::{AddMember, CreateGroup, DeleteGroup, RemoveMember, RenameGroup, get_group, list_groups};
use crate::api::users::PER_PAGE;
use crate::components::layout::Allowed;
use crate::components::page::{Loaded, PageShell};
use crate::components::widgets::{ManagedBadge, Pager, StatusBadge, action_error, thousands};
use leptos::prelude::*;
use roster::model::{Group, GroupDetail, Page, UserRow};
use roster::rules::roles::Action;

#[component]
pub fn GroupsPage() -> impl IntoView {
    let (q, page) = (param("q"), page_param());
    let data = Resource::new_blocking(move || (q.get(), page.get()), |(q, page)| list_groups(q, page));
    let create = ServerAction::<CreateGroup>::new();
    let error = action_error(create);
    view! {
        <PageShell title="Groups">
            <section class="grid">
                <form method="get" action="/groups" class="card" role="search">
                    <label for="q">"Search groups"</label>
                    <input id="q" name="q" type="search" value=q.get() />
                    <button type="submit">"Search"</button>
                </form>
                <Allowed action=Action::Groups>
                    <div class="card">
                        <ActionForm action=create>
                            <label for="name">"New local group"</label>
                            <input id="name" name="name" required placeholder="e.g. Contractors" />
                            {error}
                            <button type="submit" class="primary">"Create group"</button>
                        </ActionForm>
                    </div>
                </Allowed>
            </section>
            <Loaded data show={move |p: Page<Group>| if p.total == 0 && q.get().is_empty() {
                view! {
                            <div class="card empty">
                                <p><strong>"No groups yet."</strong></p>
                                <p>"Push groups from Okta (Push Groups) or create a local group above."</p>
                            </div>
                        }.into_any()
            } else {
                            let shown = p.items.len();
                            view! {
                                <div class="card table-wrap">
                                    <table>
                                        <thead><tr><th scope="col">"Group"</th><th scope="col">"Members"</th><th scope="col">"Source"</th></tr></thead>
                                        <tbody>
                                            {p.items.into_iter().map(|g| view! {
                                                <tr>
                                                    <td><a href=format!("/groups/{}", g.id)>{g.display_name}</a></td>
                                                    <td>{thousands(g.member_count)}</td>
                                                    <td><ManagedBadge managed_by=g.managed_by /></td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                    <Pager total=p.total start_index=p.start_index shown per_page=PER_PAGE path="/groups".into() pairs=vec![("q", q.get())] />
                                </div>
                            }.into_any()
                        }} />
        </PageShell>
    }
}

#[component]
pub fn GroupPage() -> impl IntoView {
    let (id, page, find) = (id_param(), page_param(), param("find"));
    let data = Resource::new_blocking(
        move || (id.get(), page.get(), find.get()),
        |(id, page, find)| get_group(id, page, find),
    );
    view! {
        <PageShell title="Group" no_heading=true>
            <Loaded data show={move |(d, found): (GroupDetail, Vec<UserRow>)| view! { <GroupView d found find=find.get() /> }} />
        </PageShell>
    }
}

#[component]
fn GroupView(d: GroupDetail, found: Vec<UserRow>, find: String) -> impl IntoView {
    let (add, remove, rename, delete) = (
        ServerAction::<AddMember>::new(),
        ServerAction::<RemoveMember>::new(),
        ServerAction::<RenameGroup>::new(),
        ServerAction::<DeleteGroup>::new(),
    );
    let (add_err, remove_err, rename_err, delete_err) =
        (action_error(add), action_error(remove), action_error(rename), action_error(delete));
    let g = d.group;
    let id = g.id.to_string();
    let can = d.access.can_edit;
    let reason = d.access.reason();
    let shown = d.members.items.len();
    let members = d.members.items;
    let path = format!("/groups/{id}");
    view! {
        <div class="heading">
            <h1>{g.display_name.clone()}</h1>
            <ManagedBadge managed_by=g.managed_by.clone() />
        </div>
        {reason.clone().map(|r| view! { <p class="notice" data-testid="read-only">{r}</p> })}
        <section class="card table-wrap">
            <h2>"Members ("{thousands(d.members.total)}")"</h2>
            {remove_err}
            {if members.is_empty() {
                view! { <p class="empty">"No members yet."</p> }.into_any()
            } else {
                let (gid, why) = (id.clone(), reason.clone().unwrap_or_default());
                view! {
                    <table>
                        <thead><tr><th scope="col">"userName"</th><th scope="col">"Status"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
                        <tbody>
                            {members.into_iter().map(|m| {
                                let (gid, why, uid, label) = (gid.clone(), why.clone(), m.id.to_string(), format!("Remove {}", m.user_name));
                                view! {
                                <tr>
                                    <td><a href=format!("/users/{}", m.id)>{m.user_name.clone()}</a></td>
                                    <td><StatusBadge active=m.active deleted=false /></td>
                                    <td>
                                        <Allowed action=Action::LocalUsers>
                                            {let (gid, uid, why, label) = (gid.clone(), uid.clone(), why.clone(), label.clone());
                                            view! {
                                            <ActionForm action=remove attr:class="inline">
                                                <input type="hidden" name="id" value=gid />
                                                <input type="hidden" name="user_id" value=uid />
                                                <button type="submit" class="danger" disabled=!can title=why aria-label=label>"Remove"</button>
                                            </ActionForm>
                                            }}
                                        </Allowed>
                                    </td>
                                </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
            <Pager total=d.members.total start_index=d.members.start_index shown per_page=PER_PAGE path=path.clone() pairs=vec![] />
        </section>
        {can.then(|| {
            let (id_a, id_b, id_c) = (id.clone(), id.clone(), id.clone());
            let name = g.display_name.clone();
            view! {
            <section class="card">
                <h2>"Add members"</h2>
                <form method="get" action=path.clone() role="search">
                    <label for="find">"Find a user"</label>
                    <div class="row">
                        <input id="find" name="find" type="search" value=find.clone() placeholder="userName, name or email" />
                        <div class="grow-0"><button type="submit">"Find"</button></div>
                    </div>
                </form>
                {add_err}
                {(!find.is_empty() && found.is_empty()).then(|| view! { <p class="muted">"No user matches."</p> })}
                <ul class="picker">
                    {found.into_iter().map(|u| {
                        let id = id_a.clone();
                        view! {
                            <li>
                                <span>{u.name.clone()}" · "{u.user_name.clone()}</span>
                                <Allowed action=Action::LocalUsers>
                                    {let (id, uid, label) = (id.clone(), u.id.to_string(), format!("Add {}", u.user_name));
                                    view! {
                                    <ActionForm action=add attr:class="inline">
                                        <input type="hidden" name="id" value=id />
                                        <input type="hidden" name="user_id" value=uid />
                                        <button type="submit" aria-label=label>"Add"</button>
                                    </ActionForm>
                                    }}
                                </Allowed>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
            <section class="grid">
                <div class="card">
                    <Allowed action=Action::Groups>
                        <h2>"Rename"</h2>
                    </Allowed>
                    <ActionForm action=rename>
                        <input type="hidden" name="id" value=id_b />
                        <label for="name">"Name"</label>
                        <input id="name" name="name" value=name required />
                        {rename_err}
                        <button type="submit">"Rename"</button>
                    </ActionForm>
                </div>
                <div class="card">
                    <Allowed action=Action::Groups>
                        <h2>"Delete"</h2>
                    </Allowed>
                    <ActionForm action=delete>
                        <input type="hidden" name="id" value=id_c />
                        <p class="muted">"Deletes the group and its memberships. The users stay."</p>
                        <label class="check"><input type="checkbox" name="confirm" value="yes" required />" I want to delete this group"</label>
                        {delete_err}
                        <button type="submit" class="danger">"Delete group"</button>
                    </ActionForm>
                </div>
            </section>
            }
        })}
    }
}
