//! Rebuilds when a migration changes (sqlx::migrate! embeds them), and records the commit for `roster --version`
//! (`ROSTER_COMMIT` when set, as a build from a source archive sets it; else git's; else "unknown"). With the
//! `embed-site` feature, also gzips the
//! panel's browser assets and writes the table `src/site.rs` serves them from, so the binary needs no files beside
//! it; without it the table is empty and the assets come from `--site-root`. The assets come from `target/site/pkg`
//! (what `scripts/build-site.sh` writes), or from the folder in `ROSTER_SITE_PKG`.
// A build script stops the build with its message: that is how it reports a missing site.
#![allow(clippy::expect_used, clippy::panic)]
use std::path::PathBuf;

fn main() {
    // sqlx::migrate! embeds the SQL at compile time; rebuild when it changes.
    println!("cargo:rerun-if-changed=../migrations");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-env-changed=ROSTER_SITE_PKG");
    println!("cargo:rustc-env=ROSTER_COMMIT={}", commit());
    let table = embedded::table(&out);
    std::fs::write(out.join("embedded_site.rs"), table).expect("cannot write the asset table");
}

/// The commit this build is of (uncommitted changes are not marked: watching the index would rebuild on every `git
/// add`).
fn commit() -> String {
    println!("cargo:rerun-if-env-changed=ROSTER_COMMIT");
    if let Some(c) = std::env::var("ROSTER_COMMIT").ok().filter(|c| !c.is_empty()) {
        return c;
    }
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    // Rebuild when HEAD moves: the file HEAD and the ref it names.
    if let Some(p) = git(&["rev-parse", "--git-path", "HEAD"]) {
        println!("cargo:rerun-if-changed={p}");
    }
    if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]).and_then(|r| git(&["rev-parse", "--git-path", &r])) {
        println!("cargo:rerun-if-changed={r}");
    }
    git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into())
}

#[cfg(not(feature = "embed-site"))]
mod embedded {
    pub fn table(_out: &std::path::Path) -> String {
        "pub static EMBEDDED: &[Asset] = &[];\n".into()
    }
}

#[cfg(feature = "embed-site")]
mod embedded {
    use std::hash::{Hash, Hasher};
    use std::io::Write;
    use std::path::{Path, PathBuf};

    const FILES: [(&str, &str); 3] = [
        ("roster.js", "text/javascript; charset=utf-8"),
        ("roster_bg.wasm", "application/wasm"),
        ("roster.css", "text/css; charset=utf-8"),
    ];

    pub fn table(out: &Path) -> String {
        let pkg = match std::env::var_os("ROSTER_SITE_PKG") {
            Some(dir) => PathBuf::from(dir),
            None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/site/pkg"),
        };
        let mut table = String::from("pub static EMBEDDED: &[Asset] = &[\n");
        for (name, content_type) in FILES {
            let path = pkg.join(name);
            println!("cargo:rerun-if-changed={}", path.display());
            let raw = std::fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "the embed-site feature needs {} ({e}); build the site first: scripts/build-site.sh \
                     (ROSTER_PROFILE=release for a release build)",
                    path.display()
                )
            });
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gz.write_all(&raw).and_then(|()| gz.flush()).expect("gzip in memory");
            let gzip = gz.finish().expect("gzip in memory");
            let gz_path = out.join(format!("{name}.gz"));
            std::fs::write(&gz_path, gzip).expect("cannot write the gzipped asset");
            // A validator of the content, not a secret: any stable hash does.
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            raw.hash(&mut hasher);
            let etag = format!("\"{:016x}-{:x}\"", hasher.finish(), raw.len());
            let etag_gzip = format!("{}-gz\"", etag.trim_end_matches('"'));
            let raw_path = path.canonicalize().expect("the asset exists");
            table.push_str(&format!(
                "    Asset {{ name: {name:?}, content_type: {content_type:?}, etag: {etag:?}, etag_gzip: {etag_gzip:?}, \
                 raw: include_bytes!({:?}), gzip: include_bytes!({:?}) }},\n",
                raw_path.display().to_string(),
                gz_path.display().to_string(),
            ));
        }
        table.push_str("];\n");
        table
    }
}
