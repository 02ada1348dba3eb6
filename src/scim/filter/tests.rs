use super::*;
use serde_json::json;

fn ap(s: &str) -> AttrPath {
    parse_attr_path(s).unwrap()
}
fn cmp(path: &str, op: CompareOp, value: CompValue) -> Filter {
    Filter::Compare { path: ap(path), op, value }
}
fn s(v: &str) -> CompValue {
    CompValue::Str(v.into())
}
fn eq(path: &str, v: &str) -> Filter {
    cmp(path, CompareOp::Eq, s(v))
}
fn pr(path: &str) -> Filter {
    Filter::Present(ap(path))
}
fn and(a: Filter, b: Filter) -> Filter {
    Filter::And(Box::new(a), Box::new(b))
}
fn or(a: Filter, b: Filter) -> Filter {
    Filter::Or(Box::new(a), Box::new(b))
}
fn not(a: Filter) -> Filter {
    Filter::Not(Box::new(a))
}
fn vp(attr: &str, f: Filter) -> Filter {
    Filter::ValuePath { attr: ap(attr), filter: Box::new(f) }
}
const TS: &str = "2011-05-13T04:42:34Z";
const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

#[test]
fn rfc_7644_examples_parse_to_expected_trees() {
    use CompareOp::*;
    let cases: Vec<(&str, Filter)> = vec![
        ("userName eq \"bjensen\"", eq("userName", "bjensen")),
        ("name.familyName co \"O'Malley\"", cmp("name.familyName", Co, s("O'Malley"))),
        ("userName sw \"J\"", cmp("userName", Sw, s("J"))),
        (
            "urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"J\"",
            cmp("urn:ietf:params:scim:schemas:core:2.0:User:userName", Sw, s("J")),
        ),
        ("title pr", pr("title")),
        ("meta.lastModified gt \"2011-05-13T04:42:34Z\"", cmp("meta.lastModified", Gt, s(TS))),
        ("meta.lastModified ge \"2011-05-13T04:42:34Z\"", cmp("meta.lastModified", Ge, s(TS))),
        ("meta.lastModified lt \"2011-05-13T04:42:34Z\"", cmp("meta.lastModified", Lt, s(TS))),
        ("meta.lastModified le \"2011-05-13T04:42:34Z\"", cmp("meta.lastModified", Le, s(TS))),
        ("title pr and userType eq \"Employee\"", and(pr("title"), eq("userType", "Employee"))),
        ("title pr or userType eq \"Intern\"", or(pr("title"), eq("userType", "Intern"))),
        ("schemas eq \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"", eq("schemas", ENT)),
        (
            "userType eq \"Employee\" and (emails co \"example.com\" or emails.value co \"example.org\")",
            and(
                eq("userType", "Employee"),
                or(cmp("emails", Co, s("example.com")), cmp("emails.value", Co, s("example.org"))),
            ),
        ),
        (
            "userType ne \"Employee\" and not (emails co \"example.com\" or emails.value co \"example.org\")",
            and(
                cmp("userType", Ne, s("Employee")),
                not(or(cmp("emails", Co, s("example.com")), cmp("emails.value", Co, s("example.org")))),
            ),
        ),
        (
            "userType eq \"Employee\" and (emails.type eq \"work\")",
            and(eq("userType", "Employee"), eq("emails.type", "work")),
        ),
        (
            "userType eq \"Employee\" and emails[type eq \"work\" and value co \"@example.com\"]",
            and(eq("userType", "Employee"), vp("emails", and(eq("type", "work"), cmp("value", Co, s("@example.com"))))),
        ),
        (
            "emails[type eq \"work\" and value co \"@example.com\"] or ims[type eq \"xmpp\" and value co \"@foo.com\"]",
            or(
                vp("emails", and(eq("type", "work"), cmp("value", Co, s("@example.com")))),
                vp("ims", and(eq("type", "xmpp"), cmp("value", Co, s("@foo.com")))),
            ),
        ),
        // Mixed-case operators and attribute names.
        ("userName EQ \"x\"", eq("userName", "x")),
        ("UserName Eq \"x\"", eq("UserName", "x")),
        ("title PR AND userType Eq \"a\" OR NOT (x Pr)", or(and(pr("title"), eq("userType", "a")), not(pr("x")))),
        // Okta / Entra lookups.
        ("userName eq \"test.user@okta.local\"", eq("userName", "test.user@okta.local")),
        ("externalId eq \"00ujl29u0le5T6Aj10h7\"", eq("externalId", "00ujl29u0le5T6Aj10h7")),
        ("displayName eq \"Test SCIMv2\"", eq("displayName", "Test SCIMv2")),
        ("emails[type eq \"work\"].value eq \"a@b.c\"", vp("emails", and(eq("type", "work"), eq("value", "a@b.c")))),
        ("emails[type eq \"work\"].value pr", vp("emails", and(eq("type", "work"), pr("value")))),
        ("members[value eq \"2819c223\"]", vp("members", eq("value", "2819c223"))),
        // Literals, escapes, precedence, whitespace.
        ("a eq \"say \\\"hi\\\" \\\\ \\u00e9\"", eq("a", "say \"hi\" \\ é")),
        ("a eq true", cmp("a", Eq, CompValue::Bool(true))),
        ("a eq False", cmp("a", Eq, CompValue::Bool(false))),
        ("a eq null", cmp("a", Eq, CompValue::Null)),
        ("a gt -1.5e3", cmp("a", Gt, CompValue::Number(serde_json::from_str("-1.5e3").unwrap()))),
        ("a le 42", cmp("a", Le, CompValue::Number(42.into()))),
        ("a pr or b pr and c pr", or(pr("a"), and(pr("b"), pr("c")))),
        ("not(a pr) and b pr", and(not(pr("a")), pr("b"))),
        ("  ( a pr )  ", pr("a")),
        ("x.$ref eq \"u\"", eq("x.$ref", "u")),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"701984\"",
            eq(&format!("{ENT}:employeeNumber"), "701984"),
        ),
        ("not eq \"x\"", eq("not", "x")),
    ];
    for (input, want) in cases {
        assert_eq!(parse(input), Ok(want), "input: {input}");
    }
}

