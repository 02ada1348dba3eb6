//! Configuration: flags, each with a `ROSTER_*` environment variable, all shown by `roster --help`.
use clap::{Args, Parser, Subcommand};
use roster::model::Role;
use std::net::SocketAddr;

/// `roster --version`: the release and the commit it was built from.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("ROSTER_COMMIT"), ")");

#[derive(Debug, Parser)]
#[command(
    name = "roster",
    version = VERSION,
    about = "roster: users, groups and licence seats, kept in sync with Okta and Entra ID over SCIM 2.0",
    long_about = "roster: users, groups and licence seats, kept in sync with Okta and Entra ID over SCIM 2.0.\n\n\
        With no command, `roster` runs the server (the same as `roster serve`). Every other command works on the same \
        database while the server runs."
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database: sqlite://path/to/file.db (created and migrated on first use) or postgres://user:pass@host/db.
    #[arg(long, env = "ROSTER_DATABASE_URL", default_value = "sqlite://roster.db", global = true)]
    pub database_url: String,

    /// Address and port the server listens on.
    #[arg(long, env = "ROSTER_LISTEN", default_value = "127.0.0.1:3000", global = true)]
    pub listen: SocketAddr,

    /// The URL admins and IdPs reach roster at; the panel shows `<public-url>/scim/v2` as the SCIM base URL.
    /// Default: http://<listen>.
    #[arg(long, env = "ROSTER_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// Serve the browser assets (pkg/roster.js, pkg/roster_bg.wasm, pkg/roster.css) from this folder, for
    /// development. Default: the copy inside the binary (a build with the embed-site feature), else target/site.
    #[arg(long, env = "ROSTER_SITE_ROOT", global = true)]
    pub site_root: Option<String>,

    /// Serve Prometheus metrics at GET /metrics on this address (for example 127.0.0.1:9090), a listener of its own
    /// so that metrics are never on the public port. Unset: no metrics.
    #[arg(long, env = "ROSTER_METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<SocketAddr>,

    /// The header a reverse proxy in front of roster puts the client's address in, such as X-Forwarded-For (the last
    /// address in it is used) or X-Real-IP. Only set it when every request comes through that proxy: the sign-in
    /// throttle counts attempts per address. Unset: the address of the connecting peer.
    #[arg(long, env = "ROSTER_TRUSTED_PROXY_HEADER", global = true)]
    pub trusted_proxy_header: Option<String>,

    /// Hours a panel session lasts without a request.
    #[arg(long, env = "ROSTER_SESSION_IDLE_HOURS", default_value_t = 8, global = true, value_parser = clap::value_parser!(u32).range(1..))]
    pub session_idle_hours: u32,

    /// Hours a panel session lasts after sign-in, however active.
    #[arg(long, env = "ROSTER_SESSION_LIFETIME_HOURS", default_value_t = 24, global = true, value_parser = clap::value_parser!(u32).range(1..))]
    pub session_lifetime_hours: u32,

    /// Days the provisioning log keeps entries; older ones are pruned in small batches every hour.
    #[arg(long, env = "ROSTER_LOG_RETENTION_DAYS", default_value_t = 400, global = true, value_parser = clap::value_parser!(u32).range(1..))]
    pub log_retention_days: u32,

    /// Days directory events (GET /v1/events, webhooks) are kept. A feed consumer whose cursor is older gets 410 and
    /// starts over from the directory API (docs/integrations.md, "Retention and restores").
    #[arg(long, env = "ROSTER_EVENT_RETENTION_DAYS", default_value_t = 30, global = true, value_parser = clap::value_parser!(u32).range(1..))]
    pub event_retention_days: u32,
    /// Allow webhook endpoints over plain http:// to any host, for tests and private networks. Without it, http:// is
    /// allowed only to a loopback address.
    #[arg(long, env = "ROSTER_WEBHOOK_ALLOW_HTTP", default_value_t = false, global = true)]
    pub webhook_allow_http: bool,

    /// Networks webhook endpoints may be on besides the public internet, as CIDR[,CIDR…] (for example
    /// 10.20.0.0/16,fd00:1::/64). Without it roster refuses loopback, private, link-local, carrier-grade NAT, unique
    /// local, multicast and other special addresses, checked on every address a host resolves to when connecting, so an
    /// internal receiver needs its network here.
    #[arg(long, env = "ROSTER_WEBHOOK_ALLOW_NETWORKS", global = true)]
    pub webhook_allow_networks: Option<String>,

    /// A file of keys that seal secrets at rest (webhook signing secrets): one key per line, 32 bytes in base64 (make
    /// one with `roster secret-key generate`). The first seals; every line opens, so a new key goes first and the old
    /// one stays below it until a start has resealed everything. Without it secrets are stored in clear.
    #[arg(long, env = "ROSTER_SECRET_KEY_FILE", global = true)]
    pub secret_key_file: Option<std::path::PathBuf>,
    /// Also write every log entry, as an OCSF record on one JSON line, to `stdout` or to a file (appended;
    /// copytruncate-safe, and reopened on SIGHUP), as each write commits. Commands such as `roster admin create` append
    /// their own records to the same file; with `stdout` theirs are in GET /v1/audit only. docs/audit.md.
    #[arg(long, env = "ROSTER_AUDIT_LOG", global = true)]
    pub audit_log: Option<String>,

    /// Seconds a request may take, from its first byte to its response, before it gets 503.
    #[arg(long, env = "ROSTER_REQUEST_TIMEOUT_SECS", default_value_t = 60, global = true, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_secs: u64,

    /// Seconds a client may take to send a request's headers before the connection is closed.
    #[arg(long, env = "ROSTER_HEADER_TIMEOUT_SECS", default_value_t = 10, global = true, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout_secs: u64,
}

