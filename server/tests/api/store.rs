//! The store contract, written once against `&dyn Store` and run on SQLite always, and on PostgreSQL when
//! `ROSTER_TEST_POSTGRES_URL` is set (a fresh database per test).
use roster::Error;
use roster::model::*;
use roster::store::*;
use server::store::Db;
use std::sync::Arc;
use testkit::TestDb;

/// The contract is about each method, so these tests hold a write transaction open themselves instead of going
/// through `Store::write`.
struct TestStore(Db);

impl TestStore {
    async fn begin_write(&self) -> Result<Box<dyn Tx>, Error> {
        Ok(Box::new(self.0.begin_write().await?))
    }

    async fn begin_read(&self) -> Result<Box<dyn Read>, Error> {
        Ok(Box::new(self.0.begin_read().await?))
    }

    fn store(&self) -> Arc<dyn Store> {
        self.0.store()
    }
}

async fn store() -> (TestStore, TestDb) {
    let t = TestDb::fresh().await.expect("test database");
    let db = Db::connect(&t.url).await.expect("connect");
    db.migrate().await.expect("migrate");
    (TestStore(db), t)
}

fn user(id: &str, name: &str, active: bool) -> User {
    let mut attributes = serde_json::Map::new();
    attributes.insert("userName".into(), name.into());
    attributes.insert(
        "emails".into(),
        serde_json::json!([{"value": format!("{id}@Example.com"), "type": "work", "primary": true}]),
    );
    let mut u = User {
        id: UserId(id.into()),
        user_name: name.into(),
        external_id: None,
        display_name: None,
        given_name: None,
        family_name: None,
        email: None,
        active,
        inactive_reason: None,
        managed_by: ManagedBy::Scim { idp: "Okta".into() },
        deleted_at: None,
        attributes,
        version: 1,
        created_at: 1,
        updated_at: 1,
    };
    u.derive_fields();
    u
}

fn group(id: &str, name: &str) -> Group {
    Group {
        id: GroupId(id.into()),
        display_name: name.into(),
        external_id: None,
        managed_by: ManagedBy::Local,
        extra: Default::default(),
        member_count: 0,
        version: 1,
        created_at: 1,
        updated_at: 1,
    }
}

