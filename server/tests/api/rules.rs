//! The provisioning rules (docs/provisioning.md), seen from outside: who may edit what, the SCIM switch, seats, If-Match, the provisioning log,
//! passwords, and retries.
use crate::helpers::{Reply, TestApp, okta_user, sorted, spawn_app};
use reqwest::StatusCode;
use roster::Error;
use roster::model::LogQuery;
use roster::model::{GroupId, LogEntryId, Outcome, UserId};
use roster::service::Ctx;
use serde_json::{Value, json};

fn pathless(active: bool) -> Value {
    json!([{"op": "replace", "value": {"active": active}}])
}

fn add_members(ids: &[&str]) -> Value {
    let value: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    json!([{"op": "add", "path": "members", "value": value}])
}

/// Every provisioning-log entry, newest first.
async fn all_events(app: &TestApp) -> Vec<roster::model::LogEntry> {
    app.services.settings.log(&LogQuery { start_index: 1, count: 10_000, ..Default::default() }).await.unwrap().items
}

/// The log entry number a SCIM error detail ends with: `… (roster log #12)`.
fn log_number(r: &Reply) -> i64 {
    let detail = r.detail();
    let tail =
        detail.rsplit_once("(roster log #").map(|(_, t)| t).unwrap_or_else(|| panic!("no log number in {detail:?}"));
    let n = tail.strip_suffix(')').unwrap_or_else(|| panic!("detail must end with the log number: {detail:?}"));
    n.parse().unwrap_or_else(|_| panic!("not a number in {detail:?}"))
}

/// A request with `If-Match`.
async fn with_if_match(app: &TestApp, method: reqwest::Method, path: &str, body: Option<Value>, etag: &str) -> Reply {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", app.scim))
        .bearer_auth(&app.token)
        .header("If-Match", etag);
    if let Some(b) = body {
        req = req.header("Content-Type", "application/scim+json").body(b.to_string());
    }
    app.raw(req).await
}

