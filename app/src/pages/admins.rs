//! Admins: the list with their roles, adding one, changing a role (owners), changing your own password.
use crate::api::admins::{AddAdmin, ChangePassword, RemoveAdmin, SetAdminRole, list_admins};
use crate::components::layout::Allowed;
use crate::components::page::{DangerForm, Loaded, PageShell};
use crate::components::widgets::action_error;
use leptos::prelude::*;
use roster::model::{Admin, Role, human_time};
use roster::rules::roles::Action;

/// The roles as a form's options, `selected` first chosen.
fn role_options(selected: Role) -> impl IntoView {
    Role::ALL
        .into_iter()
        .map(|r| view! { <option value=r.as_str() selected=r == selected>{r.as_str()}</option> })
        .collect_view()
}

/// An owner's form to give one admin another role.
#[component]
fn RoleForm(action: ServerAction<SetAdminRole>, email: String, current: Role) -> impl IntoView {
    view! {
        <ActionForm action attr:class="inline">
            <input type="hidden" name="email" value=email.clone() />
            <select name="role" aria-label=format!("Role of {email}")>{role_options(current)}</select>
            <button type="submit" aria-label=format!("Change the role of {email}")>"Change"</button>
        </ActionForm>
    }
}

#[component]
pub fn AdminsPage() -> impl IntoView {
    let data = Resource::new_blocking(|| (), |_| list_admins());
    let (add, pw, remove) =
        (ServerAction::<AddAdmin>::new(), ServerAction::<ChangePassword>::new(), ServerAction::<RemoveAdmin>::new());
    let role = ServerAction::<SetAdminRole>::new();
    let (add_err, pw_err, remove_err, role_err) =
        (action_error(add), action_error(pw), action_error(remove), action_error(role));
    view! {
        <PageShell title="Admins">
            <Loaded data show={move |list: Vec<Admin>| view! {
                            <div class="card">
                                {remove_err}
                                {role_err}
                                <table>
                                    <thead><tr>
                                        <th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col">"Sign-in"</th>
                                        <th scope="col">"Last sign-in"</th><th scope="col">"Since"</th>
                                        <th scope="col"><span class="sr-only">"Actions"</span></th>
                                    </tr></thead>
                                    <tbody>{list.into_iter().map(|a| {
                                        let (email, current) = (a.email.clone(), a.role);
                                        view! {
                                        <tr>
                                            <td>{a.email.clone()}</td>
                                            <td>
                                                <span>{a.role.as_str()}</span>
                                                <Allowed action=Action::Admins>
                                                    <RoleForm action=role email=email.clone() current />
                                                </Allowed>
                                            </td>
                                            <td>{a.sign_in_method()}</td>
                                            <td>{a.last_sign_in_at.map(human_time).unwrap_or_else(|| "never".into())}</td>
                                            <td>{human_time(a.created_at)}</td>
                                            <td>
                                                <Allowed action=Action::Admins>
                                                    <DangerForm action=remove fields=vec![("email", a.email.clone())] confirm="Remove"
                                                        button="Remove" label=format!("Remove {}", a.email) />
                                                </Allowed>
                                            </td>
                                        </tr>
                                    }}).collect_view()}</tbody>
                                </table>
                                <p class="muted">"A removed admin's sessions end at once. roster always keeps at least one admin, and one owner. \
                                    Owners manage admins and roles; admins everything else; helpdesk local users and the members of roster's groups; auditors read."</p>
                            </div>
                        }} />
            <section class="grid">
                <Allowed action=Action::Admins>
                <div class="card">
                    <h2>"Add an admin"</h2>
                    <ActionForm action=add>
                        <label for="new-email">"Email"</label>
                        <input id="new-email" name="email" type="email" required />
                        <label for="new-password">"Password"</label>
                        <input id="new-password" name="password" type="password" minlength="10" autocomplete="new-password" required />
                        <label for="new-role">"Role"</label>
                        <select id="new-role" name="role">{role_options(Role::Admin)}</select>
                        <label class="check"><input type="checkbox" name="break_glass" value="yes" />
                            " Break-glass: this password works even when sign-in through the company's IdP is required"</label>
                        {add_err}
                        <button type="submit" class="primary">"Add admin"</button>
                    </ActionForm>
                </div>
                </Allowed>
                <div class="card">
                    <h2>"Change your password"</h2>
                    <ActionForm action=pw>
                        <label for="current">"Current password"</label>
                        <input id="current" name="current" type="password" autocomplete="current-password" required />
                        <label for="new">"New password"</label>
                        <input id="new" name="new" type="password" minlength="10" autocomplete="new-password" required />
                        <label for="repeat">"New password again"</label>
                        <input id="repeat" name="repeat" type="password" minlength="10" autocomplete="new-password" required />
                        {pw_err}
                        <button type="submit">"Change password"</button>
                    </ActionForm>
                </div>
            </section>
        </PageShell>
    }
}