#[test]
fn attr_paths_split_schema_attr_and_sub_attr() {
    let p = ap("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value");
    assert_eq!(p.schema.as_deref(), Some(ENT));
    assert_eq!(p.attr, "manager");
    assert_eq!(p.sub_attr.as_deref(), Some("value"));
    assert_eq!(p.key(), "manager.value");
    assert_eq!(ap("name.givenName").key(), "name.givenname");
    assert_eq!(ap("userName").key(), "username");
    assert_eq!(ap("meta.lastModified").key(), "meta.lastmodified");
}

#[test]
fn errors_are_helpful() {
    let cases = [
        ("", "filter is empty"),
        ("   ", "filter is empty"),
        ("userName eq \"bjensen", "unterminated string starting at position 13"),
        ("userName eq", "unexpected end of input at position 12, expected a value"),
        ("userName eq ", "unexpected end of input at position 13, expected a value"),
        ("userName foo \"x\"", "unexpected 'foo' at position 10, expected a comparison operator"),
        ("userName", "unexpected end of input at position 9, expected a comparison operator"),
        ("userName eq \"x\" foo", "unexpected 'foo' at position 17, expected 'and', 'or' or end of filter"),
        ("userName eq \"x\")", "unexpected ')' at position 16"),
        ("userName eq bjensen", "unexpected 'bjensen' at position 13, expected a value"),
        ("userName eq 2011-05-13", "invalid number '2011-05-13'"),
        ("(userName pr", "expected 'and', 'or' or ')'"),
        ("emails[type eq \"work\"", "expected 'and', 'or' or ']'"),
        ("emails[type eq \"work\"].value", "expected a comparison operator"),
        ("emails[name.x eq \"a\"]", "plain sub-attribute"),
        ("emails[x[y pr]]", "cannot contain another '['"),
        ("a eq \"\\q\"", "invalid escape"),
        ("not a pr", "unexpected 'a' at position 5, expected '(' after 'not'"),
        ("1abc eq \"x\"", "must start with a letter"),
        ("a.b.c eq \"x\"", "too many '.'"),
        ("a and b pr", "expected a comparison operator"),
        ("userName eq \"x\" and", "expected an attribute name or '('"),
        (":a pr", "missing schema URN"),
        ("a pr\"", "unexpected '\"' at position 5"),
    ];
    for (input, want) in cases {
        let err = parse(input).expect_err(input);
        assert!(err.0.contains(want), "input {input:?}: got {:?}, want {want:?}", err.0);
    }
}

