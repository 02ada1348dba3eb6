//! `roster-bench`: starts the real `roster` binary on a fresh database, imports N users over SCIM with 8 parallel
//! clients, then puts each phase under concurrent load with `wrk` and prints one table: requests per second, p50, p99
//! and errors per phase, each as a fraction of `GET /healthz` measured in the same run (the ceiling of any handler on
//! this machine). Single large requests (a 5,000-member POST, a 50,000-member PUT) and the panel's pages are timed
//! one at a time. It only measures and reports; nothing in it fails because something is slow. See bench/README.md.
mod wrk;

use anyhow::{Context, anyhow, bail};
use roster::model::{UserQuery, fold};
use roster::service::{Ctx, Services};
use serde_json::{Value, json};
use server::store::Db;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use testkit::{POSTGRES_ENV, TestDb};
use wrk::{Load, Shape};

const POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const USAGE: &str = "usage: roster-bench [--backend sqlite|postgres] [--users 100000] [--seconds 10] \
    [--connections 32] [--smoke] [--keep] [--out bench/RESULTS.md | --out -]";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
struct Args {
    backend: Backend,
    users: usize,
    seconds: u64,
    connections: usize,
    smoke: bool,
    /// Leave the database in place at the end, and print its URL.
    keep: bool,
    out: Option<String>,
    raw: Vec<String>,
}

fn parse_args() -> anyhow::Result<Args> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let mut a = Args {
        backend: Backend::Sqlite,
        users: 100_000,
        seconds: 10,
        connections: 32,
        smoke: false,
        keep: false,
        out: None,
        raw: raw.clone(),
    };
    let mut it = raw.into_iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| anyhow!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--backend" => {
                a.backend = match value()?.as_str() {
                    "sqlite" => Backend::Sqlite,
                    "postgres" | "postgresql" => Backend::Postgres,
                    other => bail!("unknown backend '{other}'\n{USAGE}"),
                }
            }
            "--users" => a.users = value()?.parse().context("--users must be a whole number")?,
            "--seconds" => a.seconds = value()?.parse().context("--seconds must be a whole number")?,
            "--connections" => a.connections = value()?.parse().context("--connections must be a whole number")?,
            "--smoke" => {
                // A check that the bench still works, for CI: tiny numbers, results printed only.
                (a.smoke, a.users, a.seconds, a.connections) = (true, 600, 1, 8);
                a.out = Some("-".into());
            }
            "--out" => a.out = Some(value()?),
            "--keep" => a.keep = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument '{other}'\n{USAGE}"),
        }
    }
    if a.users < 600 {
        bail!("--users must be at least 600");
    }
    Ok(a)
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    match args.backend {
        // SAFETY: no other thread exists yet; the runtime is built below.
        Backend::Postgres if std::env::var(POSTGRES_ENV).map(|v| v.is_empty()).unwrap_or(true) => unsafe {
            std::env::set_var(POSTGRES_ENV, POSTGRES_URL)
        },
        // SAFETY: as above. An inherited variable would silently switch the backend.
        Backend::Sqlite => unsafe { std::env::remove_var(POSTGRES_ENV) },
        Backend::Postgres => {}
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(run(args))
}

/// One row of the table.
struct Row {
    phase: String,
    load: Option<Load>,
    /// For phases timed one request at a time: the median and the note.
    single: Option<(Duration, String)>,
}

/// The roster binary this bench was built with (same profile), started on `url`.
struct Roster {
    child: Child,
    base: String,
}

