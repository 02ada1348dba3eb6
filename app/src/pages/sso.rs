//! Single sign-on (owners): the values to register at the provider, with copy-ready settings for an Okta OIDC app and
//! an Entra ID app registration, the provider roster uses, which groups give which role, and the require switch.
use crate::api::sso::{MapGroup, RequireSso, SetSso, SsoPage, UnmapGroup, get_sso};
use crate::components::page::{Loaded, PageShell};
use crate::components::widgets::action_error;
use leptos::prelude::*;
use roster::model::Role;

#[component]
pub fn SsoSettingsPage() -> impl IntoView {
    let data = Resource::new_blocking(|| (), |_| get_sso());
    view! {
        <PageShell title="Single sign-on">
            <Loaded data show=|p: SsoPage| view! { <SsoView p /> } />
        </PageShell>
    }
}

#[component]
fn SsoView(p: SsoPage) -> impl IntoView {
    let (set, map, unmap, require) = (
        ServerAction::<SetSso>::new(),
        ServerAction::<MapGroup>::new(),
        ServerAction::<UnmapGroup>::new(),
        ServerAction::<RequireSso>::new(),
    );
    let errors = (action_error(set), action_error(map), action_error(unmap), action_error(require));
    let s = p.settings.clone();
    let (issuer, client_id, label, claim, scopes) = s
        .as_ref()
        .map(|s| (s.issuer.clone(), s.client_id.clone(), s.label.clone(), s.groups_claim.clone(), s.scopes.join(" ")))
        .unwrap_or_else(|| (String::new(), String::new(), "Okta".into(), "groups".into(), "groups".into()));
    let required = s.as_ref().is_some_and(|s| s.required);
    let roles = s.as_ref().map(|s| s.roles.clone()).unwrap_or_default();
    view! {
        <section class="grid">
            <article class="card">
                <h2>"Okta: an OIDC web app"</h2>
                <dl class="settings">
                    <dt>"Sign-in redirect URI"</dt><dd><code data-testid="redirect-uri">{p.redirect_uri.clone()}</code></dd>
                    <dt>"Sign-out redirect URI"</dt><dd><code>{p.post_logout_uri.clone()}</code></dd>
                    <dt>"Initiate login URI"</dt><dd><code>{p.login_uri.clone()}</code></dd>
                    <dt>"Grant type"</dt><dd>"Authorization Code; client authentication: client secret"</dd>
                    <dt>"Groups claim"</dt><dd>"Sign On tab, OpenID Connect ID Token: type Filter, name "<code>"groups"</code>", Matches regex "<code>".*"</code></dd>
                    <dt>"Issuer"</dt><dd><code>"https://<your Okta domain>"</code></dd>
                </dl>
            </article>
            <article class="card">
                <h2>"Entra ID: an app registration"</h2>
                <dl class="settings">
                    <dt>"Redirect URI (Web)"</dt><dd><code>{p.redirect_uri.clone()}</code></dd>
                    <dt>"Front-channel logout URL"</dt><dd><code>{p.post_logout_uri.clone()}</code></dd>
                    <dt>"Client secret"</dt><dd>"Certificates & secrets, New client secret: its Value"</dd>
                    <dt>"Groups claim"</dt><dd>"Token configuration, Add groups claim: Security groups (map their object ids below)"</dd>
                    <dt>"Issuer"</dt><dd><code>"https://login.microsoftonline.com/<tenant id>/v2.0"</code></dd>
                </dl>
            </article>
        </section>
        <section class="card">
            <h2>"The provider"</h2>
            <ActionForm action=set>
                <label for="issuer">"Issuer URL"</label>
                <input id="issuer" name="issuer" type="url" required value=issuer placeholder="https://example.okta.com" />
                <label for="client_id">"Client ID"</label>
                <input id="client_id" name="client_id" required value=client_id autocomplete="off" />
                <label for="client_secret">"Client secret"</label>
                <input id="client_secret" name="client_secret" type="password" required autocomplete="off"
                    placeholder=if s.is_some() { "stored; enter it again to change anything" } else { "" } />
                <label for="label">"Button label (Sign in with …)"</label>
                <input id="label" name="label" value=label />
                <label for="groups_claim">"Groups claim"</label>
                <input id="groups_claim" name="groups_claim" required value=claim />
                <label for="scopes">"Extra scopes (beyond openid email profile)"</label>
                <input id="scopes" name="scopes" value=scopes />
                {errors.0}
                <button type="submit" class="primary">"Save"</button>
            </ActionForm>
            <p class="muted">"The client secret is never shown again, and is sealed at rest when a key file is set."</p>
        </section>
        <section class="card">
            <h2>"Groups and roles"</h2>
            <p class="muted">"At every sign-in, the provider's groups decide the role; with several, the highest wins. \
                An account none of whose groups is here is refused."</p>
            {errors.1}{errors.2}
            <table>
                <thead><tr><th scope="col">"Group"</th><th scope="col">"Role"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
                <tbody>{roles.into_iter().map(|(group, role)| view! {
                    <tr>
                        <td><code>{group.clone()}</code></td>
                        <td>{role.as_str()}</td>
                        <td>
                            <ActionForm action=unmap attr:class="inline">
                                <input type="hidden" name="group" value=group.clone() />
                                <button type="submit" class="danger" aria-label=format!("Unmap {group}")>"Unmap"</button>
                            </ActionForm>
                        </td>
                    </tr>
                }).collect_view()}</tbody>
            </table>
            <ActionForm action=map attr:class="row">
                <div>
                    <label for="group">"Group"</label>
                    <input id="group" name="group" required placeholder="roster-admins" />
                </div>
                <div>
                    <label for="role">"Role"</label>
                    <select id="role" name="role">
                        {Role::ALL.into_iter().map(|r| view! { <option value=r.as_str() selected=r == Role::Admin>{r.as_str()}</option> }).collect_view()}
                    </select>
                </div>
                <div class="grow-0"><button type="submit">"Map"</button></div>
            </ActionForm>
        </section>
        <section class="card">
            <h2>"Require single sign-on"</h2>
            <p data-testid="sso-required">{if required { "Required: only break-glass admins may sign in with a password." } else { "Not required: admins may also sign in with a password." }}</p>
            <ActionForm action=require>
                <input type="hidden" name="on" value=(!required).to_string() />
                <label class="check"><input type="checkbox" name="confirm" value="yes" required />" I understand"</label>
                {errors.3}
                <button type="submit" class=if required { "" } else { "danger" }>{if required { "Allow passwords again" } else { "Require single sign-on" }}</button>
            </ActionForm>
            <p class="muted">"Add a break-glass admin first (roster admin create --break-glass): the way in when the provider is down."</p>
        </section>
    }
}
