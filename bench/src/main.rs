//! `roster-bench`: seeds a fresh database with many users and one large group straight through SQL, then measures
//! what Okta and an admin actually do, over real HTTP against the real application running in this process.
//!
//! It only measures and prints; it never fails because something is slow. See bench/README.md.
use anyhow::{Context, anyhow, bail};
use roster::model::fold;
use roster::service::Ctx;
use serde_json::{Value, json};
use server::store::Db;
use server::testing::{POSTGRES_ENV, spawn_app};
use std::fmt::Write as _;
use std::future::Future;
use std::time::{Duration, Instant};

const POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Rows per multi-row INSERT: 18 binds a row keeps app_user at 18,000 binds, under both databases' limits.
const ROWS_PER_INSERT: usize = 1000;
/// Users per seeding transaction.
const ROWS_PER_TX: usize = 20_000;
const IDP: &str = "Okta";
const GROUP_NAME: &str = "Bench everyone";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, Clone)]
struct Args {
    users: usize,
    members: usize,
    backend: Backend,
    out: Option<String>,
    raw: Vec<String>,
}

const USAGE: &str = "usage: roster-bench [--users 100000] [--members 50000] [--backend sqlite|postgres] \
    [--out bench/RESULTS.md | --out -]";

fn parse_args() -> anyhow::Result<Args> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let mut a = Args { users: 100_000, members: 50_000, backend: Backend::Sqlite, out: None, raw: raw.clone() };
    let mut it = raw.into_iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| anyhow!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--users" => a.users = value()?.parse().context("--users must be a whole number")?,
            "--members" => a.members = value()?.parse().context("--members must be a whole number")?,
            "--backend" => {
                a.backend = match value()?.as_str() {
                    "sqlite" => Backend::Sqlite,
                    "postgres" | "postgresql" => Backend::Postgres,
                    other => bail!("unknown backend '{other}'\n{USAGE}"),
                }
            }
            "--out" => a.out = Some(value()?),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument '{other}'\n{USAGE}"),
        }
    }
    if a.members > a.users {
        bail!("--members ({}) cannot exceed --users ({})", a.members, a.users);
    }
    if a.users == 0 {
        bail!("--users must be at least 1");
    }
    Ok(a)
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    if args.backend == Backend::Postgres && std::env::var(POSTGRES_ENV).map(|v| v.is_empty()).unwrap_or(true) {
        // SAFETY: no other thread exists yet; the tokio runtime is built below, after this.
        unsafe { std::env::set_var(POSTGRES_ENV, POSTGRES_URL) };
    }
    if args.backend == Backend::Sqlite {
        // SAFETY: as above, still single-threaded. An inherited variable would silently switch the backend.
        unsafe { std::env::remove_var(POSTGRES_ENV) };
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(run(args))
}

/// One measured operation.
struct Row {
    name: String,
    n: usize,
    stats: Option<Stats>,
    note: String,
}

struct Stats {
    median: Duration,
    p95: Duration,
    p99: Duration,
    max: Duration,
    per_sec: f64,
}

fn stats(mut d: Vec<Duration>, wall: Duration) -> Option<Stats> {
    if d.is_empty() {
        return None;
    }
    d.sort();
    let rank = |p: f64| d[((p * d.len() as f64).ceil() as usize).clamp(1, d.len()) - 1];
    Some(Stats {
        median: rank(0.50),
        p95: rank(0.95),
        p99: rank(0.99),
        max: d[d.len() - 1],
        per_sec: d.len() as f64 / wall.as_secs_f64().max(f64::EPSILON),
    })
}

/// Runs `warmup` unrecorded then `n` recorded iterations, one at a time. `op(i)` returns the time of its request
/// (sent, answered and the body read); the checks it does after that are not counted.
async fn measure<F, Fut>(warmup: usize, n: usize, mut op: F) -> anyhow::Result<Option<Stats>>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<Duration>>,
{
    for i in 0..warmup {
        op(i).await?;
    }
    let mut times = Vec::with_capacity(n);
    let start = Instant::now();
    for i in warmup..warmup + n {
        times.push(op(i).await?);
    }
    Ok(stats(times, start.elapsed()))
}

fn warmup_for(n: usize) -> usize {
    (n / 10).clamp(1, 100)
}

/// Deterministic pseudo-random numbers (splitmix64), so runs pick the same users.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters (so a space is %20, as Okta sends it).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn user_name(i: usize) -> String {
    format!("user{i}@example.com")
}

