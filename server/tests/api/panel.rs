//! The panel over HTTP, as a browser without JavaScript uses it: pages render on the server and every form posts to
//! the same server functions (and so the same services) a hydrated page calls.
use crate::helpers::{TestApp, okta_user, spawn_app};
use reqwest::StatusCode;
use serde_json::json;

/// Posts a form and follows its redirect once, returning the page it lands on.
async fn submit(app: &TestApp, path: &str, fields: &[(&str, &str)], from: &str) -> (String, String) {
    let r = app.form(path, fields, from).await;
    assert_eq!(r.status(), StatusCode::FOUND, "{path} answers with a redirect");
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    let to = to.strip_prefix(&app.base).unwrap_or(&to).to_owned();
    let (_, html) = app.page(&to).await;
    (to, html)
}

#[tokio::test]
async fn an_idp_user_shows_the_badge_without_edit_controls_and_a_crafted_edit_is_refused() {
    let app = spawn_app().await;
    let id = app.user_id("ada@example.com").await;
    app.sign_in().await;
    let (status, html) = app.page("/users").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("ada@example.com") && html.contains("Managed by Okta"), "{html}");
    let (_, html) = app.page(&format!("/users/{id}")).await;
    assert!(html.contains("Managed by Okta"));
    assert!(
        html.contains("disabled") && html.contains("edit it in Okta"),
        "the control is disabled with the reason: {html}"
    );
    // A request crafted against the panel's endpoint is refused by the service, whatever the page showed.
    let (to, html) =
        submit(&app, "/api/user_active", &[("id", &id), ("active", "false")], &format!("/users/{id}")).await;
    assert!(to.contains("__err"), "{to}");
    assert!(html.contains("read-only"), "{html}");
    assert_eq!(app.get(&format!("/Users/{id}")).await.body["active"], json!(true));
}

#[tokio::test]
async fn with_scim_off_an_admin_adds_and_removes_members_of_an_idp_group() {
    let app = spawn_app().await;
    let ada = app.user_id("ada@example.com").await;
    let bob = app.user_id("bob@example.com").await;
    let group = app.group_id("Engineering", &[&ada]).await;
    app.sign_in().await;
    let page = format!("/groups/{group}");
    let (to, _) = submit(&app, "/api/group_add_member", &[("id", &group), ("user_id", &bob)], &page).await;
    assert!(to.contains("__err"), "read-only while SCIM is on");

    app.set_scim(false).await;
    let (_, html) = app.page(&format!("{page}?find=bob")).await;
    assert!(html.contains("Add bob@example.com"), "the picker finds bob: {html}");
    let (to, html) = submit(&app, "/api/group_add_member", &[("id", &group), ("user_id", &bob)], &page).await;
    assert_eq!(to, page);
    assert!(html.contains("Member added.") && html.contains("bob@example.com"), "{html}");
    let (_, html) = submit(&app, "/api/group_remove_member", &[("id", &group), ("user_id", &ada)], &page).await;
    assert!(html.contains("Member removed."));
    let members = app.services.groups.get_with_members(&roster::model::GroupId(group.clone())).await.unwrap().1;
    assert_eq!(members.iter().map(|m| m.user_name.as_str()).collect::<Vec<_>>(), ["bob@example.com"]);
}

#[tokio::test]
async fn local_groups_stay_editable_while_scim_is_on() {
    let app = spawn_app().await;
    let ada = app.user_id("ada@example.com").await;
    app.sign_in().await;
    let (to, html) = submit(&app, "/api/group_create", &[("name", "Contractors")], "/groups").await;
    assert!(to.starts_with("/groups/") && html.contains("Contractors") && html.contains("Local"), "{html}");
    let group = to.trim_start_matches("/groups/").to_owned();
    let (_, html) = submit(&app, "/api/group_add_member", &[("id", &group), ("user_id", &ada)], &to).await;
    assert!(html.contains("Member added."), "{html}");
    let (_, html) = submit(&app, "/api/group_rename", &[("id", &group), ("name", "Vendors")], &to).await;
    assert!(html.contains("Vendors"));
    let (to, _) = submit(&app, "/api/group_delete", &[("id", &group)], &to).await;
    assert!(to.contains("__err"), "deleting needs the confirmation box");
    let (to, html) =
        submit(&app, "/api/group_delete", &[("id", &group), ("confirm", "yes")], &format!("/groups/{group}")).await;
    assert_eq!(to, "/groups");
    assert!(html.contains("Group deleted."));
    assert_eq!(
        app.get(&format!("/Users/{ada}")).await.body["active"],
        json!(true),
        "an admin's delete deactivates no one"
    );
}

