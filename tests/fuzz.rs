//! Property-based fuzzing of everything that reads a hostile client's text, on stable Rust: the filter parser, the
//! PATCH path parser and engine, and the SCIM JSON bodies. Each target must never panic, must stay within bounded
//! recursion (inputs nest far deeper than the limits), and must refuse with the right SCIM error.
//!
//! `cargo test --workspace` runs 2,000 inputs per target. The full run, 1,000,000 per target:
//!
//! ```sh
//! ROSTER_FUZZ_CASES=1000000 cargo test --release -p roster --test fuzz -- --nocapture
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A failing property panics by design.
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use roster::Error;
use roster::scim::filter;
use roster::scim::list::ListParams;
use roster::scim::patch::{PatchRequest, apply_user, group_patch};
use roster::scim::resource::{member_ids, parse_group, parse_user};
use roster::scim::schema::ResourceType;
use serde_json::{Value, json};

fn cases() -> u32 {
    std::env::var("ROSTER_FUZZ_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(2_000)
}

/// Runs `property` over `cases()` inputs from `strategy` and reports how many ran.
fn fuzz<S: Strategy>(name: &str, strategy: S, property: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let config = Config { cases: cases(), failure_persistence: None, ..Config::default() };
    let started = std::time::Instant::now();
    TestRunner::new(config).run(&strategy, property).unwrap_or_else(|e| panic!("{name}: {e}"));
    println!("{name}: {} inputs in {:.1} s", cases(), started.elapsed().as_secs_f64());
}

/// Pieces of the filter and path grammars, and of what breaks them.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("userName".into()),
        Just("emails".into()),
        Just("name.givenName".into()),
        Just("meta.lastModified".into()),
        Just("members".into()),
        Just("urn:ietf:params:scim:schemas:core:2.0:User:userName".into()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value".into()),
        Just(" eq ".into()),
        Just(" co ".into()),
        Just(" pr".into()),
        Just(" gt ".into()),
        Just(" and ".into()),
        Just(" or ".into()),
        Just("not ".into()),
        Just("(".into()),
        Just(")".into()),
        Just("[".into()),
        Just("]".into()),
        Just(".".into()),
        Just("\"".into()),
        Just("\\".into()),
        Just("\"a\\u0000b\"".into()),
        Just("\"x\"".into()),
        Just("true".into()),
        Just("null".into()),
        Just("12.5e3".into()),
        Just("\"2026-11-29T14:02:00Z\"".into()),
        "[a-zA-Z$:._-]{1,12}",
        "\\PC{0,6}",
    ]
}

fn grammar_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(token(), 0..24).prop_map(|t| t.concat())
}

fn filter_input() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => grammar_soup(),
        2 => "\\PC{0,64}",
        1 => (1usize..5_000).prop_map(|n| format!("{}userName pr{}", "(".repeat(n), ")".repeat(n))),
        1 => (1usize..5_000).prop_map(|n| format!("{}userName pr", "not (".repeat(n))),
        1 => (1usize..3_000).prop_map(|n| format!("emails[{}type eq \"w\"{}]", "(".repeat(n), ")".repeat(n))),
    ]
}

#[test]
fn filter_parser() {
    fuzz("filter parser", filter_input(), |input| {
        let parsed = filter::parse(&input);
        if input.trim().is_empty() || input.len() > 4096 {
            prop_assert!(parsed.is_err());
        }
        // The same text as a list parameter: only invalidFilter or invalidValue come back, never anything else.
        match ListParams::parse([("filter", input.as_str())], ResourceType::User) {
            Ok(p) => prop_assert!(p.filter.is_some()),
            Err(Error::InvalidFilter(m) | Error::InvalidValue(m)) => prop_assert!(!m.is_empty()),
            Err(other) => prop_assert!(false, "{other:?} for {input:?}"),
        }
        Ok(())
    });
}

#[test]
fn patch_path_parser() {
    fuzz("PATCH path parser", filter_input(), |input| {
        let _ = filter::parse_path(&input);
        Ok(())
    });
}

