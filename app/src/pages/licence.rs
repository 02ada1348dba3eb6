//! The licence: seats used and free; raise or lower the count.
use crate::api::scim::{SetSeats, seats};
use crate::components::layout::Allowed;
use crate::components::page::{Loaded, PageShell};
use crate::components::seat_meter::SeatMeter;
use crate::components::widgets::action_error;
use leptos::prelude::*;
use roster::model::SeatUsage;
use roster::rules::roles::Action;

#[component]
pub fn LicencePage() -> impl IntoView {
    let data = Resource::new_blocking(|| (), |_| seats());
    let set = ServerAction::<SetSeats>::new();
    let error = action_error(set);
    view! {
        <PageShell title="Licence">
            <Loaded data show={move |s: SeatUsage| view! {
                            <div class="card narrow">
                                <SeatMeter seats=s />
                                <p class="muted">"Every active user takes a seat. When none is free, the IdP's pushes of new or \
                                    re-activated users are refused with a message that says to raise the seats here and retry in Okta."</p>
                                <Allowed action=Action::Integrations>
                                    <ActionForm action=set>
                                        <label for="seats">"Seats"</label>
                                        <input id="seats" name="seats" type="number" min="0" value=s.limit required />
                                        {error}
                                        <button type="submit" class="primary">"Save"</button>
                                    </ActionForm>
                                </Allowed>
                            </div>
            }} />
        </PageShell>
    }
}