impl Roster {
    /// Starts `ROSTER_BENCH_BINARY` if set (to measure another build, say an earlier commit's), else builds and starts
    /// the roster binary of this checkout, in the bench's own profile.
    async fn start(url: &str) -> anyhow::Result<Roster> {
        let binary = match std::env::var_os("ROSTER_BENCH_BINARY") {
            Some(path) => std::path::PathBuf::from(path),
            None => {
                let exe = std::env::current_exe()?;
                let dir = exe.parent().ok_or_else(|| anyhow!("no directory for {}", exe.display()))?;
                let mut build = Command::new(env!("CARGO"));
                build.args(["build", "-p", "server", "--bin", "roster"]);
                if dir.ends_with("release") {
                    build.arg("--release");
                }
                if !build.status()?.success() {
                    bail!("could not build the roster binary");
                }
                dir.join("roster")
            }
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(&binary)
            .args(["serve", "--database-url", url, "--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            // The webhook receiver is on this machine, which roster's network policy refuses unless allowed.
            .env("ROSTER_WEBHOOK_ALLOW_NETWORKS", "127.0.0.0/8")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("could not start roster")?;
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..400 {
            if reqwest::get(format!("{base}/healthz")).await.is_ok_and(|r| r.status().is_success()) {
                return Ok(Roster { child, base });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("roster did not start")
    }

    /// Resident memory, and how much of it is the process's own heap and stacks (`RssAnon`); the rest is mapped files
    /// (the binary, SQLite's `-shm` index), which the kernel shares and reclaims.
    fn rss(&self) -> String {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())) else {
            return String::new();
        };
        let mib = |field: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches(" kB").parse::<u64>().ok())
                .map(|k| k / 1024)
        };
        match (mib("VmRSS:"), mib("RssAnon:")) {
            (Some(rss), Some(anon)) => format!("{rss} MiB, of which {anon} MiB anonymous (the rest is file pages)"),
            (Some(rss), None) => format!("{rss} MiB"),
            _ => String::new(),
        }
    }
}

impl Drop for Roster {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn user_name(i: usize) -> String {
    format!("user{i}@example.com")
}

fn okta_user(name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
        "name": {"givenName": "Bench", "familyName": "User"},
        "emails": [{"primary": true, "value": name, "type": "work"}], "displayName": "Bench User", "active": true})
}

fn members(ids: &[String]) -> Value {
    Value::Array(ids.iter().map(|id| json!({"value": id})).collect())
}

struct Client {
    http: reqwest::Client,
    scim: String,
    token: String,
}

impl Client {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> anyhow::Result<(u16, Value)> {
        let mut req = self.http.request(method, format!("{}{path}", self.scim)).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.header("Content-Type", "application/scim+json").body(b.to_string());
        }
        let r = req.send().await?;
        let status = r.status().as_u16();
        let text = r.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }
}

/// Imports `users` over SCIM with `clients` parallel clients, as an IdP's first sync does. Returns the ids in order.
async fn import(c: &Client, users: usize, clients: usize) -> anyhow::Result<Vec<String>> {
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (next, http, scim, token) = (next.clone(), c.http.clone(), c.scim.clone(), c.token.clone());
        tasks.push(tokio::spawn(async move {
            let c = Client { http, scim, token };
            let mut got = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= users {
                    return Ok::<_, anyhow::Error>(got);
                }
                let (status, body) = c.send(reqwest::Method::POST, "/Users", Some(&okta_user(&user_name(i)))).await?;
                if status != 201 {
                    bail!("import of user {i}: {status} {body}");
                }
                got.push((i, body["id"].as_str().unwrap_or_default().to_owned()));
            }
        }));
    }
    let mut ids = vec![String::new(); users];
    for t in tasks {
        for (i, id) in t.await?? {
            ids[i] = id;
        }
    }
    Ok(ids)
}

/// Times `op` `n` times, one at a time, and returns the median.
async fn median<F, Fut>(n: usize, mut op: F) -> anyhow::Result<Duration>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut times = Vec::new();
    for i in 0..n {
        let t = Instant::now();
        op(i).await?;
        times.push(t.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2])
}

