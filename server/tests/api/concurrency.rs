//! Many IdP requests at once, at the same users and groups: the end state is one that some serial order of them would
//! give. Nothing is lost or duplicated, nothing deadlocks, and no request gets a 5xx.
use crate::helpers::{TestApp, okta_user, spawn_app};
use reqwest::{Method, StatusCode};
use roster::model::{GroupId, LogQuery, UserId, UserQuery, UserStatus};
use serde_json::{Value, json};
use std::collections::HashSet;

fn members(ids: &[String]) -> Value {
    Value::Array(ids.iter().map(|id| json!({"value": id})).collect())
}

/// How many log entries a target has that record a change (not the creation).
async fn changes_logged(app: &TestApp, target: &str) -> i64 {
    let q = LogQuery { target: Some(target.to_owned()), start_index: 1, count: 10_000, ..Default::default() };
    let events = app.services.settings.log(&q).await.unwrap().items;
    events.iter().filter(|e| e.outcome == roster::model::Outcome::Ok && e.status != 201).count() as i64
}

#[tokio::test]
async fn parallel_requests_end_in_a_serial_state() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..24 {
        ids.push(app.user_id(&format!("u{i}@example.com")).await);
    }
    let (initial, added) = (ids[..8].to_vec(), ids[8..16].to_vec());
    let removed = initial[..4].to_vec();
    let group = app.group_id("Engineering", &initial.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let target = ids[20].clone();

    let mut requests: Vec<(Method, String, Value)> = Vec::new();
    for round in 0..4 {
        for id in &added {
            let body =
                json!({"Operations": [{"op": "add", "path": "members", "value": members(std::slice::from_ref(id))}]});
            requests.push((Method::PATCH, format!("/Groups/{group}"), body));
        }
        for id in &removed {
            let body = json!({"Operations": [{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]});
            requests.push((Method::PATCH, format!("/Groups/{group}"), body));
        }
        for i in 0..6 {
            let body = json!({"Operations": [{"op": "replace", "path": "title", "value": format!("t{round}-{i}")}]});
            requests.push((Method::PATCH, format!("/Users/{target}"), body));
        }
        for id in &ids[16..20] {
            let body = json!({"Operations": [{"op": "replace", "value": {"active": round % 2 == 1}}]});
            requests.push((Method::PATCH, format!("/Users/{id}"), body));
        }
        requests.push((Method::POST, "/Users".into(), okta_user("twin@example.com")));
        requests.push((
            Method::POST,
            "/Groups".into(),
            json!({"displayName": "Sales", "members": members(&ids[20..22])}),
        ));
    }
    let replies = futures_like_join(&app, requests).await;
    for (status, what) in &replies {
        assert!(
            matches!(*status, StatusCode::OK | StatusCode::CREATED | StatusCode::NO_CONTENT | StatusCode::CONFLICT),
            "{what}: {status}"
        );
    }
    let twins = replies.iter().filter(|(s, w)| w.starts_with("POST /Users") && *s == StatusCode::CREATED).count();
    assert_eq!(twins, 1, "one user from four identical creates");

    // Adds and removes of distinct members commute: the membership is exact.
    let want: HashSet<String> = initial.iter().chain(&added).filter(|id| !removed.contains(id)).cloned().collect();
    let got: HashSet<String> = app.member_ids(&group).await.into_iter().collect();
    assert_eq!(got, want);
    let g = app.services.groups.get(&GroupId(group.clone())).await.unwrap();
    assert_eq!(g.member_count as usize, want.len(), "the kept count agrees with the rows");
    // No lost update: every version step of the group and of the user is one logged change.
    assert_eq!(g.version - 1, changes_logged(&app, &group).await, "group versions");
    let u = app.services.users.get(&UserId(target.clone())).await.unwrap();
    assert_eq!(u.version - 1, changes_logged(&app, &target).await, "user versions");
    let title = u.attributes["title"].as_str().unwrap();
    assert!(title.starts_with('t'), "one of the values sent: {title}");
    let sales = app.get("/Groups?filter=displayName%20eq%20%22Sales%22").await;
    assert_eq!(sales.body["totalResults"], 1, "one Sales group from four pushes");
    // Seats used follows every activation and deactivation.
    let q = UserQuery { status: Some(UserStatus::Active), start_index: 1, count: 0, ..Default::default() };
    assert_eq!(app.services.settings.seats().await.unwrap().used, app.services.users.list(&q).await.unwrap().total);
}

/// Sends every request at once and returns each status with a label.
async fn futures_like_join(app: &TestApp, requests: Vec<(Method, String, Value)>) -> Vec<(StatusCode, String)> {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|(method, path, body)| {
            let req = app
                .scim_req(method.clone(), &path)
                .header("Content-Type", "application/scim+json")
                .body(body.to_string());
            tokio::spawn(async move {
                let status = req.send().await.map(|r| r.status()).unwrap_or(StatusCode::BAD_GATEWAY);
                (status, format!("{method} {path}"))
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}