const GIVEN: [&str; 16] = [
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Margaret",
    "Ken",
    "Dennis",
    "Frances",
    "John",
    "Radia",
    "Leslie",
    "Tony",
    "Niklaus",
    "Katherine",
];
const FAMILY: [&str; 16] = [
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson", "Ritchie", "Allen",
    "McCarthy", "Perlman", "Lamport", "Hoare", "Wirth", "Johnson",
];

/// One app_user row plus its one user_email row, as `UserService::create` and the store would write them.
struct SeedUser {
    id: String,
    user_name: String,
    user_name_folded: String,
    external_id: String,
    display_name: String,
    given: String,
    family: String,
    email: String,
    email_folded: String,
    search_folded: String,
    attributes: String,
    at: i64,
}

fn seed_user(i: usize, at: i64) -> SeedUser {
    let name = user_name(i);
    let given = GIVEN[i % GIVEN.len()].to_owned();
    let family = FAMILY[(i / GIVEN.len()) % FAMILY.len()].to_owned();
    let display = format!("{given} {family}");
    let external_id = format!("00u{i:0>17}");
    // Okta's POST body as `parse_user` keeps it: schemas, groups, password and active are not stored.
    let attributes = json!({
        "userName": name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": true, "value": name, "type": "work"}],
        "displayName": display,
        "locale": "en-US",
        "externalId": external_id,
    })
    .to_string();
    // search_folded: userName, givenName, familyName, displayName, email, joined by spaces, folded (store::search_text).
    let search_folded = fold(&format!("{name} {given} {family} {display} {name}"));
    SeedUser {
        id: uuid::Uuid::new_v4().to_string(),
        user_name_folded: fold(&name),
        email_folded: fold(&name),
        email: name.clone(),
        user_name: name,
        external_id,
        display_name: display,
        given,
        family,
        search_folded,
        attributes,
        at,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// The same seeding SQL for both databases (both accept `$n` placeholders); only the pool type differs.
macro_rules! seed_into {
    ($pool:expr, $db:ty, $users:expr, $members:expr, $group:expr, $t0:expr) => {{
        let pool = $pool;
        let users: &[SeedUser] = $users;
        for tx_rows in users.chunks(ROWS_PER_TX) {
            let mut tx = pool.begin().await?;
            for rows in tx_rows.chunks(ROWS_PER_INSERT) {
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "insert into app_user (user_id, user_name, user_name_folded, external_id, display_name, given_name, \
                     family_name, email, search_folded, active, inactive_reason, managed_by, managed_by_idp, deleted_at, \
                     attributes, version, created_at, updated_at) ",
                );
                q.push_values(rows, |mut b, u| {
                    b.push_bind(u.id.as_str())
                        .push_bind(u.user_name.as_str())
                        .push_bind(u.user_name_folded.as_str())
                        .push_bind(u.external_id.as_str())
                        .push_bind(u.display_name.as_str())
                        .push_bind(u.given.as_str())
                        .push_bind(u.family.as_str())
                        .push_bind(u.email.as_str())
                        .push_bind(u.search_folded.as_str())
                        .push_bind(true)
                        .push_bind(None::<String>)
                        .push_bind(IDP)
                        .push_bind(true)
                        .push_bind(None::<i64>)
                        .push_bind(u.attributes.as_str())
                        .push_bind(1_i64)
                        .push_bind(u.at)
                        .push_bind(u.at);
                });
                q.build().execute(&mut *tx).await?;
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "insert into user_email (user_id, position, value, value_folded, type, is_primary) ",
                );
                q.push_values(rows, |mut b, u| {
                    b.push_bind(u.id.as_str())
                        .push_bind(0_i64)
                        .push_bind(u.email.as_str())
                        .push_bind(u.email_folded.as_str())
                        .push_bind("work")
                        .push_bind(true);
                });
                q.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }
        let members: &[SeedUser] = $members;
        let group: &str = $group;
        let t0: i64 = $t0;
        let mut tx = pool.begin().await?;
        sqlx::query(
            "insert into app_group (group_id, display_name, display_name_folded, external_id, managed_by, \
             managed_by_idp, extra, member_count, version, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(group)
        .bind(GROUP_NAME)
        .bind(fold(GROUP_NAME))
        .bind(None::<String>)
        .bind(IDP)
        .bind(true)
        .bind("{}")
        .bind(members.len() as i64)
        .bind(1_i64)
        .bind(t0)
        .bind(t0)
        .execute(&mut *tx)
        .await?;
        for rows in members.chunks(ROWS_PER_INSERT * 5) {
            let mut q = sqlx::QueryBuilder::<$db>::new("insert into group_member (group_id, user_id, added_at) ");
            q.push_values(rows, |mut b, u| {
                b.push_bind(group).push_bind(u.id.as_str()).push_bind(t0);
            });
            q.build().execute(&mut *tx).await?;
        }
        // The store keeps the active-user count on the settings row (migration 0002); raw inserts must set it.
        sqlx::query(
            "update setting set active_users = (select count(*) from app_user where active and deleted_at is null) \
             where setting_id = 1",
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }};
}

/// Seeds `users` users (the first `members` of them in one group) and returns their ids in order and the group id.
async fn seed(url: &str, users: usize, members: usize) -> anyhow::Result<(Vec<String>, String)> {
    let t0 = now_ms() - users as i64 - 1;
    let rows: Vec<SeedUser> = (0..users).map(|i| seed_user(i, t0 + i as i64)).collect();
    let group = uuid::Uuid::new_v4().to_string();
    let db = Db::connect(url).await?;
    match &db {
        Db::Sqlite(pool) => {
            seed_into!(pool, sqlx::Sqlite, &rows, &rows[..members], &group, t0);
            // Fold the WAL into the main file so its size is the data's size.
            sqlx::query("pragma wal_checkpoint(truncate)").execute(pool).await?;
        }
        Db::Postgres(pool) => {
            seed_into!(pool, sqlx::Postgres, &rows, &rows[..members], &group, t0);
            // Autovacuum would vacuum and analyze these tables within a minute of a bulk load (the insert threshold
            // is 1,000 rows + 20 %); do it now so plans and the visibility map are in their steady state.
            sqlx::query("vacuum analyze").execute(pool).await?;
        }
    }
    let ids = rows.into_iter().map(|u| u.id).collect();
    Ok((ids, group))
}

/// Query plans of the statements behind the measured requests, copied from server/src/store/mod.rs.
async fn explain(db: &Db, user: &str, user_id: &str, group: &str) -> anyhow::Result<Vec<(String, String)>> {
    let cols = "app_user.user_id, app_user.user_name, app_user.attributes";
    let cases: Vec<(&str, String, Vec<String>)> = vec![
        (
            "lookup count (list_users)",
            "select count(*) from app_user where 1 = 1 and app_user.deleted_at is null and app_user.user_name_folded = $1"
                .into(),
            vec![user.into()],
        ),
        (
            "lookup page (list_users)",
            format!(
                "select {cols} from app_user where 1 = 1 and app_user.deleted_at is null and \
                 app_user.user_name_folded = $1 order by app_user.created_at asc, app_user.user_id asc limit 100 offset 0"
            ),
            vec![user.into()],
        ),
        (
            "seat check (count_active_users)",
            "select cast(active_users as bigint) from setting where setting_id = 1".into(),
            vec![],
        ),
        (
            "userName taken? (user_by_name)",
            format!("select {cols} from app_user where user_name_folded = $1"),
            vec![user.into()],
        ),
        (
            "add member (add_members)",
            "select 1 from group_member where group_id = $1 and user_id = $2".into(),
            vec![group.into(), user_id.into()],
        ),
        (
            "member count bump (bump_count)",
            "select member_count from app_group where group_id = $1".into(),
            vec![group.into()],
        ),
        ("panel user count (list_users, include_deleted)", "select count(*) from app_user where 1 = 1".into(), vec![]),
        (
            "panel search count (user_where)",
            "select count(*) from app_user where 1 = 1 and app_user.search_folded like $1 escape '\\'".into(),
            vec!["%user12345%".into()],
        ),
        (
            "panel first page (user_order, oldest first)",
            format!(
                "select {cols} from app_user where 1 = 1 \
                 order by app_user.created_at asc, app_user.user_id asc limit 50 offset 0"
            ),
            vec![],
        ),
        (
            "panel search page",
            format!(
                "select {cols} from app_user where 1 = 1 and app_user.search_folded like $1 escape '\\' \
                 order by app_user.created_at asc, app_user.user_id asc limit 50 offset 0"
            ),
            vec!["%user12345%".into()],
        ),
    ];
    let mut out = Vec::new();
    for (name, sql, binds) in cases {
        let plan = match db {
            Db::Sqlite(p) => {
                let text = format!("explain query plan {sql}");
                let mut q = sqlx::query_as::<_, (i64, i64, i64, String)>(&text);
                for b in &binds {
                    q = q.bind(b.as_str());
                }
                q.fetch_all(p).await?.into_iter().map(|r| r.3).collect::<Vec<_>>().join("; ")
            }
            Db::Postgres(p) => {
                let text = format!("explain {sql}");
                let mut q = sqlx::query_scalar::<_, String>(&text);
                for b in &binds {
                    q = q.bind(b.as_str());
                }
                q.fetch_all(p).await?.iter().map(|l| l.trim().to_owned()).collect::<Vec<_>>().join(" / ")
            }
        };
        out.push((name.to_owned(), plan));
    }
    Ok(out)
}

/// Times single statements straight on the database (no HTTP, no service), to attribute a slow request to its SQL.
async fn sql_rows(db: &Db) -> anyhow::Result<Vec<Row>> {
    #[derive(Clone, Copy)]
    enum B {
        None,
        Text(&'static str),
    }
    let cases = [
        (
            "SQL only: seat count (count_active_users, runs in every POST /Users)",
            "select cast(active_users as bigint) from setting where setting_id = 1",
            B::None,
            200,
        ),
        (
            "SQL only: panel user count (list_users count, no filter)",
            "select count(*) from app_user where 1 = 1",
            B::None,
            200,
        ),
        (
            "SQL only: panel search count (user_where, q=user12345)",
            "select count(*) from app_user where 1 = 1 and app_user.search_folded like $1 escape '\\'",
            B::Text("%user12345%"),
            50,
        ),
    ];
    let mut rows = Vec::new();
    for (name, sql, bind, n) in cases {
        let st = measure(warmup_for(n), n, |_| async move {
            let t = Instant::now();
            let _: i64 = match (db, bind) {
                (Db::Sqlite(p), B::None) => sqlx::query_scalar(sql).fetch_one(p).await?,
                (Db::Sqlite(p), B::Text(t)) => sqlx::query_scalar(sql).bind(t).fetch_one(p).await?,
                (Db::Postgres(p), B::None) => sqlx::query_scalar(sql).fetch_one(p).await?,
                (Db::Postgres(p), B::Text(t)) => sqlx::query_scalar(sql).bind(t).fetch_one(p).await?,
            };
            Ok(t.elapsed())
        })
        .await?;
        rows.push(Row { name: name.into(), n, stats: st, note: "direct on the pool, for attribution".into() });
    }
    Ok(rows)
}

fn status_field(name: &str) -> Option<String> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines().find(|l| l.starts_with(name)).map(|l| l[name.len()..].trim().to_owned())
}

fn first_line_value(path: &str, key: &str) -> Option<String> {
    let s = std::fs::read_to_string(path).ok()?;
    s.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_once(':')).map(|(_, v)| v.trim().to_owned())
}

/// Other builds on a shared machine skew every figure; the load average says how much.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// SQLite: the main file and the WAL. PostgreSQL: pg_database_size.
async fn db_size(url: &str, db: &Db) -> anyhow::Result<String> {
    match db {
        Db::Sqlite(_) => {
            let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
            let main = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            let wal = std::fs::metadata(format!("{path}-wal")).map(|m| m.len()).unwrap_or(0);
            Ok(format!("{} file + {} WAL", mib(main), mib(wal)))
        }
        Db::Postgres(p) => {
            let n: i64 = sqlx::query_scalar("select pg_database_size(current_database())").fetch_one(p).await?;
            Ok(format!("{} (pg_database_size)", mib(n.max(0) as u64)))
        }
    }
}

fn fmt_ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 { format!("{ms:.2}") } else { format!("{ms:.1}") }
}

struct Report {
    backend: Backend,
    command: String,
    date: String,
    machine: String,
    users: usize,
    members: usize,
    seed_time: Duration,
    rows: Vec<Row>,
    facts: Vec<(String, String)>,
    plans: Vec<(String, String)>,
}

impl Report {
    fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "| operation | n | median ms | p95 ms | p99 ms | max ms | req/s | note |");
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---|");
        for r in &self.rows {
            match &r.stats {
                Some(st) => {
                    let _ = writeln!(
                        s,
                        "| {} | {} | {} | {} | {} | {} | {:.0} | {} |",
                        r.name,
                        r.n,
                        fmt_ms(st.median),
                        fmt_ms(st.p95),
                        fmt_ms(st.p99),
                        fmt_ms(st.max),
                        st.per_sec,
                        r.note
                    );
                }
                None => {
                    let _ = writeln!(s, "| {} | – | – | – | – | – | – | {} |", r.name, r.note);
                }
            }
        }
        s
    }

    fn facts(&self) -> String {
        let mut s = String::new();
        for (k, v) in &self.facts {
            let _ = writeln!(s, "- {k}: {v}");
        }
        s
    }

    fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "## {} — {} users, {} in one group\n", self.backend.name(), self.users, self.members);
        let _ = writeln!(s, "- date: {}", self.date);
        let _ = writeln!(s, "- machine: {}", self.machine);
        let _ = writeln!(s, "- command: `{}`", self.command);
        let _ = writeln!(s, "- seeding (SQL, not HTTP): {:.2} s", self.seed_time.as_secs_f64());
        s.push_str(&self.facts());
        s.push('\n');
        s.push_str(&self.table());
        s.push_str("\nQuery plans (statements copied from server/src/store/mod.rs, run after seeding):\n\n");
        for (k, v) in &self.plans {
            let _ = writeln!(s, "- {k}: `{v}`");
        }
        s
    }
}