fn patch_body(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

// ---- Ownership: IdP-managed objects are read-only in roster while SCIM is on ----

#[tokio::test]
async fn an_admin_cannot_deactivate_an_idp_managed_user_while_scim_is_on() {
    let app = spawn_app().await;
    let id = app.user_id("alice@okta.local").await;
    let panel = Ctx::panel(app.admin().await, "deactivate user");

    let r = app.services.users.set_active(&panel, &UserId(id.clone()), false).await;
    match r {
        Err(Error::ReadOnly { by, .. }) => assert_eq!(by, "Okta", "the error names the IdP"),
        other => panic!("expected ReadOnly, got {other:?}"),
    }
    assert!(app.is_active(&id).await, "nothing changed");
    let access = app.services.users.detail(&panel.actor, &UserId(id)).await.unwrap().access;
    assert!(!access.can_edit, "the panel shows the same decision");
}

#[tokio::test]
async fn an_admin_cannot_change_members_of_an_idp_managed_group_while_scim_is_on() {
    let app = spawn_app().await;
    let alice = app.user_id("alice@okta.local").await;
    let bob = app.user_id("bob@okta.local").await;
    let group = app.group_id("Engineering", &[&alice]).await;
    let panel = Ctx::panel(app.admin().await, "edit group");
    let gid = GroupId(group.clone());

    let add = app.services.groups.add_members(&panel, &gid, vec![bob.clone()]).await;
    assert!(matches!(add, Err(Error::ReadOnly { .. })), "{add:?}");
    let remove = app.services.groups.remove_members(&panel, &gid, vec![alice.clone()]).await;
    assert!(matches!(remove, Err(Error::ReadOnly { .. })), "{remove:?}");
    let rename = app.services.groups.rename(&panel, &gid, "Renamed").await;
    assert!(matches!(rename, Err(Error::ReadOnly { .. })), "{rename:?}");
    let delete = app.services.groups.delete(&panel, &gid, None).await;
    assert!(matches!(delete, Err(Error::ReadOnly { .. })), "{delete:?}");

    assert_eq!(app.member_ids(&group).await, sorted(&[&alice]));
    assert_eq!(app.fetch(&format!("/Groups/{group}")).await["displayName"], "Engineering");
}

#[tokio::test]
async fn local_groups_stay_editable_while_scim_is_on() {
    let app = spawn_app().await;
    let alice = app.user_id("alice@okta.local").await;
    let panel = Ctx::panel(app.admin().await, "edit group");
    let local = app.services.groups.create_local(&panel, "Local Team").await.unwrap();

    let g = app.services.groups.add_members(&panel, &local.id, vec![alice.clone()]).await.unwrap();
    assert_eq!(g.member_count, 1);
    assert_eq!(app.member_ids(local.id.as_str()).await, sorted(&[&alice]));
    app.services.groups.rename(&panel, &local.id, "Local Team 2").await.unwrap();
    let g = app.services.groups.remove_members(&panel, &local.id, vec![alice.clone()]).await.unwrap();
    assert_eq!(g.member_count, 0);
    assert_eq!(app.fetch(&format!("/Groups/{}", local.id)).await["displayName"], "Local Team 2");

    let local_user = app.services.users.create_local(&panel, "local@example.com", "Lo", "Cal").await.unwrap();
    let u = app.services.users.set_active(&panel, &local_user.id, false).await.unwrap();
    assert!(!u.active, "local users stay editable too");
}

#[tokio::test]
async fn with_scim_off_admins_can_add_and_remove_members_of_idp_groups() {
    let app = spawn_app().await;
    let alice = app.user_id("alice@okta.local").await;
    let bob = app.user_id("bob@okta.local").await;
    let group = app.group_id("Engineering", &[&alice]).await;
    let panel = Ctx::panel(app.admin().await, "edit group");
    let gid = GroupId(group.clone());
    app.set_scim(false).await;

    app.services.groups.add_members(&panel, &gid, vec![bob.clone()]).await.unwrap();
    app.services.groups.remove_members(&panel, &gid, vec![alice.clone()]).await.unwrap();
    let (_, members) = app.services.groups.get_with_members(&gid).await.unwrap();
    let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, vec![bob.as_str()]);
    let u = app.services.users.set_active(&panel, &UserId(alice.clone()), false).await.unwrap();
    assert!(!u.active, "IdP users are editable too while SCIM is off");
}

#[tokio::test]
async fn a_user_the_idp_deactivated_is_not_revived_by_a_group_add() {
    let app = spawn_app().await;
    let alice = app.user_id("alice@okta.local").await;
    app.patch(&format!("/Users/{alice}"), pathless(false)).await;
    let group = app.group_id("Engineering", &[]).await;

    let r = app.patch(&format!("/Groups/{group}"), add_members(&[&alice])).await;
    assert!(r.status.is_success(), "{:?}", r.body);
    assert_eq!(app.member_ids(&group).await, sorted(&[&alice]));
    assert!(!app.is_active(&alice).await, "only users who lost their last group come back on a group add");
}

// ---- The SCIM switch ----

