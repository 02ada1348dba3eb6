//! The shell every panel page shares: its title and frame, its data loading, and the form of a destructive action.
use crate::components::layout::Layout;
use crate::error::UiError;
use leptos::prelude::*;
use leptos::server_fn::client::Client;
use leptos::server_fn::codec::PostUrl;
use leptos::server_fn::request::ClientReq;
use leptos::server_fn::{Http, ServerFn};
use leptos::web_sys::FormData;
use leptos_meta::Title;
use serde::de::DeserializeOwned;

/// A signed-in page: the document's title, the frame, and the page's heading (the title, unless the page writes its
/// own from its data).
#[component]
pub fn PageShell(
    title: &'static str,
    /// No heading: the page writes its own.
    #[prop(optional)]
    no_heading: bool,
    children: Children,
) -> impl IntoView {
    view! {
        <Title text=title />
        <Layout>
            {(!no_heading).then(|| view! { <h1>{title}</h1> })}
            {children()}
        </Layout>
    }
}

/// A page's data: "Loading…" until `data` is ready, then `show` of it, or the error in words.
#[component]
pub fn Loaded<T, V, F>(data: Resource<Result<T, UiError>>, show: F) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + DeserializeOwned + 'static,
    V: IntoView + 'static,
    F: Fn(T) -> V + Clone + Send + Sync + 'static,
{
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let show = show.clone();
                Suspend::new(async move {
                    match data.await {
                        Ok(d) => show(d).into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// A destructive action on one row of a table: hidden fields that say what it acts on, a box to tick and the button.
/// The server refuses the action unless the box was ticked, so a stray click (or a script) changes nothing.
#[component]
pub fn DangerForm<ServFn, OutputProtocol>(
    action: ServerAction<ServFn>,
    /// Hidden fields, as (name, value).
    fields: Vec<(&'static str, String)>,
    /// What ticking the box says.
    confirm: &'static str,
    button: &'static str,
    /// The button's accessible name, which names what it acts on ("Remove ada@example.com").
    label: String,
) -> impl IntoView
where
    ServFn: DeserializeOwned + ServerFn<Protocol = Http<PostUrl, OutputProtocol>> + Clone + Send + Sync + 'static,
    <<ServFn::Client as Client<ServFn::Error>>::Request as ClientReq<ServFn::Error>>::FormData: From<FormData>,
    ServFn::Output: Send + Sync + 'static,
    ServFn::Error: Send + Sync + 'static,
    <ServFn as ServerFn>::Client: Client<<ServFn as ServerFn>::Error>,
    OutputProtocol: 'static,
{
    view! {
        <ActionForm action attr:class="inline">
            {fields.into_iter().map(|(name, value)| view! { <input type="hidden" name=name value=value /> }).collect_view()}
            <label class="check"><input type="checkbox" name="confirm" value="yes" required />" "{confirm}</label>
            <button type="submit" class="danger" aria-label=label>{button}</button>
        </ActionForm>
    }
}
