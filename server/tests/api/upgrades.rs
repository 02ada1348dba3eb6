//! Upgrades keep data: a migration that has landed is never edited (sqlx refuses to start on a database whose applied
//! migration changed), and each release's database, with users, groups, tokens, log entries and events in it, is
//! upgraded by today's code with every row intact.
use std::collections::BTreeMap;

const MIGRATIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations");

/// `migrations/landed.sha256`: each landed migration's SHA-256, as `sha256sum` writes it.
fn landed() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(format!("{MIGRATIONS}/landed.sha256")).unwrap();
    text.lines().filter_map(|l| l.split_once("  ")).map(|(h, f)| (f.to_owned(), h.to_owned())).collect()
}

#[test]
fn a_migration_that_has_landed_is_never_edited() {
    let landed = landed();
    let mut files = Vec::new();
    for dialect in ["sqlite", "postgres"] {
        for entry in std::fs::read_dir(format!("{MIGRATIONS}/{dialect}")).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            files.push(format!("{dialect}/{name}"));
        }
    }
    files.sort();
    for file in &files {
        let text = std::fs::read_to_string(format!("{MIGRATIONS}/{file}")).unwrap();
        let hash = roster::service::sha256_hex(&text);
        match landed.get(file) {
            None => panic!(
                "{file} is not in migrations/landed.sha256: add it with `cd migrations && sha256sum {file} >> landed.sha256` \
                 in the commit that adds it"
            ),
            Some(h) => assert_eq!(
                h, &hash,
                "{file} was edited after it landed; a database that applied it would refuse to start. Add a new migration \
                 instead, and restore this one"
            ),
        }
    }
    assert_eq!(landed.len(), files.len(), "landed.sha256 names a migration that is gone: {landed:?}");
}

#[test]
fn roster_version_names_the_release_and_the_commit() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_roster")).arg("--version").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with(&format!("roster {} (commit ", env!("CARGO_PKG_VERSION"))), "{text}");
    assert!(!text.contains("(commit )"), "{text}");
}

/// The fixtures: one folder per release, made by `scripts/release-fixture.sh` with that release's binary.
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// Every table's row count, but the migrations' own. The log's table was renamed (migration 0011), so it is counted
/// under its new name; the session layer's old table is dropped (0010; admins sign in again).
async fn row_counts(db: &server::store::Db) -> BTreeMap<String, i64> {
    use server::store::Db;
    let tables_sql = match db {
        Db::Sqlite(_) => {
            "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' \
             and name not like 'user_search%' order by name"
        }
        Db::Postgres(_) => {
            "select table_name from information_schema.tables where table_schema = 'public' order by table_name"
        }
    };
    let tables: Vec<String> = match db {
        Db::Sqlite(p) => sqlx::query_scalar(tables_sql).fetch_all(&p.read).await.unwrap(),
        Db::Postgres(p) => sqlx::query_scalar(tables_sql).fetch_all(&p.read).await.unwrap(),
    };
    let mut counts = BTreeMap::new();
    for t in tables.into_iter().filter(|t| !t.starts_with("_sqlx") && t != "tower_sessions") {
        let sql = format!("select count(*) from {t}");
        let n: i64 = match db {
            Db::Sqlite(p) => sqlx::query_scalar(&sql).fetch_one(&p.read).await.unwrap(),
            Db::Postgres(p) => sqlx::query_scalar(&sql).fetch_one(&p.read).await.unwrap(),
        };
        let name = if t == "provisioning_event" { "log_entry".to_owned() } else { t };
        counts.insert(name, n);
    }
    counts
}

