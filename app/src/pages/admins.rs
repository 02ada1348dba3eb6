//! Admins: the list, adding one, changing your own password.
use super::error_view;
use crate::api::admins::{AddAdmin, ChangePassword, list_admins};
use crate::components::layout::Layout;
use crate::components::widgets::action_error;
use leptos::prelude::*;
use leptos_meta::Title;
use roster::model::human_time;

#[component]
pub fn AdminsPage() -> impl IntoView {
    let data = Resource::new_blocking(|| (), |_| list_admins());
    let (add, pw) = (ServerAction::<AddAdmin>::new(), ServerAction::<ChangePassword>::new());
    let (add_err, pw_err) = (action_error(add), action_error(pw));
    view! {
        <Title text="Admins" />
        <Layout>
            <h1>"Admins"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(list) => view! {
                            <div class="card"><table>
                                <thead><tr><th scope="col">"Email"</th><th scope="col">"Since"</th></tr></thead>
                                <tbody>{list.into_iter().map(|a| view! { <tr><td>{a.email}</td><td>{human_time(a.created_at)}</td></tr> }).collect_view()}</tbody>
                            </table></div>
                        }.into_any(),
                        Err(e) => error_view(e),
                    }
                })}
            </Suspense>
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
        </Layout>
    }
}