#[tokio::test]
async fn with_scim_disabled_every_scim_request_is_403_saying_so_and_nothing_changes() {
    let app = spawn_app().await;
    let alice = app.user_id("alice@okta.local").await;
    let group = app.group_id("Engineering", &[&alice]).await;
    let user_before = app.fetch(&format!("/Users/{alice}")).await;
    let group_before = app.fetch(&format!("/Groups/{group}")).await;
    app.set_scim(false).await;

    let u = format!("/Users/{alice}");
    let g = format!("/Groups/{group}");
    let replies = vec![
        ("GET /Users", app.get("/Users").await),
        ("GET /Users/{id}", app.get(&u).await),
        ("POST /Users", app.create_user("new@okta.local").await),
        ("PUT /Users/{id}", app.put(&u, json!({"userName": "renamed@okta.local", "active": false})).await),
        ("PATCH /Users/{id}", app.patch(&u, pathless(false)).await),
        ("DELETE /Users/{id}", app.delete(&u).await),
        ("GET /Groups", app.get("/Groups").await),
        ("POST /Groups", app.post("/Groups", json!({"displayName": "New"})).await),
        ("PUT /Groups/{id}", app.put(&g, json!({"displayName": "Renamed", "members": []})).await),
        ("PATCH /Groups/{id}", app.patch(&g, json!([{"op": "replace", "path": "members", "value": []}])).await),
        ("DELETE /Groups/{id}", app.delete(&g).await),
        ("GET /ServiceProviderConfig", app.get("/ServiceProviderConfig").await),
        ("GET /Schemas", app.get("/Schemas").await),
        ("GET /ResourceTypes", app.get("/ResourceTypes").await),
    ];
    for (what, r) in &replies {
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{what}: {:?}", r.body);
        assert!(r.detail().contains("SCIM provisioning is disabled"), "{what}: {}", r.detail());
        assert_eq!(r.body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]), "{what}");
    }

    let user = app.services.users.get(&UserId(alice.clone())).await.unwrap();
    assert!(user.active && user.user_name == "alice@okta.local", "{user:?}");
    assert_eq!(app.services.users.list(&Default::default()).await.unwrap().total, 1);
    let (g_now, members) = app.services.groups.get_with_members(&GroupId(group.clone())).await.unwrap();
    assert_eq!(g_now.display_name, "Engineering");
    assert_eq!(members.len(), 1);
    assert_eq!(app.services.groups.list(&Default::default()).await.unwrap().total, 1);

    app.set_scim(true).await;
    assert_eq!(app.fetch(&u).await, user_before, "enabling again changes no data, not even the version");
    assert_eq!(app.fetch(&g).await, group_before);
}

#[tokio::test]
async fn re_enabling_scim_keeps_admin_edits_until_okta_pushes_again() {
    let app = spawn_app().await;
    let alice = app.user_id("alice@okta.local").await;
    let bob = app.user_id("bob@okta.local").await;
    let group = app.group_id("Engineering", &[&alice]).await;
    let panel = Ctx::panel(app.admin().await, "edit group");
    app.set_scim(false).await;
    app.services.groups.add_members(&panel, &GroupId(group.clone()), vec![bob.clone()]).await.unwrap();

    app.set_scim(true).await;
    assert_eq!(app.member_ids(&group).await, sorted(&[&alice, &bob]), "turning SCIM on changes nothing by itself");

    let push_now = app
        .patch(&format!("/Groups/{group}"), json!([{"op": "replace", "path": "members", "value": [{"value": alice}]}]))
        .await;
    assert!(push_now.status.is_success(), "{:?}", push_now.body);
    assert_eq!(app.member_ids(&group).await, sorted(&[&alice]), "Push now overwrites the group with Okta's data");
}

// ---- Seats ----

#[tokio::test]
async fn activation_at_the_seat_limit_is_refused_by_post_put_and_patch() {
    let app = spawn_app().await;
    app.set_seats(1).await;
    app.user_id("first@okta.local").await;
    let mut inactive = okta_user("second@okta.local");
    inactive["active"] = json!(false);
    let r = app.post("/Users", inactive.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "creating an inactive user takes no seat: {:?}", r.body);
    let second = r.body["id"].as_str().unwrap().to_owned();

    let post = app.create_user("third@okta.local").await;
    assert_eq!(post.status, StatusCode::FORBIDDEN, "{:?}", post.body);
    let patch = app.patch(&format!("/Users/{second}"), pathless(true)).await;
    assert_eq!(patch.status, StatusCode::FORBIDDEN, "{:?}", patch.body);
    inactive["active"] = json!(true);
    let put = app.put(&format!("/Users/{second}"), inactive).await;
    assert_eq!(put.status, StatusCode::FORBIDDEN, "{:?}", put.body);
    for r in [&post, &patch, &put] {
        assert!(r.detail().starts_with("No free seats: 1 of 1 in use."), "{}", r.detail());
    }

    assert!(!app.is_active(&second).await);
    assert_eq!(app.services.settings.seats().await.unwrap().used, 1);
    let refused = all_events(&app).await.into_iter().filter(|e| e.outcome == Outcome::NoSeats).count();
    assert_eq!(refused, 3, "each refusal is logged as a no-seat outcome for the dashboard");
}