async fn run(args: Args) -> anyhow::Result<()> {
    let command =
        format!("cargo run -p bench --release --{}", args.raw.iter().map(|a| format!(" {a}")).collect::<String>());
    let backend = if args.backend == Backend::Sqlite { "sqlite" } else { "postgres" };
    println!(
        "roster-bench: {} users, {backend}, {} connections, {} s per phase",
        args.users, args.connections, args.seconds
    );
    let db = TestDb::fresh().await?;
    // The binary under test migrates its own database (it may be an earlier build with fewer migrations).
    let roster = Roster::start(&db.url).await?;
    let pool = Db::connect(&db.url).await?;
    let mut services = Services::new(pool.store());
    services.webhooks = services.webhooks.with_policy(false, roster::service::NetworkPolicy::parse("127.0.0.0/8")?);
    let ctx = Ctx::cli("bench");
    let (_, token) = services.tokens.create(&ctx, roster::model::TokenKind::Scim, "Okta").await?;
    services.settings.set_seats(&ctx, 10_000_000).await?;
    services.settings.set_scim_enabled(&ctx, true).await?;
    services
        .admins
        .create(&ctx, "bench@example.com", "correct horse battery", roster::model::Role::Owner, false)
        .await?;
    let base = roster.base.clone();
    let http = reqwest::Client::builder().pool_max_idle_per_host(16).build()?;
    let c = Client { http: http.clone(), scim: format!("{base}/scim/v2"), token: token.clone() };
    let shape = Shape { threads: 2, connections: args.connections, duration: Duration::from_secs(args.seconds) };
    let mut rows: Vec<Row> = Vec::new();
    let mut facts: Vec<(String, String)> =
        vec![("machine".into(), machine()), ("command".into(), format!("`{command}`"))];

    // The ceiling: roster's own stack, no authentication, no database.
    let ceiling = wrk::run(&format!("{base}/healthz"), "", shape)?;
    println!("  ceiling: {:.0} req/s", ceiling.per_sec);
    rows.push(Row { phase: "`GET /healthz` (the ceiling)".into(), load: Some(ceiling.clone()), single: None });

    // The first sync: every user over SCIM, 8 clients at once.
    let t = Instant::now();
    let ids = import(&c, args.users, 8).await?;
    let took = t.elapsed();
    println!("  import: {} users in {:.1} s", args.users, took.as_secs_f64());
    let note = format!(
        "{} users in {:.1} s, {:.0} users/s",
        args.users,
        took.as_secs_f64(),
        args.users as f64 / took.as_secs_f64()
    );
    rows.push(Row {
        phase: format!("import {} users over SCIM, 8 clients", args.users),
        load: None,
        single: Some((took, note)),
    });

    // A large group, as a Push of everyone in it: half the users, up to 100,000 members (about 5 MB of JSON; roster
    // takes request bodies up to 8 MiB, and an IdP pushes a larger group as PATCHes of members).
    let half = (args.users / 2).min(100_000);
    let t = Instant::now();
    let (status, big) = c
        .send(
            reqwest::Method::POST,
            "/Groups",
            Some(&json!({"displayName": "Everyone", "members": members(&ids[..half])})),
        )
        .await?;
    if status != 201 {
        bail!("the large group: {status} {big}");
    }
    let big_id = big["id"].as_str().unwrap_or_default().to_owned();
    facts.push((format!("POST /Groups with {half} members"), format!("{:.0} ms", t.elapsed().as_secs_f64() * 1e3)));
    let small = ids[half..half + 10].to_vec();
    let (_, small_group) = c
        .send(reqwest::Method::POST, "/Groups", Some(&json!({"displayName": "Small", "members": members(&small)})))
        .await?;
    let small_id = small_group["id"].as_str().unwrap_or_default().to_owned();

    tokio::time::sleep(Duration::from_secs(2)).await;
    facts.push(("RSS at rest after the import".into(), roster.rss()));

    let ids_file = std::env::temp_dir().join(format!("roster-bench-ids-{}.txt", std::process::id()));
    std::fs::write(&ids_file, ids.join("\n"))?;
    let prelude = wrk::prelude(&token, &ids_file.display().to_string(), args.users);
    let phases: Vec<(String, String)> = vec![
        ("`GET /ServiceProviderConfig` (authentication, static JSON)".into(), r#"
request = function() return wrk.format("GET", "/scim/v2/ServiceProviderConfig") end"#.into()),
        ("lookup `filter=userName eq`".into(), r#"
request = function()
  local name = user_name(math.random(0, users - 1)):gsub("@", "%%40")
  return wrk.format("GET", "/scim/v2/Users?filter=userName%20eq%20%22" .. name .. "%22")
end"#.into()),
        ("list `count=100`, any page".into(), r#"
request = function()
  return wrk.format("GET", "/scim/v2/Users?startIndex=" .. math.random(1, users - 100) .. "&count=100")
end"#.into()),
        ("create user `POST /Users`".into(), r#"
request = function()
  n = n + 1
  return wrk.format("POST", "/scim/v2/Users", nil, okta_user("new-" .. tid .. "-" .. n .. "@example.com", "t"))
end"#.into()),
        ("replace user `PUT /Users/{id}`".into(), r#"
request = function()
  n = n + 1
  local i = (tid * 50000 + n) % #ids + 1
  return wrk.format("PUT", "/scim/v2/Users/" .. ids[i], nil, okta_user(user_name(i - 1), "title " .. n))
end"#.into()),
        ("PATCH add 1 member, 10-member group".into(), format!(r#"
request = function()
  n = n + 1
  local i = (tid * 20000 + n) % #ids + 1
  return wrk.format("PATCH", "/scim/v2/Groups/{small_id}", nil,
    '{{"Operations":[{{"op":"add","path":"members","value":[{{"value":"' .. ids[i] .. '"}}]}}]}}')
end"#)),
        (format!("PATCH add 1 member, {half}-member group"), format!(r#"
request = function()
  n = n + 1
  local i = {half} + (tid * 20000 + n) % ({users} - {half}) + 1
  return wrk.format("PATCH", "/scim/v2/Groups/{big_id}", nil,
    '{{"Operations":[{{"op":"add","path":"members","value":[{{"value":"' .. ids[i] .. '"}}]}}]}}')
end"#, users = args.users)),
        (format!("PATCH remove 1 member, {half}-member group"), format!(r#"
request = function()
  n = n + 1
  local i = (tid * 20000 + n) % {half} + 1
  return wrk.format("PATCH", "/scim/v2/Groups/{big_id}", nil,
    '{{"Operations":[{{"op":"remove","path":"members[value eq \\\"' .. ids[i] .. '\\\"]"}}]}}')
end"#)),
        ("PATCH deactivate `active: false`".into(), r#"
request = function()
  n = n + 1
  local i = (tid * 50000 + n) % #ids + 1
  return wrk.format("PATCH", "/scim/v2/Users/" .. ids[i], nil, '{"Operations":[{"op":"replace","value":{"active":false}}]}')
end"#.into()),
    ];
    // The directory API, with its own token: one user by userName, and keyset pages from anywhere in the directory.
    let (_, api_token) = services.tokens.create(&ctx, roster::model::TokenKind::Api, "bench").await?;
    let api_prelude = wrk::prelude(&api_token, &ids_file.display().to_string(), args.users);
    let phases: Vec<(String, String, String)> = phases
        .into_iter()
        .map(|(phase, script)| (phase, prelude.clone(), script))
        .chain([
            (
                "directory API `GET /v1/users/{userName}`".into(),
                api_prelude.clone(),
                r#"
request = function() return wrk.format("GET", "/v1/users/" .. user_name(math.random(0, users - 1))) end"#
                    .into(),
            ),
            (
                "directory API page `GET /v1/users?limit=100&cursor=…`, any page".into(),
                api_prelude.clone(),
                r#"
request = function() return wrk.format("GET", "/v1/users?limit=100&cursor=" .. ids[math.random(1, #ids)]) end"#
                    .into(),
            ),
        ])
        .collect();
    for (phase, prelude, script) in phases {
        let load = wrk::run(&base, &format!("{prelude}\n{script}"), shape)?;
        println!(
            "  {phase}: {:.0} req/s, p99 {:.1} ms, {} errors",
            load.per_sec,
            load.p99.as_secs_f64() * 1e3,
            load.errors
        );
        rows.push(Row { phase, load: Some(load), single: None });
    }

    // Single large requests, one at a time.
    let push = (half + 10..half + 10 + 5000.min(args.users - half - 10)).map(|i| ids[i].clone()).collect::<Vec<_>>();
    let n = push.len();
    let d = median(5, |k| {
        let body = json!({"displayName": format!("Push {k}"), "members": members(&push)});
        let c = &c;
        async move {
            let (status, b) = c.send(reqwest::Method::POST, "/Groups", Some(&body)).await?;
            if status == 201 { Ok(()) } else { Err(anyhow!("{status} {b}")) }
        }
    })
    .await?;
    rows.push(Row {
        phase: format!("`POST /Groups` with {n} members"),
        load: None,
        single: Some((d, "median of 5".into())),
    });
    let d = median(3, |k| {
        // Each Push now moves half the membership: half/2 members out, half/2 in.
        let from = if k % 2 == 0 { half / 2 } else { 0 };
        let body = json!({"displayName": "Everyone", "members": members(&ids[from..from + half])});
        let (c, path) = (&c, format!("/Groups/{big_id}"));
        async move {
            let (status, b) = c.send(reqwest::Method::PUT, &path, Some(&body)).await?;
            if status == 200 { Ok(()) } else { Err(anyhow!("{status} {b}")) }
        }
    })
    .await?;
    rows.push(Row {
        phase: format!("`PUT /Groups/{{id}}` with {half} members (Push now)"),
        load: None,
        single: Some((d, format!("median of 3; each moves {} members", half / 2))),
    });

    // The panel, signed in.
    let browser = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build()?;
    browser
        .post(format!("{base}/api/login"))
        .header("Origin", &base)
        .form(&[("email", "bench@example.com"), ("password", "correct horse battery")])
        .send()
        .await?;
    for (phase, path) in [
        ("panel `GET /users`, first page", "/users".to_owned()),
        ("panel search `GET /users?q=`", format!("/users?q=user{}", args.users / 3)),
    ] {
        let d = median(20, |_| {
            let (b, url) = (&browser, format!("{base}{path}"));
            async move {
                let r = b.get(url).send().await?;
                if r.status() == 200 {
                    r.bytes().await.map(|_| ()).map_err(Into::into)
                } else {
                    Err(anyhow!("{}", r.status()))
                }
            }
        })
        .await?;
        rows.push(Row {
            phase: phase.into(),
            load: None,
            single: Some((d, "median of 20, server-side render".into())),
        });
    }
    // Heavy feed consumers: SCIM writes under load with no long poll waiting, then with a thousand (20 API tokens,
    // 50 each, every one following the feed from its head, so every commit wakes them all).
    let patch_names = r#"
request = function()
  n = n + 1
  local i = (tid * 50000 + n) % #ids + 1
  return wrk.format("PATCH", "/scim/v2/Users/" .. ids[i], nil, '{"Operations":[{"op":"replace","value":{"displayName":"fed ' .. n .. '"}}]}')
end"#;
    let waiters: usize = if args.smoke { 100 } else { 1_000 };
    // Their tokens first: a new token reaches roster's authentication within a second.
    let mut feed_tokens = Vec::new();
    for t in 0..waiters.div_ceil(50) {
        feed_tokens.push(services.tokens.create(&ctx, roster::model::TokenKind::Api, &format!("feed {t}")).await?.1);
    }
    let quiet = wrk::run(&base, &format!("{prelude}\n{patch_names}"), shape)?;
    let (stop, answered, failed) =
        (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut tasks = Vec::new();
    for (t, token) in feed_tokens.iter().enumerate() {
        for _ in 0..50.min(waiters - t * 50) {
            let (http, base, token, stop, answered, failed) =
                (reqwest::Client::new(), base.clone(), token.clone(), stop.clone(), answered.clone(), failed.clone());
            tasks.push(tokio::spawn(async move {
                let mut after = "now".to_owned();
                while !stop.load(Ordering::Relaxed) {
                    let url = format!("{base}/v1/events?after={after}&wait=30&limit=100");
                    let Ok(r) = http.get(url).bearer_auth(&token).send().await else { continue };
                    // Only the cursor is needed: found without parsing the page, so that the consumers, which share
                    // the machine with roster, cost it as little processor as they can.
                    if r.status() != 200 {
                        let (status, body) = (r.status(), r.text().await.unwrap_or_default());
                        if failed.fetch_add(1, Ordering::Relaxed) < 3 {
                            eprintln!("  a feed consumer got {status}: {body}");
                        }
                        // As a well-behaved consumer does (a new token reaches roster's index within a second).
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                    if let Ok(page) = r.text().await
                        && let Some((_, tail)) = page.rsplit_once("\"next\":\"")
                        && let Some(next) = tail.split('"').next()
                    {
                        after = next.to_owned();
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let busy = wrk::run(&base, &format!("{prelude}\n{patch_names}"), shape)?;
    let pages = answered.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    // Each waiter ends at its next answer: one more write wakes them all.
    c.send(
        reqwest::Method::PATCH,
        &format!("/Users/{}", ids[0]),
        Some(&json!({"Operations": [{"op": "replace", "value": {"displayName": "end"}}]})),
    )
    .await?;
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(35), t).await;
    }
    println!(
        "  PATCH, no feed waiters: {:.0} req/s, p99 {:.1} ms; with {waiters}: {:.0} req/s, p99 {:.1} ms",
        quiet.per_sec,
        quiet.p99.as_secs_f64() * 1e3,
        busy.per_sec,
        busy.p99.as_secs_f64() * 1e3
    );
    facts.push((
        format!("feed: SCIM PATCH p99 with {waiters} long polls waiting, against none"),
        format!(
            "{:.2}× ({} ms against {} ms); the waiters were answered {pages} pages meanwhile, and refused {}",
            busy.p99.as_secs_f64() / quiet.p99.as_secs_f64().max(1e-6),
            ms(busy.p99),
            ms(quiet.p99),
            failed.load(Ordering::Relaxed)
        ),
    ));
    rows.push(Row { phase: "PATCH `displayName`, no feed requests waiting".into(), load: Some(quiet), single: None });
    rows.push(Row {
        phase: format!("PATCH `displayName`, {waiters} feed requests waiting (20 API tokens)"),
        load: Some(busy),
        single: None,
    });

    // Webhooks: how soon a receiver hears of a SCIM write, one write at a time and under write load.
    let receiver = testkit::Receiver::start().await;
    services.webhooks.add(&ctx, &receiver.url, "user.*").await?;
    let mut latencies = Vec::new();
    let sample = if args.smoke { 20 } else { 200 };
    for (k, id) in ids.iter().enumerate().take(sample) {
        let before = receiver.received().len();
        // A change every time (a deactivation might find the user inactive already and change nothing).
        let body = json!({"Operations": [{"op": "replace", "value": {"displayName": format!("latency {k}")}}]});
        let t = Instant::now();
        let (status, b) = c.send(reqwest::Method::PATCH, &format!("/Users/{id}"), Some(&body)).await?;
        if status != 200 {
            bail!("webhook latency write: {status} {b}");
        }
        let got = receiver.wait_for(before + 1, Duration::from_secs(10)).await;
        let Some(d) = got.get(before) else { bail!("no delivery within 10 s") };
        latencies.push(d.at.saturating_duration_since(t));
    }
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    facts.push((
        format!("webhook: SCIM write sent → receiver has the event, {sample} writes one at a time"),
        format!("p50 {} ms, p99 {} ms, max {} ms", ms(pick(0.5)), ms(pick(0.99)), ms(pick(1.0))),
    ));
    let before = receiver.received().len();
    let script = r#"
request = function()
  n = n + 1
  local i = (tid * 50000 + n) % #ids + 1
  return wrk.format("PATCH", "/scim/v2/Users/" .. ids[i], nil, '{"Operations":[{"op":"replace","value":{"displayName":"hooked ' .. n .. '"}}]}')
end"#;
    let load = wrk::run(&base, &format!("{prelude}\n{script}"), shape)?;
    let ended = Instant::now();
    let want = before + (load.requests - load.errors) as usize;
    let got = receiver.wait_for(want, Duration::from_secs(120)).await.len();
    facts.push((
        "webhook: events the receiver had after that load".into(),
        format!(
            "{} events for {} acknowledged writes (requests wrk cut off may still commit), all in by {} ms after the load ended",
            got - before,
            want - before,
            ms(ended.elapsed())
        ),
    ));
    println!(
        "  PATCH with a webhook receiving every event: {:.0} req/s, p99 {:.1} ms",
        load.per_sec,
        load.p99.as_secs_f64() * 1e3
    );
    rows.push(Row {
        phase: "PATCH `displayName`, a webhook receiving every event".into(),
        load: Some(load),
        single: None,
    });
    drop(receiver);
    facts.push(("RSS at the end".into(), roster.rss()));
    facts.push(("database".into(), db_size(&db.url, &pool).await.unwrap_or_default()));
    let plans = plans(&pool, args.users).await.unwrap_or_default();
    let _ = std::fs::remove_file(&ids_file);
    drop(roster);

    let report = report(backend, &args, &rows, &facts, &plans, ceiling.per_sec);
    println!("\n{report}");
    let out = args.out.clone().unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/RESULTS.md").to_owned());
    if out != "-" {
        write_section(&out, backend, &report)?;
        println!("written to {out}");
    }
    if let Db::Postgres(p) = &pool {
        p.read.close().await;
        p.write.close().await;
    }
    drop(services);
    if args.keep {
        println!("kept the database: {}", db.keep());
    } else if db.is_postgres() {
        drop_postgres(&db.url).await?;
    }
    Ok(())
}

fn ms(d: Duration) -> String {
    let v = d.as_secs_f64() * 1e3;
    if v < 10.0 { format!("{v:.2}") } else { format!("{v:.0}") }
}

fn report(
    backend: &str,
    args: &Args,
    rows: &[Row],
    facts: &[(String, String)],
    plans: &[(String, String)],
    ceiling: f64,
) -> String {
    let mut s = format!(
        "## {backend}: {} users, {} connections, {} s per phase\n\n",
        args.users, args.connections, args.seconds
    );
    for (k, v) in facts {
        s.push_str(&format!("- {k}: {v}\n"));
    }
    s.push_str("\n| phase | req/s | p50 ms | p99 ms | errors | of ceiling |\n|---|---:|---:|---:|---:|---:|\n");
    for r in rows {
        match (&r.load, &r.single) {
            (Some(l), _) => s.push_str(&format!(
                "| {} | {:.0} | {} | {} | {} | {:.0}% |\n",
                r.phase,
                l.per_sec,
                ms(l.p50),
                ms(l.p99),
                l.errors,
                100.0 * l.per_sec / ceiling
            )),
            (None, Some((d, note))) => s.push_str(&format!("| {} | | {} | | | {note} |\n", r.phase, ms(*d))),
            (None, None) => {}
        }
    }
    if !plans.is_empty() {
        s.push_str("\nQuery plans, from the store's own query builders, after the run:\n\n");
        for (q, p) in plans {
            s.push_str(&format!("- {q}:\n  ```\n  {}\n  ```\n", p.replace('\n', "\n  ")));
        }
    }
    s
}

/// Replaces the backend's section of RESULTS.md (between `<!-- bench:NAME -->` markers), keeping everything else.
fn write_section(path: &str, backend: &str, section: &str) -> anyhow::Result<()> {
    let (start, end) = (format!("<!-- bench:{backend} -->"), format!("<!-- /bench:{backend} -->"));
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let block = format!("{start}\n{section}\n{end}");
    let new = match (old.find(&start), old.find(&end)) {
        (Some(a), Some(b)) => format!("{}{block}{}", &old[..a], &old[b + end.len()..]),
        _ => format!("{old}\n{block}\n"),
    };
    std::fs::write(path, new)?;
    Ok(())
}

/// The plans of the statements behind the lookup, a deep list page and the panel search, built by the store itself.
async fn plans(db: &Db, users: usize) -> anyhow::Result<Vec<(String, String)>> {
    use server::store::query::user_where;
    let filter = roster::scim::filter::parse(&format!("userName eq \"{}\"", user_name(users / 2)))?;
    let cases = [
        ("lookup by userName", UserQuery { filter: Some(filter), start_index: 1, count: 100, ..Default::default() }),
        (
            "panel search",
            UserQuery {
                search: Some(fold(&format!("user{}", users / 3))),
                include_deleted: true,
                start_index: 1,
                count: 50,
                ..Default::default()
            },
        ),
    ];
    let mut tx = db.begin_read().await?;
    let mut out = Vec::new();
    for (what, q) in cases {
        let w = user_where(&q, tx.dialect())?;
        out.push((
            what.to_owned(),
            tx.explain(&format!("select app_user.user_id from app_user{}", w.text), &w.args).await?,
        ));
    }
    Ok(out)
}

async fn db_size(url: &str, db: &Db) -> anyhow::Result<String> {
    Ok(match db {
        Db::Sqlite(_) => {
            let path = url.trim_start_matches("sqlite://");
            let size = |p: &str| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0) as f64 / 1048576.0;
            format!("{:.0} MiB file, {:.0} MiB WAL", size(path), size(&format!("{path}-wal")))
        }
        Db::Postgres(p) => {
            let bytes: i64 =
                sqlx::query_scalar("select pg_database_size(current_database())").fetch_one(&p.read).await?;
            format!("{:.0} MiB", bytes as f64 / 1048576.0)
        }
    })
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    let date = time::OffsetDateTime::now_utc().date();
    format!("{cores} cores, load average {load} at start, {date}")
}

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
