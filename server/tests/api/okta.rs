//! Okta, replayed: every lifecycle event with the request bodies and query strings Okta really sends, then the checks
//! of Okta's SCIM 2.0 SPEC test (docs/okta.md).
use crate::helpers::{TestApp, sorted, spawn_app};
use reqwest::StatusCode;
use roster::service::Ctx;
use serde_json::{Value, json};

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// Okta's lookup before an assignment, encoded exactly as Okta encodes it.
fn user_lookup(user_name: &str) -> String {
    let encoded = user_name.replace('@', "%40");
    format!("/Users?filter=userName%20eq%20%22{encoded}%22&startIndex=1&count=100")
}

/// Okta's group lookup before a push.
fn group_lookup(name: &str) -> String {
    format!("/Groups?filter=displayName eq \"{name}\"")
}

/// Okta's documented POST /Users body, verbatim.
fn okta_post_body() -> Value {
    json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"test.user@okta.local",
        "name":{"givenName":"Test","familyName":"User"},
        "emails":[{"primary":true,"value":"test.user@okta.local","type":"work"}],
        "displayName":"Test User","locale":"en-US","externalId":"00ujl29u0le5T6Aj10h7",
        "groups":[],"password":"1mz050nq","active":true})
}

/// Okta's path-less (de)activation PATCH (OIN apps).
fn set_active_ops(active: bool) -> Value {
    json!([{"op": "replace", "value": {"active": active}}])
}

/// What Okta PUTs: the object from GET with its edits, plus the fields Okta always adds.
async fn okta_put_body(app: &TestApp, id: &str, edit: impl FnOnce(&mut Value)) -> Value {
    let mut body = app.fetch(&format!("/Users/{id}")).await;
    body["groups"] = json!([]);
    body["meta"] = json!({"resourceType": "User"});
    body["password"] = json!("1mz050nq");
    if let Some(emails) = body["emails"].as_array_mut() {
        for e in emails {
            let v = e["value"].clone();
            e["display"] = v;
        }
    }
    edit(&mut body);
    body
}

fn members(ids: &[&str]) -> Value {
    Value::Array(ids.iter().map(|id| json!({"value": id, "display": format!("{id}@okta.local")})).collect())
}