#[tokio::test]
async fn deactivation_lookups_and_group_pushes_still_work_at_full_seat_use() {
    let app = spawn_app().await;
    app.set_seats(2).await;
    let alice = app.user_id("alice@okta.local").await;
    let bob = app.user_id("bob@okta.local").await;

    assert_eq!(app.total("/Users?filter=userName eq \"alice@okta.local\"").await, 1);
    assert_eq!(app.total("/Users?filter=userName eq \"nobody@okta.local\"").await, 0);
    let group = app.group_id("Engineering", &[&alice, &bob]).await;
    let r = app
        .patch(&format!("/Groups/{group}"), json!([{"op": "replace", "path": "members", "value": [{"value": bob}]}]))
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let r = app
        .put(
            &format!("/Users/{alice}"),
            json!({"userName": "alice@okta.local", "displayName": "Alice A.", "active": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "updating an active user needs no free seat: {:?}", r.body);

    let r = app.patch(&format!("/Users/{alice}"), pathless(false)).await;
    assert!(r.status.is_success(), "{:?}", r.body);
    assert_eq!(app.services.settings.seats().await.unwrap().used, 1);
    assert_eq!(app.create_user("carol@okta.local").await.status, StatusCode::CREATED, "the freed seat is usable");
}

#[tokio::test]
async fn a_group_add_at_the_seat_limit_succeeds_but_does_not_revive_a_member_beyond_the_seats() {
    let app = spawn_app().await;
    app.set_seats(1).await;
    let alice = app.user_id("alice@okta.local").await;
    let first = app.group_id("Contractors", &[&alice]).await;
    app.delete(&format!("/Groups/{first}")).await;
    assert!(!app.is_active(&alice).await);
    app.user_id("bob@okta.local").await; // Takes the only seat.

    let group = app.group_id("Employees", &[]).await;
    let r = app.patch(&format!("/Groups/{group}"), add_members(&[&alice])).await;
    assert!(r.status.is_success(), "the push itself is not refused: {:?}", r.body);
    assert_eq!(app.member_ids(&group).await, sorted(&[&alice]));
    assert!(!app.is_active(&alice).await, "no seat, so she stays inactive");
    assert_eq!(app.services.settings.seats().await.unwrap().used, 1);
}

/// Fires `n` requests at once and returns their statuses.
async fn concurrently(app: &TestApp, requests: Vec<(reqwest::Method, String, Value)>) -> Vec<StatusCode> {
    let client = reqwest::Client::new();
    let handles: Vec<_> = requests
        .into_iter()
        .map(|(method, path, body)| {
            let req = client
                .request(method, format!("{}{path}", app.scim))
                .bearer_auth(&app.token)
                .header("Content-Type", "application/scim+json")
                .body(body.to_string());
            tokio::spawn(async move { req.send().await.expect("request").status() })
        })
        .collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn concurrent_creations_never_exceed_the_seats() {
    let app = spawn_app().await;
    app.set_seats(5).await;
    let requests = (0..20)
        .map(|i| (reqwest::Method::POST, "/Users".to_owned(), okta_user(&format!("user{i}@okta.local"))))
        .collect();
    let statuses = concurrently(&app, requests).await;

    let created = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::FORBIDDEN).count();
    assert_eq!((created, refused), (5, 15), "{statuses:?}");
    assert_eq!(app.services.settings.seats().await.unwrap().used, 5);
    assert_eq!(app.total("/Users").await, 5, "refused users were not created");
}

#[tokio::test]
async fn concurrent_reactivations_never_exceed_the_seats() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let id = app.user_id(&format!("user{i}@okta.local")).await;
        app.patch(&format!("/Users/{id}"), pathless(false)).await;
        ids.push(id);
    }
    app.set_seats(3).await;
    let requests =
        ids.iter().map(|id| (reqwest::Method::PATCH, format!("/Users/{id}"), patch_body(pathless(true)))).collect();
    let statuses = concurrently(&app, requests).await;

    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::FORBIDDEN).count(), 9, "{statuses:?}");
    assert_eq!(app.services.settings.seats().await.unwrap().used, 3);
    assert_eq!(app.total("/Users?filter=active eq true").await, 3);
}