/// Arbitrary JSON, nested at most a few levels (serde_json refuses more than 128 on the wire).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![Just("True".to_owned()), Just("a\u{0}b".to_owned()), "\\PC{0,12}"].prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("value".to_owned()),
                    Just("primary".to_owned()),
                    Just("type".to_owned()),
                    Just("givenName".to_owned()),
                    "[a-zA-Z]{1,8}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn patch_op() -> impl Strategy<Value = Value> {
    let op = prop_oneof![Just("add"), Just("replace"), Just("remove"), Just("Replace"), Just("copy")];
    let path = prop_oneof![
        Just(None),
        Just(Some("emails[type eq \"work\"].value".to_owned())),
        Just(Some("members[value eq \"u1\"]".to_owned())),
        Just(Some("name.familyName".to_owned())),
        Just(Some("active".to_owned())),
        Just(Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned())),
        grammar_soup().prop_map(Some),
    ];
    (op, path, prop::option::of(json_value())).prop_map(|(op, path, value)| {
        let mut o = json!({"op": op});
        if let Some(p) = path {
            o["path"] = Value::String(p);
        }
        if let Some(v) = value {
            o["value"] = v;
        }
        o
    })
}

fn user_doc() -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "u1", "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara"}, "active": true,
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}]})
}

#[test]
fn patch_engine() {
    fuzz("PATCH engine", prop::collection::vec(patch_op(), 0..8), |ops| {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
        let req = match PatchRequest::parse(body) {
            Ok(r) => r,
            Err(Error::InvalidSyntax(_) | Error::InvalidValue(_) | Error::TooMany(_)) => return Ok(()),
            Err(other) => return Err(TestCaseError::fail(format!("{other:?}"))),
        };
        let mut doc = user_doc();
        match apply_user(&mut doc, &req.operations) {
            Ok(()) => match parse_user(doc) {
                Ok(_) | Err(Error::InvalidValue(_)) => {}
                Err(other) => prop_assert!(false, "validating the result: {other:?}"),
            },
            Err(e) => {
                prop_assert_eq!(doc, user_doc(), "a failed PATCH changes nothing");
                let t = e.scim().1;
                prop_assert!(
                    matches!(t, Some("invalidPath" | "invalidValue" | "noTarget" | "mutability" | "invalidFilter")),
                    "{:?}",
                    e
                );
            }
        }
        match group_patch("g1", &req.operations) {
            Ok(_) => {}
            Err(e) => {
                let t = e.scim().1;
                prop_assert!(
                    matches!(t, Some("invalidPath" | "invalidValue" | "noTarget" | "mutability" | "invalidFilter")),
                    "{:?}",
                    e
                );
            }
        }
        Ok(())
    });
}

#[test]
fn scim_bodies() {
    let body = prop_oneof![
        json_value(),
        json_value().prop_map(|v| json!({"userName": "a@b", "emails": v, "name": v, "active": v})),
        json_value().prop_map(|v| json!({"displayName": "G", "members": v, "externalId": v})),
    ];
    fuzz("SCIM bodies", body, |v| {
        for r in [parse_user(v.clone()).map(|_| ()), parse_group(v.clone()).map(|_| ()), member_ids(&v).map(|_| ())] {
            match r {
                Ok(()) | Err(Error::InvalidValue(_) | Error::InvalidSyntax(_)) => {}
                Err(other) => prop_assert!(false, "{other:?}"),
            }
        }
        Ok(())
    });
}

/// Valid bodies with bytes changed, so most still parse as JSON and reach roster's own code.
fn mutated_body() -> impl Strategy<Value = Vec<u8>> {
    let body = prop_oneof![
        json_value().prop_map(|v| json!({"userName": "a@b", "emails": [{"value": "a@b"}], "name": v}).to_string()),
        json_value().prop_map(|v| json!({"displayName": "G", "members": [{"value": v}]}).to_string()),
        json_value().prop_map(|v| json!({"Operations": [{"op": "add", "path": "emails", "value": v}]}).to_string()),
    ];
    (body, prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4)).prop_map(|(b, edits)| {
        let mut bytes = b.into_bytes();
        for (at, byte) in edits {
            if !bytes.is_empty() {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
        }
        bytes
    })
}

#[test]
fn mutated_bodies() {
    fuzz("mutated bodies", mutated_body(), |bytes| {
        if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
            let _ = parse_user(v.clone());
            let _ = parse_group(v.clone());
            let _ = PatchRequest::parse(v);
        }
        Ok(())
    });
}

/// Deep input is refused by a limit, never by a stack overflow.
#[test]
fn deep_nesting_is_refused_by_a_limit() {
    for depth in [33, 1_000, 100_000] {
        let f = format!("{}userName pr{}", "(".repeat(depth), ")".repeat(depth));
        assert!(filter::parse(&f).is_err(), "{depth}");
        let p = format!("emails[{}type eq \"w\"{}]", "(".repeat(depth), ")".repeat(depth));
        assert!(filter::parse_path(&p).is_err(), "{depth}");
    }
}