/// Migrates the release's database with today's code and checks it: every row of every table still there, and the
/// things a user of the release relied on still working (the tokens, the webhook's secret, users, groups, the log).
async fn upgrade_and_check(url: &str, secrets: &serde_json::Value) {
    let db = server::store::Db::connect_existing(url).await.unwrap();
    let before = row_counts(&db).await;
    db.migrate().await.expect("today's migrations apply to the release's database");
    let after = row_counts(&db).await;
    for (table, n) in &before {
        assert_eq!(after.get(table), Some(n), "{table}: every row is still there ({before:?} → {after:?})");
    }
    for table in ["app_user", "app_group", "group_member", "scim_token", "log_entry", "directory_event"] {
        assert!(before.get(table).is_some_and(|n| *n > 0), "the fixture has rows in {table}: {before:?}");
    }

    let services = roster::service::Services::new(db.store());
    let actor = services.tokens.authenticate(secrets["scim_token"].as_str()).await.expect("the SCIM token still works");
    assert_eq!(actor.name(), "Okta");
    assert!(
        services
            .tokens
            .authenticate_api(secrets["api_token"].as_str(), roster::model::ApiScope::Directory)
            .await
            .is_ok(),
        "the API token still works"
    );
    let q = roster::model::UserQuery { start_index: 1, count: 100, include_deleted: true, ..Default::default() };
    let users = services.users.list(&q).await.unwrap().items;
    // Full pages read the totals migration 0014 counted.
    let one =
        |include_deleted| roster::model::UserQuery { start_index: 1, count: 1, include_deleted, ..Default::default() };
    let live = users.iter().filter(|u| u.deleted_at.is_none()).count() as i64;
    assert_eq!(services.users.list(&one(true)).await.unwrap().total, users.len() as i64);
    assert_eq!(services.users.list(&one(false)).await.unwrap().total, live);
    assert!(live < users.len() as i64, "the fixture has a tombstone");
    let by_name = |n: &str| users.iter().find(|u| u.user_name == n).unwrap_or_else(|| panic!("{n}: {users:?}"));
    assert!(by_name("grace@example.com").active);
    assert!(!by_name("alan@example.com").active, "deactivated by the IdP");
    assert!(by_name("linus@example.com").deleted_at.is_some(), "a tombstone");
    assert_eq!(by_name("grace@example.com").email.as_deref(), Some("grace@example.com"));
    let q = roster::model::GroupQuery { start_index: 1, count: 10, ..Default::default() };
    let groups = services.groups.list(&q).await.unwrap().items;
    let engineering = groups.into_iter().find(|g| g.display_name == "Engineering").unwrap();
    let (_, members) = services.groups.get_with_members(&engineering.id).await.unwrap();
    let mut names: Vec<&str> = members.iter().map(|m| m.user_name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["alan@example.com", "grace@example.com"]);
    let seats = services.settings.seats().await.unwrap();
    assert_eq!((seats.used, seats.limit), (2, 4), "the running count agrees with the users");
    let q = roster::model::LogQuery { start_index: 1, count: 500, ..Default::default() };
    let log = services.settings.log(&q).await.unwrap();
    assert_eq!(log.total, before["log_entry"]);
    assert!(log.items.iter().any(|e| e.outcome == roster::model::Outcome::NoSeats), "the refused push is still logged");
    // The release's entries get their hashes at the first start (migration 0013), and the chain then verifies.
    let early = services.audit.verify().await.map(|_| ()).unwrap_err().to_string();
    assert!(early.contains("still being hashed"), "{early}");
    assert_eq!(services.audit.seal_backlog().await.unwrap() as i64, before["log_entry"]);
    let v = services.audit.verify().await.unwrap();
    assert_eq!((v.broken, v.checked as i64), (None, before["log_entry"]), "every entry of the release is in the chain");
    let hooks = services.webhooks.list().await.unwrap();
    assert_eq!(hooks.len(), 1);
    // The webhook's secret, in clear before: with a key file set, a start seals it, and it opens to the same secret.
    let keys = roster::service::SecretKeys::parse(&roster::service::SecretKeys::generate().unwrap()).unwrap();
    assert_eq!(services.webhooks.clone().with_keys(keys.clone()).reseal_secrets().await.unwrap(), 1);
    let sql = "select secret from webhook_endpoint";
    let stored: String = match &db {
        server::store::Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(&p.read).await.unwrap(),
        server::store::Db::Postgres(p) => sqlx::query_scalar(sql).fetch_one(&p.read).await.unwrap(),
    };
    assert!(stored.starts_with("sealed:"), "{stored}");
    assert_eq!(keys.open(&stored).unwrap(), secrets["webhook_secret"].as_str().unwrap(), "the same secret, sealed");
}

#[tokio::test]
async fn each_releases_sqlite_database_upgrades_with_every_row_intact() {
    let mut releases = 0;
    for entry in std::fs::read_dir(FIXTURES).unwrap() {
        let dir = entry.unwrap().path();
        let copy = std::env::temp_dir().join(format!("roster-upgrade-{}.db", uuid::Uuid::new_v4().simple()));
        std::fs::copy(dir.join("roster.db"), &copy).unwrap();
        let secrets: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("secrets.json")).unwrap()).unwrap();
        upgrade_and_check(&format!("sqlite://{}", copy.display()), &secrets).await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", copy.display()));
        }
        releases += 1;
    }
    assert!(releases > 0, "a fixture per release in {FIXTURES}");
}

#[tokio::test]
async fn each_releases_postgres_database_upgrades_with_every_row_intact() {
    let db = testkit::TestDb::fresh().await.unwrap();
    if !db.is_postgres() {
        return; // SQLite's fixtures are the test above; this one runs where ROSTER_TEST_POSTGRES_URL is set.
    }
    drop(db);
    for entry in std::fs::read_dir(FIXTURES).unwrap() {
        let dir = entry.unwrap().path();
        let db = testkit::TestDb::fresh().await.unwrap();
        let dump = std::fs::read_to_string(dir.join("roster.sql")).unwrap();
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url).await.unwrap();
        sqlx::raw_sql(&dump).execute(&mut conn).await.expect("the release's dump restores");
        // The dump empties the search path for itself; the application's connections start afresh.
        drop(conn);
        let secrets: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("secrets-postgres.json")).unwrap()).unwrap();
        upgrade_and_check(&db.url, &secrets).await;
    }
}
