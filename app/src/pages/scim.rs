//! SCIM settings: the switch (with what it changes), the values to paste into Okta, and tokens.
use crate::api::scim::{CreateToken, ReleaseIdp, RevokeToken, SetScim, get_scim_settings};
use crate::components::layout::Allowed;
use crate::components::page::{DangerForm, Loaded, PageShell};
use crate::components::widgets::{ShownOnce, action_error, token_table};
use leptos::prelude::*;
use roster::model::ScimSettings;
use roster::rules::roles::Action;

#[component]
pub fn ScimPage() -> impl IntoView {
    let data = Resource::new_blocking(|| (), |_| get_scim_settings());
    view! {
        <PageShell title="SCIM settings" no_heading=true>
            <h1>"SCIM provisioning"</h1>
            <Loaded data show={move |s: ScimSettings| view! { <ScimView s /> }} />
        </PageShell>
    }
}

#[component]
fn ScimView(s: ScimSettings) -> impl IntoView {
    let (switch, create, revoke) =
        (ServerAction::<SetScim>::new(), ServerAction::<CreateToken>::new(), ServerAction::<RevokeToken>::new());
    let (switch_err, create_err, revoke_err) = (action_error(switch), action_error(create), action_error(revoke));
    let release = ServerAction::<ReleaseIdp>::new();
    let release_err = action_error(release);
    let on = s.enabled;
    let drift: Vec<String> = s.drift.iter().map(|d| d.describe()).collect();
    let warning_lines = (!on && !drift.is_empty()).then(|| drift.clone());
    let drift_warning = move || {
        warning_lines.clone().map(|lines| view! {
            <div class="notice" data-testid="drift-confirm">
                <p><strong>"The IdP's next Push now will undo these changes made here while SCIM was off:"</strong></p>
                <ul class="drift">{lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
            </div>
        })
    };
    let consequence = if on {
        "Turning SCIM off: every request from Okta or Entra gets 403 and changes nothing, and admins can edit every \
         user and group here, including those synced from the IdP. No data changes."
    } else {
        "Turning SCIM on: the IdP can create, update and deactivate users and push groups, and users and groups it \
         manages become read-only here. No data changes; run Okta's \"Push now\" afterwards to overwrite groups with the IdP's data."
    };
    view! {
        {s.new_token.clone().map(|token| view! {
            <ShownOnce token heading="Your new token" hint="Paste it into your IdP now. roster keeps only its hash, so it cannot show it again." />
        })}
        <section class="grid">
            <article class="card">
                <h2>"Status"</h2>
                <p class="big" data-testid="scim-status">{if on { "On" } else { "Off" }}</p>
                <Allowed action=Action::Integrations>
                    {let drift_warning = drift_warning.clone();
                    view! {
                    <ActionForm action=switch>
                        <input type="hidden" name="enabled" value=(!on).to_string() />
                        <p class="muted">{consequence}</p>
                        {drift_warning}
                        <label class="check"><input type="checkbox" name="confirm" value="yes" required />" I understand"</label>
                        {switch_err}
                        <button type="submit" class=if on { "danger" } else { "primary" }>{if on { "Turn SCIM off" } else { "Turn SCIM on" }}</button>
                    </ActionForm>
                    }}
                </Allowed>
            </article>
            <article class="card">
                <h2>"Okta settings to paste"</h2>
                <dl class="settings">
                    <dt>"SCIM connector base URL"</dt><dd><code data-testid="scim-base">{s.base_url.clone()}</code></dd>
                    <dt>"Unique identifier field for users"</dt><dd><code>"userName"</code></dd>
                    <dt>"Supported provisioning actions"</dt>
                    <dd>"Import New Users and Profile Updates, Push New Users, Push Profile Updates, Push Groups"</dd>
                    <dt>"Authentication Mode"</dt><dd>"HTTP Header: "<code>"Bearer <token>"</code>" (create a token below)"</dd>
                    <dt>"To App"</dt><dd>"Create Users, Update User Attributes, Deactivate Users"</dd>
                </dl>
                <p class="muted">"Entra ID: Tenant URL "<code>{s.base_url}</code>", Secret Token: a token below."</p>
            </article>
        </section>
        {(!drift.is_empty()).then(|| view! {
            <section class="card" aria-labelledby="drift-h" data-testid="drift">
                <h2 id="drift-h">"Changed here since SCIM was turned off"</h2>
                <p class="muted">"Admins changed the membership of groups an IdP manages. Once SCIM is back on, the \
                   IdP's next Push now overwrites these groups and undoes the changes; the log entry of that push lists \
                   exactly which."</p>
                <ul class="drift">{drift.clone().into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
            </section>
        })}
        <section class="card">
            <h2>"Tokens"</h2>
            <Allowed action=Action::Integrations>
                <ActionForm action=create attr:class="row">
                    <div>
                        <label for="token-name">"Name"</label>
                        <input id="token-name" name="name" required placeholder="Okta" />
                    </div>
                    <div class="grow-0"><button type="submit" class="primary">"Create token"</button></div>
                </ActionForm>
            </Allowed>
            {create_err}
            {revoke_err}
            {if s.tokens.is_empty() {
                view! { <p class="empty">"No tokens yet. Create one, then paste it into Okta as the Authorization header."</p> }.into_any()
            } else {
                token_table(s.tokens, move |name| view! {
                    <Allowed action=Action::Integrations>
                        {let (name, label) = (name.clone(), format!("Revoke {name}"));
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
        <section class="card">
            <h2>"Objects managed by an IdP"</h2>
            <p class="muted">"Each IdP owns the users and groups it created or adopted, by the name of its token; another \
               IdP's writes to them get 403. Releasing makes an IdP's objects local: editable here, and adopted by the \
               next IdP that pushes them."</p>
            {release_err}
            {if s.idps.is_empty() {
                view! { <p class="empty">"No IdP manages any user or group yet."</p> }.into_any()
            } else {
                view! {
                    <table>
                        <thead><tr><th scope="col">"IdP"</th><th scope="col">"Users"</th><th scope="col">"Groups"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
                        <tbody>
                            {s.idps.into_iter().map(|i| view! {
                                <tr>
                                    <td>{i.idp.clone()}</td>
                                    <td>{i.users}</td>
                                    <td>{i.groups}</td>
                                    <td>
                                        <Allowed action=Action::Integrations>
                                            <DangerForm action=release fields=vec![("name", i.idp.clone())] confirm="Make local"
                                                button="Release" label=format!("Release the objects of {}", i.idp) />
                                        </Allowed>
                                    </td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}
