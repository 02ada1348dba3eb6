//! One module per page.
pub mod admins;
pub mod dashboard;
pub mod groups;
pub mod integrations;
pub mod licence;
pub mod log;
pub mod login;
pub mod scim;
pub mod setup;
pub mod sso;
pub mod users;

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
        <leptos_meta::Title text="Page not found" />
        <h1>"Page not found"</h1>
        <p>"There is nothing at this address. " <a href="/">"Back to the dashboard"</a></p>
    }
}

/// A query parameter, or "". A `Memo` is `Copy`, so pages can read it in resources and views alike.
pub fn param(name: &'static str) -> Memo<String> {
    let q = leptos_router::hooks::use_query_map();
    Memo::new(move |_| q.read().get(name).unwrap_or_default())
}

/// The `page` query parameter, at least 1.
pub fn page_param() -> Memo<i64> {
    let p = param("page");
    Memo::new(move |_| p.get().parse::<i64>().unwrap_or(1).max(1))
}

/// The `:id` route parameter.
pub fn id_param() -> Memo<String> {
    let p = leptos_router::hooks::use_params_map();
    Memo::new(move |_| p.read().get("id").unwrap_or_default())
}

/// Shows a server function's error in words.
pub fn error_view(e: crate::error::UiError) -> AnyView {
    view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any()
}