#[tokio::test]
async fn a_token_is_shown_once_and_revoking_it_locks_the_idp_out() {
    let app = spawn_app().await;
    app.sign_in().await;
    let (to, html) = submit(&app, "/api/token_create", &[("name", "Entra ID")], "/scim").await;
    assert_eq!(to, "/scim");
    let token = html.split("id=\"new-token\">").nth(1).and_then(|s| s.split('<').next()).unwrap().to_owned();
    assert!(token.starts_with("roster_scim_"), "{token}");
    assert!(html.contains("shown only once"));
    let (_, again) = app.page("/scim").await;
    assert!(!again.contains(&token), "the token is never shown again");
    assert!(again.contains("Entra ID"));
    let client = reqwest::Client::new();
    let ok = client.get(format!("{}/Users", app.scim)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let (_, html) = submit(&app, "/api/token_revoke", &[("name", "Entra ID")], "/scim").await;
    assert!(html.contains("revoked"), "{html}");
    let denied = client.get(format!("{}/Users", app.scim)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_seat_meter_and_the_no_seat_message_for_a_local_user() {
    let app = spawn_app().await;
    app.set_seats(1).await;
    app.sign_in().await;
    let (to, _) = submit(
        &app,
        "/api/user_create",
        &[("email", "a@example.com"), ("given_name", "A"), ("family_name", "B")],
        "/users/new",
    )
    .await;
    let a = to.trim_start_matches("/users/").to_owned();
    let (_, html) = app.page("/").await;
    assert!(html.contains("<strong>1</strong> of <strong>1</strong> seats in use"), "{html}");
    let (_, html) = submit(&app, "/api/user_active", &[("id", &a), ("active", "false")], &to).await;
    assert!(html.contains("is now inactive"), "{html}");
    app.create_user("okta@example.com").await; // takes the seat
    let (to, html) = submit(&app, "/api/user_active", &[("id", &a), ("active", "true")], &format!("/users/{a}")).await;
    assert!(to.contains("__err"));
    assert!(html.contains("No free seats: 1 of 1 in use."), "the same message as over SCIM: {html}");
    let (_, html) = submit(&app, "/api/seats_set", &[("seats", "0")], "/licence").await;
    assert!(html.contains("cannot go below 1 seats"), "lowering below use is refused: {html}");
}

#[tokio::test]
async fn the_log_finds_the_entry_quoted_in_a_failed_push() {
    let app = spawn_app().await;
    app.set_seats(0).await;
    let r = app.post("/Users", okta_user("nora@example.com")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let n: i64 = r.detail().rsplit('#').next().unwrap().trim_end_matches(')').parse().unwrap();
    app.sign_in().await;
    let (_, html) = app.page(&format!("/log?q=%23{n}")).await;
    assert!(html.contains(&format!("/log/{n}")) && html.contains("No free seats"), "{html}");
    let (_, html) = app.page(&format!("/log/{n}")).await;
    assert!(html.contains("Log entry #") && html.contains("No free seats: 0 of 0 in use"), "{html}");
    assert!(html.contains("127.0.0.1 · "), "where the push came from: {html}");
    let hash = app.services.settings.log_entry(roster::model::LogEntryId(n)).await.unwrap().hash.unwrap();
    assert!(html.contains(&hash), "the entry's chain hash: {html}");
    let (_, html) = app.page("/log?status=no_seats").await;
    assert!(html.contains("POST"), "{html}");
    let (_, html) = app.page("/").await;
    assert!(
        html.contains("1<!> IdP pushes refused") || html.contains("1 IdP pushes refused"),
        "dashboard counts it: {html}"
    );
}

#[tokio::test]
async fn every_page_renders_for_a_signed_in_admin_and_empty_states_say_what_to_do() {
    let app = spawn_app().await;
    app.sign_in().await;
    for (path, needle) in [
        ("/users", "Connect Okta or Entra ID"),
        ("/users/new", "Add a local user"),
        ("/groups", "No groups yet"),
        ("/scim", "SCIM connector base URL"),
        ("/licence", "Every active user takes a seat"),
        ("/log", "Provisioning log"),
        ("/admins", "Change your password"),
    ] {
        let (status, html) = app.page(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains(needle), "{path} lacks {needle:?}");
    }
    let (_, html) = app.page("/scim").await;
    assert!(html.contains(&format!("{}/scim/v2", app.base)), "the base URL to paste:\n{html}");
}

#[tokio::test]
async fn admins_add_an_admin_and_change_their_own_password() {
    let app = spawn_app().await;
    app.sign_in().await;
    let (_, html) =
        submit(&app, "/api/admin_add", &[("email", "second@example.com"), ("password", "another long one")], "/admins")
            .await;
    assert!(html.contains("second@example.com can now sign in."));
    let (to, _) = submit(
        &app,
        "/api/password",
        &[("current", "wrong"), ("new", "a brand new passphrase"), ("repeat", "a brand new passphrase")],
        "/admins",
    )
    .await;
    assert!(to.contains("__err"));
    let (_, html) = submit(
        &app,
        "/api/password",
        &[
            ("current", "correct horse battery"),
            ("new", "a brand new passphrase"),
            ("repeat", "a brand new passphrase"),
        ],
        "/admins",
    )
    .await;
    assert!(html.contains("password has been changed"));
    assert!(app.services.admins.login("admin@example.com", "a brand new passphrase", "test").await.is_ok());
}

#[tokio::test]
async fn swapping_one_member_for_another_is_a_change_with_a_new_etag_and_a_log_entry() {
    let app = spawn_app().await;
    let (a, b) = (app.user_id("a@example.com").await, app.user_id("b@example.com").await);
    let g = app.group_id("Eng", &[&a]).await;
    let before = app.get(&format!("/Groups/{g}")).await.body["meta"]["version"].clone();
    let r = app
        .patch(
            &format!("/Groups/{g}"),
            json!([
                {"op": "remove", "path": format!("members[value eq \"{a}\"]")},
                {"op": "add", "path": "members", "value": [{"value": b}]}
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let after = app.get(&format!("/Groups/{g}")).await.body;
    assert_ne!(after["meta"]["version"], before);
    assert_eq!(after["members"][0]["value"], json!(b));
    let q = roster::model::LogQuery { target: Some(g.clone()), start_index: 1, count: 10, ..Default::default() };
    let events = app.services.settings.log(&q).await.unwrap();
    assert!(
        events.items.iter().any(|e| e.diff.contains("1 members removed") && e.diff.contains("1 members added")),
        "{:?}",
        events.items
    );
}

#[tokio::test]
async fn a_same_name_push_never_takes_over_another_idps_group() {
    let app = spawn_app().await;
    app.group_id("Engineering", &[]).await; // pushed by "Okta"
    let (_, entra) = app
        .services
        .tokens
        .create(&roster::service::Ctx::cli("test"), roster::model::TokenKind::Scim, "Entra ID")
        .await
        .unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/Groups", app.scim))
        .bearer_auth(entra)
        .header("Content-Type", "application/scim+json")
        .body(json!({"displayName": "engineering", "members": []}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // The same IdP pushing again (a retry) adopts it: 201, same group.
    let again = app.post("/Groups", json!({"displayName": "ENGINEERING", "members": []})).await;
    assert_eq!(again.status, StatusCode::CREATED);
}

#[tokio::test]
async fn the_user_page_reads_as_labelled_fields_with_the_raw_json_behind_a_disclosure() {
    let app = spawn_app().await;
    app.sign_in().await;
    let mut body = okta_user("grace@example.com");
    body["schemas"] = json!([
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    ]);
    body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] = json!({"department": "Navy", "employeeNumber": "1906", "manager": {"value": "m-1", "displayName": "Ada Lovelace"}});
    let created = app.post("/Users", body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap();
    let (status, html) = app.page(&format!("/users/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    for shown in [
        ">Email<",
        ">grace@example.com (work, primary)<",
        ">Department<",
        ">Navy<",
        ">Employee number<",
        ">1906<",
        ">Manager<",
        ">Ada Lovelace<",
        "<details",
    ] {
        assert!(html.contains(shown), "{shown} in {html}");
    }
    assert!(!html.contains("EMAILS[0]") && !html.contains("emails[0].primary"), "no raw paths as labels");
}
