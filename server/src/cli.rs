//! The subcommands. Each opens the database (migrating it first, as the server does) and calls the same services
//! the panel uses, so a rule enforced in the panel is enforced here too.
use crate::config::{
    AdminCommand, ApiCommand, Cli, Command, Config, LogCommand, ScimCommand, SeatsCommand, SecretKeyCommand,
    SsoCommand, TokenCommand, WebhookCommand,
};
use crate::startup::Application;
use crate::store::Db;
use anyhow::Context;
use roster::model::human_time;
use roster::model::{ApiScope, LogQuery, TokenKind};
use roster::service::{Ctx, Services};
use std::io::{BufRead, Write};

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let db = Db::connect(&config.database_url).await?;
            db.migrate().await?;
            println!("Database is up to date.");
            Ok(())
        }
        Command::Admin(AdminCommand::Create { email, role, break_glass }) => {
            let services = services(&config).await?;
            let password = read_password()?;
            let admin = services.admins.create(&Ctx::cli("admin create"), &email, &password, role, break_glass).await?;
            let glass = if admin.break_glass { ", with a break-glass password" } else { "" };
            println!(
                "Admin {} created as {}{glass}. Sign in at {}/login",
                admin.email,
                admin.role,
                config.public_url(config.listen)
            );
            Ok(())
        }
        Command::Admin(AdminCommand::SetRole { email, role }) => {
            let admin = services(&config).await?.admins.set_role(&Ctx::cli("admin set-role"), &email, role).await?;
            println!("{} is now {}; it applies from their next request.", admin.email, admin.role);
            Ok(())
        }
        Command::Admin(AdminCommand::Remove { email }) => {
            let admin = services(&config).await?.admins.remove(&Ctx::cli("admin remove"), &email).await?;
            println!("Admin {} removed; their sessions have ended.", admin.email);
            Ok(())
        }
        Command::Admin(AdminCommand::List) => {
            let admins = services(&config).await?.admins.list().await?;
            println!("{:<40} {:<9} {:<22} {:<24} SINCE", "EMAIL", "ROLE", "SIGN-IN", "LAST SIGN-IN");
            for a in admins {
                let method = a.sign_in_method();
                let last = a.last_sign_in_at.map(human_time).unwrap_or_else(|| "never".into());
                println!("{:<40} {:<9} {method:<22} {last:<24} {}", a.email, a.role, human_time(a.created_at));
            }
            Ok(())
        }
        Command::Scim(cmd) => scim(&config, cmd).await,
        Command::Seats(SeatsCommand::Set { seats }) => {
            let s = services(&config).await?.settings.set_seats(&Ctx::cli("seats set"), seats).await?;
            println!("Seats: {} of {} in use, {} free", s.used, s.limit, s.free());
            Ok(())
        }
        Command::Backup { path } => backup(&config, &path).await,
        Command::SecretKey(SecretKeyCommand::Generate) => {
            println!("{}", roster::service::SecretKeys::generate()?);
            Ok(())
        }
        Command::Sso(cmd) => sso(&config, cmd).await,
        Command::Log(cmd) => log(&config, cmd).await,
        Command::Api(ApiCommand::Token(cmd)) => api_token(&config, cmd).await,
        Command::Webhook(cmd) => webhook(&config, cmd).await,
        Command::Seats(SeatsCommand::Show) => {
            let s = services(&config).await?.settings.seats().await?;
            println!("Seats: {} of {} in use, {} free", s.used, s.limit, s.free());
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = Application::build(&config).await?;
    let base = app.public_url().to_owned();
    tracing::info!("roster listening on {} (SCIM base URL {base}/scim/v2)", app.local_addr());
    let mut banner = format!("roster is running at {base}\n");
    if let Some(token) = app.setup_token() {
        banner.push_str(&format!(
            "\nNo admin exists yet. Open this one-time link to create the first admin:\n  {base}/setup?token={token}\n\
             (or run: roster admin create --email you@example.com)\n\n"
        ));
    }
    // With `--audit-log stdout`, standard output carries audit records only.
    match config.audit_log.as_deref().map(str::trim) {
        Some("stdout" | "-") => eprint!("{banner}"),
        _ => print!("{banner}"),
    }
    app.run_until_stopped().await.context("server stopped")
}

