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
