//! Sign-in. Works without JavaScript: the form posts to /api/login and the answer is a redirect.
use crate::api::session::{Login, sign_in_options};
use crate::components::layout::Bare;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let error = move || login.value().get().and_then(|r| r.err()).map(|e| e.to_string());
    let options = Resource::new_blocking(|| (), |_| sign_in_options());
    view! {
        <Title text="Sign in" />
        <Bare>
            <h1>"Sign in"</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    options.await.ok().map(|o| view! {
                        {o.refusal.map(|r| view! { <p class="error" role="alert" data-testid="sso-refusal">{r}</p> })}
                        {o.sso_label.map(|label| view! {
                            <p><a class="button primary" href="/auth/oidc/login" rel="external" data-testid="sso">{format!("Sign in with {label}")}</a></p>
                        })}
                        {o.password_for_break_glass_only.then(|| view! {
                            <p class="muted" data-testid="break-glass-only">"Sign-in through your company's identity provider is required. \
                                The password form below is for break-glass admins only."</p>
                        })}
                    })
                })}
            </Suspense>
            <ActionForm action=login>
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="username" required />
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required />
                <Show when=move || error().is_some()>
                    <p class="error" role="alert">{error}</p>
                </Show>
                <button type="submit" class="primary">"Sign in"</button>
            </ActionForm>
        </Bare>
    }
}