const RESULTS_HEAD: &str = "# roster-bench results\n\nWritten by `roster-bench`; one section per backend, each replaced by \
    the latest run of that backend. Single client, one request at a time, keep-alive, server in the same process. \
    See README.md for what each row measures.\n";

/// Replaces this backend's section of the results file, keeping the other backend's.
fn write_results(path: &str, report: &Report) -> anyhow::Result<()> {
    let start = format!("<!-- backend:{} -->", report.backend.name());
    let end = format!("<!-- /backend:{} -->", report.backend.name());
    let section = format!("{start}\n{}{end}\n", report.markdown());
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let new = match (old.find(&start), old.find(&end)) {
        (Some(a), Some(b)) if b > a => {
            let tail = old[b + end.len()..].trim_start_matches('\n');
            format!("{}{section}{}{tail}", &old[..a], if tail.is_empty() { "" } else { "\n" })
        }
        _ if old.trim().is_empty() => format!("{RESULTS_HEAD}\n{section}"),
        _ => format!("{}\n\n{section}", old.trim_end()),
    };
    std::fs::write(path, new).with_context(|| format!("cannot write {path}"))
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let model = first_line_value("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown CPU".into());
    let mem = first_line_value("/proc/meminfo", "MemTotal").unwrap_or_else(|| "unknown".into());
    format!("nproc = {cpus}, {model}, MemTotal {mem}")
}

