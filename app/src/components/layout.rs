//! The frame every signed-in page sits in: navigation, who is signed in, sign-out.
use crate::api::Me;
use crate::api::session::{Logout, take_flash, whoami};
use crate::error::UiError;
use leptos::prelude::*;
use leptos_router::components::A;
use roster::rules::roles::{Action, may};

/// Marks the document once the wasm has hydrated it, so tests (and curious admins) can tell.
#[component]
fn HydrationMark() -> impl IntoView {
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));
    view! { <span hidden data-hydrated=move || hydrated.get().to_string()></span> }
}

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let me = Resource::new_blocking(|| (), |_| whoami());
    provide_context(Viewer(me));
    let logout = ServerAction::<Logout>::new();
    let flash = Resource::new_blocking(|| (), |_| take_flash());
    view! {
        <HydrationMark />
        <a class="skip" href="#main">"Skip to content"</a>
        <header class="topbar">
            <a class="brand" href="/">"roster"</a>
            <nav aria-label="Main">
                <A href="/" exact=true>"Dashboard"</A>
                <A href="/users">"Users"</A>
                <A href="/groups">"Groups"</A>
                <A href="/scim">"SCIM"</A>
                <A href="/licence">"Licence"</A>
                <A href="/log">"Log"</A>
                <A href="/admins">"Admins"</A>
                <Allowed action=Action::Admins><A href="/sso">"Single sign-on"</A></Allowed>
                <A href="/integrations">"Integrations"</A>
            </nav>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match me.await {
                        Ok(Some(Me { email, role })) => view! {
                            <div class="me">
                                <span class="me-email">{email}</span>
                                <span class="me-role">{role.as_str()}</span>
                                <ActionForm action=logout attr:class="inline">
                                    <button type="submit" class="link">"Sign out"</button>
                                </ActionForm>
                            </div>
                        }.into_any(),
                        Ok(None) => view! { <a href="/login">"Sign in"</a> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </header>
        <main id="main" class="page">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    flash.await.ok().flatten().map(|f| view! {
                        <div class="notice" role="status">
                            <p>{f.message}</p>
                        </div>
                    })
                })}
            </Suspense>
            {children()}
        </main>
    }
}

/// The signed-in admin of this page, for [`Allowed`].
#[derive(Clone, Copy)]
struct Viewer(Resource<Result<Option<Me>, UiError>>);

/// Shows its children only to an admin whose role may `action` ([`roster::rules::roles`]): the panel hides what a
/// role cannot use. The server refuses it all the same, whatever the page shows.
#[component]
pub fn Allowed(action: Action, children: ChildrenFn) -> impl IntoView {
    let viewer = use_context::<Viewer>();
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    let role = match viewer {
                        Some(Viewer(me)) => me.await.ok().flatten().map(|m| m.role),
                        None => None,
                    };
                    role.is_some_and(|r| may(r, action)).then(|| children())
                })
            }}
        </Suspense>
    }
}

/// The frame of the signed-out pages (sign-in, setup).
#[component]
pub fn Bare(children: Children) -> impl IntoView {
    view! {
        <HydrationMark />
        <main id="main" class="bare">
            <div class="card narrow">
                <p class="brand">"roster"</p>
                {children()}
            </div>
        </main>
    }
}