async fn backup(config: &Config, path: &std::path::Path) -> anyhow::Result<()> {
    let db = Db::connect_existing(&config.database_url).await?;
    if let Db::Sqlite(p) = &db {
        sqlx::query("select 1 from app_user limit 1")
            .execute(&p.read)
            .await
            .map_err(|_| anyhow::anyhow!("{} is not a roster database", config.database_url))?;
    }
    let started = std::time::Instant::now();
    db.backup(path).await?;
    // Check the copy as a restore would use it, without changing it.
    let p = &Db::open_sqlite_read_only(path).await?;
    let check: String = sqlx::query_scalar("pragma quick_check").fetch_one(p).await?;
    let (users, groups): (i64, i64) =
        sqlx::query_as("select (select count(*) from app_user), (select count(*) from app_group)").fetch_one(p).await?;
    p.close().await;
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) as f64 / 1_048_576.0;
    if check != "ok" {
        anyhow::bail!("the backup at {} failed its integrity check: {check}", path.display());
    }
    println!(
        "Backup written to {} in {:.1} s: {users} users, {groups} groups, {size:.1} MiB; integrity check ok.",
        path.display(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "To restore: stop roster, put this file in place of the database (remove its -wal and -shm files), start."
    );
    Ok(())
}

async fn services(config: &Config) -> anyhow::Result<Services> {
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    let mut services = Services::new(db.store_with_audit(config.audit_stream(true)?));
    // Entries from before the log's hash chain (an upgrade) get their hashes, a batch at a time, before this command
    // writes one.
    services.audit.seal_backlog().await?;
    let keys = config.secret_keys()?;
    services.sso = services.sso.clone().with_keys(keys.clone());
    services.webhooks =
        services.webhooks.with_policy(config.webhook_allow_http, config.network_policy()?).with_keys(keys);
    Ok(services)
}

async fn sso(config: &Config, cmd: SsoCommand) -> anyhow::Result<()> {
    let services = services(config).await?;
    let sso = &services.sso;
    match cmd {
        SsoCommand::Set { issuer, client_id, name, groups_claim, scopes } => {
            let secret = read_line("the client secret", "roster sso set --issuer … --client-id …")?;
            let ctx = Ctx::cli("sso set");
            let s = sso.set(&ctx, &issuer, &client_id, &secret, name.as_deref(), &groups_claim, &scopes).await?;
            let callback = format!("{}/auth/oidc/callback", config.public_url(config.listen));
            println!(
                "Single sign-on through {} is set up. Register this redirect URI with the provider: {callback}",
                s.issuer
            );
            if s.roles.is_empty() {
                println!("No group gives a role yet: roster sso map --group GROUP --role owner|admin|helpdesk|auditor");
            }
        }
        SsoCommand::Map { group, role } => {
            sso.map(&Ctx::cli("sso map"), &group, role).await?;
            println!("Members of '{group}' sign in as {role}, from their next sign-in.");
        }
        SsoCommand::Unmap { group } => {
            sso.unmap(&Ctx::cli("sso unmap"), &group).await?;
            println!("'{group}' no longer gives a role; its members are refused at their next sign-in.");
        }
        SsoCommand::Require { state } => {
            let on = state == "on";
            sso.set_required(&Ctx::cli("sso require"), on).await?;
            println!(
                "{}",
                if on {
                    "Sign-in through the provider is required; only break-glass admins may use a password."
                } else {
                    "Admins may sign in with a password again."
                }
            );
        }
        SsoCommand::Show => match sso.settings().await? {
            None => println!("Single sign-on is not set up."),
            Some(s) => {
                println!("Issuer:        {}", s.issuer);
                println!("Client id:     {}", s.client_id);
                println!("Button:        Sign in with {}", s.label);
                println!("Groups claim:  {}", s.groups_claim);
                println!("Extra scopes:  {}", if s.scopes.is_empty() { "none".into() } else { s.scopes.join(" ") });
                println!("Required:      {}", if s.required { "yes" } else { "no" });
                println!("Redirect URI:  {}/auth/oidc/callback", config.public_url(config.listen));
                println!("{:<40} ROLE", "GROUP");
                for (group, role) in s.roles {
                    println!("{group:<40} {role}");
                }
            }
        },
        SsoCommand::Disable => {
            sso.disable(&Ctx::cli("sso disable")).await?;
            println!("Single sign-on is off. Admins sign in with their passwords.");
        }
    }
    Ok(())
}