// ---- If-Match ----

#[tokio::test]
async fn a_stale_if_match_is_412_on_user_put_patch_and_delete_and_the_current_one_succeeds() {
    let app = spawn_app().await;
    let id = app.user_id("alice@okta.local").await;
    let path = format!("/Users/{id}");
    let first = app.get(&path).await;
    let stale = first.headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(first.body["meta"]["version"], stale.as_str(), "the ETag header is meta.version");
    app.patch(&path, json!([{"op": "replace", "path": "displayName", "value": "Changed elsewhere"}])).await;
    let current = app.get(&path).await.headers["etag"].to_str().unwrap().to_owned();
    assert_ne!(stale, current, "a write changes the version");

    let put_body = json!({"userName": "alice@okta.local", "displayName": "Mine"});
    for (method, body) in [
        (reqwest::Method::PUT, Some(put_body.clone())),
        (reqwest::Method::PATCH, Some(patch_body(pathless(false)))),
        (reqwest::Method::DELETE, None),
    ] {
        let r = with_if_match(&app, method.clone(), &path, body, &stale).await;
        assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{method}: {:?}", r.body);
        assert_eq!(r.body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]));
    }
    let user = app.fetch(&path).await;
    assert_eq!(user["displayName"], "Changed elsewhere", "nothing changed");
    assert_eq!(user["active"], true);

    let r = with_if_match(&app, reqwest::Method::PUT, &path, Some(put_body), &current).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let current = r.headers["etag"].to_str().unwrap().to_owned();
    let r = with_if_match(&app, reqwest::Method::PATCH, &path, Some(patch_body(pathless(false))), &current).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["active"], false);
    let current = r.headers["etag"].to_str().unwrap().to_owned();
    let r = with_if_match(&app, reqwest::Method::DELETE, &path, None, &current).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_stale_if_match_is_412_on_group_put_patch_and_delete_and_the_current_one_succeeds() {
    let app = spawn_app().await;
    let alice = app.user_id("alice@okta.local").await;
    let id = app.group_id("Engineering", &[]).await;
    let path = format!("/Groups/{id}");
    let stale = app.get(&path).await.headers["etag"].to_str().unwrap().to_owned();
    app.patch(&path, json!([{"op": "replace", "path": "displayName", "value": "Eng"}])).await;
    let current = app.get(&path).await.headers["etag"].to_str().unwrap().to_owned();
    assert_ne!(stale, current);

    let put_body = json!({"displayName": "Mine", "members": [{"value": alice}]});
    let patch = patch_body(add_members(&[&alice]));
    for (method, body) in [
        (reqwest::Method::PUT, Some(put_body.clone())),
        (reqwest::Method::PATCH, Some(patch.clone())),
        (reqwest::Method::DELETE, None),
    ] {
        let r = with_if_match(&app, method.clone(), &path, body, &stale).await;
        assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{method}: {:?}", r.body);
    }
    assert_eq!(app.fetch(&path).await["displayName"], "Eng");
    assert!(app.member_ids(&id).await.is_empty());

    let r = with_if_match(&app, reqwest::Method::PATCH, &path, Some(patch), &current).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let current = app.get(&path).await.headers["etag"].to_str().unwrap().to_owned();
    let r = with_if_match(&app, reqwest::Method::PUT, &path, Some(put_body), &current).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = with_if_match(&app, reqwest::Method::DELETE, &path, None, "*").await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "`*` matches any version: {:?}", r.body);
}