async fn push_group(app: &TestApp, name: &str, ids: &[&str]) -> String {
    assert_eq!(app.total(&group_lookup(name)).await, 0, "Okta looks the group up first");
    let r = app.post("/Groups", json!({"schemas": [GROUP_SCHEMA], "displayName": name, "members": members(ids)})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["id"].as_str().expect("group id").to_owned()
}

#[tokio::test]
async fn okta_assigns_a_user_with_a_lookup_that_finds_nothing_then_a_post() {
    let app = spawn_app().await;

    let lookup = app.get(&user_lookup("test.user@okta.local")).await;
    assert_eq!(lookup.status, StatusCode::OK);
    assert_eq!(
        lookup.body,
        json!({"schemas":[LIST_SCHEMA],"totalResults":0,"startIndex":1,"itemsPerPage":0,"Resources":[]})
    );

    let created = app.post("/Users", okta_post_body()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_str().expect("a server-assigned id");
    assert!(!id.is_empty() && !id.contains("bulkId"));
    assert_eq!(created.body["userName"], "test.user@okta.local");
    assert_eq!(created.body["name"]["givenName"], "Test");
    assert_eq!(created.body["externalId"], "00ujl29u0le5T6Aj10h7");
    assert_eq!(created.body["active"], true);
    assert!(created.body.get("password").is_none(), "the placeholder password is never echoed");
    assert!(created.headers.get("location").is_some_and(|l| l.to_str().unwrap().ends_with(&format!("/Users/{id}"))));

    let again = app.get(&user_lookup("test.user@okta.local")).await;
    assert_eq!(again.body["totalResults"], 1);
    assert_eq!(again.body["Resources"][0]["id"], id);
    assert_eq!(app.fetch(&format!("/Users/{id}")).await["userName"], "test.user@okta.local");
}

#[tokio::test]
async fn okta_pushes_a_profile_update_by_putting_the_whole_object_back() {
    let app = spawn_app().await;
    let id = app.user_id("test.user@okta.local").await;
    let group = app.group_id("Engineering", &[&id]).await;

    let body = okta_put_body(&app, &id, |b| {
        b["name"]["givenName"] = json!("Another");
        b["displayName"] = json!("Another User");
    })
    .await;
    assert_eq!(body["groups"], json!([]), "Okta sends groups: [] even for a member");
    let r = app.put(&format!("/Users/{id}"), body).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["id"], id.as_str());
    assert_eq!(r.body["name"]["givenName"], "Another");

    let user = app.fetch(&format!("/Users/{id}")).await;
    assert_eq!(user["name"]["givenName"], "Another");
    assert_eq!(user["displayName"], "Another User");
    assert_eq!(user["active"], true);
    assert!(user.get("password").is_none());
    assert_eq!(user["groups"][0]["value"], group.as_str(), "groups is read-only: `groups: []` removed nobody");
    assert_eq!(app.member_ids(&group).await, sorted(&[&id]));
}

#[tokio::test]
async fn okta_deactivates_a_user_with_a_pathless_patch() {
    let app = spawn_app().await;
    let id = app.user_id("test.user@okta.local").await;

    let r = app.patch(&format!("/Users/{id}"), set_active_ops(false)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(!app.is_active(&id).await);
    assert_eq!(app.services.settings.seats().await.unwrap().used, 0, "the seat is freed");

    let lookup = app.get(&user_lookup("test.user@okta.local")).await;
    assert_eq!(lookup.body["totalResults"], 1, "inactive users are still found");
    assert_eq!(lookup.body["Resources"][0]["active"], false);
}

#[tokio::test]
async fn okta_aiw_deactivates_a_user_with_a_put_of_active_false() {
    let app = spawn_app().await;
    let id = app.user_id("test.user@okta.local").await;

    let body = okta_put_body(&app, &id, |b| b["active"] = json!(false)).await;
    let r = app.put(&format!("/Users/{id}"), body).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["active"], false);
    assert!(!app.is_active(&id).await);
    assert_eq!(app.fetch(&format!("/Users/{id}")).await["name"]["givenName"], "Test", "the profile is kept");
}

#[tokio::test]
async fn okta_reactivates_a_user_with_a_pathless_patch() {
    let app = spawn_app().await;
    let id = app.user_id("test.user@okta.local").await;
    app.patch(&format!("/Users/{id}"), set_active_ops(false)).await;
    assert!(!app.is_active(&id).await);

    let r = app.patch(&format!("/Users/{id}"), set_active_ops(true)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(app.is_active(&id).await);
    assert_eq!(app.services.settings.seats().await.unwrap().used, 1);
}

#[tokio::test]
async fn okta_aiw_reactivates_a_user_with_a_put_of_active_true() {
    let app = spawn_app().await;
    let id = app.user_id("test.user@okta.local").await;
    let off = okta_put_body(&app, &id, |b| b["active"] = json!(false)).await;
    assert_eq!(app.put(&format!("/Users/{id}"), off).await.status, StatusCode::OK);

    let on = okta_put_body(&app, &id, |b| b["active"] = json!(true)).await;
    let r = app.put(&format!("/Users/{id}"), on).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["active"], true);
    assert!(app.is_active(&id).await);
}

#[tokio::test]
async fn okta_pushes_a_new_group_after_a_display_name_lookup() {
    let app = spawn_app().await;
    let alice = app.user_id("alice@okta.local").await;
    let bob = app.user_id("bob@okta.local").await;

    let lookup = app.get(&group_lookup("Test SCIMv2")).await;
    assert_eq!(lookup.status, StatusCode::OK);
    assert_eq!(lookup.body["totalResults"], 0);
    assert_eq!(lookup.body["Resources"], json!([]));

    let r = app
        .post(
            "/Groups",
            json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Test SCIMv2",
                "members":[{"value": alice, "display": "alice@okta.local"}, {"value": bob, "display": "bob@okta.local"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_str().expect("group id").to_owned();
    assert_eq!(r.body["displayName"], "Test SCIMv2");

    assert_eq!(app.member_ids(&id).await, sorted(&[&alice, &bob]));
    let found = app.get(&group_lookup("Test SCIMv2")).await;
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(found.body["Resources"][0]["id"], id.as_str());
}

#[tokio::test]
async fn okta_pushes_a_new_empty_group() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/Groups",
            json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Test SCIMv2","members":[]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap();
    assert!(app.member_ids(id).await.is_empty());
}

#[tokio::test]
async fn okta_renames_a_group_with_a_pathless_replace_that_carries_its_id() {
    let app = spawn_app().await;
    let alice = app.user_id("alice@okta.local").await;
    let id = push_group(&app, "Old Name", &[&alice]).await;

    let r = app
        .patch(&format!("/Groups/{id}"), json!([{"op": "replace", "value": {"id": id, "displayName": "Test SCIMv2"}}]))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);

    let g = app.fetch(&format!("/Groups/{id}")).await;
    assert_eq!(g["displayName"], "Test SCIMv2");
    assert_eq!(g["id"], id.as_str(), "the id inside the value is a no-op");
    assert_eq!(app.member_ids(&id).await, sorted(&[&alice]), "a rename keeps members");
    assert_eq!(app.total(&group_lookup("Old Name")).await, 0);
    assert_eq!(app.total(&group_lookup("Test SCIMv2")).await, 1);
}

#[tokio::test]
async fn okta_changes_membership_with_a_filtered_remove_followed_by_an_add_in_one_patch() {
    let app = spawn_app().await;
    let alice = app.user_id("alice@okta.local").await;
    let bob = app.user_id("bob@okta.local").await;
    let carol = app.user_id("carol@okta.local").await;
    let id = push_group(&app, "Engineering", &[&alice, &bob]).await;

    let r = app
        .patch(
            &format!("/Groups/{id}"),
            json!([
                {"op": "remove", "path": format!("members[value eq \"{alice}\"]")},
                {"op": "add", "path": "members", "value": [{"value": carol, "display": "carol@okta.local"}]}
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert_eq!(app.member_ids(&id).await, sorted(&[&bob, &carol]), "only alice left; bob stayed; carol joined");
    assert!(app.is_active(&alice).await, "leaving a group that still exists does not deactivate");
}

#[tokio::test]
async fn okta_push_now_replaces_the_whole_membership_with_a_patch() {
    let app = spawn_app().await;
    let alice = app.user_id("alice@okta.local").await;
    let bob = app.user_id("bob@okta.local").await;
    let carol = app.user_id("carol@okta.local").await;
    let id = push_group(&app, "Engineering", &[&alice, &bob]).await;

    let push_now = json!([{"op": "replace", "path": "members", "value": members(&[&bob, &carol])}]);
    let r = app.patch(&format!("/Groups/{id}"), push_now.clone()).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert_eq!(app.member_ids(&id).await, sorted(&[&bob, &carol]));

    let again = app.patch(&format!("/Groups/{id}"), push_now).await;
    assert!(again.status.is_success(), "Push now is idempotent: {:?}", again.body);
    assert_eq!(app.member_ids(&id).await, sorted(&[&bob, &carol]));
}

#[tokio::test]
async fn okta_aiw_push_now_puts_the_whole_group() {
    let app = spawn_app().await;
    let alice = app.user_id("alice@okta.local").await;
    let bob = app.user_id("bob@okta.local").await;
    let id = push_group(&app, "Engineering", &[&alice]).await;

    let r = app
        .put(
            &format!("/Groups/{id}"),
            json!({"schemas": [GROUP_SCHEMA], "displayName": "Engineering", "members": members(&[&bob])}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["id"], id.as_str());
    assert_eq!(app.member_ids(&id).await, sorted(&[&bob]));

    let empty = app
        .put(&format!("/Groups/{id}"), json!({"schemas": [GROUP_SCHEMA], "displayName": "Engineering", "members": []}))
        .await;
    assert_eq!(empty.status, StatusCode::OK, "{:?}", empty.body);
    assert!(app.member_ids(&id).await.is_empty(), "an AIW push of an empty group empties it");
}

#[tokio::test]
async fn okta_unlink_and_delete_deactivates_only_members_whose_only_group_it_was() {
    let app = spawn_app().await;
    let only_here = app.user_id("only-here@okta.local").await;
    let elsewhere_too = app.user_id("elsewhere-too@okta.local").await;
    let no_group = app.user_id("direct@okta.local").await;
    let pushed = push_group(&app, "Contractors", &[&only_here, &elsewhere_too]).await;
    let other = push_group(&app, "Everyone", &[&elsewhere_too]).await;

    let r = app.delete(&format!("/Groups/{pushed}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);

    assert_eq!(app.get(&format!("/Groups/{pushed}")).await.status, StatusCode::NOT_FOUND);
    assert!(!app.is_active(&only_here).await, "their only group was removed");
    assert!(app.is_active(&elsewhere_too).await, "still in another group");
    assert!(app.is_active(&no_group).await, "users in no group are not touched");
    assert_eq!(app.member_ids(&other).await, sorted(&[&elsewhere_too]));
}

#[tokio::test]
async fn okta_reactivates_a_last_group_casualty_with_a_patch_of_active_true() {
    let app = spawn_app().await;
    let id = app.user_id("only-here@okta.local").await;
    let group = push_group(&app, "Contractors", &[&id]).await;
    app.delete(&format!("/Groups/{group}")).await;
    assert!(!app.is_active(&id).await);

    let r = app.patch(&format!("/Users/{id}"), set_active_ops(true)).await;
    assert!(r.status.is_success(), "{:?}", r.body);
    assert!(app.is_active(&id).await);
}

#[tokio::test]
async fn okta_reactivates_a_last_group_casualty_when_a_group_adds_them() {
    let app = spawn_app().await;
    let id = app.user_id("only-here@okta.local").await;
    let group = push_group(&app, "Contractors", &[&id]).await;
    app.delete(&format!("/Groups/{group}")).await;
    assert!(!app.is_active(&id).await);

    let other = push_group(&app, "Employees", &[]).await;
    let r = app
        .patch(&format!("/Groups/{other}"), json!([{"op": "add", "path": "members", "value": members(&[&id])}]))
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    assert!(app.is_active(&id).await, "a group add brings back a user who lost their last group");
}

#[tokio::test]
async fn okta_push_of_a_same_name_group_adopts_a_local_group_and_overwrites_its_membership() {
    let app = spawn_app().await;
    let admin = Ctx::panel(app.admin().await, "test");
    let local = app.services.groups.create_local(&admin, "Engineering").await.unwrap();
    let local_user = app.services.users.create_local(&admin, "local@example.com", "Lo", "Cal").await.unwrap();
    app.services.groups.add_members(&admin, &local.id, vec![local_user.id.to_string()]).await.unwrap();
    let okta_user = app.user_id("alice@okta.local").await;

    let r = app
        .post(
            "/Groups",
            json!({"schemas": [GROUP_SCHEMA], "displayName": "Engineering", "members": members(&[&okta_user])}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["id"], local.id.as_str(), "the existing group is adopted, same id");
    assert_eq!(app.member_ids(local.id.as_str()).await, sorted(&[&okta_user]), "membership overwritten");
    assert_eq!(app.total("/Groups").await, 1, "no second group");

    let edit = app.services.groups.add_members(&admin, &local.id, vec![local_user.id.to_string()]).await;
    assert!(matches!(edit, Err(roster::Error::ReadOnly { .. })), "the group is now Okta's: {edit:?}");
}

#[tokio::test]
async fn okta_push_of_a_same_name_group_adopts_a_group_an_earlier_post_created() {
    let app = spawn_app().await;
    let alice = app.user_id("alice@okta.local").await;
    let bob = app.user_id("bob@okta.local").await;
    let first = push_group(&app, "Engineering", &[&alice]).await;

    let r = app
        .post("/Groups", json!({"schemas": [GROUP_SCHEMA], "displayName": "engineering", "members": members(&[&bob])}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["id"], first.as_str());
    assert_eq!(app.member_ids(&first).await, sorted(&[&bob]));
}

#[tokio::test]
async fn okta_same_name_lookup_finds_a_local_group_and_a_push_now_overwrites_it() {
    let app = spawn_app().await;
    let admin = Ctx::panel(app.admin().await, "test");
    let local = app.services.groups.create_local(&admin, "Engineering").await.unwrap();
    let local_user = app.services.users.create_local(&admin, "local@example.com", "Lo", "Cal").await.unwrap();
    app.services.groups.add_members(&admin, &local.id, vec![local_user.id.to_string()]).await.unwrap();
    let alice = app.user_id("alice@okta.local").await;

    let lookup = app.get(&group_lookup("Engineering")).await;
    assert_eq!(lookup.body["totalResults"], 1);
    assert_eq!(lookup.body["Resources"][0]["id"], local.id.as_str());

    let r = app
        .patch(
            &format!("/Groups/{}", local.id),
            json!([{"op": "replace", "path": "members", "value": members(&[&alice])}]),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    assert_eq!(app.member_ids(local.id.as_str()).await, sorted(&[&alice]));
}

#[tokio::test]
async fn okta_push_refused_for_lack_of_seats_names_the_seats_and_the_fix_and_succeeds_after_an_upgrade() {
    let app = spawn_app().await;
    app.set_seats(1).await;
    app.user_id("first@okta.local").await;

    let lookup = app.get(&user_lookup("test.user@okta.local")).await;
    assert_eq!(lookup.status, StatusCode::OK, "lookups keep working at 100% use");
    assert_eq!(lookup.body["totalResults"], 0);

    let refused = app.post("/Users", okta_post_body()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
    assert_eq!(refused.body["schemas"], json!([ERROR_SCHEMA]));
    let detail = refused.detail();
    assert!(detail.contains("1 of 1"), "names the seat count: {detail}");
    assert!(detail.contains("Raise the licence seats") && detail.contains("retry"), "names the fix: {detail}");
    assert_eq!(app.total(&user_lookup("test.user@okta.local")).await, 0, "no placeholder user was created");
    assert_eq!(app.total("/Users").await, 1);

    app.set_seats(2).await;
    let retried = app.post("/Users", okta_post_body()).await;
    assert_eq!(retried.status, StatusCode::CREATED, "{:?}", retried.body);
    assert_eq!(retried.body["active"], true);
}

// ---- Okta's SCIM 2.0 SPEC test (Runscope) ----

/// A request as the SPEC test sends it: its own User-Agent, and `Content-Type: application/json` on POSTs.
fn spec_request(app: &TestApp, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .request(method, format!("{}{path}", app.scim))
        .header("Authorization", format!("Bearer {}", app.token))
        .header("Accept", "application/scim+json")
        .header("User-Agent", "OKTA SCIM Integration")
}

fn not_empty(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::Bool(_) => true,
    }
}

#[tokio::test]
async fn okta_spec_service_provider_config_has_every_field_the_spec_test_reads() {
    let app = spawn_app().await;
    let r = app.raw(spec_request(&app, reqwest::Method::GET, "/ServiceProviderConfig")).await;
    assert_eq!(r.status, StatusCode::OK);
    let c = &r.body;
    assert!(
        c["schemas"]
            .as_array()
            .unwrap()
            .contains(&json!("urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"))
    );
    for pointer in [
        "/patch",
        "/bulk",
        "/filter",
        "/changePassword",
        "/sort",
        "/etag",
        "/authenticationSchemes",
        "/authenticationSchemes/0/type",
        "/authenticationSchemes/0/description",
        "/etag/supported",
        "/sort/supported",
        "/changePassword/supported",
        "/filter/maxResults",
        "/filter/supported",
        "/bulk/supported",
        "/bulk/maxOperations",
        "/bulk/maxPayloadSize",
        "/patch/supported",
    ] {
        assert!(c.pointer(pointer).is_some_and(not_empty), "{pointer} is empty in {c}");
    }
    assert_eq!(c["patch"]["supported"], true);
    assert_eq!(c["filter"]["supported"], true);
}

#[tokio::test]
async fn okta_spec_post_to_discovery_endpoints_is_405_even_with_a_non_json_body() {
    let app = spawn_app().await;
    for (path, body) in [("/ServiceProviderConfig", ""), ("/ResourceTypes", ""), ("/Schemas", "test")] {
        let req = spec_request(&app, reqwest::Method::POST, path).header("Content-Type", "application/json").body(body);
        let r = app.raw(req).await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "POST {path}: {:?}", r.body);
    }
}

#[tokio::test]
async fn okta_spec_resource_types_and_schemas_are_non_empty_list_responses() {
    let app = spawn_app().await;
    let types = app.raw(spec_request(&app, reqwest::Method::GET, "/ResourceTypes")).await;
    assert_eq!(types.status, StatusCode::OK);
    assert!(types.body["schemas"].as_array().unwrap().contains(&json!(LIST_SCHEMA)));
    for field in ["name", "endpoint", "schema"] {
        assert!(not_empty(&types.body["Resources"][0][field]), "Resources[0].{field}");
    }
    let schemas = app.raw(spec_request(&app, reqwest::Method::GET, "/Schemas")).await;
    assert_eq!(schemas.status, StatusCode::OK);
    assert!(schemas.body["schemas"].as_array().unwrap().contains(&json!(LIST_SCHEMA)));
    assert!(not_empty(&schemas.body["Resources"][0]["id"]));
    assert!(not_empty(&schemas.body["Resources"][0]["attributes"]));
}

#[tokio::test]
async fn okta_spec_user_steps_7_to_15_pass_in_order() {
    let app = spawn_app().await;
    app.user_id("existing.user@example.com").await; // Precondition: at least one user exists.
    let random_username = "Runscope300Hfluaklab151@example.com";
    let random_email = "Runscope300Hfluaklab151.email@example.com";

    // 7. The first page of one user.
    let r = app.raw(spec_request(&app, reqwest::Method::GET, "/Users?count=1&startIndex=1")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["schemas"].as_array().unwrap().contains(&json!(LIST_SCHEMA)));
    for k in ["itemsPerPage", "startIndex", "totalResults"] {
        assert!(r.body[k].is_i64(), "{k} must be a number: {}", r.body);
    }
    let first = &r.body["Resources"][0];
    for p in ["/id", "/name/familyName", "/name/givenName", "/userName", "/active", "/emails/0/value"] {
        assert!(first.pointer(p).is_some_and(not_empty), "{p} empty in {first}");
    }
    let isv_user_id = first["id"].as_str().unwrap().to_owned();

    // 8. That user by id.
    let r = app.raw(spec_request(&app, reqwest::Method::GET, &format!("/Users/{isv_user_id}"))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["id"], isv_user_id.as_str());
    for p in ["/name/familyName", "/name/givenName", "/userName", "/active", "/emails/0/value"] {
        assert!(r.body.pointer(p).is_some_and(not_empty), "{p}");
    }

    // 9 and 11. Filters that match nobody.
    for email in ["abcdefgh@example.com", random_email] {
        let r =
            app.raw(spec_request(&app, reqwest::Method::GET, &format!("/Users?filter=userName eq \"{email}\""))).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body["schemas"].as_array().unwrap().contains(&json!(LIST_SCHEMA)));
        assert_eq!(r.body["totalResults"], 0);
    }

    // 10. An id that does not exist.
    let r = app.raw(spec_request(&app, reqwest::Method::GET, "/Users/010101001010101011001010101011")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body["schemas"].as_array().unwrap().contains(&json!(ERROR_SCHEMA)));
    assert!(not_empty(&r.body["detail"]));

    // 12. Create, with Content-Type: application/json.
    let body = json!({"schemas":[USER_SCHEMA],"userName":random_username,"name":{"givenName":"Given","familyName":"Family"},
        "emails":[{"primary":true,"value":random_email,"type":"work"}],"displayName":"Given Family","active":true});
    let req = spec_request(&app, reqwest::Method::POST, "/Users")
        .header("Content-Type", "application/json")
        .body(body.to_string());
    let r = app.raw(req).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["active"], true);
    assert!(r.body["schemas"].as_array().unwrap().contains(&json!(USER_SCHEMA)));
    assert_eq!(r.body["userName"], random_username, "case preserved");
    assert_ne!(r.body["userName"].as_str().unwrap().to_lowercase(), random_username);
    assert_eq!(r.body["name"]["familyName"], "Family");
    assert_eq!(r.body["name"]["givenName"], "Given");
    let id_user_one = r.body["id"].as_str().unwrap().to_owned();
    assert!(!id_user_one.is_empty());

    // 13. Read it back.
    let r = app.raw(spec_request(&app, reqwest::Method::GET, &format!("/Users/{id_user_one}"))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["userName"], random_username);
    assert_eq!(r.body["name"]["familyName"], "Family");
    assert_eq!(r.body["name"]["givenName"], "Given");

    // 14. The same userName again (with email = username) is a conflict.
    let dup = json!({"schemas":[USER_SCHEMA],"userName":random_username,"name":{"givenName":"Given","familyName":"Family"},
        "emails":[{"primary":true,"value":random_username,"type":"work"}],"displayName":"Given Family","active":true});
    let req = spec_request(&app, reqwest::Method::POST, "/Users")
        .header("Content-Type", "application/json")
        .body(dup.to_string());
    let r = app.raw(req).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.body["scimType"], "uniqueness");
    assert!(r.body["schemas"].as_array().unwrap().contains(&json!(ERROR_SCHEMA)));

    // 15. The upper-cased userName finds the user, whose userName keeps its case.
    let caps = random_username.to_uppercase();
    let r = app.raw(spec_request(&app, reqwest::Method::GET, &format!("/Users?filter=userName eq \"{caps}\""))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["Resources"][0]["id"], id_user_one.as_str());
    assert_eq!(r.body["Resources"][0]["userName"], random_username);
}

#[tokio::test]
async fn okta_spec_groups_list_is_a_list_response_with_an_array_of_resources() {
    let app = spawn_app().await;
    let alice = app.user_id("alice@okta.local").await;
    app.group_id("Engineering", &[&alice]).await;
    for path in ["/Groups", "/Groups?count=100&startIndex=1"] {
        let r = app.raw(spec_request(&app, reqwest::Method::GET, path)).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body["totalResults"].as_i64().unwrap() >= 1);
        assert!(r.body["Resources"].is_array());
    }
}

#[tokio::test]
async fn okta_test_api_credentials_probe_returns_integers() {
    let app = spawn_app().await;
    app.user_id("a@okta.local").await;
    app.user_id("b@okta.local").await;
    app.user_id("c@okta.local").await;
    let r = app.get("/Users?count=2&startIndex=1").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["totalResults"], 3);
    assert_eq!(r.body["itemsPerPage"], 2);
    assert_eq!(r.body["startIndex"], 1);
    assert_eq!(r.body["Resources"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn okta_looks_users_up_by_whichever_unique_attribute_is_configured() {
    let app = spawn_app().await;
    let id = app.user_id("test.user@okta.local").await;
    for filter in [
        "userName eq \"TEST.USER@okta.local\"",
        "externalId eq \"00u20\"",
        "emails eq \"test.user@OKTA.local\"",
        "emails.value eq \"test.user@okta.local\"",
        "emails[type eq \"work\"].value eq \"test.user@okta.local\"",
    ] {
        let r = app.get(&format!("/Users?filter={filter}&startIndex=1&count=100")).await;
        assert_eq!(r.status, StatusCode::OK, "{filter}: {:?}", r.body);
        assert_eq!(r.body["totalResults"], 1, "{filter}");
        assert_eq!(r.body["Resources"][0]["id"], id.as_str(), "{filter}");
    }
}

#[tokio::test]
async fn okta_group_push_naming_an_unprovisioned_member_is_refused_and_creates_nothing() {
    let app = spawn_app().await;
    let alice = app.user_id("alice@okta.local").await;
    let r = app
        .post("/Groups", json!({"schemas": [GROUP_SCHEMA], "displayName": "Engineering", "members": members(&[&alice, "00u-not-assigned"])}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert_eq!(r.body["scimType"], "invalidValue");
    assert!(r.detail().contains("00u-not-assigned"), "names the member: {}", r.detail());
    assert_eq!(app.total(&group_lookup("Engineering")).await, 0, "the group was not half-created");
}
