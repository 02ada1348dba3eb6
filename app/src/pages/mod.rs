//! One module per page.
pub mod dashboard;
pub mod login;
pub mod setup;

use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(r) = use_context::<leptos_axum::ResponseOptions>() {
            r.set_status(http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <h1>"Page not found"</h1>
        <p>"There is nothing at this address. " <a href="/">"Back to the dashboard"</a></p>
    }
}
