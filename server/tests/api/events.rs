//! Telling the rest of the product: webhooks signed by the Standard Webhooks specification (checked with that
//! project's Rust library), the event feed, the directory API, drift before a Push now, and the dashboard's charts.
use crate::helpers::{Receiver, TestApp, loopback_webhooks, okta_user, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use roster::model::TokenKind;
use roster::service::Ctx;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A directory API token.
async fn api_token(app: &TestApp) -> String {
    app.services.tokens.create(&Ctx::cli("test"), TokenKind::Api, "billing").await.unwrap().1
}

async fn v1(app: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    let r = app.http.get(format!("{}/v1{path}", app.base)).bearer_auth(token).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Okta's deactivation: the PATCH operations ([`TestApp::patch`] wraps them).
fn deactivate() -> Value {
    json!([{"op": "replace", "value": {"active": false}}])
}

#[tokio::test]
async fn a_receiver_gets_a_signed_user_deactivated_within_seconds_and_the_feed_has_the_same_events() {
    let app = spawn_app_with(loopback_webhooks).await;
    let receiver = Receiver::start().await;
    let (_, secret) = app.services.webhooks.add(&Ctx::cli("test"), &receiver.url, "user.*").await.unwrap();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let id = app.create_user("grace@example.com").await.body["id"].as_str().unwrap().to_owned();
    let r = app.patch(&format!("/Users/{id}"), deactivate()).await;
    assert_eq!(r.status, StatusCode::OK);
    let written = Instant::now();
    let got = receiver.wait_for(2, Duration::from_secs(15)).await;
    assert_eq!(got.len(), 2, "user.created and user.deactivated arrive");
    let hook = standardwebhooks::Webhook::new(&secret).unwrap();
    for d in &got {
        hook.verify(d.body.as_bytes(), &d.headers).expect("a valid Standard Webhooks signature");
        assert_eq!(d.headers["webhook-id"].to_str().unwrap(), d.json()["id"].as_str().unwrap());
        assert_eq!(d.headers["content-type"], "application/json");
    }
    // A wrong secret does not verify: the check above can fail.
    let other = standardwebhooks::Webhook::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    assert!(other.verify(got[1].body.as_bytes(), &got[1].headers).is_err());
    let event = got[1].json();
    assert_eq!(event["type"], "user.deactivated");
    assert_eq!(event["data"]["user"]["userName"], "grace@example.com");
    assert_eq!(event["data"]["user"]["active"], false);
    assert_eq!(event["data"]["reason"], "idp");
    assert!(event["data"]["reasonText"].as_str().unwrap().contains("deactivated by Okta"), "{event}");
    assert!(event["timestamp"].as_str().unwrap().ends_with('Z'));
    eprintln!("delivery latency after the SCIM response: {:?}", got[1].at.saturating_duration_since(written));

    // The feed returns the same events, the same JSON.
    let token = api_token(&app).await;
    let (status, feed) = v1(&app, &token, "/events").await;
    assert_eq!(status, StatusCode::OK, "{feed}");
    let user_events: Vec<&Value> = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"].as_str().unwrap().starts_with("user."))
        .collect();
    assert_eq!(user_events.len(), 2);
    for (sent, listed) in got.iter().zip(user_events) {
        assert_eq!(&sent.json(), listed);
    }
}

#[tokio::test]
async fn a_receiver_that_is_down_then_back_gets_every_event_in_order() {
    let app = spawn_app_with(loopback_webhooks).await;
    let mut receiver = Receiver::start().await;
    receiver.stop().await;
    let (endpoint, _) = app.services.webhooks.add(&Ctx::cli("test"), &receiver.url, "*").await.unwrap();
    let mut names = Vec::new();
    for i in 0..5 {
        let name = format!("u{i}@example.com");
        assert_eq!(app.create_user(&name).await.status, StatusCode::CREATED);
        names.push(name);
    }
    // Wait until the endpoint has failed at least once: the receiver was really down.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (e, deliveries) = app.services.webhooks.detail(&endpoint.id).await.unwrap();
        if e.attempt > 0 {
            assert!(deliveries.iter().all(|d| d.outcome == roster::model::DeliveryOutcome::Failed));
            assert!(e.last_error.is_some());
            break;
        }
        assert!(Instant::now() < deadline, "no failed attempt recorded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    receiver.resume().await;
    let got = receiver.wait_for(5, Duration::from_secs(40)).await;
    let created: Vec<String> = got
        .iter()
        .map(|d| d.json())
        .filter(|e| e["type"] == "user.created")
        .map(|e| e["data"]["user"]["userName"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(created, names, "every event, in commit order");
    // The endpoint's state is saved just after the last delivery.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (e, deliveries) = app.services.webhooks.detail(&endpoint.id).await.unwrap();
        if e.attempt == 0 {
            assert!(e.last_error.is_none() && e.failing_since.is_none());
            assert!(deliveries.iter().any(|d| d.outcome == roster::model::DeliveryOutcome::Delivered));
            break;
        }
        assert!(Instant::now() < deadline, "the endpoint never recovered: {e:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_directory_api_pages_users_and_groups_and_tells_gone_from_never_existed() {
    let app = spawn_app().await;
    let token = api_token(&app).await;
    // Authentication: none, wrong, and a SCIM token are all 401 with a JSON error.
    for bearer in ["", "roster_api_wrong", app.token.as_str()] {
        let (status, body) = v1(&app, bearer, "/users").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bearer}");
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    // Nor does an API token open SCIM.
    let r = app.http.get(format!("{}/Users", app.scim)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(app.user_id(&format!("d{i}@example.com")).await);
    }
    let eng = app.group_id("Eng", &[&ids[0], &ids[1], &ids[2]]).await;
    app.patch(&format!("/Users/{}", ids[1]), deactivate()).await;
    assert_eq!(app.delete(&format!("/Users/{}", ids[6])).await.status, StatusCode::NO_CONTENT);

    // Cursor paging covers every user once, in id order.
    let (mut seen, mut cursor) = (Vec::new(), String::new());
    loop {
        let (status, page) = v1(&app, &token, &format!("/users?limit=3&cursor={cursor}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let users = page["users"].as_array().unwrap();
        assert!(users.len() <= 3);
        seen.extend(users.iter().map(|u| u["id"].as_str().unwrap().to_owned()));
        match page["next"].as_str() {
            Some(n) => cursor = n.to_owned(),
            None => break,
        }
    }
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(seen, sorted);

    let (_, active) = v1(&app, &token, &format!("/users?group={eng}&active=true")).await;
    let active: Vec<&str> = active["users"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap()).collect();
    let mut want = vec![ids[0].as_str(), ids[2].as_str()];
    want.sort();
    assert_eq!(active, want);
    let (_, members) = v1(&app, &token, &format!("/groups/{eng}/members?limit=2")).await;
    assert_eq!(members["members"].as_array().unwrap().len(), 2);
    assert!(members["next"].is_string());
    let (_, groups) = v1(&app, &token, "/groups").await;
    assert_eq!(groups["groups"][0]["displayName"], "Eng");
    assert_eq!(groups["groups"][0]["memberCount"], 3);

    let (status, u) = v1(&app, &token, "/users/D1@example.com").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(u["id"], ids[1].as_str());
    assert_eq!(u["active"], false);
    assert_eq!(u["status"], "inactive");
    assert_eq!(u["groups"][0]["displayName"], "Eng");
    assert!(u["statusText"].as_str().unwrap().starts_with("Inactive: deactivated by Okta"));
    let (status, gone) = v1(&app, &token, &format!("/users/{}", ids[6])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((gone["deleted"].clone(), gone["active"].clone()), (json!(true), json!(false)));
    let (status, never) = v1(&app, &token, "/users/nobody@example.com").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(never["error"]["code"], "not_found");
    let (status, bad) = v1(&app, &token, "/users?limit=ten").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(bad["error"]["code"], "invalid_request");
    let (status, _) = v1(&app, &token, "/users?cursor=%27%20or%201=1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_feed_long_polls_pages_in_commit_order_and_says_when_a_cursor_expired() {
    let app = spawn_app().await;
    let token = api_token(&app).await;
    let (_, start) = v1(&app, &token, "/events?after=now").await;
    let cursor = start["next"].as_str().unwrap().to_owned();
    // A long poll waiting for the next commit.
    let waiting = {
        let (http, url, token) =
            (app.http.clone(), format!("{}/v1/events?after={cursor}&wait=20", app.base), token.clone());
        tokio::spawn(
            async move { http.get(url).bearer_auth(token).send().await.unwrap().json::<Value>().await.unwrap() },
        )
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let id = app.user_id("poll@example.com").await;
    let woke = waiting.await.unwrap();
    assert_eq!(woke["events"][0]["type"], "user.created");
    assert_eq!(woke["events"][0]["data"]["user"]["id"], id.as_str());

    let group = app.group_id("Poll", &[&id]).await;
    app.delete(&format!("/Groups/{group}")).await;
    let (_, page) = v1(&app, &token, &format!("/events?after={cursor}&limit=2")).await;
    let types: Vec<&str> = page["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["user.created", "group.created"]);
    let (_, rest) = v1(&app, &token, &format!("/events?after={}", page["next"].as_str().unwrap())).await;
    let types: Vec<&str> = rest["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["group.members_added", "user.deactivated", "group.deleted"], "{rest}");
    assert_eq!(rest["events"][1]["data"]["reason"], "last_group_removed");

    // Retention removes everything older than now: the old cursor has missed events.
    tokio::time::sleep(Duration::from_millis(5)).await;
    app.services.directory.prune_events(0).await.unwrap();
    let (status, expired) = v1(&app, &token, &format!("/events?after={cursor}")).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(expired["error"]["code"], "cursor_expired");
    let (status, fresh) = v1(&app, &token, "/events").await;
    assert_eq!(status, StatusCode::OK, "no cursor starts at the oldest kept");
    assert_eq!(fresh["events"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn seats_refused_and_the_scim_switch_are_events() {
    let app = spawn_app().await;
    let token = api_token(&app).await;
    app.set_seats(0).await;
    let r = app.post("/Users", okta_user("nope@example.com")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    app.set_scim(false).await;
    let (_, feed) = v1(&app, &token, "/events").await;
    let events = feed["events"].as_array().unwrap();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["scim.enabled", "seats.refused", "scim.disabled"], "{feed}");
    assert_eq!(events[1]["data"]["seatLimit"], 0);
    assert_eq!(events[1]["data"]["idp"], "Okta");
    assert_eq!(events[1]["data"]["request"], "POST /Users");
}

#[tokio::test]
async fn drift_while_scim_is_off_is_listed_and_the_next_push_says_what_it_undid() {
    let app = spawn_app().await;
    let (a, b, c) =
        (app.user_id("a@example.com").await, app.user_id("b@example.com").await, app.user_id("c@example.com").await);
    let d = app.user_id("d@example.com").await;
    let eng = app.group_id("Eng", &[&a, &b]).await;
    app.set_scim(false).await;
    let admin = Ctx::panel(app.admin().await, "members");
    app.services.groups.add_members(&admin, &roster::model::GroupId(eng.clone()), vec![c.clone()]).await.unwrap();
    app.services.groups.remove_members(&admin, &roster::model::GroupId(eng.clone()), vec![a.clone()]).await.unwrap();
    // An add then a remove of the same user cancels out.
    app.services.groups.add_members(&admin, &roster::model::GroupId(eng.clone()), vec![d.clone()]).await.unwrap();
    app.services.groups.remove_members(&admin, &roster::model::GroupId(eng.clone()), vec![d.clone()]).await.unwrap();
    let drift = app.services.directory.drift().await.unwrap();
    assert_eq!(drift.len(), 1);
    assert_eq!(drift[0].describe(), "Eng: +1 member, −1 member since SCIM was turned off");
    app.sign_in().await;
    let (_, page) = app.page("/scim").await;
    assert!(page.contains("Eng: +1 member, −1 member since SCIM was turned off"), "the SCIM page lists drift");

    app.set_scim(true).await;
    let push = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Eng",
                      "members": [{"value": a}, {"value": b}]});
    assert_eq!(app.put(&format!("/Groups/{eng}"), push).await.status, StatusCode::OK);
    let q = roster::model::LogQuery { count: 5, start_index: 1, ..Default::default() };
    let entry = app.services.settings.log(&q).await.unwrap().items.into_iter().find(|e| e.method == "PUT").unwrap();
    assert!(
        entry.diff.contains("undid changes made in roster while SCIM was off: −a@example.com (by panel-admin@example.com), +c@example.com (by panel-admin@example.com)"),
        "{}",
        entry.diff
    );
    assert!(app.services.directory.drift().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_dashboard_draws_seats_and_activity_as_svg_with_a_text_alternative() {
    let app = spawn_app().await;
    app.user_id("chart@example.com").await;
    app.set_seats(1).await;
    app.post("/Users", okta_user("refused@example.com")).await;
    let charts = app.services.directory.charts().await.unwrap();
    assert_eq!(charts.seats.len(), 1, "one day known so far: today");
    assert_eq!((charts.seats[0].used, charts.seats[0].limit), (1, 1));
    assert_eq!(charts.activity.len(), 168);
    let now = charts.activity.last().unwrap();
    assert!(now.writes >= 1 && now.no_seats == 1, "{now:?}");
    app.sign_in().await;
    let (_, page) = app.page("/").await;
    assert!(page.contains("<svg") && page.contains("role=\"img\""), "the charts are server-rendered SVG");
    assert!(page.contains("Seats used over the last 30 days"));
    assert!(page.contains("1 push refused for lack of seats"), "the text alternative gives the figures");
    assert!(page.contains("refused@example.com"), "the refused push names the user the IdP tried to push");
}

/// The store, counting what reaches it: to see how many database reads and writes a burst of requests costs.
struct Counting {
    inner: std::sync::Arc<dyn roster::store::Store>,
    reads: std::sync::atomic::AtomicUsize,
    writes: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl roster::store::Store for Counting {
    async fn begin_read(&self) -> roster::Result<Box<dyn roster::store::Read>> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.begin_read().await
    }
    async fn begin_snapshot(&self) -> roster::Result<Box<dyn roster::store::Read>> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.begin_snapshot().await
    }
    async fn run_write(&self, job: roster::store::WriteJob) -> roster::Result<Box<dyn std::any::Any + Send>> {
        self.writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.run_write(job).await
    }
    async fn ping(&self) -> roster::Result<()> {
        self.inner.ping().await
    }
    fn event_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.event_signal()
    }
}

/// A flood of made-up bearer tokens costs no database read each (authentication reads every live token at most once a
/// second), and a burst of requests with one token records its use once.
#[tokio::test]
async fn a_flood_of_unknown_tokens_costs_no_read_each_and_a_burst_records_one_use() {
    let db = testkit::TestDb::fresh().await.unwrap();
    let pool = server::store::Db::connect(&db.url).await.unwrap();
    pool.migrate().await.unwrap();
    let counting =
        std::sync::Arc::new(Counting { inner: pool.store(), reads: Default::default(), writes: Default::default() });
    let services = roster::service::Services::new(counting.clone());
    let (_, token) = services.tokens.create(&Ctx::cli("test"), TokenKind::Api, "billing").await.unwrap();
    let reads = || counting.reads.load(std::sync::atomic::Ordering::Relaxed);
    let writes = || counting.writes.load(std::sync::atomic::Ordering::Relaxed);
    let before = reads();
    for i in 0..2_000 {
        let made_up = format!("roster_api_{i:064}");
        assert!(matches!(
            services.tokens.authenticate_api(Some(&made_up), roster::model::ApiScope::Directory).await,
            Err(roster::Error::Unauthenticated)
        ));
    }
    assert!(reads() - before <= 3, "2,000 unknown tokens cost {} reads", reads() - before);

    let before = writes();
    let burst: Vec<_> = (0..100)
        .map(|_| {
            let (services, token) = (services.clone(), token.clone());
            tokio::spawn(async move {
                services.tokens.authenticate_api(Some(&token), roster::model::ApiScope::Directory).await.is_ok()
            })
        })
        .collect();
    for b in burst {
        assert!(b.await.unwrap());
    }
    for _ in 0..100 {
        if writes() > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(writes() - before, 1, "one write records the token's use, not one per request");
}

/// Long polls are capped per token, with 429 and Retry-After beyond the cap; a commit then answers every waiter. A
/// cursor ahead of the newest event (as after a restore of an older backup) is an error, not empty pages forever.
#[tokio::test]
async fn waiting_feed_requests_are_capped_per_token_and_a_cursor_ahead_is_refused() {
    let app = spawn_app().await;
    let token = api_token(&app).await;
    let other = app.services.tokens.create(&Ctx::cli("test"), TokenKind::Api, "reports").await.unwrap().1;
    let cap = roster::service::MAX_WAITERS_PER_TOKEN;
    let wait = |token: String| {
        let (http, url) = (app.http.clone(), format!("{}/v1/events?after=now&wait=20", app.base));
        tokio::spawn(async move {
            let r = http.get(url).bearer_auth(token).send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap_or(Value::Null))
        })
    };
    let waiters: Vec<_> = (0..cap).map(|_| wait(token.clone())).collect();
    let started = Instant::now();
    while app.services.directory.waiting() < cap {
        assert!(started.elapsed() < Duration::from_secs(15), "{} waiting", app.services.directory.waiting());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = app.http.get(format!("{}/v1/events?after=now&wait=20", app.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "5");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_requests");
    // Another token is not held back by this one's waiters.
    let theirs = wait(other);
    while app.services.directory.waiting() < cap + 1 {
        assert!(started.elapsed() < Duration::from_secs(15));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.user_id("wake@example.com").await;
    for w in waiters.into_iter().chain([theirs]) {
        let (status, body) = w.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["events"][0]["type"], "user.created", "{body}");
    }
    assert_eq!(app.services.directory.waiting(), 0, "every place was given back");

    let (_, now) = v1(&app, &token, "/events?after=now").await;
    let newest: i64 = now["next"].as_str().unwrap().parse().unwrap();
    let (status, body) = v1(&app, &token, &format!("/events?after={}", newest + 1000)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "cursor_ahead");
    assert!(body["error"]["message"].as_str().unwrap().contains(&format!("from cursor {newest}")), "{body}");
}