#[tokio::test]
async fn adopting_a_same_name_group_changes_its_version() {
    let app = spawn_app().await;
    let panel = Ctx::panel(app.admin().await, "create group");
    let local = app.services.groups.create_local(&panel, "Engineering").await.unwrap();
    let alice = app.user_id("alice@okta.local").await;
    let before = app.get(&format!("/Groups/{}", local.id)).await.headers["etag"].to_str().unwrap().to_owned();

    let r = app.post("/Groups", json!({"displayName": "Engineering", "members": [{"value": alice}]})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let after = app.get(&format!("/Groups/{}", local.id)).await;
    assert_ne!(after.headers["etag"].to_str().unwrap(), before, "membership and owner changed, so must the ETag");
    let stale = with_if_match(&app, reqwest::Method::DELETE, &format!("/Groups/{}", local.id), None, &before).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "{:?}", stale.body);
}

// ---- The provisioning log ----

#[tokio::test]
async fn every_scim_error_detail_ends_with_its_log_entry_and_that_entry_has_the_status() {
    let app = spawn_app().await;
    let alice = app.user_id("alice@okta.local").await;
    app.set_seats(1).await;
    let no_token = reqwest::Client::new().get(format!("{}/Users", app.scim));
    let wrong_method =
        reqwest::Client::new().post(format!("{}/Schemas", app.scim)).bearer_auth(&app.token).body("test");
    let stale = reqwest::Client::new()
        .delete(format!("{}/Users/{alice}", app.scim))
        .bearer_auth(&app.token)
        .header("If-Match", "W/\"999\"");

    let failures = vec![
        (
            "unknown id",
            app.get("/Users/010101001010101011001010101011").await,
            "/Users/010101001010101011001010101011".to_owned(),
        ),
        ("duplicate", app.create_user("ALICE@okta.local").await, "/Users".to_owned()),
        ("bad filter", app.get("/Users?filter=userName xx \"a\"").await, "/Users".to_owned()),
        ("no seats", app.create_user("bob@okta.local").await, "/Users".to_owned()),
        ("bad PATCH", app.patch(&format!("/Users/{alice}"), json!([{"op": "jump"}])).await, format!("/Users/{alice}")),
        ("no token", app.raw(no_token).await, "/Users".to_owned()),
        ("wrong method", app.raw(wrong_method).await, "/Schemas".to_owned()),
        ("stale If-Match", app.raw(stale).await, format!("/Users/{alice}")),
        ("unknown endpoint", app.get("/Nope").await, "/Nope".to_owned()),
    ];
    let mut seen = std::collections::HashSet::new();
    for (what, r, path) in failures {
        assert!(r.status.is_client_error(), "{what}: {}", r.status);
        let n = log_number(&r);
        assert!(seen.insert(n), "{what}: each failure has its own entry");
        let entry =
            app.services.settings.log_entry(LogEntryId(n)).await.unwrap_or_else(|e| panic!("{what}: entry #{n}: {e}"));
        assert_eq!(entry.status, r.status.as_u16(), "{what}");
        assert!(entry.path.ends_with(&path), "{what}: the entry names the request: {} vs {path}", entry.path);
        assert_ne!(entry.outcome, Outcome::Ok, "{what}");
        assert!(r.detail().starts_with(&entry.detail), "{what}: the log keeps the detail the IdP saw");
    }
}

#[tokio::test]
async fn a_successful_write_leaves_a_log_entry_with_what_changed() {
    let app = spawn_app().await;
    let id = app.user_id("alice@okta.local").await;
    app.patch(&format!("/Users/{id}"), pathless(false)).await;

    let events = app
        .services
        .settings
        .log(&LogQuery { target: Some(id.clone()), start_index: 1, count: 50, ..Default::default() })
        .await
        .unwrap();
    let created = events.items.iter().find(|e| e.method == "POST").expect("the POST is logged");
    assert_eq!(created.status, 201);
    assert_eq!(created.actor, "Okta");
    assert_eq!(created.outcome, Outcome::Ok);
    let patched = events.items.iter().find(|e| e.method == "PATCH").expect("the PATCH is logged");
    assert_eq!(patched.status, 200);
    assert!(patched.diff.contains("active: true → false"), "{}", patched.diff);
    assert!(patched.path.ends_with(&format!("/Users/{id}")), "{}", patched.path);
}