fn today() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!("{} {:02}:{:02} UTC", t.date(), t.hour(), t.minute())
}

async fn run(args: Args) -> anyhow::Result<()> {
    let command =
        format!("cargo run -p bench --release --{}", args.raw.iter().map(|a| format!(" {a}")).collect::<String>());
    println!("roster-bench: {} users, {} in one group, {}", args.users, args.members, args.backend.name());

    let app = spawn_app().await;
    if app.db.is_postgres() != (args.backend == Backend::Postgres) {
        bail!("the harness chose the wrong backend; check {POSTGRES_ENV}");
    }
    let url = app.db_url.clone();
    let (base, scim, token) = (app.base.clone(), app.scim.clone(), app.token.clone());
    let services = app.services.clone();
    // A second pool on the same database, for seeding and query plans only.
    let app_db = Db::connect(&url).await?;
    let ctx = Ctx::cli("bench");
    services.settings.set_seats(&ctx, 1_000_000).await?;

    let load = loadavg();
    print!("seeding {} users and a group of {} … ", args.users, args.members);
    let t = Instant::now();
    let (ids, group) = seed(&url, args.users, args.members).await?;
    let seed_time = t.elapsed();
    println!("{:.2} s", seed_time.as_secs_f64());
    let mut facts = vec![
        ("load average at start (1/5/15 min)".to_owned(), load.clone()),
        (
            "seeded".to_owned(),
            format!("{} users ({:.0} rows/s)", args.users, args.users as f64 / seed_time.as_secs_f64()),
        ),
        ("peak RSS after seeding (VmHWM)".to_owned(), status_field("VmHWM:").unwrap_or_else(|| "unknown".into())),
        ("database size after seeding".to_owned(), db_size(&url, &app_db).await?),
    ];
    let plans = explain(&app_db, &fold(&user_name(args.users / 2)), &ids[ids.len() / 2], &group).await?;

    let client = reqwest::Client::builder().pool_max_idle_per_host(4).build()?;
    let mut rows = Vec::new();
    let mut rng = Rng(0x5eed);

    // (a) Okta's lookup before every assignment.
    let n = 2000;
    let users = args.users;
    let st = measure(warmup_for(n), n, |_| {
        let name = user_name(rng.below(users));
        let url = format!("{scim}/Users?filter={}&startIndex=1&count=100", encode(&format!("userName eq \"{name}\"")));
        let req = okta(&client, reqwest::Method::GET, &url, &token);
        async move {
            let t = Instant::now();
            let r = req.send().await?;
            let status = r.status();
            let body = r.text().await?;
            let d = t.elapsed();
            let v: Value = serde_json::from_str(&body).with_context(|| format!("lookup body: {body}"))?;
            if status != reqwest::StatusCode::OK || v["totalResults"] != json!(1) {
                bail!("lookup of {name}: {status} {body}");
            }
            Ok(d)
        }
    })
    .await?;
    rows.push(Row { name: "GET /Users?filter=userName eq (Okta lookup)".into(), n, stats: st, note: String::new() });
    println!("  lookup done");

    // (b) Okta's create.
    let n = 1000;
    let st = measure(warmup_for(n), n, |i| {
        let name = format!("okta.created.{i}@example.com");
        let body = json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName": name,
            "name":{"givenName":"Test","familyName":"User"},
            "emails":[{"primary":true,"value": name,"type":"work"}],
            "displayName":"Test User","locale":"en-US","externalId": format!("00ub{i:0>16}"),
            "groups":[],"password":"1mz050nq","active":true});
        let req = okta(&client, reqwest::Method::POST, &format!("{scim}/Users"), &token)
            .header("Content-Type", "application/scim+json; charset=utf-8")
            .body(body.to_string());
        async move {
            let t = Instant::now();
            let r = req.send().await?;
            let status = r.status();
            let body = r.text().await?;
            let d = t.elapsed();
            if status != reqwest::StatusCode::CREATED {
                bail!("create {name}: {status} {body}");
            }
            Ok(d)
        }
    })
    .await?;
    rows.push(Row { name: "POST /Users (Okta create)".into(), n, stats: st, note: String::new() });
    println!("  create done");

    // (c) add one member to the big group; (d) remove one member from it.
    let group_url = format!("{scim}/Groups/{group}");
    let non_members = &ids[args.members..];
    let n = 500.min(non_members.len().saturating_sub(warmup_for(500)));
    let note = |n: usize| if n < 500 { format!("only {n}: not enough non-members") } else { String::new() };
    let st = measure(warmup_for(500).min(non_members.len()), n, |i| {
        let id = non_members[i].clone();
        let body = json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations":[{"op":"add","path":"members","value":[{"value": id}]}]});
        patch_req(&client, &group_url, &token, body, format!("add {id}"))
    })
    .await?;
    rows.push(Row {
        name: format!("PATCH /Groups add 1 member ({}-member group)", args.members),
        n,
        stats: st,
        note: note(n),
    });
    println!("  add member done");
    let members = &ids[..args.members];
    let n = 500.min(members.len().saturating_sub(warmup_for(500)));
    let st = measure(warmup_for(500).min(members.len()), n, |i| {
        let id = members[i].clone();
        let body = json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations":[{"op":"remove","path": format!("members[value eq \"{id}\"]")}]});
        patch_req(&client, &group_url, &token, body, format!("remove {id}"))
    })
    .await?;
    rows.push(Row {
        name: format!("PATCH /Groups remove 1 member ({}-member group)", args.members),
        n,
        stats: st,
        note: if n < 500 { format!("only {n}: group too small") } else { String::new() },
    });
    println!("  remove member done");

    // (e) the panel's users page, signed in as an admin through the real form.
    let browser = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build()?;
    let (email, password) = ("bench@example.com", "bench passphrase 123");
    services.admins.create(&ctx, email, password).await?;
    let r = browser
        .post(format!("{base}/api/login"))
        .header("Accept", "text/html")
        .header("Referer", format!("{base}/login"))
        .form(&[("email", email), ("password", password)])
        .send()
        .await?;
    if !r.status().is_redirection() {
        bail!("panel sign-in answered {} instead of a redirect: {}", r.status(), r.text().await.unwrap_or_default());
    }
    let probe = browser.get(format!("{base}/users")).send().await?;
    let probe_status = probe.status();
    drop(probe.text().await);
    if probe_status.is_redirection() {
        bail!("GET /users redirected: the panel session did not stick");
    }
    if probe_status == reqwest::StatusCode::OK {
        // A small run has no user12345; then any 200 page will do.
        let search_hit = if args.users > 12345 { "user12345@example.com" } else { "</html>" };
        for (label, path, n, expect) in [
            // Oldest first is the default order, so the first page starts with user0.
            ("GET /users (panel, first page)", "/users", 200, "user0@example.com"),
            ("GET /users?q=user12345 (panel search)", "/users?q=user12345", 100, search_hit),
        ] {
            let url = format!("{base}{path}");
            let st = measure(warmup_for(n), n, |_| {
                let req = browser.get(&url);
                async move {
                    let t = Instant::now();
                    let r = req.send().await?;
                    let status = r.status();
                    let body = r.text().await?;
                    let d = t.elapsed();
                    if status != reqwest::StatusCode::OK || !body.contains(expect) {
                        bail!("panel page without {expect}: {status} {}", body.chars().take(300).collect::<String>());
                    }
                    Ok(d)
                }
            })
            .await?;
            rows.push(Row { name: label.into(), n, stats: st, note: String::new() });
        }
        println!("  panel done");
    } else {
        let note = format!("not available: GET /users answered {probe_status}");
        rows.push(Row { name: "GET /users (panel, first page)".into(), n: 0, stats: None, note: note.clone() });
        rows.push(Row { name: "GET /users?q=user12345 (panel search)".into(), n: 0, stats: None, note });
        println!("  panel users page not available ({probe_status})");
    }

    rows.extend(sql_rows(&app_db).await?);

    facts.push(("peak RSS at end (VmHWM)".into(), status_field("VmHWM:").unwrap_or_else(|| "unknown".into())));
    facts.push(("database size at end".into(), db_size(&url, &app_db).await?));
    facts.push(("load average at end (1/5/15 min)".into(), loadavg()));
    facts.push(("RSS at end (VmRSS)".into(), status_field("VmRSS:").unwrap_or_else(|| "unknown".into())));

    let report = Report {
        backend: args.backend,
        command,
        date: today(),
        machine: machine(),
        users: args.users,
        members: args.members,
        seed_time,
        rows,
        facts,
        plans,
    };
    println!();
    println!("{}", report.markdown());
    let out = args.out.clone().unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/RESULTS.md").to_owned());
    if out != "-" {
        write_results(&out, &report)?;
        println!("written to {out}");
    }

    if let Db::Postgres(p) = &app_db {
        p.close().await;
    }
    if app.db.is_postgres() {
        drop(app);
        drop_postgres(&url).await?;
    }
    Ok(())
}

