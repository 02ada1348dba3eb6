//! RFC 7644 protocol details over HTTP: media types, errors, authentication, filters, paging, sorting, projection,
//! `meta` and ETags, PATCH limits, extensions and write-only attributes.
use crate::helpers::{Reply, TestApp, okta_user, spawn_app};
use reqwest::StatusCode;
use roster::service::Ctx;
use serde_json::{Value, json};

const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

fn content_type(r: &Reply) -> String {
    r.headers.get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

fn assert_scim_error(r: &Reply, status: StatusCode, scim_type: Option<&str>) {
    assert_eq!(r.status, status, "{:?}", r.body);
    assert_eq!(r.body["schemas"], json!([ERROR_SCHEMA]), "{:?}", r.body);
    assert_eq!(r.body["status"], status.as_u16().to_string(), "status is a string (RFC 7644 §3.12)");
    assert!(!r.detail().is_empty());
    if let Some(t) = scim_type {
        assert_eq!(r.body["scimType"], t, "{:?}", r.body);
    }
    assert!(content_type(r).starts_with("application/scim+json"), "{}", content_type(r));
}

/// A POST with any Content-Type and raw body.
async fn post_raw(app: &TestApp, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> Reply {
    let req = reqwest::Client::new()
        .post(format!("{}{path}", app.scim))
        .bearer_auth(&app.token)
        .header("Content-Type", content_type)
        .body(body);
    app.raw(req).await
}

fn user_names(r: &Reply) -> Vec<String> {
    r.body["Resources"].as_array().unwrap().iter().map(|u| u["userName"].as_str().unwrap().to_owned()).collect()
}

fn ids(r: &Reply) -> Vec<String> {
    r.body["Resources"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect()
}

/// userNames matching a filter, sorted.
async fn matching(app: &TestApp, filter: &str) -> Vec<String> {
    let r = app.get(&format!("/Users?filter={}", urlencode(filter))).await;
    assert_eq!(r.status, StatusCode::OK, "{filter}: {:?}", r.body);
    let mut names = user_names(&r);
    names.sort();
    names
}

/// Percent-encodes a query value (spaces, quotes, brackets, parentheses and the like).
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn names(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

// ---- Media types and bodies ----

#[tokio::test]
async fn both_application_json_and_application_scim_json_bodies_are_accepted() {
    let app = spawn_app().await;
    for (i, ct) in [
        "application/json",
        "application/scim+json",
        "application/scim+json; charset=utf-8",
        "application/json; charset=utf-8",
    ]
    .into_iter()
    .enumerate()
    {
        let r = post_raw(&app, "/Users", ct, okta_user(&format!("user{i}@example.com")).to_string()).await;
        assert_eq!(r.status, StatusCode::CREATED, "{ct}: {:?}", r.body);
        assert!(content_type(&r).starts_with("application/scim+json"), "{ct}: {}", content_type(&r));
    }
}

#[tokio::test]
async fn responses_are_application_scim_json() {
    let app = spawn_app().await;
    let id = app.user_id("alice@example.com").await;
    for path in [
        "/Users",
        &format!("/Users/{id}"),
        "/Groups",
        "/ServiceProviderConfig",
        "/Schemas",
        "/ResourceTypes",
        "/Users/nope",
    ] {
        let r = app.get(path).await;
        assert!(content_type(&r).starts_with("application/scim+json"), "{path}: {}", content_type(&r));
    }
    let r = app.patch(&format!("/Users/{id}"), json!([{"op": "replace", "path": "displayName", "value": "A"}])).await;
    assert!(content_type(&r).starts_with("application/scim+json"));
}

#[tokio::test]
async fn malformed_json_is_400_invalid_syntax() {
    let app = spawn_app().await;
    let id = app.user_id("alice@example.com").await;
    let r = post_raw(&app, "/Users", "application/scim+json", r#"{"userName": "bob@example.com""#).await;
    assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidSyntax"));
    let r = post_raw(&app, "/Groups", "application/json", "not json").await;
    assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidSyntax"));
    let req = reqwest::Client::new()
        .patch(format!("{}/Users/{id}", app.scim))
        .bearer_auth(&app.token)
        .header("Content-Type", "application/scim+json")
        .body(r#"{"Operations": [{"op": "replace",}]}"#);
    assert_scim_error(&app.raw(req).await, StatusCode::BAD_REQUEST, Some("invalidSyntax"));
    assert_eq!(app.total("/Users").await, 1, "nothing was created");
}

#[tokio::test]
async fn bodies_over_the_limits_are_413_with_a_scim_error_body() {
    use roster::scim::{MAX_BODY_BYTES, MAX_GROUP_BODY_BYTES};
    let app = spawn_app().await;
    let padding = "a".repeat(MAX_BODY_BYTES);
    let body = json!({"userName": "big@example.com", "displayName": padding}).to_string();
    let r = post_raw(&app, "/Users", "application/scim+json", body).await;
    assert_scim_error(&r, StatusCode::PAYLOAD_TOO_LARGE, None);
    assert!(r.detail().contains(&MAX_BODY_BYTES.to_string()), "the detail names the limit: {}", r.detail());
    assert_eq!(app.total("/Users").await, 0);

    let ext = "urn:example:params:scim:schemas:extension:acme:2.0:User";
    let just_under =
        json!({"userName": "fits@example.com", ext: {"blob": "a".repeat(MAX_BODY_BYTES - 200)}}).to_string();
    assert_eq!(post_raw(&app, "/Users", "application/scim+json", just_under).await.status, StatusCode::CREATED);

    // /Groups takes the larger Push-now bodies, and no more.
    let group = |n: usize| json!({"displayName": "Big", "urn:example:acme:Group": {"blob": "a".repeat(n)}}).to_string();
    let r = post_raw(&app, "/Groups", "application/scim+json", group(MAX_GROUP_BODY_BYTES)).await;
    assert_scim_error(&r, StatusCode::PAYLOAD_TOO_LARGE, None);
    let r = post_raw(&app, "/Groups", "application/scim+json", group(2 * MAX_BODY_BYTES)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.detail());
    let config = app.get("/ServiceProviderConfig").await;
    assert_eq!(config.body["bulk"]["maxPayloadSize"], json!(MAX_BODY_BYTES), "what every endpoint takes");
}

// ---- Authentication ----

#[tokio::test]
async fn missing_wrong_and_revoked_tokens_are_401_with_www_authenticate_bearer() {
    let app = spawn_app().await;
    let url = format!("{}/Users", app.scim);
    let cases = vec![
        ("missing", reqwest::Client::new().get(&url)),
        ("wrong", reqwest::Client::new().get(&url).bearer_auth("roster_scim_wrong")),
        ("not bearer", reqwest::Client::new().get(&url).basic_auth("okta", Some(&app.token))),
    ];
    for (what, req) in cases {
        let r = app.raw(req).await;
        assert_scim_error(&r, StatusCode::UNAUTHORIZED, None);
        let www = r.headers.get("www-authenticate").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        assert!(www.starts_with("Bearer"), "{what}: {www:?}");
    }

    assert_eq!(app.get("/Users").await.status, StatusCode::OK);
    app.services.tokens.revoke(&Ctx::cli("test"), roster::model::TokenKind::Scim, "Okta").await.unwrap();
    let r = app.get("/Users").await;
    assert_scim_error(&r, StatusCode::UNAUTHORIZED, None);
    assert!(r.headers.get("www-authenticate").is_some_and(|v| v.to_str().unwrap().starts_with("Bearer")));
    assert_eq!(app.create_user("alice@example.com").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.services.users.list(&Default::default()).await.unwrap().total, 0, "a revoked token writes nothing");
}

#[tokio::test]
async fn a_bad_token_is_401_even_while_scim_is_disabled() {
    let app = spawn_app().await;
    app.set_scim(false).await;
    let r = app.raw(reqwest::Client::new().get(format!("{}/Users", app.scim)).bearer_auth("nope")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "authentication is checked first");
    assert_eq!(app.get("/Users").await.status, StatusCode::FORBIDDEN);
}

// ---- Unknown ids ----

#[tokio::test]
async fn unknown_ids_are_404_never_400_or_500_whatever_their_characters() {
    let app = spawn_app().await;
    let odd = [
        "010101001010101011001010101011",
        "00000000-0000-0000-0000-000000000000",
        "not-a-uuid",
        "%20",
        "a%2Fb",
        "%C3%BC%E2%9C%93",
        "'%3B%20drop%20table%20app_user%3B--",
        "%25",
        "bulkId%3Aqwerty",
        &"x".repeat(300),
    ];
    for id in odd {
        for kind in ["Users", "Groups"] {
            let path = format!("/{kind}/{id}");
            let replies = [
                ("GET", app.get(&path).await),
                (
                    "PUT",
                    app.put(
                        &path,
                        if kind == "Users" { okta_user("x@example.com") } else { json!({"displayName": "X"}) },
                    )
                    .await,
                ),
                ("PATCH", app.patch(&path, json!([{"op": "replace", "path": "displayName", "value": "X"}])).await),
                ("DELETE", app.delete(&path).await),
            ];
            for (method, r) in replies {
                assert_scim_error(&r, StatusCode::NOT_FOUND, None);
                assert!(!r.detail().is_empty(), "{method} {path}");
            }
        }
    }
    assert_eq!(app.total("/Users").await, 0);
    assert_eq!(app.total("/Groups").await, 0);
}

// ---- Filters ----

async fn filter_fixture(app: &TestApp) {
    for (user_name, display, external) in [
        ("alice@example.com", Some("Alice Archer"), Some("ext-a")),
        ("bob@example.com", Some("Bob Baker"), None),
        ("carol@contoso.com", None, Some("ext-c")),
        ("dave@contoso.com", Some("Dave Dyer"), Some("ext-d")),
    ] {
        let mut body = json!({"userName": user_name, "active": true, "emails": [{"value": user_name, "type": "work", "primary": true}]});
        if let Some(d) = display {
            body["displayName"] = json!(d);
        }
        if let Some(x) = external {
            body["externalId"] = json!(x);
        }
        let r = app.post("/Users", body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    let dave = app.get("/Users?filter=userName eq \"dave@contoso.com\"").await.body["Resources"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.patch(&format!("/Users/{dave}"), json!([{"op": "replace", "value": {"active": false}}])).await;
}

#[tokio::test]
async fn filters_support_co_sw_ew_and_pr() {
    let app = spawn_app().await;
    filter_fixture(&app).await;
    assert_eq!(matching(&app, r#"userName co "contoso""#).await, names(&["carol@contoso.com", "dave@contoso.com"]));
    assert_eq!(matching(&app, r#"userName sw "ALI""#).await, names(&["alice@example.com"]), "case-insensitive");
    assert_eq!(matching(&app, r#"userName ew "@example.com""#).await, names(&["alice@example.com", "bob@example.com"]));
    assert_eq!(
        matching(&app, r#"displayName co "er""#).await,
        names(&["alice@example.com", "bob@example.com", "dave@contoso.com"])
    );
    assert_eq!(
        matching(&app, "externalId pr").await,
        names(&["alice@example.com", "carol@contoso.com", "dave@contoso.com"])
    );
    assert_eq!(
        matching(&app, "displayName pr").await,
        names(&["alice@example.com", "bob@example.com", "dave@contoso.com"])
    );
    assert_eq!(
        matching(&app, r#"externalId sw "ext-""#).await,
        names(&["alice@example.com", "carol@contoso.com", "dave@contoso.com"])
    );
    assert_eq!(
        matching(&app, r#"externalId sw "EXT-""#).await,
        Vec::<String>::new(),
        "externalId is caseExact, in every operator"
    );
    assert_eq!(matching(&app, r#"externalId ew "-A""#).await, Vec::<String>::new());
    assert_eq!(matching(&app, r#"userName co "%""#).await, Vec::<String>::new(), "LIKE wildcards are literal");
    assert_eq!(matching(&app, r#"userName co "_""#).await, Vec::<String>::new());
}

#[tokio::test]
async fn filters_compare_meta_last_modified_as_a_date_time() {
    let app = spawn_app().await;
    filter_fixture(&app).await;
    let all = names(&["alice@example.com", "bob@example.com", "carol@contoso.com", "dave@contoso.com"]);
    assert_eq!(matching(&app, r#"meta.lastModified gt "2000-01-01T00:00:00Z""#).await, all);
    assert_eq!(matching(&app, r#"meta.lastModified gt "2999-01-01T00:00:00Z""#).await, Vec::<String>::new());
    assert_eq!(matching(&app, r#"meta.lastModified lt "2999-01-01T00:00:00+02:00""#).await, all);

    let dave = app.get("/Users?filter=userName eq \"dave@contoso.com\"").await.body["Resources"][0].clone();
    let stamp = dave["meta"]["lastModified"].as_str().unwrap();
    let since = matching(&app, &format!("meta.lastModified ge \"{stamp}\"")).await;
    assert!(since.contains(&"dave@contoso.com".to_owned()), "ge includes the resource's own timestamp: {since:?}");

    let bad = app.get(&format!("/Users?filter={}", urlencode(r#"meta.lastModified gt "yesterday""#))).await;
    assert_scim_error(&bad, StatusCode::BAD_REQUEST, Some("invalidFilter"));
}

#[tokio::test]
async fn filters_combine_with_and_or_not_and_parentheses() {
    let app = spawn_app().await;
    filter_fixture(&app).await;
    assert_eq!(matching(&app, r#"userName ew "contoso.com" and active eq true"#).await, names(&["carol@contoso.com"]));
    assert_eq!(
        matching(&app, r#"userName eq "alice@example.com" or userName eq "carol@contoso.com""#).await,
        names(&["alice@example.com", "carol@contoso.com"])
    );
    assert_eq!(
        matching(&app, r#"not (userName ew "contoso.com")"#).await,
        names(&["alice@example.com", "bob@example.com"])
    );
    assert_eq!(
        matching(&app, r#"(userName sw "a" or userName sw "d") and active eq false"#).await,
        names(&["dave@contoso.com"])
    );
    assert_eq!(
        matching(&app, r#"userName sw "a" or userName sw "d" and active eq false"#).await,
        names(&["alice@example.com", "dave@contoso.com"]),
        "and binds tighter than or"
    );
    assert_eq!(
        matching(&app, r#"USERNAME EQ "BOB@EXAMPLE.COM" AND Active Eq True"#).await,
        names(&["bob@example.com"]),
        "attribute names and operators are case-insensitive"
    );
    assert_eq!(
        matching(&app, r#"emails[type eq "work" and value ew "contoso.com"]"#).await,
        names(&["carol@contoso.com", "dave@contoso.com"])
    );
}

#[tokio::test]
async fn an_unsupported_attribute_or_a_garbage_filter_is_400_invalid_filter() {
    let app = spawn_app().await;
    filter_fixture(&app).await;
    for f in [
        r#"nickName eq "x""#,
        r#"urn:example:ext:User:badge eq "1""#,
        r#"userName eq"#,
        r#"userName zz "a""#,
        r#"userName eq "unterminated"#,
        r#"((userName eq "a")"#,
        r#"userName eq "a" and"#,
        "!!!",
        r#"active eq "maybe""#,
    ] {
        let r = app.get(&format!("/Users?filter={}", urlencode(f))).await;
        assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidFilter"));
    }
    let r = app.get(&format!("/Groups?filter={}", urlencode(r#"userName eq "a""#))).await;
    assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidFilter"));
}

#[tokio::test]
async fn group_filters_work_on_display_name_and_members() {
    let app = spawn_app().await;
    let alice = app.user_id("alice@example.com").await;
    let eng = app.group_id("Engineering", &[&alice]).await;
    app.group_id("Sales", &[]).await;
    let r = app.get(&format!("/Groups?filter={}", urlencode(r#"displayName sw "eng""#))).await;
    assert_eq!(ids(&r), vec![eng.clone()]);
    let r = app.get(&format!("/Groups?filter={}", urlencode(&format!(r#"members.value eq "{alice}""#)))).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(ids(&r), vec![eng]);
}

// ---- Paging and sorting ----

#[tokio::test]
async fn pages_are_integer_stable_and_never_overlap() {
    let app = spawn_app().await;
    for i in 0..7 {
        app.user_id(&format!("user{i}@example.com")).await;
    }
    let mut seen = Vec::new();
    for start in [1, 4, 7] {
        let r = app.get(&format!("/Users?startIndex={start}&count=3")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body["totalResults"], json!(7), "totalResults counts every match");
        assert_eq!(r.body["startIndex"], json!(start));
        let n = r.body["Resources"].as_array().unwrap().len();
        assert_eq!(r.body["itemsPerPage"], json!(n), "itemsPerPage is what this page holds");
        assert_eq!(n, if start == 7 { 1 } else { 3 });
        seen.extend(ids(&r));
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 7, "no overlap, nothing skipped: {seen:?}");

    let mut by_two = Vec::new();
    for start in [1, 3, 5, 7] {
        by_two.extend(ids(&app.get(&format!("/Users?startIndex={start}&count=2")).await));
    }
    assert_eq!(by_two, seen, "the same order for any page size");
    assert_eq!(ids(&app.get("/Users?startIndex=1&count=100").await), seen);

    let past = app.get("/Users?startIndex=50&count=10").await;
    assert_eq!(past.body["totalResults"], 7);
    assert_eq!(past.body["Resources"].as_array().map_or(0, Vec::len), 0);
    let zero_start = app.get("/Users?startIndex=0&count=2").await;
    assert_eq!(zero_start.body["startIndex"], 1, "startIndex below 1 is read as 1");
}

#[tokio::test]
async fn count_zero_returns_only_the_total() {
    let app = spawn_app().await;
    for i in 0..3 {
        app.user_id(&format!("user{i}@example.com")).await;
    }
    let r = app.get("/Users?count=0").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["totalResults"], 3);
    assert_eq!(r.body["itemsPerPage"], 0);
    assert_eq!(r.body["Resources"].as_array().map_or(0, Vec::len), 0);
}

#[tokio::test]
async fn count_is_capped_at_the_advertised_max_results() {
    let app = spawn_app().await;
    let config = app.fetch("/ServiceProviderConfig").await;
    let max = config["filter"]["maxResults"].as_i64().unwrap();
    assert_eq!(max, 500);
    for i in 0..=max {
        let body = json!({"userName": format!("bulk{i:04}@example.com"), "active": false});
        app.services.users.create(&Ctx::cli("test"), body).await.unwrap();
    }
    let r = app.get("/Users?count=1000").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["totalResults"], json!(max + 1));
    assert_eq!(r.body["itemsPerPage"], json!(max));
    assert_eq!(r.body["Resources"].as_array().unwrap().len() as i64, max);
    let rest = app.get(&format!("/Users?startIndex={}&count=1000", max + 1)).await;
    assert_eq!(rest.body["Resources"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn non_integer_paging_values_are_400_invalid_value() {
    let app = spawn_app().await;
    for q in ["count=ten", "count=1.5", "startIndex=first", "startIndex=1&count=%20x"] {
        let r = app.get(&format!("/Users?{q}")).await;
        assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidValue"));
    }
    let r = app.get("/Groups?count=abc").await;
    assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidValue"));
}

#[tokio::test]
async fn sort_by_user_name_ascending_and_descending() {
    let app = spawn_app().await;
    for n in ["bob@example.com", "Alice@example.com", "carol@example.com", "aaron@example.com"] {
        app.user_id(n).await;
    }
    let asc = app.get("/Users?sortBy=userName").await;
    assert_eq!(user_names(&asc), ["aaron@example.com", "Alice@example.com", "bob@example.com", "carol@example.com"]);
    let asc = app.get("/Users?sortBy=userName&sortOrder=ascending").await;
    assert_eq!(user_names(&asc)[0], "aaron@example.com");
    let desc = app.get("/Users?sortBy=userName&sortOrder=descending").await;
    assert_eq!(user_names(&desc), ["carol@example.com", "bob@example.com", "Alice@example.com", "aaron@example.com"]);
    let paged = app.get("/Users?sortBy=userName&sortOrder=descending&startIndex=2&count=2").await;
    assert_eq!(user_names(&paged), ["bob@example.com", "Alice@example.com"]);
}

// ---- Projection ----

#[tokio::test]
async fn attributes_and_excluded_attributes_shape_the_response() {
    let app = spawn_app().await;
    let id = app.user_id("alice@example.com").await;

    let only = app.fetch(&format!("/Users/{id}?attributes=userName")).await;
    let mut keys: Vec<&str> = only.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["id", "meta", "schemas", "userName"], "{only}");

    let list = app.get("/Users?attributes=userName,name.givenName").await;
    let first = &list.body["Resources"][0];
    assert_eq!(first["name"], json!({"givenName": "Test"}));
    assert!(first.get("emails").is_none());

    let without = app.fetch(&format!("/Users/{id}?excludedAttributes=emails")).await;
    assert!(without.get("emails").is_none(), "{without}");
    assert_eq!(without["userName"], "alice@example.com");
    assert_eq!(without["name"]["givenName"], "Test");
    assert!(without.get("id").is_some() && without.get("meta").is_some(), "id and meta are always returned");

    let list = app.get("/Users?excludedAttributes=emails,name").await;
    assert!(list.body["Resources"][0].get("emails").is_none() && list.body["Resources"][0].get("name").is_none());
}

// ---- meta and ETags ----

#[tokio::test]
async fn meta_is_complete_and_the_etag_header_matches_its_version() {
    let app = spawn_app().await;
    let created = app.create_user("alice@example.com").await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let meta = &created.body["meta"];
    assert_eq!(meta["resourceType"], "User");
    for k in ["created", "lastModified"] {
        let t = meta[k].as_str().unwrap_or_else(|| panic!("meta.{k} missing"));
        assert!(roster::model::parse_rfc3339(t).is_some(), "meta.{k} is RFC 3339: {t}");
    }
    let location = meta["location"].as_str().unwrap();
    assert!(location.starts_with("http") && location.ends_with(&format!("/scim/v2/Users/{id}")), "{location}");
    assert_eq!(created.headers["location"].to_str().unwrap(), location, "Location header on 201");
    assert!(meta["version"].as_str().unwrap().starts_with("W/\""));
    assert_eq!(created.headers["etag"].to_str().unwrap(), meta["version"].as_str().unwrap());

    let got = app.get(&format!("/Users/{id}")).await;
    assert_eq!(got.headers["etag"].to_str().unwrap(), got.body["meta"]["version"].as_str().unwrap());
    let patched = app.patch(&format!("/Users/{id}"), json!([{"op": "replace", "path": "title", "value": "CTO"}])).await;
    assert_ne!(patched.body["meta"]["version"], got.body["meta"]["version"], "a change makes a new version");
    assert_eq!(patched.headers["etag"].to_str().unwrap(), patched.body["meta"]["version"].as_str().unwrap());

    let group = app.group_id("Engineering", &[&id]).await;
    let g = app.get(&format!("/Groups/{group}")).await;
    assert_eq!(g.body["meta"]["resourceType"], "Group");
    assert!(g.body["meta"]["location"].as_str().unwrap().ends_with(&format!("/Groups/{group}")));
    assert!(g.body["meta"]["created"].is_string() && g.body["meta"]["lastModified"].is_string());
    assert_eq!(g.headers["etag"].to_str().unwrap(), g.body["meta"]["version"].as_str().unwrap());
}

// ---- PATCH limits ----

#[tokio::test]
async fn a_patch_with_more_than_1000_operations_is_400_too_many() {
    let app = spawn_app().await;
    let id = app.user_id("alice@example.com").await;
    let op = json!({"op": "replace", "path": "title", "value": "X"});
    let r = app.patch(&format!("/Users/{id}"), Value::Array(vec![op.clone(); 1001])).await;
    assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("tooMany"));
    assert!(app.fetch(&format!("/Users/{id}")).await.get("title").is_none(), "nothing applied");

    let group = app.group_id("Engineering", &[]).await;
    let r = app
        .patch(
            &format!("/Groups/{group}"),
            Value::Array(vec![json!({"op": "add", "path": "members", "value": [{"value": id}]}); 1001]),
        )
        .await;
    assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("tooMany"));

    let r = app.patch(&format!("/Users/{id}"), Value::Array(vec![op; 1000])).await;
    assert_eq!(r.status, StatusCode::OK, "exactly 1000 is allowed: {:?}", r.body);
    assert_eq!(r.body["title"], "X");
}

// ---- Extensions and write-only attributes ----

#[tokio::test]
async fn unknown_extension_attributes_are_kept_and_echoed_back() {
    let app = spawn_app().await;
    let ext = "urn:example:params:scim:schemas:extension:acme:2.0:User";
    let mut body = okta_user("alice@example.com");
    body["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ext]);
    body[ext] = json!({"badge": "42", "clearance": {"level": 3}});
    let created = app.post("/Users", body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body[ext], json!({"badge": "42", "clearance": {"level": 3}}));
    let id = created.body["id"].as_str().unwrap();

    let got = app.fetch(&format!("/Users/{id}")).await;
    assert_eq!(got[ext]["badge"], "42");
    assert!(got["schemas"].as_array().unwrap().contains(&json!(ext)), "the extension is declared in schemas");

    let patched = app
        .patch(&format!("/Users/{id}"), json!([{"op": "replace", "path": format!("{ext}:badge"), "value": "43"}]))
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{:?}", patched.body);
    assert_eq!(patched.body[ext]["badge"], "43");
    assert_eq!(patched.body[ext]["clearance"]["level"], 3);

    let gext = "urn:example:params:scim:schemas:extension:acme:2.0:Group";
    let g = app.post("/Groups", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", gext], "displayName": "Eng", gext: {"cost": "C1"}})).await;
    assert_eq!(g.status, StatusCode::CREATED);
    assert_eq!(app.fetch(&format!("/Groups/{}", g.body["id"].as_str().unwrap())).await[gext]["cost"], "C1");
}

#[tokio::test]
async fn password_is_accepted_but_never_returned() {
    let app = spawn_app().await;
    let mut body = okta_user("alice@example.com");
    body["password"] = json!("s3cret-P4ss");
    let created = app.post("/Users", body).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert!(created.body.get("password").is_none());
    let id = created.body["id"].as_str().unwrap();
    let changed =
        app.patch(&format!("/Users/{id}"), json!([{"op": "replace", "path": "password", "value": "n3w-P4ss"}])).await;
    assert_eq!(changed.status, StatusCode::OK, "Okta's password sync is accepted: {:?}", changed.body);
    for path in [format!("/Users/{id}"), format!("/Users/{id}?attributes=password"), "/Users".to_owned()] {
        let text = app.get(&path).await.body.to_string();
        assert!(
            !text.contains("s3cret-P4ss") && !text.contains("n3w-P4ss") && !text.contains("\"password\""),
            "{path}: {text}"
        );
    }
    let schema = app.fetch("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").await;
    let password = schema["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "password").unwrap().clone();
    assert_eq!(password["returned"], "never");
    assert_eq!(password["mutability"], "writeOnly");
}

#[tokio::test]
async fn attributes_can_name_sub_attributes_of_multi_valued_attributes() {
    let app = spawn_app().await;
    let id = app.user_id("alice@example.com").await;
    let user = app.fetch(&format!("/Users/{id}?attributes=emails.value")).await;
    assert_eq!(user["emails"], json!([{"value": "alice@example.com"}]), "{user}");

    let group = app.group_id("Engineering", &[&id]).await;
    let g = app.fetch(&format!("/Groups/{group}?attributes=members.value")).await;
    assert_eq!(g["members"], json!([{"value": id}]), "{g}");
    assert!(g.get("displayName").is_none());
}

#[tokio::test]
async fn excluded_attributes_accept_sub_attributes_and_schema_qualified_names() {
    let app = spawn_app().await;
    let id = app.user_id("alice@example.com").await;
    let user = app.fetch(&format!("/Users/{id}?excludedAttributes=name.givenName")).await;
    assert_eq!(user["name"], json!({"familyName": "User"}), "{user}");

    let group = app.group_id("Engineering", &[&id]).await;
    let g = app
        .fetch(&format!("/Groups/{group}?excludedAttributes=urn:ietf:params:scim:schemas:core:2.0:Group:members"))
        .await;
    assert!(g.get("members").is_none(), "{g}");
    let list = app.get("/Groups?excludedAttributes=urn:ietf:params:scim:schemas:core:2.0:Group:members").await;
    assert!(list.body["Resources"][0].get("members").is_none(), "{}", list.body);
    let u =
        app.fetch(&format!("/Users/{id}?excludedAttributes=urn:ietf:params:scim:schemas:core:2.0:User:emails")).await;
    assert!(u.get("emails").is_none(), "{u}");
}

#[tokio::test]
async fn renaming_onto_a_taken_name_is_409_uniqueness_not_a_server_error() {
    let app = spawn_app().await;
    let alice = app.user_id("alice@example.com").await;
    app.user_id("bob@example.com").await;
    let r = app
        .patch(&format!("/Users/{alice}"), json!([{"op": "replace", "path": "userName", "value": "BOB@example.com"}]))
        .await;
    assert_scim_error(&r, StatusCode::CONFLICT, Some("uniqueness"));
    let r = app.put(&format!("/Users/{alice}"), json!({"userName": "bob@example.com"})).await;
    assert_scim_error(&r, StatusCode::CONFLICT, Some("uniqueness"));
    assert_eq!(app.fetch(&format!("/Users/{alice}")).await["userName"], "alice@example.com");
    let r = app.put(&format!("/Users/{alice}"), json!({"userName": "ALICE@example.com"})).await;
    assert_eq!(r.status, StatusCode::OK, "a case change of one's own name is no clash: {:?}", r.body);

    let eng = app.group_id("Engineering", &[]).await;
    app.group_id("Sales", &[]).await;
    let r =
        app.patch(&format!("/Groups/{eng}"), json!([{"op": "replace", "path": "displayName", "value": "sales"}])).await;
    assert_scim_error(&r, StatusCode::CONFLICT, Some("uniqueness"));
    let r = app.put(&format!("/Groups/{eng}"), json!({"displayName": "SALES"})).await;
    assert_scim_error(&r, StatusCode::CONFLICT, Some("uniqueness"));
    assert_eq!(app.fetch(&format!("/Groups/{eng}")).await["displayName"], "Engineering");
}

/// Text that does not compress, so PostgreSQL cannot squeeze it into an index entry.
fn incompressible(len: usize) -> String {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[(x % 62) as usize])
        })
        .collect()
}

#[tokio::test]
async fn over_long_values_of_indexed_attributes_are_400_on_every_database() {
    let app = spawn_app().await;
    let id = app.user_id("alice@example.com").await;
    let group = app.group_id("Engineering", &[]).await;
    let long = incompressible(5000);
    let fits = incompressible(512);

    let mut bodies = Vec::new();
    for key in ["displayName", "externalId"] {
        bodies.push(json!({"userName": "bob@example.com", key: long}));
    }
    bodies.push(json!({"userName": "bob@example.com", "name": {"familyName": long}}));
    bodies.push(json!({"userName": "bob@example.com", "emails": [{"value": long, "type": "work"}]}));
    for body in bodies {
        assert_scim_error(&app.post("/Users", body.clone()).await, StatusCode::BAD_REQUEST, Some("invalidValue"));
        assert_scim_error(&app.put(&format!("/Users/{id}"), body).await, StatusCode::BAD_REQUEST, Some("invalidValue"));
    }
    let r = app.patch(&format!("/Users/{id}"), json!([{"op": "replace", "path": "displayName", "value": long}])).await;
    assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidValue"));
    assert!(r.detail().contains("512 characters"), "{}", r.detail());
    for body in [json!({"displayName": long}), json!({"displayName": "Sales", "externalId": long})] {
        assert_scim_error(&app.post("/Groups", body).await, StatusCode::BAD_REQUEST, Some("invalidValue"));
    }
    for (path, value) in [("displayName", &long), ("externalId", &long)] {
        let r = app.patch(&format!("/Groups/{group}"), json!([{"op": "replace", "path": path, "value": value}])).await;
        assert_scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidValue"));
    }
    assert_eq!(app.total("/Users").await, 1);
    assert_eq!(app.total("/Groups").await, 1);

    let r = app.post("/Users", json!({"userName": "bob@example.com", "displayName": fits, "externalId": fits})).await;
    assert_eq!(r.status, StatusCode::CREATED, "512 characters fit: {:?}", r.body);
    let r =
        app.patch(&format!("/Groups/{group}"), json!([{"op": "replace", "path": "displayName", "value": fits}])).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
}

#[tokio::test]
async fn a_very_long_unknown_id_is_404_and_still_logged() {
    let app = spawn_app().await;
    let id = incompressible(6000);
    for kind in ["Users", "Groups"] {
        let r = app.get(&format!("/{kind}/{id}")).await;
        assert_scim_error(&r, StatusCode::NOT_FOUND, None);
        assert!(r.detail().contains("(roster log #"), "the failure is in the log: {}", r.detail().len());
    }
}

#[tokio::test]
async fn filters_match_non_ascii_and_escaped_values_exactly_as_stored() {
    let app = spawn_app().await;
    let body = json!({"userName": "o\"brien@example.com", "displayName": "Åsa Öberg",
        "name": {"givenName": "Åsa", "familyName": "Öberg"}, "emails": [{"value": "ÅSA@example.com", "type": "Work"}]});
    let r = app.post("/Users", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    for f in [
        r#"displayName eq "Åsa Öberg""#,
        r#"DISPLAYNAME eq "ÅSA ÖBERG""#, // ASCII letters differ in case; the non-ASCII ones as stored.
        r#"name.familyName eq "Öberg""#,
        r#"name.givenName sw "Å""#,
        r#"displayName co "a Ö""#,
        r#"emails[type eq "work"].value eq "åsa@example.com""#,
        r#"userName eq "O\"BRIEN@example.com""#,
    ] {
        assert_eq!(matching(&app, f).await, vec!["o\"brien@example.com".to_owned()], "{f}");
    }
}

#[tokio::test]
async fn methods_a_collection_or_resource_does_not_support_are_405() {
    let app = spawn_app().await;
    let id = app.user_id("alice@example.com").await;
    assert_scim_error(&app.put("/Users", okta_user("x@example.com")).await, StatusCode::METHOD_NOT_ALLOWED, None);
    assert_scim_error(&app.delete("/Users").await, StatusCode::METHOD_NOT_ALLOWED, None);
    assert_scim_error(&app.patch("/Groups", json!([])).await, StatusCode::METHOD_NOT_ALLOWED, None);
    assert_scim_error(
        &app.post(&format!("/Users/{id}"), okta_user("x@example.com")).await,
        StatusCode::METHOD_NOT_ALLOWED,
        None,
    );
    assert_scim_error(&app.delete("/ServiceProviderConfig").await, StatusCode::METHOD_NOT_ALLOWED, None);
    assert_eq!(app.total("/Users").await, 1);
}

#[tokio::test]
async fn substring_filters_on_case_exact_attributes_respect_case_on_every_database() {
    let app = spawn_app().await;
    filter_fixture(&app).await;
    assert_eq!(
        matching(&app, r#"externalId co "xt-""#).await,
        names(&["alice@example.com", "carol@contoso.com", "dave@contoso.com"])
    );
    assert_eq!(matching(&app, r#"externalId co "XT""#).await, Vec::<String>::new());
    assert_eq!(matching(&app, r#"externalId ew "-c""#).await, names(&["carol@contoso.com"]));
    assert_eq!(matching(&app, r#"externalId ew "much-longer-than-any-ext-c""#).await, Vec::<String>::new());
    assert_eq!(matching(&app, r#"externalId co "%""#).await, Vec::<String>::new(), "no wildcards");
    assert_eq!(matching(&app, r#"externalId co """#).await.len(), 3, "co \"\" matches every present value");
}

#[tokio::test]
async fn search_by_post_returns_what_the_same_get_returns() {
    let app = spawn_app().await;
    for name in ["ada@example.com", "grace@example.com", "linus@example.com"] {
        app.create_user(name).await;
    }
    app.group_id("Eng", &[]).await;
    let search = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "userName sw \"g\"", "attributes": ["userName"], "startIndex": 1, "count": 10
    });
    let found = app.post("/Users/.search", search).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    let get = app.get("/Users?filter=userName%20sw%20%22g%22&attributes=userName&startIndex=1&count=10").await;
    assert_eq!(found.body["Resources"], get.body["Resources"]);
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(found.body["Resources"][0]["userName"], "grace@example.com");
    assert!(found.body["Resources"][0].get("emails").is_none(), "attributes apply");

    let groups = app
        .post(
            "/Groups/.search",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "displayName eq \"Eng\"", "excludedAttributes": ["members"]}),
        )
        .await;
    assert_eq!(groups.status, StatusCode::OK, "{}", groups.body);
    assert_eq!(groups.body["totalResults"], 1);

    // RFC 7644 §3.4.3: the schema is required; values have the types of the query parameters.
    let no_schema = app.post("/Users/.search", json!({"filter": "userName eq \"a\""})).await;
    assert_eq!(
        (no_schema.status, no_schema.body["scimType"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalidSyntax"))
    );
    let bad = app
        .post(
            "/Users/.search",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "count": {"n": 1}}),
        )
        .await;
    assert_eq!((bad.status, bad.body["scimType"].as_str()), (StatusCode::BAD_REQUEST, Some("invalidValue")));
    let bad_filter = app
        .post(
            "/Users/.search",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "nope"}),
        )
        .await;
    assert_eq!(bad_filter.body["scimType"], "invalidFilter");
    assert_eq!(app.get("/Users/.search").await.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn removing_active_is_refused_with_the_way_to_deactivate() {
    let app = spawn_app().await;
    let id = app.create_user("ada@example.com").await.body["id"].as_str().unwrap().to_owned();
    let r = app.patch(&format!("/Users/{id}"), json!([{"op": "remove", "path": "active"}])).await;
    assert_eq!((r.status, r.body["scimType"].as_str()), (StatusCode::BAD_REQUEST, Some("mutability")));
    assert!(r.detail().contains("replace active with false"), "{}", r.detail());
    assert!(app.is_active(&id).await, "nothing changed");
}