#[test]
fn limits_reject_deep_nesting_and_long_input() {
    let nested = |n: usize| format!("{}a pr{}", "(".repeat(n), ")".repeat(n));
    assert!(parse(&nested(32)).is_ok());
    assert!(parse(&nested(33)).unwrap_err().0.contains("nested too deeply"));
    // Far deeper than the stack could take without the limit; must not overflow.
    let deep = "(".repeat(4000);
    assert!(parse(&deep).unwrap_err().0.contains("nested too deeply"));
    let nots = "not (".repeat(800);
    assert!(parse(&nots).unwrap_err().0.contains("nested too deeply"));
    let long = format!("userName eq \"{}\"", "x".repeat(4096));
    assert!(parse(&long).unwrap_err().0.contains("too long"));
    // A long flat chain is fine (no recursion per term).
    let chain = vec!["a pr"; 400].join(" and ");
    assert!(chain.len() <= MAX_INPUT);
    assert!(parse(&chain).is_ok());
    assert!(parse_path(&"(".repeat(5000)).unwrap_err().0.contains("too long"));
    let deep_path = format!("emails[{}a pr{}]", "(".repeat(40), ")".repeat(40));
    assert!(parse_path(&deep_path).unwrap_err().0.contains("nested too deeply"));
}

#[test]
fn patch_paths() {
    let cases: Vec<(&str, PatchPath)> = vec![
        ("members", PatchPath { attr: ap("members"), filter: None, sub_attr: None }),
        (
            "members[value eq \"2819c223-7f76-453a-919d-413861904646\"]",
            PatchPath {
                attr: ap("members"),
                filter: Some(eq("value", "2819c223-7f76-453a-919d-413861904646")),
                sub_attr: None,
            },
        ),
        (
            "emails[type eq \"work\"].value",
            PatchPath { attr: ap("emails"), filter: Some(eq("type", "work")), sub_attr: Some("value".into()) },
        ),
        ("name.familyName", PatchPath { attr: ap("name.familyName"), filter: None, sub_attr: None }),
        ("active", PatchPath { attr: ap("active"), filter: None, sub_attr: None }),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            PatchPath { attr: ap(&format!("{ENT}:employeeNumber")), filter: None, sub_attr: None },
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            PatchPath { attr: ap(&format!("{ENT}:manager")), filter: None, sub_attr: None },
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            PatchPath { attr: ap(&format!("{ENT}:manager.value")), filter: None, sub_attr: None },
        ),
        (
            "addresses[type eq \"work\"].streetAddress",
            PatchPath {
                attr: ap("addresses"),
                filter: Some(eq("type", "work")),
                sub_attr: Some("streetAddress".into()),
            },
        ),
    ];
    for (input, want) in cases {
        assert_eq!(parse_path(input), Ok(want), "input: {input}");
    }
    let nf = parse_path("name.familyName").unwrap();
    assert_eq!(nf.attr.attr, "name");
    assert_eq!(nf.attr.sub_attr.as_deref(), Some("familyName"));
}

#[test]
fn patch_path_errors_say_whether_filter_or_path() {
    let cases = [
        ("", false, "path is empty"),
        ("emails[type eq]", true, "expected a value"),
        ("emails[type eq \"work\"", true, "expected 'and', 'or' or ']'"),
        ("emails[type eq \"work\"]x", false, "expected end of path"),
        ("emails[type eq \"work\"].1x", false, "must start with a letter"),
        ("name.givenName[type eq \"x\"]", false, "not a sub-attribute"),
        ("emails eq", false, "expected end of path"),
        ("[x pr]", false, "expected an attribute name"),
    ];
    for (input, in_filter, want) in cases {
        let err = parse_path_detailed(input).expect_err(input);
        assert_eq!(err.in_filter, in_filter, "input {input:?}: {:?}", err.error);
        assert!(err.error.0.contains(want), "input {input:?}: got {:?}", err.error.0);
    }
}

/// Deterministic pseudo-random inputs: parsing must never panic, whatever the bytes.
pub(crate) fn fuzz_inputs(count: usize) -> Vec<String> {
    const PIECES: &[&str] = &[
        "userName", " eq ", "\"x\"", "(", ")", "[", "]", ".", ":", "not", " and ", " or ", "pr", "\\", "\"", "é", "😀",
        "urn:a:b", "$ref", "1", "-", "e", "true", " ", "value", "\\u00", "\t",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    (0..count)
        .map(|_| {
            let len = (next() % 12) as usize;
            (0..len).map(|_| PIECES[(next() % PIECES.len() as u64) as usize]).collect()
        })
        .collect()
}

#[test]
fn never_panics_on_garbage() {
    let user = bjensen();
    for input in fuzz_inputs(20_000) {
        if let Ok(f) = parse(&input) {
            let _ = f.matches(&user);
        }
        let _ = parse_path(&input);
    }
}

fn bjensen() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "BJensen-Ext",
        "userName": "BJensen@Example.com",
        "name": {"familyName": "O'Malley", "givenName": "Barbara"},
        "title": "Tour Guide",
        "userType": "Employee",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "ims": [{"value": "someaimhandle", "type": "aim"}],
        "nickName": "",
        "roles": [],
        "meta": {"lastModified": "2011-05-13T04:42:34Z", "version": "W/\"a330bc54f0671c9\""},
        "loginCount": 7,
        ENT: {"employeeNumber": "701984", "manager": {"value": "26118915"}}
    })
}

