//! roster's panel: leptos pages, components and server functions. Server functions are thin adapters over
//! `roster::service`, the same services the SCIM endpoint uses, so a rule is never written twice.
#![recursion_limit = "256"]
pub mod api;
pub mod components;
pub mod error;
pub mod pages;

use components::layout::Layout;
use leptos::prelude::*;
use leptos_meta::{Link, MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

/// What the server hands every page and server function.
#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct Panel {
    pub services: roster::service::Services,
    /// `https://roster.example.com`, without a trailing slash.
    pub public_url: String,
}

/// The HTML document around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The Content Security Policy of a panel page, with this response's nonce: scripts only from roster itself and the
/// inline hydration scripts leptos marks with the nonce; `wasm-unsafe-eval` because hydration compiles WebAssembly;
/// no inline styles, no framing, and forms that post only to roster.
#[component]
fn ContentSecurityPolicy() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(res)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) {
        let policy = format!(
            "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
             img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
             frame-ancestors 'none'"
        );
        if let Ok(v) = http::HeaderValue::from_str(&policy) {
            res.insert_header(http::header::CONTENT_SECURITY_POLICY, v);
        }
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <ContentSecurityPolicy />
        <Stylesheet id="roster" href="/pkg/roster.css" />
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml" />
        <Title formatter=|t: String| if t.is_empty() { "roster".to_owned() } else { format!("{t} · roster") } />
        <Router>
            <Routes fallback=|| view! { <Layout><pages::NotFound /></Layout> }>
                <Route path=path!("/login") view=pages::login::LoginPage ssr=SsrMode::Async />
                <Route path=path!("/setup") view=pages::setup::SetupPage ssr=SsrMode::Async />
                <Route path=path!("/") view=pages::dashboard::DashboardPage ssr=SsrMode::Async />
                <Route path=path!("/users") view=pages::users::UsersPage ssr=SsrMode::Async />
                <Route path=path!("/users/new") view=pages::users::NewUserPage ssr=SsrMode::Async />
                <Route path=path!("/users/:id") view=pages::users::UserPage ssr=SsrMode::Async />
                <Route path=path!("/groups") view=pages::groups::GroupsPage ssr=SsrMode::Async />
                <Route path=path!("/groups/:id") view=pages::groups::GroupPage ssr=SsrMode::Async />
                <Route path=path!("/scim") view=pages::scim::ScimPage ssr=SsrMode::Async />
                <Route path=path!("/licence") view=pages::licence::LicencePage ssr=SsrMode::Async />
                <Route path=path!("/sso") view=pages::sso::SsoSettingsPage ssr=SsrMode::Async />
                <Route path=path!("/log") view=pages::log::LogPage ssr=SsrMode::Async />
                <Route path=path!("/log/:id") view=pages::log::LogEntryPage ssr=SsrMode::Async />
                <Route path=path!("/admins") view=pages::admins::AdminsPage ssr=SsrMode::Async />
                <Route path=path!("/integrations") view=pages::integrations::IntegrationsPage ssr=SsrMode::Async />
            </Routes>
        </Router>
    }
}

/// The wasm entry point: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Every mutation answers with a redirect to the page to show next, carrying a one-time message. Load that page
    // fresh, as a browser without JavaScript does; the router's own hook would skip a redirect to the current page.
    // The hook can be set once, so setting it before the router renders makes this one win.
    let _ = leptos::server_fn::redirect::set_redirect_hook(|loc: &str| {
        let _ = leptos::prelude::window().location().set_href(loc);
    });
    leptos::mount::hydrate_body(App);
}