fn okta(client: &reqwest::Client, method: reqwest::Method, url: &str, token: &str) -> reqwest::RequestBuilder {
    client
        .request(method, url)
        .bearer_auth(token)
        .header("Accept", "application/scim+json")
        .header("Accept-Charset", "utf-8")
        .header("User-Agent", "Okta SCIM Client 1.0.0")
}

fn patch_req(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: Value,
    what: String,
) -> impl Future<Output = anyhow::Result<Duration>> + use<> {
    let req = okta(client, reqwest::Method::PATCH, url, token)
        .header("Content-Type", "application/scim+json; charset=utf-8")
        .body(body.to_string());
    async move {
        let t = Instant::now();
        let r = req.send().await?;
        let status = r.status();
        let body = r.text().await?;
        let d = t.elapsed();
        if !status.is_success() {
            bail!("PATCH {what}: {status} {body}");
        }
        Ok(d)
    }
}

/// The bench's PostgreSQL database is large; drop it rather than leave it for `.ci/run` to find.
async fn drop_postgres(url: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    let Some((_, name)) = url.rsplit_once('/') else { return Ok(()) };
    if !name.starts_with("roster_test_") {
        return Ok(());
    }
    let admin = std::env::var(POSTGRES_ENV).unwrap_or_else(|_| POSTGRES_URL.to_owned());
    let mut conn = sqlx::PgConnection::connect(&admin).await?;
    sqlx::query(&format!("drop database if exists {name} with (force)")).execute(&mut conn).await?;
    Ok(())
}
