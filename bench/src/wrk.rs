//! Load from outside: `wrk` (Debian's package) with a Lua script per phase, holding N connections on loopback.
use anyhow::{Context, bail};
use std::process::Command;
use std::time::Duration;

/// What wrk measured in one phase.
#[derive(Debug, Clone, Default)]
pub struct Load {
    pub requests: u64,
    pub per_sec: f64,
    pub p50: Duration,
    pub p99: Duration,
    /// Non-2xx/3xx responses plus socket errors.
    pub errors: u64,
}

/// How hard to push.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub threads: usize,
    pub connections: usize,
    pub duration: Duration,
}

/// Runs wrk against `base` with `script` (Lua, which sets `request`), for `shape`.
pub fn run(base: &str, script: &str, shape: Shape) -> anyhow::Result<Load> {
    let dir = std::env::temp_dir().join(format!("roster-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("phase.lua");
    std::fs::write(&path, script)?;
    let out = Command::new("wrk")
        .args([
            "--latency",
            "-t",
            &shape.threads.to_string(),
            "-c",
            &shape.connections.to_string(),
            "-d",
            &format!("{}s", shape.duration.as_secs().max(1)),
            "--timeout",
            "10s",
            "-s",
        ])
        .arg(&path)
        .arg(base)
        .output()
        .context("could not run wrk; install it with `apt-get install wrk`")?;
    if !out.status.success() {
        bail!("wrk failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    parse(&String::from_utf8_lossy(&out.stdout))
}

/// Reads wrk's `--latency` report.
fn parse(report: &str) -> anyhow::Result<Load> {
    let mut load = Load::default();
    for line in report.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", v] => load.p50 = duration(v)?,
            ["99%", v] => load.p99 = duration(v)?,
            ["Requests/sec:", v] => load.per_sec = v.parse()?,
            [n, "requests", "in", ..] => load.requests = n.parse()?,
            ["Non-2xx", "or", "3xx", "responses:", n] => load.errors += n.parse::<u64>()?,
            ["Socket", "errors:", rest @ ..] => {
                // "Socket errors: connect 0, read 0, write 0, timeout 0"
                load.errors += rest.iter().filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok()).sum::<u64>();
            }
            _ => {}
        }
    }
    if load.requests == 0 {
        bail!("wrk reported no requests:\n{report}");
    }
    Ok(load)
}

fn duration(v: &str) -> anyhow::Result<Duration> {
    let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
    let n: f64 = num.parse()?;
    Ok(Duration::from_secs_f64(match unit {
        "us" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        other => bail!("unknown unit '{other}' in '{v}'"),
    }))
}

/// The Lua prelude every script shares: the token, a per-thread id and counter, and the list of user ids.
pub fn prelude(token: &str, ids_file: &str, users: usize) -> String {
    format!(
        r#"
local token = "{token}"
local users = {users}
local thread_count = 0
function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
end
local n = 0
local ids = {{}}
function init(args)
  math.randomseed(tid * 7919 + os.time())
  for line in io.lines("{ids_file}") do ids[#ids + 1] = line end
end
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/scim+json"
function user_name(i) return "user" .. i .. "@example.com" end
function okta_user(name, title)
  return '{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"' .. name ..
    '","name":{{"givenName":"Bench","familyName":"User"}},"emails":[{{"primary":true,"value":"' .. name ..
    '","type":"work"}}],"displayName":"Bench User","title":"' .. title .. '","active":true}}'
end
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_wrk_report() {
        let report = "Running 10s test @ http://127.0.0.1:1/healthz
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   731.12us    1.02ms  30.22ms   93.07%
  Latency Distribution
     50%  512.00us
     75%  720.00us
     90%    1.20ms
     99%    5.10ms
  425000 requests in 10.00s, 60.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  42500.12
Transfer/sec:      6.00MB";
        let l = parse(report).unwrap();
        assert_eq!(l.requests, 425_000);
        assert_eq!(l.errors, 7);
        assert!((l.per_sec - 42500.12).abs() < 0.01);
        assert_eq!(l.p50, Duration::from_micros(512));
        assert_eq!(l.p99, Duration::from_micros(5100));
    }
}
