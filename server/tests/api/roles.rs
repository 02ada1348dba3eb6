//! Admin roles: every server function, called by every role, answers as the table in `src/rules/roles.rs` says, and a
//! refused call changes nothing. Also the rules around roles: the last owner stays one, and a role change applies at
//! the admin's next request.
use crate::helpers::{Receiver, TestApp, loopback_webhooks, okta_user, spawn_with};
use reqwest::StatusCode;
use roster::model::{GroupQuery, LogQuery, Role, TokenKind, UserQuery};
use roster::rules::roles::{Action, may};
use roster::service::Ctx;

/// A server function's form fields.
type Fields = Vec<(&'static str, String)>;

/// A server function called as the hydrated panel calls it (so a refusal answers with its status, not a redirect).
async fn call(http: &reqwest::Client, base: &str, endpoint: &str, fields: &[(&str, String)]) -> StatusCode {
    let req = http.post(format!("{base}/api/{endpoint}")).header("Origin", base);
    req.form(fields).send().await.expect("server function").status()
}

/// What a refused call must leave as it was: everything the panel can change, as JSON.
async fn everything(app: &TestApp) -> String {
    let s = &app.services;
    let log = s.settings.log(&LogQuery { count: 1000, ..Default::default() }).await.unwrap();
    let users = s.users.list(&UserQuery { count: 1000, ..Default::default() }).await.unwrap();
    let groups = s.groups.list_with_members(&GroupQuery { count: 1000, ..Default::default() }, true).await.unwrap();
    serde_json::json!({
        "log": log.total,
        "admins": s.admins.list().await.unwrap(),
        "scim_tokens": s.tokens.list(TokenKind::Scim).await.unwrap(),
        "api_tokens": s.tokens.list(TokenKind::Api).await.unwrap(),
        // Each endpoint's delivery state moves as the sender delivers: its address, events and secret's age are the
        // endpoint.
        "webhooks": s.webhooks.list().await.unwrap().into_iter()
            .map(|w| (w.id, w.url, w.event_types, w.previous_secret_until)).collect::<Vec<_>>(),
        "settings": s.settings.get().await.unwrap(),
        "sso": s.sso.settings().await.unwrap(),
        "users": users.items,
        "groups": groups.items,
    })
    .to_string()
}

#[tokio::test]
async fn every_server_function_answers_each_role_as_the_table_says_and_a_refusal_changes_nothing() {
    let app = spawn_with(loopback_webhooks).await;
    let receiver = Receiver::start().await;
    let cli = Ctx::cli("test");
    let s = &app.services;
    let user = s.users.create_local(&cli, "kept@example.com", "Kept", "User").await.unwrap().id.to_string();
    let group = s.groups.create_local(&cli, "Kept group").await.unwrap().id.to_string();
    let (hook, _) = s.webhooks.add(&cli, &receiver.url, "*").await.unwrap();
    let target = app.create_admin("target@example.com", "correct horse battery", Role::Auditor).await.unwrap();
    let entry = s.settings.log(&LogQuery { count: 1, ..Default::default() }).await.unwrap().items[0].id.0;
    let read_calls = crate::sessions::reads(&user, &group, entry);

    for role in Role::ALL {
        let panel = app.panel_with_role(role).await;
        let (http, base) = (panel.http.clone(), app.base.clone());
        // What each role gets to act on, made fresh so an allowed call succeeds whichever role came before.
        let r = role.as_str();
        let victim = app.create_admin(&format!("victim-{r}@example.com"), "correct horse battery", Role::Auditor).await;
        let doomed = s.groups.create_local(&cli, &format!("Doomed {r}")).await.unwrap().id.to_string();
        s.tokens.create(&cli, TokenKind::Api, &format!("revoke-api-{r}")).await.unwrap();
        s.tokens.create(&cli, TokenKind::Scim, &format!("revoke-scim-{r}")).await.unwrap();
        let (gone_hook, _) = s.webhooks.add(&cli, &format!("{}/{r}", receiver.url), "*").await.unwrap();
        s.sso.map(&cli, &format!("unmap-{r}"), Role::Auditor).await.unwrap();
        victim.unwrap();
        // A user Okta pushed, for "release Okta's objects".
        app.set_scim(true).await;
        assert_eq!(app.post("/Users", okta_user(&format!("idp-{r}@example.com"))).await.status, StatusCode::CREATED);
        app.set_scim(false).await;
        let v = |x: &str| x.to_owned();
        let calls: Vec<(&str, Fields, Action)> = vec![
            (
                "admin_add",
                vec![
                    ("email", format!("new-{r}@example.com")),
                    ("password", v("correct horse battery")),
                    ("role", v("auditor")),
                ],
                Action::Admins,
            ),
            (
                "admin_role",
                vec![
                    ("email", v("target@example.com")),
                    ("role", v(if role == Role::Owner { "helpdesk" } else { "admin" })),
                ],
                Action::Admins,
            ),
            ("admin_remove", vec![("email", format!("victim-{r}@example.com")), ("confirm", v("yes"))], Action::Admins),
            ("group_create", vec![("name", format!("Made by {r}"))], Action::Groups),
            ("group_rename", vec![("id", group.clone()), ("name", format!("Kept group ({r})"))], Action::Groups),
            ("group_delete", vec![("id", doomed.clone()), ("confirm", v("yes"))], Action::Groups),
            ("group_add_member", vec![("id", group.clone()), ("user_id", user.clone())], Action::LocalUsers),
            ("group_remove_member", vec![("id", group.clone()), ("user_id", user.clone())], Action::LocalUsers),
            (
                "user_create",
                vec![("email", format!("{r}-made@example.com")), ("given_name", v("New")), ("family_name", v(r))],
                Action::LocalUsers,
            ),
            ("user_active", vec![("id", user.clone()), ("active", v("false"))], Action::LocalUsers),
            ("user_active", vec![("id", user.clone()), ("active", v("true"))], Action::LocalUsers),
            ("api_token_create", vec![("name", format!("api-{r}"))], Action::Integrations),
            ("api_token_revoke", vec![("name", format!("revoke-api-{r}"))], Action::Integrations),
            ("token_create", vec![("name", format!("scim-{r}"))], Action::Integrations),
            ("token_revoke", vec![("name", format!("revoke-scim-{r}"))], Action::Integrations),
            ("scim_switch", vec![("enabled", v("false")), ("confirm", v("yes"))], Action::Integrations),
            ("idp_release", vec![("name", v("Okta")), ("confirm", v("yes"))], Action::Integrations),
            ("seats_set", vec![("seats", v("500"))], Action::Integrations),
            (
                "webhook_add",
                vec![("url", format!("{}/added-{r}", receiver.url)), ("events", v("*"))],
                Action::Integrations,
            ),
            ("webhook_rotate", vec![("id", hook.id.clone())], Action::Integrations),
            ("webhook_retry", vec![("id", hook.id.clone())], Action::Integrations),
            ("webhook_remove", vec![("id", gone_hook.id.clone()), ("confirm", v("yes"))], Action::Integrations),
            ("sso", vec![], Action::Admins),
            (
                "sso_set",
                vec![
                    ("issuer", v("https://idp.example.com")),
                    ("client_id", format!("roster-{r}")),
                    ("client_secret", v("secret")),
                    ("label", v("Okta")),
                    ("groups_claim", v("groups")),
                    ("scopes", v("groups")),
                ],
                Action::Admins,
            ),
            ("sso_map", vec![("group", format!("mapped-by-{r}")), ("role", v("helpdesk"))], Action::Admins),
            ("sso_unmap", vec![("group", format!("unmap-{r}"))], Action::Admins),
            ("sso_require", vec![("on", v("false")), ("confirm", v("yes"))], Action::Admins),
        ];
        for (endpoint, fields, action) in calls {
            let before = everything(&app).await;
            let status = call(&http, &base, endpoint, &fields).await;
            if may(role, action) {
                assert!(status.is_success() || status.is_redirection(), "{role} {endpoint}: {status}");
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{role} {endpoint}");
                assert_eq!(everything(&app).await, before, "{role} {endpoint} was refused but changed something");
            }
        }
        // "Send again" reaches out to a receiver: refused before it sends, for a role that may not.
        let again = call(&http, &base, "webhook_send_again", &[("id", hook.id.clone()), ("event_seq", v("1"))]).await;
        assert_eq!(again == StatusCode::FORBIDDEN, !may(role, Action::Integrations), "{role} send again: {again}");
        // Every role reads every page's data, and changes its own password.
        for (endpoint, fields) in &read_calls {
            assert_eq!(call(&http, &base, endpoint, fields).await, StatusCode::OK, "{role} reads {endpoint}");
        }
        let pw = [
            ("current", v("correct horse battery")),
            ("new", v("correct horse battery")),
            ("repeat", v("correct horse battery")),
        ];
        let status = call(&http, &base, "password", &pw).await;
        assert!(status.is_success() || status.is_redirection(), "{role} changes their password: {status}");
    }
    assert_eq!(s.admins.list().await.unwrap().iter().find(|a| a.id == target.id).unwrap().role, Role::Helpdesk);
}

#[tokio::test]
async fn the_panel_hides_what_a_role_may_not_use() {
    let app = spawn_with(|_| {}).await;
    let auditor = app.panel_with_role(Role::Auditor).await;
    let helpdesk = app.panel_with_role(Role::Helpdesk).await;
    let owner = app.panel_with_role(Role::Owner).await;
    let (_, html) = auditor.page("/users").await;
    assert!(html.contains("auditor") && !html.contains("Add a local user"), "auditor sees no way to add users: {html}");
    let (_, html) = helpdesk.page("/users").await;
    assert!(html.contains("Add a local user"), "helpdesk adds local users: {html}");
    let (_, html) = helpdesk.page("/scim").await;
    assert!(!html.contains("Create token") && !html.contains("Turn SCIM"), "helpdesk sees no SCIM controls");
    let (_, html) = helpdesk.page("/admins").await;
    assert!(!html.contains("Add admin"), "only owners add admins");
    let (_, html) = owner.page("/admins").await;
    assert!(html.contains("Add admin") && html.contains("Change the role of auditor@example.com"));
}

#[tokio::test]
async fn the_last_owner_stays_an_owner_and_a_new_role_applies_at_the_next_request() {
    let app = spawn_with(|_| {}).await;
    let cli = Ctx::cli("test");
    let owner = app.create_admin("owner@example.com", "correct horse battery", Role::Owner).await.unwrap();
    let demoted = app.services.admins.set_role(&cli, "owner@example.com", Role::Admin).await;
    assert!(matches!(demoted, Err(roster::Error::InvalidValue(m)) if m.contains("only owner")));
    let removed = app.services.admins.remove(&cli, "owner@example.com").await;
    assert!(removed.is_err(), "the only admin, and the only owner, stays");

    let admin = app.panel_with_role(Role::Admin).await;
    let http = admin.http.clone();
    let seats = [("seats", "50".to_owned())];
    assert!(call(&http, &app.base, "seats_set", &seats).await.is_success());
    app.services.admins.set_role(&cli, "admin@example.com", Role::Auditor).await.unwrap();
    assert_eq!(
        call(&http, &app.base, "seats_set", &seats).await,
        StatusCode::FORBIDDEN,
        "the same session, now an auditor"
    );
    // Another owner, then the first may step down.
    app.services.admins.set_role(&cli, "admin@example.com", Role::Owner).await.unwrap();
    let stepped = app.services.admins.set_role(&cli, "owner@example.com", Role::Auditor).await.unwrap();
    assert_eq!((stepped.id, stepped.role), (owner.id, Role::Auditor));
    let log = app.services.settings.log(&LogQuery { count: 50, ..Default::default() }).await.unwrap();
    assert!(log.items.iter().any(|e| e.diff == "role: owner → auditor"), "role changes are logged");
}
