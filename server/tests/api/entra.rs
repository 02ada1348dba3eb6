//! Microsoft Entra ID, replayed: its request shapes and the quirks of its default jobs (docs/entra.md)
//! ("Replace", "False", dotted and URN-prefixed keys, remove-by-value arrays, groups created empty).
use crate::helpers::{TestApp, sorted, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Entra's POST /Users body (Entra tutorial), with the enterprise extension filled in.
fn entra_user(user_name: &str, external_id: &str, work_email: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "externalId": external_id,
        "userName": user_name,
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": work_email}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Ada Lovelace", "familyName": "Lovelace", "givenName": "Ada"},
        "roles": [],
        ENTERPRISE: {"employeeNumber": "42", "department": "Analytics"}
    })
}

async fn create(app: &TestApp, body: Value) -> String {
    let r = app.post("/Users", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn ada(app: &TestApp) -> String {
    create(app, entra_user("Test_User_ada@contoso.com", "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", "ada@contoso.com"))
        .await
}

/// Entra's group create: empty, with Microsoft's ADSCIM schema, an externalId and `meta`.
async fn entra_group(app: &TestApp, name: &str) -> String {
    let r = app
        .post(
            "/Groups",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "externalId": format!("8aa1a0c0-{name}"),
                "displayName": name,
                "meta": {"resourceType": "Group"}
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

/// Entra's member delta: `{"op":"Add"|"Remove","path":"members","value":[{"$ref":null,"value":id}]}`.
fn member_op(op: &str, ids: &[&str]) -> Value {
    let value: Vec<Value> = ids.iter().map(|id| json!({"$ref": null, "value": id})).collect();
    json!([{"op": op, "path": "members", "value": value}])
}

async fn patch_user(app: &TestApp, id: &str, ops: Value) -> Value {
    let r = app.patch(&format!("/Users/{id}"), ops).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    app.fetch(&format!("/Users/{id}")).await
}

#[tokio::test]
async fn entra_creates_a_user_with_the_enterprise_extension_and_empty_roles() {
    let app = spawn_app().await;
    let r = app.post("/Users", entra_user("Test_User_ada@contoso.com", "0a21", "ada@contoso.com")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["active"], true);
    assert!(r.body["schemas"].as_array().unwrap().contains(&json!(ENTERPRISE)));
    assert_eq!(r.body[ENTERPRISE]["employeeNumber"], "42");

    let user = app.fetch(&format!("/Users/{}", r.body["id"].as_str().unwrap())).await;
    assert_eq!(user[ENTERPRISE]["department"], "Analytics");
    assert_eq!(user["name"]["formatted"], "Ada Lovelace");
    assert_eq!(user["externalId"], "0a21");
    assert_eq!(user["userName"], "Test_User_ada@contoso.com");
}

#[tokio::test]
async fn entra_matches_a_user_by_user_name() {
    let app = spawn_app().await;
    let id = ada(&app).await;
    let r = app.get("/Users?filter=userName eq \"Test_User_ada@contoso.com\"").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["Resources"][0]["id"], id.as_str());
}

#[tokio::test]
async fn entra_matches_a_user_by_external_id() {
    let app = spawn_app().await;
    let id = ada(&app).await;
    let r = app.get("/Users?filter=externalId eq \"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef\"").await;
    assert_eq!(r.body["totalResults"], 1, "{:?}", r.body);
    assert_eq!(r.body["Resources"][0]["id"], id.as_str());
    assert_eq!(
        app.total("/Users?filter=externalId eq \"0A21F0F2-8D2A-4F8E-BF98-7363C4AED4EF\"").await,
        0,
        "externalId is caseExact"
    );
}

#[tokio::test]
async fn entra_matches_a_user_by_work_email() {
    let app = spawn_app().await;
    let id = ada(&app).await;
    let r = app.get("/Users?filter=emails[type eq \"work\"].value eq \"ada@contoso.com\"").await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["Resources"][0]["id"], id.as_str());
    assert_eq!(app.total("/Users?filter=emails[type eq \"home\"].value eq \"ada@contoso.com\"").await, 0);
}

#[tokio::test]
async fn entra_test_connection_lookup_of_a_random_user_is_an_empty_list_response() {
    let app = spawn_app().await;
    ada(&app).await;
    let r = app.get("/Users?filter=userName eq \"AzureAD_Test-5d1f3c1e-4a8e-4f0a-9a49-ad2e3f7c6b10\"").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"]));
    assert_eq!(r.body["totalResults"], 0);
    assert_eq!(r.body["Resources"], json!([]));
}

#[tokio::test]
async fn entra_deactivates_with_a_replace_whose_value_is_the_string_false() {
    let app = spawn_app().await;
    let id = ada(&app).await;
    let user = patch_user(&app, &id, json!([{"op": "Replace", "path": "active", "value": "False"}])).await;
    assert_eq!(user["active"], false);

    let user = patch_user(&app, &id, json!([{"op": "Replace", "path": "active", "value": "True"}])).await;
    assert_eq!(user["active"], true, "and the string True reactivates");
}

#[tokio::test]
async fn entra_deactivates_with_the_compliant_lowercase_boolean_shape() {
    let app = spawn_app().await;
    let id = ada(&app).await;
    let user = patch_user(&app, &id, json!([{"op": "replace", "path": "active", "value": false}])).await;
    assert_eq!(user["active"], false);
}

#[tokio::test]
async fn entra_updates_with_one_replace_per_path() {
    let app = spawn_app().await;
    let id = ada(&app).await;
    let user = patch_user(
        &app,
        &id,
        json!([
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ada.lovelace@contoso.com"},
            {"op": "Replace", "path": "name.familyName", "value": "Byron"},
            {"op": "Replace", "path": "userName", "value": "Test_User_ada.byron@contoso.com"},
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "43"}
        ]),
    )
    .await;
    assert_eq!(user["emails"], json!([{"primary": true, "type": "work", "value": "ada.lovelace@contoso.com"}]));
    assert_eq!(user["name"]["familyName"], "Byron");
    assert_eq!(user["name"]["givenName"], "Ada", "other sub-attributes are kept");
    assert_eq!(user["userName"], "Test_User_ada.byron@contoso.com");
    assert_eq!(user[ENTERPRISE]["employeeNumber"], "43");
    assert_eq!(user[ENTERPRISE]["department"], "Analytics");
    assert_eq!(app.total("/Users?filter=userName eq \"Test_User_ada.byron@contoso.com\"").await, 1);
    assert_eq!(app.total("/Users?filter=emails[type eq \"work\"].value eq \"ada.lovelace@contoso.com\"").await, 1);
    assert_eq!(app.total("/Users?filter=userName eq \"Test_User_ada@contoso.com\"").await, 0);
}

#[tokio::test]
async fn entra_replaces_attributes_with_a_pathless_map_of_dotted_and_urn_prefixed_keys() {
    let app = spawn_app().await;
    let id = ada(&app).await;
    let user = patch_user(
        &app,
        &id,
        json!([{"op": "replace", "value": {
            "name.givenName": "Augusta",
            "name.familyName": "King",
            "displayName": "Augusta King",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "701984",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Tour Operations"
        }}]),
    )
    .await;
    assert_eq!(user["name"]["givenName"], "Augusta");
    assert_eq!(user["name"]["familyName"], "King");
    assert_eq!(user["name"]["formatted"], "Ada Lovelace", "untouched sub-attributes stay");
    assert_eq!(user["displayName"], "Augusta King");
    assert_eq!(user[ENTERPRISE]["employeeNumber"], "701984");
    assert_eq!(user[ENTERPRISE]["department"], "Tour Operations");
    assert!(user.get("name.givenName").is_none(), "dotted keys are resolved, not stored literally: {user}");
    assert!(user.get(format!("{ENTERPRISE}:employeeNumber").as_str()).is_none(), "{user}");
    assert_eq!(app.total("/Users?filter=name.givenName eq \"Augusta\"").await, 1, "derived fields follow");
}

#[tokio::test]
async fn entra_replace_of_the_work_email_adds_it_when_there_is_none() {
    let app = spawn_app().await;
    let id = create(
        &app,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "grace@contoso.com", "active": true,
            "emails": [{"type": "home", "value": "grace@home.example"}]}),
    )
    .await;
    let user = patch_user(
        &app,
        &id,
        json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "grace@contoso.com"}]),
    )
    .await;
    let emails = user["emails"].as_array().unwrap();
    assert_eq!(emails.len(), 2, "{emails:?}");
    assert!(emails.iter().any(|e| e["type"] == "work" && e["value"] == "grace@contoso.com"), "{emails:?}");
    assert!(emails.iter().any(|e| e["type"] == "home" && e["value"] == "grace@home.example"), "{emails:?}");
    assert_eq!(app.total("/Users?filter=emails[type eq \"work\"].value eq \"grace@contoso.com\"").await, 1);
}

