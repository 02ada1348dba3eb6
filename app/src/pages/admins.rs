//! Admins: the list, adding one, changing your own password.
use crate::api::admins::{AddAdmin, ChangePassword, RemoveAdmin, list_admins};
use crate::components::page::{DangerForm, Loaded, PageShell};
use crate::components::widgets::action_error;
use leptos::prelude::*;
use roster::model::{Admin, human_time};

#[component]
pub fn AdminsPage() -> impl IntoView {
    let data = Resource::new_blocking(|| (), |_| list_admins());
    let (add, pw, remove) =
        (ServerAction::<AddAdmin>::new(), ServerAction::<ChangePassword>::new(), ServerAction::<RemoveAdmin>::new());
    let (add_err, pw_err, remove_err) = (action_error(add), action_error(pw), action_error(remove));
    view! {
        <PageShell title="Admins">
            <Loaded data show={move |list: Vec<Admin>| view! {
                            <div class="card">
                                {remove_err}
                                <table>
                                    <thead><tr><th scope="col">"Email"</th><th scope="col">"Since"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
                                    <tbody>{list.into_iter().map(|a| view! {
                                        <tr>
                                            <td>{a.email.clone()}</td>
                                            <td>{human_time(a.created_at)}</td>
                                            <td>
                                                <DangerForm action=remove fields=vec![("email", a.email.clone())] confirm="Remove"
                                                    button="Remove" label=format!("Remove {}", a.email) />
                                            </td>
                                        </tr>
                                    }).collect_view()}</tbody>
                                </table>
                                <p class="muted">"A removed admin's sessions end at once. roster always keeps at least one admin."</p>
                            </div>
                        }} />
            <section class="grid">
                <div class="card">
                    <h2>"Add an admin"</h2>
                    <ActionForm action=add>
                        <label for="new-email">"Email"</label>
                        <input id="new-email" name="email" type="email" required />
                        <label for="new-password">"Password"</label>
                        <input id="new-password" name="password" type="password" minlength="10" autocomplete="new-password" required />
                        {add_err}
                        <button type="submit" class="primary">"Add admin"</button>
                    </ActionForm>
                </div>
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
