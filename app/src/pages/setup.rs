//! First-run setup: the one-time link the server prints creates the first admin.
use crate::api::session::{CompleteSetup, setup_status};
use crate::components::layout::Bare;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SetupPage() -> impl IntoView {
    let token = move || use_query_map().read().get("token").unwrap_or_default();
    let live = Resource::new_blocking(token, setup_status);
    let setup = ServerAction::<CompleteSetup>::new();
    let error = move || setup.value().get().and_then(|r| r.err()).map(|e| e.to_string());
    view! {
        <Title text="Set up roster" />
        <Bare>
            <h1>"Create the first admin"</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match live.await {
                        Ok(true) => view! {
                            <p class="muted">"This link works once. The admin you create here can add others later."</p>
                            <ActionForm action=setup>
                                <input type="hidden" name="token" value=token />
                                <label for="email">"Email"</label>
                                <input id="email" name="email" type="email" autocomplete="username" required />
                                <label for="password">"Password"</label>
                                <input id="password" name="password" type="password" minlength="10"
                                    autocomplete="new-password" required aria-describedby="pw-hint" />
                                <p id="pw-hint" class="hint">"At least 10 characters."</p>
                                <Show when=move || error().is_some()>
                                    <p class="error" role="alert">{error}</p>
                                </Show>
                                <button type="submit" class="primary">"Create admin and sign in"</button>
                            </ActionForm>
                        }.into_any(),
                        Ok(false) => view! {
                            <p class="error" role="alert">
                                "This setup link has already been used or has expired. "
                                <a href="/login">"Sign in"</a>" instead, or restart roster with no admin to get a new link."
                            </p>
                        }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </Bare>
    }
}
