//! The rest of the product: directory API tokens and webhooks, with each endpoint's recent deliveries.
use crate::api::integrations::{
    AddWebhook, CreateApiToken, RemoveWebhook, RetryWebhook, RevokeApiToken, RotateWebhook, SendAgain, get_integrations,
};
use crate::components::layout::Allowed;
use crate::components::page::{DangerForm, Loaded, PageShell};
use crate::components::widgets::{ShownOnce, action_error, token_table};
use leptos::prelude::*;
use roster::model::{DeliveryOutcome, Integrations, WebhookDelivery, WebhookEndpoint, human_time};
use roster::rules::roles::Action;

#[component]
pub fn IntegrationsPage() -> impl IntoView {
    let data = Resource::new_blocking(|| (), |_| get_integrations());
    view! {
        <PageShell title="Directory API and webhooks">
            <Loaded data show={move |i: Integrations| view! { <IntegrationsView i /> }} />
        </PageShell>
    }
}

#[component]
fn IntegrationsView(i: Integrations) -> impl IntoView {
    let (create, revoke, add) = (
        ServerAction::<CreateApiToken>::new(),
        ServerAction::<RevokeApiToken>::new(),
        ServerAction::<AddWebhook>::new(),
    );
    let (create_err, revoke_err, add_err) = (action_error(create), action_error(revoke), action_error(add));
    let webhooks = i.webhooks;
    view! {
        {i.new_secret.map(|token| view! {
            <ShownOnce token heading="Shown once" hint="Copy it now: roster cannot show it again. A webhook's secret (whsec_…) verifies its signatures; a directory API token (roster_api_…) is the Bearer token for /v1." />
        })}
        <section class="card" aria-labelledby="api-h">
            <h2 id="api-h">"Directory API"</h2>
            <p class="muted">"Read-only JSON at "<code>{i.api_base.clone()}</code>" for the product's own services: "
                <code>"/users/{id or userName}"</code>", "<code>"/users?group=…&active=…"</code>", "<code>"/groups"</code>", "
                <code>"/groups/{id}/members"</code>" and the event feed "<code>"/events?after=…&wait=30"</code>
                ". Its tokens only read, and SCIM tokens do not work there."</p>
            <Allowed action=Action::Integrations>
                <ActionForm action=create attr:class="row" attr:id="api-token-form">
                    <div>
                        <label for="api-token-name">"Token name"</label>
                        <input id="api-token-name" name="name" required placeholder="billing" />
                    </div>
                    <div>
                        <label for="api-token-scope">"Reads"</label>
                        <select id="api-token-scope" name="scope">
                            <option value="directory" selected>"The directory: users, groups, events"</option>
                            <option value="audit">"The audit trail, for a SIEM"</option>
                        </select>
                    </div>
                    <div class="grow-0"><button type="submit" class="primary">"Create API token"</button></div>
                </ActionForm>
            </Allowed>
            {create_err}
            {revoke_err}
            {if i.api_tokens.is_empty() {
                view! { <p class="empty">"No directory API tokens yet."</p> }.into_any()
            } else {
                token_table(i.api_tokens, move |name| view! {
                    <Allowed action=Action::Integrations>
                        {let (name, label) = (name.clone(), format!("Revoke API token {name}"));
                        view! {
                        <ActionForm action=revoke attr:class="inline">
                            <input type="hidden" name="name" value=name />
                            <button type="submit" class="danger" aria-label=label>"Revoke"</button>
                        </ActionForm>
                        }}
                    </Allowed>
                }.into_any())
            }}
        </section>
        <section class="card" aria-labelledby="webhooks-h">
            <h2 id="webhooks-h">"Webhooks"</h2>
            <p class="muted">"Every change is POSTed to each endpoint as JSON, signed by the Standard Webhooks \
               specification (headers webhook-id, webhook-timestamp, webhook-signature), at least once and in order. A \
               failed delivery is retried from 5 seconds to every 6 hours, and given up after 24 hours; the endpoint's \
               later events wait meanwhile."</p>
            <Allowed action=Action::Integrations>
                <ActionForm action=add attr:class="row" attr:id="webhook-form">
                    <div>
                        <label for="webhook-url">"Endpoint URL"</label>
                        <input id="webhook-url" name="url" type="url" required placeholder="https://app.example.com/roster-events" />
                    </div>
                    <div>
                        <label for="webhook-events">"Events"</label>
                        <input id="webhook-events" name="events" value="*" aria-describedby="webhook-events-hint" />
                        <p class="hint" id="webhook-events-hint">"* for all, or a list such as user.*, group.members_added"</p>
                    </div>
                    <div class="grow-0"><button type="submit" class="primary">"Add webhook"</button></div>
                </ActionForm>
            </Allowed>
            {add_err}
            {if webhooks.is_empty() {
                view! { <p class="empty">"No webhooks yet."</p> }.into_any()
            } else {
                webhooks.into_iter().map(|(e, d)| view! { <Endpoint e d /> }).collect_view().into_any()
            }}
        </section>
    }
}