#[test]
fn matches_user_document() {
    let user = bjensen();
    let cases = [
        ("userName eq \"bjensen@example.com\"", true),
        ("USERNAME eq \"BJENSEN@EXAMPLE.COM\"", true),
        ("userName ne \"bjensen@example.com\"", false),
        ("userName sw \"bj\"", true),
        ("userName ew \"EXAMPLE.COM\"", true),
        ("name.familyName co \"o'mal\"", true),
        ("urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"B\"", true),
        ("title pr", true),
        ("nickName pr", false),
        ("roles pr", false),
        ("missing pr", false),
        ("meta.lastModified gt \"2011-05-13T04:42:33Z\"", true),
        ("meta.lastModified gt \"2011-05-13T04:42:34Z\"", false),
        ("meta.lastModified ge \"2011-05-13T04:42:34Z\"", true),
        ("meta.lastModified lt \"2011-05-14T00:00:00Z\"", true),
        ("meta.lastModified le \"2011-05-12T00:00:00Z\"", false),
        ("title pr and userType eq \"Employee\"", true),
        ("title pr and userType eq \"Intern\"", false),
        ("title pr or userType eq \"Intern\"", true),
        ("schemas eq \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"", true),
        ("userType eq \"Employee\" and (emails co \"example.com\" or emails.value co \"example.org\")", true),
        ("userType ne \"Employee\" and not (emails co \"example.com\" or emails.value co \"example.org\")", false),
        ("userType eq \"Employee\" and (emails.type eq \"work\")", true),
        ("userType eq \"Employee\" and emails[type eq \"work\" and value co \"@example.com\"]", true),
        ("emails[type eq \"home\" and value co \"@example.com\"]", false),
        (
            "emails[type eq \"work\" and value co \"@example.com\"] or ims[type eq \"xmpp\" and value co \"@foo.com\"]",
            true,
        ),
        ("emails[type eq \"work\"].value eq \"BJENSEN@example.com\"", true),
        ("emails[type eq \"home\"].value eq \"bjensen@example.com\"", false),
        ("emails[type eq \"work\"].value pr", true),
        ("emails.value eq \"babs@jensen.org\"", true),
        ("emails[primary eq true].value eq \"bjensen@example.com\"", true),
        ("active eq true", true),
        ("active ne true", false),
        ("active gt true", false),
        ("loginCount gt 5", true),
        ("loginCount le 6.5", false),
        ("loginCount eq 7", true),
        ("loginCount co 7", false),
        ("externalId eq \"BJensen-Ext\"", true),
        ("externalId eq \"bjensen-ext\"", false),
        ("id eq \"2819C223-7F76-453A-919D-413861904646\"", false),
        ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"701984\"", true),
        ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"26118915\"", true),
        ("urn:acme:ext:User:employeeNumber eq \"701984\"", false),
        ("title eq null", false),
        ("missing eq null", true),
        ("missing ne \"x\"", true),
        ("title ne null", true),
        ("not (title pr)", false),
    ];
    for (input, want) in cases {
        assert_eq!(parse(input).unwrap().matches(&user), want, "filter: {input}");
    }
}

#[test]
fn matches_group_members_case_exact() {
    let group = json!({
        "displayName": "Test SCIMv2",
        "members": [{"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173", "display": "test.user@okta.local"}]
    });
    let cases = [
        ("members[value eq \"23a35c27-23d3-4c03-b4c5-6443c09e7173\"]", true),
        ("members[value eq \"23A35C27-23D3-4C03-B4C5-6443C09E7173\"]", false),
        ("members.value eq \"23A35C27-23D3-4C03-B4C5-6443C09E7173\"", false),
        ("members eq \"23a35c27-23d3-4c03-b4c5-6443c09e7173\"", true),
        ("displayName eq \"test scimv2\"", true),
    ];
    for (input, want) in cases {
        assert_eq!(parse(input).unwrap().matches(&group), want, "filter: {input}");
    }
}