#[tokio::test]
async fn passwords_never_appear_in_responses_or_the_log() {
    let app = spawn_app().await;
    let secret = "Pa55-w0rd-never-shown";
    let mut body = okta_user("alice@okta.local");
    body["password"] = json!(secret);
    let created = app.post("/Users", body.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("/Users/{id}");

    let mut replies = vec![created];
    replies.push(app.put(&path, body.clone()).await);
    replies.push(app.patch(&path, json!([{"op": "replace", "path": "password", "value": secret}])).await);
    replies.push(app.patch(&path, json!([{"op": "replace", "value": {"password": secret, "displayName": "A"}}])).await);
    replies.push(app.patch(&path, json!([{"op": "add", "path": "password", "value": secret}])).await);
    replies.push(app.post("/Users", body).await); // 409, carrying the password.
    replies.push(app.patch(&path, json!([{"op": "replace", "value": {"password": secret, "active": "maybe"}}])).await); // 400.
    replies.push(app.get(&path).await);
    replies.push(app.get("/Users").await);
    replies.push(app.get(&format!("{path}?attributes=password")).await);
    for r in &replies {
        assert!(!r.body.to_string().contains(secret), "{}: {}", r.status, r.body);
        assert!(r.body.get("password").is_none());
    }
    assert!(
        replies.iter().any(|r| r.status == StatusCode::CONFLICT)
            && replies.iter().any(|r| r.status == StatusCode::BAD_REQUEST)
    );
    for e in all_events(&app).await {
        assert!(!e.diff.contains(secret) && !e.detail.contains(secret) && !e.path.contains(secret), "{e:?}");
    }
    let user = app.services.users.get(&UserId(id)).await.unwrap();
    assert!(!serde_json::to_string(&user).unwrap().contains(secret), "not stored either");
}

// ---- Retries are safe ----

#[tokio::test]
async fn the_same_patch_twice_gives_the_same_result_and_one_log_entry() {
    let app = spawn_app().await;
    let id = app.user_id("alice@okta.local").await;
    let path = format!("/Users/{id}");
    let ops = json!([{"op": "replace", "value": {"active": false, "displayName": "Alice"}}]);

    let first = app.patch(&path, ops.clone()).await;
    let logged = all_events(&app).await.len();
    let second = app.patch(&path, ops).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(first.body, second.body, "same resource, same version");
    assert_eq!(all_events(&app).await.len(), logged, "a retry that changes nothing writes nothing");
}

#[tokio::test]
async fn adding_the_same_member_twice_makes_one_membership() {
    let app = spawn_app().await;
    let alice = app.user_id("alice@okta.local").await;
    let group = app.group_id("Engineering", &[]).await;
    let path = format!("/Groups/{group}");

    for _ in 0..2 {
        let r = app.patch(&path, add_members(&[&alice, &alice])).await;
        assert!(r.status.is_success(), "{:?}", r.body);
    }
    assert_eq!(app.member_ids(&group).await, sorted(&[&alice]));
    let g = app.services.groups.get(&GroupId(group.clone())).await.unwrap();
    assert_eq!(g.member_count, 1, "the stored count agrees");
    let dup =
        app.post("/Groups", json!({"displayName": "Twice", "members": [{"value": alice}, {"value": alice}]})).await;
    assert_eq!(dup.status, StatusCode::CREATED, "{:?}", dup.body);
    assert_eq!(dup.body["members"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn deleting_a_group_twice_is_404_the_second_time() {
    let app = spawn_app().await;
    let alice = app.user_id("alice@okta.local").await;
    let group = app.group_id("Engineering", &[&alice]).await;
    assert_eq!(app.delete(&format!("/Groups/{group}")).await.status, StatusCode::NO_CONTENT);
    let again = app.delete(&format!("/Groups/{group}")).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{:?}", again.body);
    assert_eq!(again.body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]));
    assert!(!app.is_active(&alice).await, "the first delete's effect stands, once");
}

#[tokio::test]
async fn a_retried_post_of_an_existing_user_is_409_and_changes_nothing() {
    let app = spawn_app().await;
    let id = app.user_id("alice@okta.local").await;
    let before = app.fetch(&format!("/Users/{id}")).await;
    let r = app.create_user("alice@okta.local").await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["scimType"], "uniqueness");
    assert_eq!(app.fetch(&format!("/Users/{id}")).await, before);
    assert_eq!(app.total("/Users").await, 1);
}

#[tokio::test]
async fn restoring_a_deleted_user_needs_a_free_seat() {
    let app = spawn_app().await;
    app.set_seats(1).await;
    let alice = app.user_id("alice@okta.local").await;
    assert_eq!(app.delete(&format!("/Users/{alice}")).await.status, StatusCode::NO_CONTENT);
    app.user_id("bob@okta.local").await; // Takes the freed seat.

    let r = app.create_user("alice@okta.local").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    assert_eq!(app.get(&format!("/Users/{alice}")).await.status, StatusCode::NOT_FOUND, "still deleted");
    app.set_seats(2).await;
    let r = app.create_user("alice@okta.local").await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["id"], alice.as_str());
}