#[component]
fn Endpoint(e: WebhookEndpoint, d: Vec<WebhookDelivery>) -> impl IntoView {
    let (remove, rotate, retry, again) = (
        ServerAction::<RemoveWebhook>::new(),
        ServerAction::<RotateWebhook>::new(),
        ServerAction::<RetryWebhook>::new(),
        ServerAction::<SendAgain>::new(),
    );
    let errors = (action_error(remove), action_error(rotate), action_error(retry), action_error(again));
    let status = match (&e.failing_since, &e.last_error) {
        (Some(since), Some(err)) => view! {
            <p class="error" role="status" data-testid="webhook-status">
                {format!("Failing since {} ({} attempts): {err}. Next retry {}.", human_time(*since), e.attempt, human_time(e.next_attempt_at))}
            </p>
        }.into_any(),
        (_, Some(err)) => view! { <p class="muted" data-testid="webhook-status">{format!("Delivering. Last problem: {err}")}</p> }.into_any(),
        _ => view! { <p class="muted" data-testid="webhook-status">"Delivering; no failures."</p> }.into_any(),
    };
    let rotating = e.previous_secret_until.map(|u| format!(" The previous secret also signs until {}.", human_time(u)));
    let (id_retry, id_rotate, id_remove, id_rows) = (e.id.clone(), e.id.clone(), e.id.clone(), e.id.clone());
    let (remove_label, caption) = (format!("Remove webhook {}", e.url), format!("Recent deliveries to {}", e.url));
    let about = format!("{} · events {} · added {}.", e.id, e.event_types.join(", "), human_time(e.created_at));
    view! {
        <article class="card" aria-label=format!("Webhook {}", e.url)>
            <h3><code>{e.url.clone()}</code></h3>
            <p class="muted">{about}{rotating}</p>
            {status}
            {errors.0}{errors.1}{errors.2}{errors.3}
            <div class="row">
                {e.failing_since.is_some().then(|| view! {
                    <Allowed action=Action::Integrations>
                        {let id = id_retry.clone();
                        view! {
                        <ActionForm action=retry attr:class="inline">
                            <input type="hidden" name="id" value=id />
                            <button type="submit">"Retry now"</button>
                        </ActionForm>
                        }}
                    </Allowed>
                })}
                <Allowed action=Action::Integrations>
                    {let id = id_rotate.clone();
                    view! {
                    <ActionForm action=rotate attr:class="inline">
                        <input type="hidden" name="id" value=id />
                        <button type="submit">"Rotate secret"</button>
                    </ActionForm>
                    }}
                </Allowed>
                <Allowed action=Action::Integrations>
                    <DangerForm action=remove fields=vec![("id", id_remove.clone())] confirm="Confirm" button="Remove" label=remove_label.clone() />
                </Allowed>
            </div>
            {if d.is_empty() {
                view! { <p class="empty">"No deliveries yet."</p> }.into_any()
            } else {
                view! {
                    <table class="deliveries">
                        <caption class="sr-only">{caption}</caption>
                        <thead><tr><th scope="col">"When"</th><th scope="col">"Event"</th><th scope="col">"Attempt"</th><th scope="col">"Result"</th><th scope="col">"Time"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
                        <tbody>
                            {d.into_iter().map(|d| {
                                let id = id_rows.clone();
                                let outcome = d.outcome.as_str();
                                let result = match (d.status, d.outcome) {
                                    (Some(s), DeliveryOutcome::Delivered | DeliveryOutcome::Resent) if (200..300).contains(&s) => format!("{outcome} · HTTP {s}"),
                                    _ => format!("{outcome} · {}", d.error),
                                };
                                let ok = d.status.is_some_and(|s| (200..300).contains(&s));
                                view! {
                                    <tr>
                                        <td>{human_time(d.at)}</td>
                                        <td><code>{d.event_type.clone()}</code><br /><span class="muted">{d.event_id.clone()}</span></td>
                                        <td>{if d.attempt == 0 { "manual".to_owned() } else { d.attempt.to_string() }}</td>
                                        <td><span class=if ok { "badge ok" } else { "badge off" }>{result}</span></td>
                                        <td>{format!("{} ms", d.duration_ms)}</td>
                                        <td>
                                            <Allowed action=Action::Integrations>
                                                {let (id, seq, label) = (id.clone(), d.event_seq.to_string(), format!("Send again {}", d.event_id));
                                                view! {
                                                <ActionForm action=again attr:class="inline">
                                                    <input type="hidden" name="id" value=id />
                                                    <input type="hidden" name="event_seq" value=seq />
                                                    <button type="submit" aria-label=label>"Send again"</button>
                                                </ActionForm>
                                                }}
                                            </Allowed>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </article>
    }
}