#[tokio::test]
async fn settings_start_with_scim_off_and_fifty_seats() {
    let (s, _t) = store().await;
    let mut tx = s.begin_write().await.unwrap();
    assert_eq!(tx.settings().await.unwrap(), Settings { scim_enabled: false, seats: SeatLimit(50) });
    tx.set_scim_enabled(true).await.unwrap();
    tx.set_seat_limit(SeatLimit(7)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = s.begin_read().await.unwrap();
    assert_eq!(tx.settings().await.unwrap(), Settings { scim_enabled: true, seats: SeatLimit(7) });
}

#[tokio::test]
async fn user_names_are_unique_case_insensitively_but_kept_as_sent() {
    let (s, _t) = store().await;
    let mut tx = s.begin_write().await.unwrap();
    tx.insert_user(&user("u1", "Ada.Lovelace@Example.com", true)).await.unwrap();
    let clash = tx.insert_user(&user("u2", "ada.lovelace@example.COM", true)).await.unwrap_err();
    assert!(matches!(clash, Error::Conflict { what: "userName", .. }), "{clash}");
    tx.commit().await.unwrap();
    let mut tx = s.begin_read().await.unwrap();
    let found = tx.user_by_name("ada.lovelace@example.com").await.unwrap().unwrap();
    assert_eq!(found.user_name, "Ada.Lovelace@Example.com");
    assert_eq!(found.email.as_deref(), Some("u1@Example.com"));
}

#[tokio::test]
async fn group_names_are_unique_case_insensitively() {
    let (s, _t) = store().await;
    let mut tx = s.begin_write().await.unwrap();
    tx.insert_group(&group("g1", "Engineering")).await.unwrap();
    assert!(matches!(tx.insert_group(&group("g2", "ENGINEERING")).await, Err(Error::Conflict { .. })));
    tx.insert_group(&group("g3", "Sales")).await.unwrap();
    let mut renamed = group("g3", "engineering");
    renamed.version = 2;
    assert!(matches!(tx.update_group(&renamed).await, Err(Error::Conflict { .. })), "a rename cannot take a used name");
    assert!(tx.group_by_name("engineering").await.unwrap().is_some());
}

#[tokio::test]
async fn a_dropped_write_transaction_changes_nothing() {
    let (s, _t) = store().await;
    {
        let mut tx = s.begin_write().await.unwrap();
        tx.insert_user(&user("u1", "a", true)).await.unwrap();
        // dropped without commit
    }
    let mut tx = s.begin_read().await.unwrap();
    assert!(tx.user(&UserId("u1".into())).await.unwrap().is_none());
}

#[tokio::test]
async fn a_write_job_that_fails_changes_nothing() {
    let (s, _t) = store().await;
    let r: Result<(), Error> = s
        .store()
        .write(|tx| {
            Box::pin(async move {
                tx.insert_user(&user("u1", "a", true)).await?;
                Err(Error::InvalidValue("refused".into()))
            })
        })
        .await;
    assert!(matches!(r, Err(Error::InvalidValue(_))));
    let done: Result<(), Error> =
        s.store().write(|tx| Box::pin(async move { tx.insert_user(&user("u2", "b", true)).await })).await;
    assert!(done.is_ok());
    let mut tx = s.begin_read().await.unwrap();
    assert!(tx.user(&UserId("u1".into())).await.unwrap().is_none(), "the failed job rolled back");
    assert!(tx.user(&UserId("u2".into())).await.unwrap().is_some(), "the next job committed");
}

#[tokio::test]
async fn membership_changes_are_idempotent_and_counted() {
    let (s, _t) = store().await;
    let mut tx = s.begin_write().await.unwrap();
    for i in 0..3 {
        tx.insert_user(&user(&format!("u{i}"), &format!("user{i}"), true)).await.unwrap();
    }
    tx.insert_group(&group("g", "G")).await.unwrap();
    let ids: Vec<UserId> = (0..3).map(|i| UserId(format!("u{i}"))).collect();
    let other = group("h", "H");
    tx.insert_group(&other).await.unwrap();
    assert_eq!(tx.add_members(&other.id, &ids[2..], 5).await.unwrap().len(), 1);
    assert_eq!(tx.add_members(&GroupId("g".into()), &ids, 5).await.unwrap().len(), 3);
    assert_eq!(tx.add_members(&GroupId("g".into()), &ids[..1], 5).await.unwrap().len(), 0, "adding again adds nothing");
    assert_eq!(tx.remove_members(&GroupId("g".into()), &ids[..1]).await.unwrap(), vec![ids[0].clone()]);
    assert!(tx.remove_members(&GroupId("g".into()), &ids[..1]).await.unwrap().is_empty());
    let page = tx.members(&GroupId("g".into()), 1, 0).await.unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(page.items.iter().map(|m| m.user_name.as_str()).collect::<Vec<_>>(), ["user1", "user2"]);
    let mut counts = tx.group_counts(&ids).await.unwrap();
    counts.sort();
    assert_eq!(counts, vec![(ids[1].clone(), 1), (ids[2].clone(), 2)], "user0 is in no group now");
    let of = tx.members_of(&[GroupId("h".into()), GroupId("none".into()), GroupId("g".into())]).await.unwrap();
    assert_eq!(of.iter().map(Vec::len).collect::<Vec<_>>(), [1, 0, 2], "in the order asked");
    assert_eq!(tx.groups_of_user(&ids[1]).await.unwrap()[0].display_name, "G");
    tx.delete_group(&GroupId("g".into())).await.unwrap();
    assert!(tx.member_ids(&GroupId("g".into())).await.unwrap().is_empty(), "memberships go with the group");
}

#[tokio::test]
async fn filters_run_as_sql_with_paging_and_totals() {
    let (s, _t) = store().await;
    let mut tx = s.begin_write().await.unwrap();
    for i in 0..25 {
        let mut u = user(&format!("u{i:02}"), &format!("User{i:02}@Example.com"), i % 2 == 0);
        u.created_at = i;
        tx.insert_user(&u).await.unwrap();
    }
    let q = |f: &str, start: i64, count: i64| UserQuery {
        filter: Some(roster::scim::filter::parse(f).unwrap()),
        start_index: start,
        count,
        ..Default::default()
    };
    let page = tx.list_users(&q(r#"userName eq "USER07@example.com""#, 1, 10)).await.unwrap();
    assert_eq!((page.total, page.items.len()), (1, 1));
    assert_eq!(page.items[0].user_name, "User07@Example.com");
    let page = tx.list_users(&q(r#"emails[type eq "work"].value eq "u03@example.com""#, 1, 10)).await.unwrap();
    assert_eq!(page.items[0].id, UserId("u03".into()));
    let page = tx.list_users(&q("active eq true", 1, 5)).await.unwrap();
    assert_eq!((page.total, page.items.len()), (13, 5));
    let page2 = tx.list_users(&q("active eq true", 6, 5)).await.unwrap();
    assert!(page.items.iter().all(|a| page2.items.iter().all(|b| a.id != b.id)), "pages never overlap");
    let page = tx.list_users(&q(r#"userName sw "user1" and not (active eq true)"#, 1, 100)).await.unwrap();
    assert_eq!(page.total, 5, "User11, 13, 15, 17, 19");
    let page = tx.list_users(&q(r#"userName co "%""#, 1, 100)).await.unwrap();
    assert_eq!(page.total, 0, "LIKE wildcards in values are literal");
    let bad = tx.list_users(&q(r#"nickName eq "x""#, 1, 1)).await.unwrap_err();
    assert!(matches!(bad, Error::InvalidFilter(_)));
}

#[tokio::test]
async fn tokens_authenticate_by_hash_until_revoked() {
    let (s, _t) = store().await;
    let mut tx = s.begin_write().await.unwrap();
    let t = tx.insert_token(TokenKind::Scim, roster::model::ApiScope::Directory, "Okta", "hash1", 10).await.unwrap();
    assert!(matches!(
        tx.insert_token(TokenKind::Scim, roster::model::ApiScope::Directory, "okta", "hash2", 10).await,
        Err(Error::Conflict { .. })
    ));
    // An API token may share a SCIM token's name; neither authenticates as the other.
    tx.insert_token(TokenKind::Api, roster::model::ApiScope::Directory, "Okta", "hash4", 10).await.unwrap();
    let live = |tx: (Vec<roster::store::LiveToken>, bool)| -> (Vec<(TokenKind, String)>, bool) {
        let mut l: Vec<_> = tx.0.into_iter().map(|t| (t.kind, t.hash)).collect();
        l.sort_by(|a, b| a.1.cmp(&b.1));
        (l, tx.1)
    };
    let both = vec![(TokenKind::Scim, "hash1".to_owned()), (TokenKind::Api, "hash4".to_owned())];
    assert_eq!(live(tx.live_tokens().await.unwrap()), (both, false), "each with its kind; SCIM is off");
    assert!(tx.revoke_token(TokenKind::Scim, "okta", 11).await.unwrap());
    let api = vec![(TokenKind::Api, "hash4".to_owned())];
    assert_eq!(live(tx.live_tokens().await.unwrap()).0, api, "revoking one kind leaves the other");
    assert_eq!(t.name, "Okta");
    tx.insert_token(TokenKind::Scim, roster::model::ApiScope::Directory, "Okta", "hash3", 12).await.unwrap(); // a revoked token's name may be reused
    assert_eq!(tx.list_tokens(TokenKind::Scim).await.unwrap().len(), 2);
    assert_eq!(tx.list_tokens(TokenKind::Api).await.unwrap().len(), 1);
}

#[tokio::test]
async fn admins_are_unique_by_email_in_any_case_and_keep_their_role() {
    let (s, _t) = store().await;
    let mut tx = s.begin_write().await.unwrap();
    let new = |email| roster::store::NewAdmin { email, password_hash: "h", role: Role::Helpdesk, break_glass: true };
    tx.insert_admin(&new("Admin@Example.com"), 1).await.unwrap();
    assert!(matches!(tx.insert_admin(&new("admin@example.com"), 1).await, Err(Error::Conflict { .. })));
    let (a, hash) = tx.admin_credentials("admin@example.com").await.unwrap().unwrap();
    assert_eq!((a.email.as_str(), hash.as_str()), ("Admin@Example.com", "h"));
    assert_eq!((a.role, a.break_glass, a.last_sign_in_at), (Role::Helpdesk, true, None));
    tx.set_admin_role(a.id, Role::Auditor, 2).await.unwrap();
    tx.record_admin_sign_in(a.id, 3).await.unwrap();
    let a = tx.admin(a.id).await.unwrap().unwrap();
    assert_eq!((a.role, a.last_sign_in_at), (Role::Auditor, Some(3)));
    assert_eq!(tx.count_admins().await.unwrap(), 1);
}

#[tokio::test]
async fn events_are_listed_newest_first_and_filtered() {
    let (s, _t) = store().await;
    let mut tx = s.begin_write().await.unwrap();
    let ev = |status: u16, outcome: Outcome, id: &str| NewLogEntry {
        at: 100,
        actor: "Okta".into(),
        method: "POST".into(),
        path: "/scim/v2/Users".into(),
        status,
        outcome,
        target: Some(Target { kind: roster::Kind::User, id: id.into(), name: "ada".into() }),
        diff: String::new(),
        detail: String::new(),
        request_id: Some("req-1".into()),
        client: None,
    };
    let a = tx.insert_log_entry(&ev(201, Outcome::Ok, "u1")).await.unwrap();
    let b = tx.insert_log_entry(&ev(403, Outcome::NoSeats, "u2")).await.unwrap();
    assert_eq!(b.0, a.0 + 1, "numbered one after another");
    // Written, and hashed into the chain, when the transaction commits.
    tx.commit().await.unwrap();
    let mut tx = s.begin_read().await.unwrap();
    let all = tx.log_entries(&LogQuery { start_index: 1, count: 10, ..Default::default() }).await.unwrap();
    assert_eq!(all.items[0].id, b);
    let failed =
        tx.log_entries(&LogQuery { failed_only: true, start_index: 1, count: 10, ..Default::default() }).await.unwrap();
    assert_eq!((failed.total, failed.items[0].outcome), (1, Outcome::NoSeats));
    let by_id = tx
        .log_entries(&LogQuery { target: Some(format!("#{}", b.0)), start_index: 1, count: 10, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(by_id.items[0].id, b);
    assert_eq!(tx.log_entry(a).await.unwrap().unwrap().status, 201);
}

#[tokio::test]
async fn the_count_of_seats_used_moves_only_as_told() {
    let (s, _t) = store().await;
    let mut tx = s.begin_write().await.unwrap();
    tx.insert_user(&user("a", "a", true)).await.unwrap();
    assert_eq!(tx.seat_usage().await.unwrap(), SeatUsage { used: 0, limit: 50 }, "the services move it, not the rows");
    tx.adjust_seats_used(2).await.unwrap();
    tx.adjust_seats_used(-1).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = s.begin_read().await.unwrap();
    assert_eq!(tx.seat_usage().await.unwrap().used, 1);
    assert_eq!(tx.counts().await.unwrap(), Counts { users: 1, groups: 0 });
}

#[tokio::test]
async fn users_by_state_among_ids() {
    let (s, _t) = store().await;
    let mut tx = s.begin_write().await.unwrap();
    let mut gone = user("c", "c", false);
    gone.deleted_at = Some(3);
    for u in [user("a", "a", true), user("b", "b", false), gone] {
        tx.insert_user(&u).await.unwrap();
    }
    let ids: Vec<UserId> = ["a", "b", "c", "zz"].iter().map(|i| UserId((*i).into())).collect();
    let mut live = tx.live_users(&ids).await.unwrap();
    live.sort();
    assert_eq!(live, vec![(ids[0].clone(), true), (ids[1].clone(), false)], "tombstones are not live");
    assert_eq!(tx.users_by_ids(&ids).await.unwrap().len(), 3);
}

#[tokio::test]
async fn case_insensitive_name_filters_use_an_index() {
    let (s, _t) = store().await;
    // Enough users, with statistics, that the planner chooses as it would on a real directory (on an empty table any
    // plan costs the same).
    s.store()
        .write(|tx| {
            Box::pin(async move {
                for i in 0..2000 {
                    let mut u = user(&format!("u{i}"), &format!("user{i}@example.com"), true);
                    u.display_name = Some(format!("User {i}"));
                    u.given_name = Some(format!("Given{i}"));
                    u.family_name = Some(format!("Family{i}"));
                    tx.insert_user(&u).await?;
                }
                Ok(())
            })
        })
        .await
        .unwrap();
    match &s.0 {
        Db::Sqlite(p) => sqlx::query("analyze app_user").execute(&p.write).await.map(|_| ()),
        Db::Postgres(p) => sqlx::query("analyze app_user").execute(&p.write).await.map(|_| ()),
    }
    .unwrap();
    let mut tx = s.0.begin_read().await.unwrap();
    for (filter, index) in [
        (r#"displayName eq "Ada Lovelace""#, "app_user_display_name_lower"),
        (r#"name.givenName eq "ada""#, "app_user_given_name_lower"),
        (r#"name.familyName eq "LOVELACE""#, "app_user_family_name_lower"),
        (r#"userName eq "ada@example.com""#, "app_user_user_name"),
    ] {
        let q = UserQuery {
            filter: Some(roster::scim::filter::parse(filter).unwrap()),
            start_index: 1,
            count: 10,
            ..Default::default()
        };
        let w = server::store::query::user_where(&q, tx.dialect()).unwrap();
        let plan = tx.explain(&format!("select app_user.user_id from app_user{}", w.text), &w.args).await.unwrap();
        println!("{filter}:\n{plan}");
        assert!(plan.contains(index), "{filter} should use {index}:\n{plan}");
    }
}

/// The panel's search, through whatever index the database has (migration 0005): after an insert, a rename, a failed
/// write and a tombstone.
#[tokio::test]
async fn the_search_index_follows_every_write() {
    let (s, _t) = store().await;
    let store = s.store();
    let found = |term: &'static str| {
        let store = store.clone();
        async move {
            let q = UserQuery {
                search: Some(term.into()),
                include_deleted: true,
                start_index: 1,
                count: 10,
                ..Default::default()
            };
            let page = store.begin_read().await.unwrap().list_users(&q).await.unwrap();
            page.items.into_iter().map(|u| u.id.0).collect::<Vec<_>>()
        }
    };
    let mut ada = user("ada", "ada.lovelace@example.com", true);
    let write = |u: User| store.write(move |tx| Box::pin(async move { tx.insert_user(&u).await }));
    write(ada.clone()).await.unwrap();
    write(user("bob", "bob@example.com", true)).await.unwrap();
    assert_eq!(found("lovel").await, ["ada"]);
    assert_eq!(found("example").await.len(), 2);

    let before = ada.clone();
    ada.user_name = "grace.hopper@example.com".into();
    ada.attributes.insert("userName".into(), ada.user_name.clone().into());
    ada.derive_fields();
    let after = ada.clone();
    let (b, a) = (before.clone(), after.clone());
    store.write(move |tx| Box::pin(async move { tx.update_user(&b, &a).await })).await.unwrap();
    assert!(found("lovel").await.is_empty(), "the old name is gone from the index");
    assert_eq!(found("hopper").await, ["ada"]);

    let failed: Result<(), Error> = store
        .write(|tx| {
            Box::pin(async move {
                tx.insert_user(&user("eve", "eve.intruder@example.com", true)).await?;
                Err(Error::InvalidValue("refused".into()))
            })
        })
        .await;
    assert!(failed.is_err());
    assert!(found("intruder").await.is_empty(), "a rolled-back write leaves nothing in the index");

    let mut gone = after.clone();
    gone.deleted_at = Some(5);
    store.write(move |tx| Box::pin(async move { tx.update_user(&after, &gone).await })).await.unwrap();
    assert_eq!(found("hopper").await, ["ada"], "a tombstone is still found by the panel's \"Deleted in IdP\" view");
}

/// Deep pages of the default listing come from the positions cache; the same listing with a filter that matches
/// everyone goes through OFFSET. They agree across marks, totals and the end, before and after users come and go.
/// So do the panel's listing of every user, tombstones too, and the totals both keep (migration 0014), through a
/// write that rolled back.
#[tokio::test]
async fn deep_pages_of_the_default_listing_agree_with_offset_paging() {
    let (s, _t) = store().await;
    let store = s.store();
    let n = 2 * server::store::positions::STRIDE + 321;
    store
        .write(move |tx| {
            Box::pin(async move {
                for i in 0..n {
                    let mut u = user(&format!("u{i:05}"), &format!("user{i:05}"), true);
                    u.created_at = 1000 + i / 3; // ties on created_at are broken by id
                    tx.insert_user(&u).await?;
                }
                Ok(())
            })
        })
        .await
        .unwrap();
    let listing = |start: i64, everyone: bool, include_deleted: bool| {
        let store = store.clone();
        async move {
            // Every user is Okta's: the filter changes nothing but the path the listing takes.
            let q = UserQuery {
                start_index: start,
                count: 25,
                managed_by_idp: everyone.then_some(true),
                include_deleted,
                ..Default::default()
            };
            let p = store.begin_read().await.unwrap().list_users(&q).await.unwrap();
            (p.total, p.items.into_iter().map(|u| u.id.0).collect::<Vec<_>>())
        }
    };
    let page = |start: i64, everyone: bool| listing(start, everyone, false);
    let starts = [1, 2, 999, 1000, 1001, 1990, 2001, 2300, n - 5, n, n + 1, n + 500, n + 1499, n + 1501, n + 2000];
    let agree = |when: &'static str| async move {
        for start in starts {
            assert_eq!(listing(start, false, false).await, listing(start, true, false).await, "{start}, {when}");
            assert_eq!(listing(start, false, true).await, listing(start, true, true).await, "{start}, {when}");
        }
    };
    agree("at first").await;
    assert_eq!(page(n + 1, false).await, (n, vec![]));

    // New users come last: the marks from the last one on are read again, and the pages still agree.
    let added = 1500;
    for batch in 0..2 {
        store
            .write(move |tx| {
                Box::pin(async move {
                    for i in batch * added / 2..(batch + 1) * added / 2 {
                        let mut u = user(&format!("v{i:05}"), &format!("new{i:05}"), true);
                        u.created_at = 100_000 + i;
                        tx.insert_user(&u).await?;
                    }
                    Ok(())
                })
            })
            .await
            .unwrap();
        agree("after users came last").await;
    }
    let n = n + added;
    assert_eq!(page(n - 24, false).await.1.last().map(String::as_str), Some("v01499"));

    // A new user before the last mark (a clock behind) moves every position after it, with the same version.
    let mut late = user("late", "late", true);
    late.created_at = 1;
    store.write(move |tx| Box::pin(async move { tx.insert_user(&late).await })).await.unwrap();
    agree("after a user came first").await;
    assert_eq!(page(1, false).await.1[0], "late");
    // A tombstone moves the positions after it.
    let mut gone = user("u01500", "user01500", true);
    gone.created_at = 1000 + 1500 / 3;
    let before = gone.clone();
    gone.deleted_at = Some(9);
    store.write(move |tx| Box::pin(async move { tx.update_user(&before, &gone).await })).await.unwrap();
    agree("after the changes").await;
    assert_eq!((page(1, false).await.0, listing(1, false, true).await.0), (n, n + 1), "one tombstone, one new user");

    // A write that fails after adding a user and tombstoning another moves no total.
    let mut first = user("u00000", "user00000", true);
    first.created_at = 1000;
    store
        .write(move |tx| {
            Box::pin(async move {
                tx.insert_user(&user("ghost", "ghost", true)).await?;
                let mut gone = first.clone();
                gone.deleted_at = Some(10);
                tx.update_user(&first, &gone).await?;
                Err::<(), _>(Error::InvalidValue("refused".into()))
            })
        })
        .await
        .unwrap_err();
    agree("after a rolled-back write").await;
    assert_eq!((page(1, false).await.0, listing(1, false, true).await.0), (n, n + 1));
    store
        .write(move |tx| {
            Box::pin(async move {
                tx.insert_user(&user("ghost", "ghost", true)).await?;
                Err::<(), _>(Error::InvalidValue("refused".into()))
            })
        })
        .await
        .unwrap_err();
    assert_eq!((page(1, false).await.0, listing(1, false, true).await.0), (n, n + 1), "a rolled-back create");
}

/// A job refused before it wrote anything (a NUL in a value) rolls back nothing of the job before it in the same
/// transaction: the refusal comes before its savepoint would be taken, so no rollback can find an earlier job's.
#[tokio::test]
async fn a_job_refused_before_its_first_write_leaves_the_job_before_it() {
    let (s, _t) = store().await;
    let mut tx = s.0.begin_write().await.unwrap();
    tx.start_job();
    let first = tx.insert_user(&user("u1", "first@example.com", true)).await;
    tx.end_job(first.as_ref().map(|_| ())).await.unwrap();
    tx.start_job();
    let bad = tx.insert_user(&user("u2", "nul\0@example.com", true)).await;
    assert!(matches!(bad, Err(Error::InvalidValue(_))), "{bad:?}");
    tx.end_job(bad.as_ref().map(|_| ())).await.unwrap();
    tx.finish().await.unwrap();
    let mut read = s.begin_read().await.unwrap();
    assert!(read.user(&UserId("u1".into())).await.unwrap().is_some(), "the first job's user is there");
    assert!(read.user(&UserId("u2".into())).await.unwrap().is_none());
}