impl Default for Config {
    /// The defaults above, for tests and tools that build a `Config` in code.
    fn default() -> Self {
        Config {
            database_url: "sqlite://roster.db".into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            public_url: None,
            site_root: None,
            metrics_listen: None,
            trusted_proxy_header: None,
            session_idle_hours: 8,
            session_lifetime_hours: 24,
            log_retention_days: 400,
            event_retention_days: 30,
            webhook_allow_http: false,
            webhook_allow_networks: None,
            secret_key_file: None,
            audit_log: None,
            request_timeout_secs: 60,
            header_timeout_secs: 10,
        }
    }
}

impl Config {
    /// `--audit-log`, started: the stream the server's writer feeds. `cli` asks for a command's: a file only, since a
    /// command's standard output is its answer.
    pub fn audit_stream(&self, cli: bool) -> anyhow::Result<Option<crate::audit_log::AuditStream>> {
        use crate::audit_log::{AuditStream, AuditTarget};
        match self.audit_log.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(AuditTarget::parse) {
            None => Ok(None),
            Some(AuditTarget::Stdout) if cli => Ok(None),
            Some(target) => AuditStream::start(target).map(Some),
        }
    }

    /// `--webhook-allow-networks`, parsed.
    pub fn network_policy(&self) -> anyhow::Result<roster::service::NetworkPolicy> {
        let list = self.webhook_allow_networks.as_deref().unwrap_or_default();
        roster::service::NetworkPolicy::parse(list).map_err(|e| anyhow::anyhow!("--webhook-allow-networks: {e}"))
    }