#[tokio::test]
async fn entra_add_on_the_single_valued_nickname_sets_and_then_replaces_it() {
    let app = spawn_app().await;
    let id = ada(&app).await;
    let user = patch_user(&app, &id, json!([{"op": "Add", "path": "nickName", "value": "Babs"}])).await;
    assert_eq!(user["nickName"], "Babs");
    let user = patch_user(&app, &id, json!([{"op": "Add", "path": "nickName", "value": "Barb"}])).await;
    assert_eq!(user["nickName"], "Barb", "Add on a single-valued attribute is a replace");
}

#[tokio::test]
async fn entra_sets_the_manager_through_the_enterprise_urn_path() {
    let app = spawn_app().await;
    let boss = create(&app, entra_user("boss@contoso.com", "b055", "boss@contoso.com")).await;
    let id = ada(&app).await;
    let user = patch_user(
        &app,
        &id,
        json!([{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": boss}]),
    )
    .await;
    assert_eq!(user[ENTERPRISE]["manager"]["value"], boss.as_str(), "{user}");
    assert_eq!(user[ENTERPRISE]["employeeNumber"], "42", "the rest of the extension is kept");

    let user = patch_user(
        &app,
        &id,
        json!([{"op": "Remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]),
    )
    .await;
    assert!(user[ENTERPRISE].get("manager").is_none(), "{user}");
}

#[tokio::test]
async fn entra_creates_groups_empty() {
    let app = spawn_app().await;
    let id = entra_group(&app, "Finance").await;
    let g = app.fetch(&format!("/Groups/{id}")).await;
    assert_eq!(g["displayName"], "Finance");
    assert_eq!(g["externalId"], "8aa1a0c0-Finance");
    assert!(g["members"].as_array().is_none_or(Vec::is_empty), "{g}");
}

#[tokio::test]
async fn entra_gets_a_group_without_members_when_it_excludes_them() {
    let app = spawn_app().await;
    let ada = ada(&app).await;
    let id = entra_group(&app, "Finance").await;
    app.patch(&format!("/Groups/{id}"), member_op("Add", &[&ada])).await;

    let r = app.get(&format!("/Groups/{id}?excludedAttributes=members")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.get("members").is_none(), "{}", r.body);
    assert_eq!(r.body["displayName"], "Finance");
    assert_eq!(app.member_ids(&id).await, sorted(&[&ada]), "without the parameter the members are there");
}

#[tokio::test]
async fn entra_looks_up_a_group_by_display_name_without_members() {
    let app = spawn_app().await;
    let ada = ada(&app).await;
    let id = entra_group(&app, "Finance").await;
    app.patch(&format!("/Groups/{id}"), member_op("Add", &[&ada])).await;

    let r = app.get("/Groups?excludedAttributes=members&filter=displayName eq \"Finance\"").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["Resources"][0]["id"], id.as_str());
    assert!(r.body["Resources"][0].get("members").is_none(), "{}", r.body);
}

#[tokio::test]
async fn entra_adds_members_with_a_value_array_and_gets_204() {
    let app = spawn_app().await;
    let ada = ada(&app).await;
    let bob = create(&app, entra_user("bob@contoso.com", "b0b", "bob@contoso.com")).await;
    let id = entra_group(&app, "Finance").await;

    let r = app.patch(&format!("/Groups/{id}"), member_op("Add", &[&ada, &bob])).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert_eq!(app.member_ids(&id).await, sorted(&[&ada, &bob]));
}

#[tokio::test]
async fn entra_removes_only_the_listed_members_and_never_wipes_the_list() {
    let app = spawn_app().await;
    let ada = ada(&app).await;
    let bob = create(&app, entra_user("bob@contoso.com", "b0b", "bob@contoso.com")).await;
    let cy = create(&app, entra_user("cy@contoso.com", "cy", "cy@contoso.com")).await;
    let id = entra_group(&app, "Finance").await;
    app.patch(&format!("/Groups/{id}"), member_op("Add", &[&ada, &bob, &cy])).await;

    let r = app.patch(&format!("/Groups/{id}"), member_op("Remove", &[&bob])).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert_eq!(app.member_ids(&id).await, sorted(&[&ada, &cy]));
    assert!(app.is_active(&bob).await, "leaving one group does not deactivate");
}

#[tokio::test]
async fn entra_removes_a_member_with_the_compliant_filtered_path() {
    let app = spawn_app().await;
    let ada = ada(&app).await;
    let bob = create(&app, entra_user("bob@contoso.com", "b0b", "bob@contoso.com")).await;
    let id = entra_group(&app, "Finance").await;
    app.patch(&format!("/Groups/{id}"), member_op("Add", &[&ada, &bob])).await;

    let r = app
        .patch(&format!("/Groups/{id}"), json!([{"op": "remove", "path": format!("members[value eq \"{ada}\"]")}]))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert_eq!(app.member_ids(&id).await, sorted(&[&bob]));
}

#[tokio::test]
async fn entra_renames_a_group_with_a_replace_of_display_name_and_gets_204() {
    let app = spawn_app().await;
    let id = entra_group(&app, "Finance").await;
    let r = app
        .patch(&format!("/Groups/{id}"), json!([{"op": "Replace", "path": "displayName", "value": "Finance EMEA"}]))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert!(r.body.is_null(), "204 has no body");
    assert_eq!(app.fetch(&format!("/Groups/{id}")).await["displayName"], "Finance EMEA");
}

#[tokio::test]
async fn entra_deletes_a_group_with_204() {
    let app = spawn_app().await;
    let id = entra_group(&app, "Finance").await;
    assert_eq!(app.delete(&format!("/Groups/{id}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&format!("/Groups/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.total("/Groups?filter=displayName eq \"Finance\"").await, 0);
}

#[tokio::test]
async fn entra_deletes_a_user_and_it_then_appears_nowhere_over_scim() {
    let app = spawn_app().await;
    let ada = ada(&app).await;
    let bob = create(&app, entra_user("bob@contoso.com", "b0b", "bob@contoso.com")).await;
    let group = entra_group(&app, "Finance").await;
    app.patch(&format!("/Groups/{group}"), member_op("Add", &[&ada, &bob])).await;

    let r = app.delete(&format!("/Users/{ada}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);

    let gone = app.get(&format!("/Users/{ada}")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]));
    assert_eq!(app.total("/Users?filter=userName eq \"Test_User_ada@contoso.com\"").await, 0);
    assert_eq!(app.total("/Users?filter=externalId eq \"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef\"").await, 0);
    assert_eq!(app.total("/Users?filter=emails[type eq \"work\"].value eq \"ada@contoso.com\"").await, 0);
    let all = app.get("/Users").await;
    assert_eq!(all.body["totalResults"], 1);
    assert_eq!(all.body["Resources"][0]["id"], bob.as_str());
    assert_eq!(app.member_ids(&group).await, sorted(&[&bob]), "a deleted user is not listed as a member");
    assert_eq!(
        app.patch(&format!("/Users/{ada}"), json!([{"op": "Replace", "path": "active", "value": "True"}])).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.delete(&format!("/Users/{ada}")).await.status, StatusCode::NOT_FOUND, "a second DELETE is 404");
    assert_eq!(app.services.settings.seats().await.unwrap().used, 1, "the seat is freed");
}

#[tokio::test]
async fn entra_recreating_a_deleted_user_restores_the_same_id_with_its_memberships() {
    let app = spawn_app().await;
    let ada = ada(&app).await;
    let group = entra_group(&app, "Finance").await;
    app.patch(&format!("/Groups/{group}"), member_op("Add", &[&ada])).await;
    app.delete(&format!("/Users/{ada}")).await;

    let r = app.post("/Users", entra_user("test_user_ADA@contoso.com", "0a21-new", "ada@contoso.com")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["id"], ada.as_str(), "same id");
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["userName"], "test_user_ADA@contoso.com", "the new body is stored as sent");
    assert_eq!(r.body["externalId"], "0a21-new");
    assert_eq!(app.member_ids(&group).await, sorted(&[&ada]), "memberships come back");
    assert_eq!(app.fetch(&format!("/Users/{ada}")).await["groups"][0]["value"], group.as_str());
}

#[tokio::test]
async fn entra_reads_the_schemas_for_attribute_discovery() {
    let app = spawn_app().await;
    let r = app.get("/Schemas").await;
    assert_eq!(r.status, StatusCode::OK);
    let ids: Vec<&str> = r.body["Resources"].as_array().unwrap().iter().filter_map(|s| s["id"].as_str()).collect();
    for id in ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE, "urn:ietf:params:scim:schemas:core:2.0:Group"]
    {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    assert_eq!(r.body["totalResults"], ids.len());
    let user = app.fetch("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").await;
    let names: Vec<&str> = user["attributes"].as_array().unwrap().iter().filter_map(|a| a["name"].as_str()).collect();
    assert!(names.contains(&"userName") && names.contains(&"emails") && names.contains(&"active"), "{names:?}");
}

#[tokio::test]
async fn a_restored_user_is_modified_no_earlier_than_writes_before_the_restore() {
    let app = spawn_app().await;
    let ada = ada(&app).await;
    app.delete(&format!("/Users/{ada}")).await;
    let bob = app.post("/Users", entra_user("bob@contoso.com", "b0b", "bob@contoso.com")).await;
    let bob_modified = bob.body["meta"]["lastModified"].as_str().unwrap().to_owned();

    let restored = app.post("/Users", entra_user("Test_User_ada@contoso.com", "0a21", "ada@contoso.com")).await;
    assert_eq!(restored.status, StatusCode::CREATED);
    let at = |s: &str| roster::model::parse_rfc3339(s).unwrap();
    let modified = restored.body["meta"]["lastModified"].as_str().unwrap();
    assert!(at(modified) >= at(&bob_modified), "restore is a write: {modified} < {bob_modified}");
    let since = format!("/Users?filter=meta.lastModified ge \"{bob_modified}\"");
    let found = app.get(&since).await;
    assert!(
        found.body["Resources"].as_array().unwrap().iter().any(|u| u["id"] == ada.as_str()),
        "an incremental sync sees it"
    );
}
