//! The licence: seats used and free; raise or lower the count.
use super::error_view;
use crate::api::scim::{SetSeats, seats};
use crate::components::layout::Layout;
use crate::components::seat_meter::SeatMeter;
use crate::components::widgets::action_error;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn LicencePage() -> impl IntoView {
    let data = Resource::new_blocking(|| (), |_| seats());
    let set = ServerAction::<SetSeats>::new();
    let error = action_error(set);
    view! {
        <Title text="Licence" />
        <Layout>
            <h1>"Licence"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(s) => view! {
                            <div class="card narrow">
                                <SeatMeter seats=s />
                                <p class="muted">"Every active user takes a seat. When none is free, the IdP's pushes of new or \
                                    re-activated users are refused with a message that says to raise the seats here and retry in Okta."</p>
                                <ActionForm action=set>
                                    <label for="seats">"Seats"</label>
                                    <input id="seats" name="seats" type="number" min="0" value=s.limit required />
                                    {error}
                                    <button type="submit" class="primary">"Save"</button>
                                </ActionForm>
                            </div>
                        }.into_any(),
                        Err(e) => error_view(e),
                    }
                })}
            </Suspense>
        </Layout>
    }
}