fn print_tokens(tokens: Vec<roster::model::Token>, scopes: bool) {
    let scope = |s: &str| if scopes { format!("{s:<10} ") } else { String::new() };
    println!("{:<24} {}{:<22} {:<22} STATUS", "NAME", scope("SCOPE"), "CREATED", "LAST USED");
    for t in tokens {
        let last = t.last_used_at.map(human_time).unwrap_or_else(|| "never".into());
        let status = t.revoked_at.map(|r| format!("revoked {}", human_time(r))).unwrap_or_else(|| "active".into());
        println!("{:<24} {}{:<22} {:<22} {status}", t.name, scope(t.scope.as_str()), human_time(t.created_at), last);
    }
}

/// `--since`/`--until`: a date (midnight UTC) or an RFC 3339 time.
fn parse_time(flag: &str, s: Option<&str>) -> anyhow::Result<Option<roster::model::Millis>> {
    let Some(s) = s.map(str::trim) else { return Ok(None) };
    let full = if s.len() == 10 { format!("{s}T00:00:00Z") } else { s.to_owned() };
    roster::model::parse_rfc3339(&full)
        .map(Some)
        .ok_or_else(|| anyhow::anyhow!("{flag} '{s}': use a date such as 2026-12-01, or 2026-12-01T09:00:00Z"))
}

async fn log(config: &Config, cmd: LogCommand) -> anyhow::Result<()> {
    let services = services(config).await?;
    match cmd {
        LogCommand::Export { since, until, format } => {
            let q = LogQuery {
                since: parse_time("--since", since.as_deref())?,
                until: parse_time("--until", until.as_deref())?,
                ..LogQuery::default()
            };
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let version = env!("CARGO_PKG_VERSION");
            let written = match format.as_str() {
                "csv" => {
                    let mut csv = roster::audit::csv::CsvWriter::new(&mut out, true)?;
                    let n = services.audit.export(&q, |batch| batch.iter().try_for_each(|e| csv.write(e))).await?;
                    csv.finish()?;
                    n
                }
                format => {
                    let ocsf = format == "ocsf";
                    services
                        .audit
                        .export(&q, |batch| {
                            for e in batch {
                                let line = if ocsf {
                                    serde_json::to_vec(&roster::audit::ocsf::record(e, version))
                                } else {
                                    serde_json::to_vec(e)
                                };
                                let line = line.map_err(roster::Error::internal)?;
                                out.write_all(&line)
                                    .and_then(|_| out.write_all(b"\n"))
                                    .map_err(roster::Error::internal)?;
                            }
                            Ok(())
                        })
                        .await?
                }
            };
            out.flush()?;
            eprintln!("{written} log entries exported.");
        }
        LogCommand::Verify => {
            let v = services.audit.verify().await?;
            match v.broken {
                None => println!(
                    "The log's chain is intact: {} entries checked, from entry {} to entry {}.",
                    v.checked,
                    v.cut + 1,
                    v.head
                ),
                Some(b) => {
                    println!("The log's chain is broken: {b}. {} entries before it check out.", v.checked);
                    std::process::exit(1);
                }
            }
        }
    }
    Ok(())
}

async fn api_token(config: &Config, cmd: TokenCommand) -> anyhow::Result<()> {
    let services = services(config).await?;
    match cmd {
        TokenCommand::Create { name, scope } => {
            let scope = ApiScope::parse(scope.as_deref().unwrap_or("directory")).unwrap_or_default();
            let (token, secret) =
                services.tokens.create_scoped(&Ctx::cli("api token create"), TokenKind::Api, &name, scope).await?;
            eprintln!("API token '{}' created, scope {}. It is shown once: store it now.", token.name, scope.as_str());
            println!("{secret}");
        }
        TokenCommand::List => {
            let tokens = services.tokens.list(TokenKind::Api).await?;
            if tokens.is_empty() {
                println!("No directory API tokens. Create one with: roster api token create --name billing");
            } else {
                print_tokens(tokens, true);
            }
        }
        TokenCommand::Revoke { name } => {
            services.tokens.revoke(&Ctx::cli("api token revoke"), TokenKind::Api, &name).await?;
            println!("Directory API token '{}' revoked.", name.trim());
        }
    }
    Ok(())
}