    /// The keys of `--secret-key-file`, or none.
    pub fn secret_keys(&self) -> anyhow::Result<roster::service::SecretKeys> {
        let Some(path) = &self.secret_key_file else { return Ok(roster::service::SecretKeys::none()) };
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read the secret key file {}: {e}", path.display()))?;
        roster::service::SecretKeys::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// The public URL without a trailing slash.
    pub fn public_url(&self, bound: SocketAddr) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("http://{bound}")).trim_end_matches('/').to_owned()
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage panel admins.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// SCIM provisioning: tokens and the on/off switch.
    #[command(subcommand)]
    Scim(ScimCommand),
    /// The licence: how many users may be active.
    #[command(subcommand)]
    Seats(SeatsCommand),
    /// Read-only tokens for the directory API (/v1), for the product's own services.
    #[command(subcommand)]
    Api(ApiCommand),
    /// Webhook endpoints that hear of every change, signed by the Standard Webhooks specification.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Keys for --secret-key-file.
    #[command(subcommand)]
    SecretKey(SecretKeyCommand),
    /// Admins' sign-in through the company's OpenID Connect provider (Okta, Entra ID, …), and which groups give
    /// which role.
    #[command(subcommand)]
    Sso(SsoCommand),
    /// The provisioning log as an audit trail: export it, and prove it untouched.
    #[command(subcommand)]
    Log(LogCommand),
    /// Write a consistent copy of the SQLite database to PATH while the server keeps running (PostgreSQL: use
    /// pg_dump). Restore by stopping roster and putting the copy in the database's place.
    Backup {
        /// A new file; an existing one is never overwritten.
        path: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Write log entries to standard output, oldest first: CSV (safe to open in a spreadsheet), JSON lines of the
    /// entries, or JSON lines of OCSF records (as /v1/audit and --audit-log give them).
    Export {
        /// From this time on: 2026-12-01 or 2026-12-01T09:00:00Z (UTC).
        #[arg(long)]
        since: Option<String>,
        /// Before this time, in the same form.
        #[arg(long)]
        until: Option<String>,
        #[arg(long, value_parser = ["csv", "jsonl", "ocsf"], default_value = "csv")]
        format: String,
    },
    /// Walk the log's hash chain and name the first entry that was changed, removed or inserted. Exits 1 if there is
    /// one.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum SsoCommand {
    /// Set up (or change) the provider; the client secret is read from standard input (one line). The redirect URI
    /// to register with the provider is <public URL>/auth/oidc/callback.
    Set {
        /// The provider's issuer URL (https; http only on loopback).
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        client_id: String,
        /// The sign-in button's label: "Sign in with LABEL".
        #[arg(long)]
        name: Option<String>,
        /// The claim that lists the admin's groups.
        #[arg(long, default_value = "groups")]
        groups_claim: String,
        /// Scopes to ask for beyond "openid email profile", separated by spaces (Okta's "groups", for example).
        #[arg(long, default_value = "")]
        scopes: String,
    },
    /// Members of the provider's group GROUP sign in with ROLE (the highest wins when several groups map).
    Map {
        #[arg(long)]
        group: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// GROUP no longer gives a role.
    Unmap {
        #[arg(long)]
        group: String,
    },
    /// Require sign-in through the provider: password sign-in is refused but for break-glass admins.
    Require {
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
    /// Show the settings and the group-to-role map (never the secret).
    Show,
    /// Turn single sign-on off: its settings and map are removed.
    Disable,
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("'{s}' is not a role: use owner, admin, helpdesk or auditor"))
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin; the password is read from standard input (one line).
    Create {
        #[arg(long)]
        email: String,
        /// What the admin may do: owner (everything), admin (all but admins and sign-in settings), helpdesk (local
        /// users and the members of roster's groups) or auditor (read only).
        #[arg(long, default_value = "owner", value_parser = parse_role)]
        role: Role,
        /// The password works even when sign-in through the company's IdP is required: the way in when the IdP is
        /// down. Each of its sign-ins is logged as such.
        #[arg(long)]
        break_glass: bool,
    },
    /// Give an admin another role; it applies from their next request. The last owner stays an owner.
    SetRole {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// Remove an admin; their sessions end at once. The last admin cannot be removed.
    Remove {
        #[arg(long)]
        email: String,
    },
    /// List admins.
    List,
}

#[derive(Debug, Subcommand)]
pub enum ScimCommand {
    /// Bearer tokens for IdPs.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Turn SCIM provisioning on: IdP-managed users and groups become read-only in the panel.
    Enable,
    /// Turn SCIM provisioning off: every /scim/v2 request gets 403 and admins may edit every group.
    Disable,
    /// Show whether SCIM is on, the base URL and the tokens.
    Status,
    /// Make every user and group the IdP with this token name manages local: editable in roster, and adopted by the
    /// next IdP that pushes them.
    Release { name: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (only it) on standard output. It is shown once.
    Create {
        /// A name you will recognise in the log and on the "Managed by" badge, such as "Okta".
        #[arg(long)]
        name: String,
        /// API tokens: what the token reads, `directory` (/v1 users, groups, events) or `audit` (/v1/audit, for a
        /// SIEM). Each is refused with 403 where the other belongs.
        #[arg(long, value_parser = ["directory", "audit"])]
        scope: Option<String>,
    },
    /// List tokens: name, created, last used, status.
    List,
    /// Revoke the token with this name; the IdP's next request gets 401.
    Revoke { name: String },
}

#[derive(Debug, Subcommand)]
pub enum ApiCommand {
    /// Bearer tokens for the directory API. They can only read, and SCIM tokens do not work there (nor these on SCIM).
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Add an endpoint and print its signing secret (only it), `whsec_…`, shown once.
    Add {
        /// Where deliveries go: https://…, or http:// to a loopback address. Internal addresses need
        /// --webhook-allow-networks.
        #[arg(long)]
        url: String,
        /// LogEntry types, comma-separated: `*` (the default), `user.*`, `group.*`, or names such as user.deactivated.
        #[arg(long, default_value = "*")]
        events: String,
    },
    /// List endpoints: id, URL, events, and how delivery is going.
    List,
    /// Remove an endpoint; nothing more is sent to it.
    Remove { id: String },
    /// Print a new signing secret (only it). The old one also signs for 24 hours, so receivers can switch over.
    Rotate { id: String },
}

#[derive(Debug, Subcommand)]
pub enum SecretKeyCommand {
    /// Print a new random key: one line for the secret key file.
    Generate,
}

#[derive(Debug, Subcommand)]
pub enum SeatsCommand {
    /// Set the licence's seat count. Lowering it below the active users is refused.
    Set { seats: i64 },
    /// Show seats used and free.
    Show,
}
