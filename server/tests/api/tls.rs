//! PostgreSQL over TLS, as managed PostgreSQL services require: `sslmode=require` encrypts, `verify-full` also checks
//! the server's certificate and name. Ignored by a plain `cargo test`: `.ci/run` turns TLS on in the local cluster
//! (scripts/postgres-tls.sh) and runs it with the CA in `ROSTER_TEST_POSTGRES_TLS_CA`.
use crate::helpers::{TestDb, okta_user};
use reqwest::StatusCode;
use roster::service::Ctx;
use server::config::Config;
use server::startup::Application;
use server::store::Db;

/// Whether the pool's connection is encrypted, as the server sees it.
async fn encrypted(url: &str) -> anyhow::Result<bool> {
    let Db::Postgres(p) = Db::connect(url).await? else { anyhow::bail!("not PostgreSQL") };
    let ssl: bool =
        sqlx::query_scalar("select ssl from pg_stat_ssl where pid = pg_backend_pid()").fetch_one(&p.read).await?;
    p.read.close().await;
    p.write.close().await;
    Ok(ssl)
}

#[tokio::test]
#[ignore = "needs the local PostgreSQL with TLS on: run by .ci/run"]
async fn roster_connects_with_sslmode_require_and_verify_full() {
    let ca =
        std::env::var("ROSTER_TEST_POSTGRES_TLS_CA").expect("ROSTER_TEST_POSTGRES_TLS_CA: scripts/postgres-tls.sh ca");
    let db = TestDb::fresh().await.unwrap();
    assert!(db.is_postgres(), "set ROSTER_TEST_POSTGRES_URL");
    let require = format!("{}?sslmode=require", db.url);
    // verify-full checks the name in the certificate: the CA signed it for "localhost" only.
    let verify_at = |host: &str| {
        let url = db.url.replace("@127.0.0.1:", &format!("@{host}:"));
        format!("{url}?sslmode=verify-full&sslrootcert={ca}")
    };
    let verify = verify_at("localhost");
    assert!(encrypted(&require).await.unwrap(), "sslmode=require is encrypted");
    assert!(encrypted(&verify).await.unwrap(), "verify-full is encrypted");

    // roster itself, started on the verify-full URL, migrates and serves SCIM.
    let config = Config { database_url: verify.clone(), listen: "127.0.0.1:0".parse().unwrap(), ..Config::default() };
    let app = Application::build(&config).await.expect("roster starts over TLS");
    let base = format!("http://{}/scim/v2", app.local_addr());
    let services = app.services.clone();
    tokio::spawn(app.run_until_stopped());
    services.settings.set_scim_enabled(&Ctx::cli("test"), true).await.unwrap();
    let (_, token) = services.tokens.create(&Ctx::cli("test"), roster::model::TokenKind::Scim, "Okta").await.unwrap();
    let r = reqwest::Client::new()
        .post(format!("{base}/Users"))
        .bearer_auth(&token)
        .json(&okta_user("ada@example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    // The same server reached by another name than its certificate's, or with no CA given, is refused.
    let wrong_name = Db::connect(&verify_at("127.0.0.1")).await.expect_err("another name is refused").to_string();
    assert!(wrong_name.to_lowercase().contains("certificate") || wrong_name.contains("name"), "{wrong_name}");
    let no_ca = verify.replace(&format!("&sslrootcert={ca}"), "");
    let e = Db::connect(&no_ca).await.expect_err("an unknown CA is refused").to_string();
    assert!(e.to_lowercase().contains("certificate") || e.to_lowercase().contains("tls"), "{e}");
}
