//! Sign-in. Works without JavaScript: the form posts to /api/login and the answer is a redirect.
use crate::api::session::Login;
use crate::components::layout::Bare;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let error = move || login.value().get().and_then(|r| r.err()).map(|e| e.to_string());
    view! {
        <Title text="Sign in" />
        <Bare>
            <h1>"Sign in"</h1>
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