async fn webhook(config: &Config, cmd: WebhookCommand) -> anyhow::Result<()> {
    let services = services(config).await?;
    match cmd {
        WebhookCommand::Add { url, events } => {
            let (e, secret) = services.webhooks.add(&Ctx::cli("webhook add"), &url, &events).await?;
            eprintln!(
                "Webhook {} added for {} ({}). The signing secret is shown once: give it to the receiver now.",
                e.id,
                e.url,
                e.event_types.join(", ")
            );
            println!("{secret}");
        }
        WebhookCommand::List => {
            let endpoints = services.webhooks.list().await?;
            if endpoints.is_empty() {
                println!("No webhooks. Add one with: roster webhook add --url https://example.com/roster-events");
            }
            for e in endpoints {
                let state = match (&e.failing_since, &e.last_error) {
                    (Some(_), Some(err)) => {
                        format!("failing ({} attempts), next try {}: {err}", e.attempt, human_time(e.next_attempt_at))
                    }
                    _ => "ok".to_owned(),
                };
                println!("{}  {}  [{}]  {state}", e.id, e.url, e.event_types.join(","));
            }
        }
        WebhookCommand::Remove { id } => {
            services.webhooks.remove(&Ctx::cli("webhook remove"), &id).await?;
            println!("Webhook {} removed.", id.trim());
        }
        WebhookCommand::Rotate { id } => {
            let secret = services.webhooks.rotate(&Ctx::cli("webhook rotate"), &id).await?;
            eprintln!("New signing secret for {}; the old one also signs for 24 hours.", id.trim());
            println!("{secret}");
        }
    }
    Ok(())
}

async fn scim(config: &Config, cmd: ScimCommand) -> anyhow::Result<()> {
    let services = services(config).await?;
    match cmd {
        ScimCommand::Token(TokenCommand::Create { name, scope }) => {
            if scope.is_some() {
                anyhow::bail!("--scope is for API tokens; a SCIM token provisions, it does not read");
            }
            let (token, secret) =
                services.tokens.create(&Ctx::cli("scim token create"), TokenKind::Scim, &name).await?;
            eprintln!("Token '{}' created. It is shown once: paste it into your IdP now.", token.name);
            println!("{secret}");
        }
        ScimCommand::Token(TokenCommand::List) => {
            let tokens = services.tokens.list(TokenKind::Scim).await?;
            if tokens.is_empty() {
                println!("No SCIM tokens. Create one with: roster scim token create --name Okta");
            } else {
                print_tokens(tokens, false);
            }
        }
        ScimCommand::Token(TokenCommand::Revoke { name }) => {
            services.tokens.revoke(&Ctx::cli("scim token revoke"), TokenKind::Scim, &name).await?;
            println!("Token '{}' revoked.", name.trim());
        }
        ScimCommand::Enable | ScimCommand::Disable => {
            let on = matches!(cmd, ScimCommand::Enable);
            services.settings.set_scim_enabled(&Ctx::cli(if on { "scim enable" } else { "scim disable" }), on).await?;
            println!("SCIM provisioning is {}.", if on { "enabled" } else { "disabled" });
        }
        ScimCommand::Release { name } => {
            let r = services.settings.release_idp(&Ctx::cli("scim release"), &name).await?;
            println!(
                "Released {} users and {} groups from {}: they are local now. An IdP's next push adopts them.",
                r.users, r.groups, r.idp
            );
        }
        ScimCommand::Status => {
            let s = services.settings.get().await?;
            let live: Vec<String> = services
                .tokens
                .list(TokenKind::Scim)
                .await?
                .into_iter()
                .filter(|t| t.revoked_at.is_none())
                .map(|t| t.name)
                .collect();
            println!("SCIM provisioning: {}", if s.scim_enabled { "enabled" } else { "disabled" });
            println!("SCIM base URL: {}/scim/v2", config.public_url(config.listen));
            println!("Active tokens: {}", if live.is_empty() { "none".to_owned() } else { live.join(", ") });
        }
    }
    Ok(())
}

/// One line from stdin, without its line ending. Nothing is echoed because nothing is printed.
/// One line of standard input, for a secret that must not be on the command line.
fn read_line(what: &str, example: &str) -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .with_context(|| format!("could not read {what} from standard input"))?;
    let v = line.trim_end_matches(['\r', '\n']).to_owned();
    if v.is_empty() {
        anyhow::bail!("no {what} on standard input; try: echo 'secret' | {example}");
    }
    Ok(v)
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("could not read the password from standard input")?;
    let p = line.trim_end_matches(['\r', '\n']).to_owned();
    if p.is_empty() {
        anyhow::bail!(
            "no password on standard input; try: echo 'long passphrase' | roster admin create --email you@example.com"
        );
    }
    Ok(p)
}