#[tokio::test]
async fn concurrent_retries_of_one_create_make_one_user_and_conflicts_never_errors() {
    let app = spawn_app().await;
    let requests =
        (0..10).map(|_| (reqwest::Method::POST, "/Users".to_owned(), okta_user("alice@okta.local"))).collect();
    let statuses = concurrently(&app, requests).await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 9, "{statuses:?}");
    assert_eq!(app.total("/Users").await, 1);

    let alice = app.get("/Users").await.body["Resources"][0]["id"].as_str().unwrap().to_owned();
    let push = json!({"displayName": "Engineering", "members": [{"value": alice}]});
    let requests = (0..10).map(|_| (reqwest::Method::POST, "/Groups".to_owned(), push.clone())).collect();
    let statuses = concurrently(&app, requests).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED), "a repeated push adopts its own group: {statuses:?}");
    let groups = app.get("/Groups").await;
    assert_eq!(groups.body["totalResults"], 1);
    assert_eq!(app.member_ids(groups.body["Resources"][0]["id"].as_str().unwrap()).await, sorted(&[&alice]));
}

/// Seats used is one running count, moved by every user write; after every kind of write it equals the number of
/// users who take a seat.
#[tokio::test]
async fn seats_used_always_equals_the_users_who_take_a_seat() {
    let app = spawn_app().await;
    let a = app.user_id("a@okta.local").await;
    let b = app.user_id("b@okta.local").await;
    let c = app.user_id("c@okta.local").await;
    assert_eq!(seats_used_matches(&app, "three creates").await, 3);
    app.patch(&format!("/Users/{a}"), pathless(false)).await;
    seats_used_matches(&app, "a deactivation").await;
    app.delete(&format!("/Users/{b}")).await;
    seats_used_matches(&app, "a delete").await;
    app.create_user("b@okta.local").await;
    seats_used_matches(&app, "a restore").await;
    let g = app.group_id("Solo", &[&c]).await;
    app.delete(&format!("/Groups/{g}")).await;
    assert!(!app.is_active(&c).await, "last group removed");
    seats_used_matches(&app, "a group delete").await;
    app.group_id("Again", &[&c]).await;
    assert!(app.is_active(&c).await, "reactivated by a group add");
    let panel = Ctx::panel(app.admin().await, "create user");
    app.services.users.create_local(&panel, "local@example.com", "L", "U").await.unwrap();
    assert_eq!(seats_used_matches(&app, "a group add and a local user").await, 3);
}

/// Asserts the running count of seats used equals a count of active users, and returns it.
async fn seats_used_matches(app: &TestApp, step: &str) -> i64 {
    use roster::model::{UserQuery, UserStatus};
    let q = UserQuery { status: Some(UserStatus::Active), start_index: 1, count: 0, ..Default::default() };
    let active = app.services.users.list(&q).await.unwrap().total;
    let used = app.services.settings.seats().await.unwrap().used;
    assert_eq!(used, active, "after {step}");
    used
}
