use super::*;
use crate::Error;
use crate::scim::SCHEMA_USER as CORE_USER;
use serde_json::json;

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const M1: &str = "2819c223-7f76-453a-919d-413861904646";
const M2: &str = "902c246b-6245-4190-8e05-00816be7344a";

fn ops(operations: Value) -> Vec<PatchOp> {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": operations
    });
    serde_json::from_value::<PatchRequest>(body).unwrap().operations
}

fn user() -> Value {
    json!({
        "schemas": [CORE_USER],
        "id": "u1",
        "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "addresses": [
            {"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood"}
        ],
        "meta": {"resourceType": "User"}
    })
}

type Checks = Vec<(String, Option<Value>)>;

fn at(pointer: &str, value: Value) -> (String, Option<Value>) {
    (pointer.to_string(), Some(value))
}
fn gone(pointer: &str) -> (String, Option<Value>) {
    (pointer.to_string(), None)
}
fn ent(rest: &str) -> String {
    format!("/{ENT}{rest}")
}

#[test]
fn user_patch_table() {
    let cases: Vec<(&str, Value, Result<Checks, &str>)> = vec![
        (
            "okta deactivate: path-less replace",
            json!([{"op": "replace", "value": {"active": false}}]),
            Ok(vec![at("/active", json!(false)), at("/userName", json!("bjensen@example.com"))]),
        ),
        (
            "okta reactivate",
            json!([{"op": "replace", "value": {"active": false}}, {"op": "replace", "value": {"active": true}}]),
            Ok(vec![at("/active", json!(true))]),
        ),
        (
            "entra Replace active \"False\"",
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
            Ok(vec![at("/active", json!(false))]),
        ),
        (
            "entra active \"TRUE\"",
            json!([{"op": "Replace", "path": "active", "value": "False"}, {"op": "Replace", "path": "active", "value": "TRUE"}]),
            Ok(vec![at("/active", json!(true))]),
        ),
        ("active must be boolean", json!([{"op": "replace", "path": "active", "value": "no"}]), Err("invalidValue")),
        ("active null", json!([{"op": "replace", "path": "active", "value": null}]), Err("invalidValue")),
        ("active number", json!([{"op": "replace", "value": {"active": 0}}]), Err("invalidValue")),
        (
            "entra path-less map with dotted and URN keys",
            json!([{"op": "replace", "value": {
                "name.givenName": "Babs",
                "displayName": "Babs Jensen",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "701984",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": {"value": "m1"},
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Tour Operations"
            }}]),
            Ok(vec![
                at("/name/givenName", json!("Babs")),
                at("/name/familyName", json!("Jensen")),
                at("/displayName", json!("Babs Jensen")),
                at(&ent("/employeeNumber"), json!("701984")),
                at(&ent("/manager/value"), json!("m1")),
                at(&ent("/department"), json!("Tour Operations")),
                at("/schemas/1", json!(ENT)),
            ]),
        ),
        (
            "path-less map: extension URN key with object merges",
            json!([
                {"op": "add", "value": {ENT: {"department": "Tour", "costCenter": "4130"}}},
                {"op": "replace", "value": {ENT: {"department": "Sales", "manager": {"value": "m9", "displayName": "Boss"}}}}
            ]),
            Ok(vec![
                at(&ent("/department"), json!("Sales")),
                at(&ent("/costCenter"), json!("4130")),
                at(&ent("/manager/displayName"), json!("Boss")),
            ]),
        ),
        (
            "entra one op per enterprise path",
            json!([{"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "42"}]),
            Ok(vec![at(&ent("/employeeNumber"), json!("42")), at("/schemas/1", json!(ENT))]),
        ),
        (
            "entra manager as bare id",
            json!([{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "m2"}]),
            Ok(vec![at(&ent("/manager"), json!({"value": "m2"}))]),
        ),
        (
            "entra manager as one-element array with null $ref",
            json!([{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": [{"$ref": null, "value": "m3"}]}]),
            Ok(vec![at(&ent("/manager"), json!({"value": "m3"}))]),
        ),
        (
            "manager.value path",
            json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", "value": "m4"}]),
            Ok(vec![at(&ent("/manager/value"), json!("m4"))]),
        ),
        (
            "emptied extension is dropped from doc and schemas",
            json!([
                {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": {"value": "m1"}},
                {"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}
            ]),
            Ok(vec![gone(&ent("")), gone("/schemas/1")]),
        ),
        (
            "remove whole extension by URN path",
            json!([
                {"op": "add", "path": ENT, "value": {"division": "Theme Park"}},
                {"op": "remove", "path": ENT}
            ]),
            Ok(vec![gone(&ent("")), gone("/schemas/1")]),
        ),
        (
            "entra Add on single-valued = replace",
            json!([{"op": "Add", "path": "nickName", "value": "Babs"}, {"op": "Add", "path": "nickName", "value": "Babsy"}]),
            Ok(vec![at("/nickName", json!("Babsy"))]),
        ),
        (
            "rfc add emails: union appends only new",
            json!([{"op": "add", "path": "emails", "value": [
                {"value": "babs@jensen.org", "type": "home"},
                {"value": "new@example.com", "type": "other"}
            ]}]),
            Ok(vec![at("/emails/2/value", json!("new@example.com")), gone("/emails/3")]),
        ),
        (
            "add union is case-insensitive on value",
            json!([{"op": "add", "path": "emails", "value": [{"value": "BJENSEN@example.com", "type": "work"}]}]),
            Ok(vec![at("/emails/0/value", json!("bjensen@example.com")), gone("/emails/2")]),
        ),
        (
            "path-less add of emails is a union too",
            json!([{"op": "add", "value": {"emails": [{"value": "babs@jensen.org"}, {"value": "x@y.z"}]}}]),
            Ok(vec![at("/emails/2/value", json!("x@y.z")), gone("/emails/3")]),
        ),
        (
            "added primary clears other primaries; \"True\" coerced",
            json!([{"op": "add", "path": "emails", "value": [{"value": "n@x.com", "Primary": "True"}]}]),
            Ok(vec![
                at("/emails/0/primary", json!(false)),
                at("/emails/2", json!({"value": "n@x.com", "primary": true})),
            ]),
        ),
        (
            "primary must be boolean",
            json!([{"op": "add", "path": "emails", "value": [{"value": "n@x.com", "primary": "yes"}]}]),
            Err("invalidValue"),
        ),
        (
            "replace multi-valued without filter replaces the list",
            json!([{"op": "replace", "path": "emails", "value": [{"value": "only@x.com", "type": "work"}]}]),
            Ok(vec![at("/emails", json!([{"value": "only@x.com", "type": "work"}]))]),
        ),
        (
            "replace list with two primaries",
            json!([{"op": "replace", "path": "emails", "value": [{"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}]}]),
            Err("invalidValue"),
        ),
        (
            "rfc replace emails[type eq \"work\"].value",
            json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "barbara@example.com"}]),
            Ok(vec![
                at("/emails/0", json!({"value": "barbara@example.com", "type": "work", "primary": true})),
                at("/emails/1/value", json!("babs@jensen.org")),
            ]),
        ),
        (
            "entra replace on a missing work email adds it",
            json!([
                {"op": "remove", "path": "emails[type eq \"work\"]"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "w@x.com"}
            ]),
            Ok(vec![at("/emails/1", json!({"type": "work", "value": "w@x.com"})), gone("/emails/2")]),
        ),
        (
            "filtered replace upserts into an absent attribute",
            json!([{"op": "replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"}]),
            Ok(vec![at("/phoneNumbers", json!([{"type": "mobile", "value": "+1 555 0100"}]))]),
        ),
        (
            "validator: emails[primary eq true].value",
            json!([{"op": "replace", "path": "emails[primary eq true].value", "value": "p@x.com"}]),
            Ok(vec![at("/emails/0/value", json!("p@x.com")), at("/emails/1/value", json!("babs@jensen.org"))]),
        ),
        (
            "add with a filter behaves like replace",
            json!([{"op": "add", "path": "emails[type eq \"work\"].value", "value": "w2@x.com"}]),
            Ok(vec![at("/emails/0/value", json!("w2@x.com")), gone("/emails/2")]),
        ),
        (
            "filtered replace, no match, non-eq filter",
            json!([{"op": "replace", "path": "emails[value co \"zzz\"].type", "value": "work"}]),
            Err("noTarget"),
        ),
        (
            "rfc replace addresses[type eq \"work\"] merges the object",
            json!([{"op": "replace", "path": "addresses[type eq \"work\"]", "value": {
                "type": "work", "streetAddress": "911 Universal City Plaza", "postalcode": "91608", "primary": true
            }}]),
            Ok(vec![
                at("/addresses/0/streetAddress", json!("911 Universal City Plaza")),
                at("/addresses/0/locality", json!("Hollywood")),
                at("/addresses/0/postalCode", json!("91608")),
                at("/addresses/0/primary", json!(true)),
            ]),
        ),
        (
            "rfc replace addresses[type eq \"work\"].streetAddress",
            json!([{"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1010 Broadway Ave"}]),
            Ok(vec![at("/addresses/0/streetAddress", json!("1010 Broadway Ave"))]),
        ),
        (
            "filtered replace needs an object without sub-attribute",
            json!([{"op": "replace", "path": "addresses[type eq \"work\"]", "value": "x"}]),
            Err("invalidValue"),
        ),
        (
            "remove by filter removes matches only",
            json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
            Ok(vec![at("/emails/0/type", json!("work")), gone("/emails/1")]),
        ),
        (
            "remove by filter with no match is a no-op",
            json!([{"op": "remove", "path": "emails[type eq \"other\"]"}]),
            Ok(vec![at("/emails/1/type", json!("home"))]),
        ),
        (
            "remove a sub-attribute of matching elements",
            json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]),
            Ok(vec![at("/emails/0", json!({"value": "bjensen@example.com", "type": "work"}))]),
        ),
        (
            "entra remove with value array removes listed elements only",
            json!([{"op": "Remove", "path": "emails", "value": [{"value": "BABS@jensen.org"}]}]),
            Ok(vec![at("/emails/0/value", json!("bjensen@example.com")), gone("/emails/1")]),
        ),
        (
            "remove multi-valued without value removes all",
            json!([{"op": "remove", "path": "emails"}]),
            Ok(vec![gone("/emails")]),
        ),
        (
            "remove simple attribute",
            json!([{"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "nickName"}]),
            Ok(vec![gone("/name/givenName"), at("/name/familyName", json!("Jensen"))]),
        ),
        ("remove without path", json!([{"op": "remove", "value": {"active": false}}]), Err("noTarget")),
        ("remove userName", json!([{"op": "remove", "path": "userName"}]), Err("invalidValue")),
        ("remove active", json!([{"op": "remove", "path": "active"}]), Err("mutability")),
        ("empty userName", json!([{"op": "replace", "path": "userName", "value": " "}]), Err("invalidValue")),
        (
            "entra replace userName; existing key casing kept",
            json!([{"op": "Replace", "path": "USERNAME", "value": "Babs@Example.com"}]),
            Ok(vec![at("/userName", json!("Babs@Example.com")), gone("/USERNAME")]),
        ),
        (
            "case-insensitive names get canonical casing",
            json!([{"op": "replace", "path": "NAME.GIVENNAME", "value": "B"}, {"op": "add", "path": "displayname", "value": "D"},
                   {"op": "add", "value": {"PREFERREDLANGUAGE": "en", "Name.MiddleName": "M"}}]),
            Ok(vec![
                at("/name/givenName", json!("B")),
                at("/displayName", json!("D")),
                at("/preferredLanguage", json!("en")),
                at("/name/middleName", json!("M")),
            ]),
        ),
        (
            "unknown attribute keeps the casing sent",
            json!([{"op": "add", "path": "favoriteColor", "value": "blue"}]),
            Ok(vec![at("/favoriteColor", json!("blue"))]),
        ),
        (
            "unknown extension kept under its URN",
            json!([{"op": "add", "path": "urn:acme:params:scim:ext:2.0:User:badge", "value": "7"},
                   {"op": "add", "value": {"urn:acme:params:scim:ext:2.0:User": {"floor": 3}}}]),
            Ok(vec![
                at("/urn:acme:params:scim:ext:2.0:User", json!({"badge": "7", "floor": 3})),
                at("/schemas/1", json!("urn:acme:params:scim:ext:2.0:User")),
            ]),
        ),
        (
            "replace on name merges sub-attributes",
            json!([{"op": "replace", "path": "name", "value": {"givenname": "B", "formatted": "B Jensen"}}]),
            Ok(vec![at("/name", json!({"givenName": "B", "familyName": "Jensen", "formatted": "B Jensen"}))]),
        ),
        ("name must be an object", json!([{"op": "replace", "path": "name", "value": "Babs"}]), Err("invalidValue")),
        (
            "simple attribute given a list",
            json!([{"op": "replace", "path": "title", "value": ["a"]}]),
            Err("invalidValue"),
        ),
        (
            "id equal to the current id is a no-op",
            json!([{"op": "replace", "value": {"id": "u1", "active": false}}, {"op": "replace", "path": "id", "value": "u1"}]),
            Ok(vec![at("/id", json!("u1")), at("/active", json!(false))]),
        ),
        ("different id in a value map", json!([{"op": "replace", "value": {"id": "u2"}}]), Err("mutability")),
        ("different id as a path", json!([{"op": "replace", "path": "id", "value": "u2"}]), Err("mutability")),
        ("remove id", json!([{"op": "remove", "path": "id"}]), Err("mutability")),
        (
            "okta PUT-like map: meta, schemas, groups ignored",
            json!([{"op": "replace", "value": {"schemas": ["x"], "meta": {"resourceType": "X"}, "groups": [], "title": "T"}}]),
            Ok(vec![
                at("/schemas", json!([CORE_USER])),
                at("/meta/resourceType", json!("User")),
                gone("/groups"),
                at("/title", json!("T")),
            ]),
        ),
        (
            "meta as explicit path",
            json!([{"op": "replace", "path": "meta.lastModified", "value": "x"}]),
            Err("mutability"),
        ),
        (
            "groups as explicit path",
            json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}]),
            Err("mutability"),
        ),
        ("schemas as explicit path", json!([{"op": "add", "path": "schemas", "value": ["x"]}]), Err("mutability")),
        (
            "password is set like any attribute",
            json!([{"op": "replace", "path": "password", "value": "1mz050nq"}]),
            Ok(vec![at("/password", json!("1mz050nq"))]),
        ),
        (
            "unterminated filter in path",
            json!([{"op": "remove", "path": "emails[type eq \"work\""}]),
            Err("invalidFilter"),
        ),
        (
            "bad filter operator in path",
            json!([{"op": "remove", "path": "emails[type is \"work\"]"}]),
            Err("invalidFilter"),
        ),
        ("bad path syntax", json!([{"op": "replace", "path": "name..givenName", "value": "x"}]), Err("invalidPath")),
        ("path starting with digit", json!([{"op": "replace", "path": "1abc", "value": "x"}]), Err("invalidPath")),
        (
            "filter on single-valued attribute",
            json!([{"op": "replace", "path": "name[givenName eq \"x\"]", "value": {}}]),
            Err("invalidPath"),
        ),
        (
            "sub-attribute of simple attribute",
            json!([{"op": "replace", "path": "userName.first", "value": "x"}]),
            Err("invalidPath"),
        ),
        (
            "Group schema on a user",
            json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:displayName", "value": "x"}]),
            Err("invalidPath"),
        ),
        ("non-object value for path-less op", json!([{"op": "replace", "value": "active"}]), Err("invalidValue")),
        ("path-less op without value", json!([{"op": "add"}]), Err("invalidValue")),
        ("add with path but no value", json!([{"op": "add", "path": "title"}]), Err("invalidValue")),
        (
            "core User URN prefix on path and as a map key",
            json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:title", "value": "A"},
                   {"op": "replace", "value": {"urn:ietf:params:scim:schemas:core:2.0:User": {"userType": "Employee"}}}]),
            Ok(vec![at("/title", json!("A")), at("/userType", json!("Employee"))]),
        ),
        (
            "empty path is treated as absent",
            json!([{"op": "replace", "path": "", "value": {"active": false}}]),
            Ok(vec![at("/active", json!(false))]),
        ),
        (
            "null value removes the attribute",
            json!([{"op": "replace", "value": {"title": "x"}}, {"op": "replace", "path": "title", "value": null}]),
            Ok(vec![gone("/title")]),
        ),
        (
            "ims.value without filter sets every element",
            json!([{"op": "replace", "path": "ims.value", "value": "aim1"}]),
            Ok(vec![at("/ims", json!([{"value": "aim1"}]))]),
        ),
    ];
    let total = cases.len();
    for (name, operations, want) in cases {
        let mut doc = user();
        let result = apply_user(&mut doc, &ops(operations));
        match (result, want) {
            (Ok(()), Ok(checks)) => {
                for (pointer, expected) in checks {
                    assert_eq!(doc.pointer(&pointer), expected.as_ref(), "{name}: {pointer} in {doc:#}");
                }
            }
            (Err(e), Err(kind)) => {
                assert_eq!(e.scim().1, Some(kind), "{name}: {e}");
                assert!(!e.to_string().is_empty());
                assert_eq!(doc, user(), "{name}: failed PATCH must leave the doc unchanged");
            }
            (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
        }
    }
    assert!(total > 60);
}

#[test]
fn failed_patch_is_atomic() {
    let mut doc = user();
    let err = apply_user(
        &mut doc,
        &ops(json!([
            {"op": "replace", "path": "displayName", "value": "x"},
            {"op": "remove", "path": "userName"}
        ])),
    )
    .unwrap_err();
    assert!(matches!(&err, Error::InvalidValue(m) if m == "userName is required"), "{err}");
    assert_eq!(doc, user());
}

#[test]
fn non_object_document_is_an_error() {
    let mut doc = json!([1]);
    assert!(apply_user(&mut doc, &[]).is_err());
}

fn group(id: &str, operations: Value) -> Result<GroupPatch, Error> {
    group_patch(id, &ops(operations))
}

fn members(list: Vec<MemberOp>) -> GroupPatch {
    GroupPatch { members: list, ..GroupPatch::default() }
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn group_patch_table() {
    use MemberOp::*;
    let cases: Vec<(&str, Value, Result<GroupPatch, &str>)> = vec![
        (
            "rfc add member",
            json!([{"op": "add", "path": "members", "value": [{
                "display": "Babs Jensen",
                "$ref": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646",
                "value": M1
            }]}]),
            Ok(members(vec![Add(ids(&[M1]))])),
        ),
        (
            "rfc remove member by filter",
            json!([{"op": "remove", "path": format!("members[value eq \"{M1}\"]")}]),
            Ok(members(vec![Remove(ids(&[M1]))])),
        ),
        ("rfc remove all members", json!([{"op": "remove", "path": "members"}]), Ok(members(vec![RemoveAll]))),
        (
            "rfc replace members via remove + add",
            json!([
                {"op": "remove", "path": "members"},
                {"op": "add", "path": "members", "value": [{"display": "Babs Jensen", "value": M1}, {"display": "James Smith", "value": M2}]}
            ]),
            Ok(members(vec![RemoveAll, Add(ids(&[M1, M2]))])),
        ),
        (
            "okta full push: replace members",
            json!([{"op": "replace", "path": "members", "value": [{"value": M1, "display": "a"}, {"value": M2, "display": "b"}]}]),
            Ok(members(vec![Replace(ids(&[M1, M2]))])),
        ),
        (
            "replace members with empty list clears",
            json!([{"op": "replace", "path": "members", "value": []}]),
            Ok(members(vec![Replace(vec![])])),
        ),
        (
            "okta remove by filter then add keeps order",
            json!([
                {"op": "remove", "path": "members[value eq \"89bb1940-b905-4575-9e7f-6f887cfb368e\"]"},
                {"op": "add", "path": "members", "value": [{"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173", "display": "test.user@okta.local"}]}
            ]),
            Ok(members(vec![
                Remove(ids(&["89bb1940-b905-4575-9e7f-6f887cfb368e"])),
                Add(ids(&["23a35c27-23d3-4c03-b4c5-6443c09e7173"])),
            ])),
        ),
        (
            "okta rename with id inside value",
            json!([{"op": "replace", "value": {"id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b", "displayName": "Test SCIMv2"}}]),
            Ok(GroupPatch { display_name: Some("Test SCIMv2".into()), ..GroupPatch::default() }),
        ),
        (
            "okta rename with a different id",
            json!([{"op": "replace", "value": {"id": "other", "displayName": "Test SCIMv2"}}]),
            Err("mutability"),
        ),
        (
            "entra rename",
            json!([{"op": "Replace", "path": "displayName", "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}]),
            Ok(GroupPatch {
                display_name: Some("1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName".into()),
                ..GroupPatch::default()
            }),
        ),
        (
            "entra add member with null $ref",
            json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "f648f8d5ea4e4cd38e9c"}]}]),
            Ok(members(vec![Add(ids(&["f648f8d5ea4e4cd38e9c"]))])),
        ),
        (
            "entra remove member by value array",
            json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": "u1091"}]}]),
            Ok(members(vec![Remove(ids(&["u1091"]))])),
        ),
        (
            "members filter joined with or",
            json!([{"op": "remove", "path": "members[value eq \"a\" or value eq \"b\"]"}]),
            Ok(members(vec![Remove(ids(&["a", "b"]))])),
        ),
        (
            "members filter on display",
            json!([{"op": "remove", "path": "members[display eq \"x\"]"}]),
            Err("invalidFilter"),
        ),
        ("members filter with ne", json!([{"op": "remove", "path": "members[value ne \"x\"]"}]), Err("invalidFilter")),
        (
            "members filter with and",
            json!([{"op": "remove", "path": "members[value eq \"x\" and type eq \"User\"]"}]),
            Err("invalidFilter"),
        ),
        (
            "unparsable members filter",
            json!([{"op": "remove", "path": "members[value eq \"x\""}]),
            Err("invalidFilter"),
        ),
        (
            "add with members filter",
            json!([{"op": "add", "path": "members[value eq \"x\"]", "value": [{"value": "x"}]}]),
            Err("invalidPath"),
        ),
        ("members.value path", json!([{"op": "remove", "path": "members.value"}]), Err("invalidPath")),
        (
            "member without value",
            json!([{"op": "add", "path": "members", "value": [{"display": "x"}]}]),
            Err("invalidValue"),
        ),
        (
            "member value not a string",
            json!([{"op": "add", "path": "members", "value": [{"value": 7}]}]),
            Err("invalidValue"),
        ),
        ("members value not a list", json!([{"op": "add", "path": "members", "value": "x"}]), Err("invalidValue")),
        ("add members without value", json!([{"op": "add", "path": "members"}]), Err("invalidValue")),
        (
            "ids kept exactly; consecutive adds merged and deduplicated",
            json!([
                {"op": "add", "path": "members", "value": [{"value": "ABC"}]},
                {"op": "add", "path": "members", "value": [{"value": "abc"}, {"value": "ABC"}]}
            ]),
            Ok(members(vec![Add(ids(&["ABC", "abc"]))])),
        ),
        (
            "interleaved kinds are not merged",
            json!([
                {"op": "add", "path": "members", "value": [{"value": "a"}]},
                {"op": "remove", "path": "members[value eq \"b\"]"},
                {"op": "remove", "path": "members", "value": [{"value": "c"}]},
                {"op": "add", "path": "members", "value": {"value": "d"}}
            ]),
            Ok(members(vec![Add(ids(&["a"])), Remove(ids(&["b", "c"])), Add(ids(&["d"]))])),
        ),
        (
            "path-less map with members, schemas and meta",
            json!([{"op": "replace", "value": {"schemas": ["x"], "meta": {}, "members": [{"value": "a"}], "externalId": "e1"}}]),
            Ok(GroupPatch {
                external_id: Some(Some("e1".into())),
                members: vec![Replace(ids(&["a"]))],
                ..GroupPatch::default()
            }),
        ),
        (
            "externalId replace then remove",
            json!([{"op": "replace", "path": "externalId", "value": "e1"}, {"op": "remove", "path": "externalId"}]),
            Ok(GroupPatch { external_id: Some(None), ..GroupPatch::default() }),
        ),
        ("externalId not a string", json!([{"op": "replace", "path": "externalId", "value": 5}]), Err("invalidValue")),
        ("remove displayName", json!([{"op": "remove", "path": "displayName"}]), Err("invalidValue")),
        ("empty displayName", json!([{"op": "replace", "path": "displayName", "value": "  "}]), Err("invalidValue")),
        ("displayName not a string", json!([{"op": "replace", "value": {"displayName": 3}}]), Err("invalidValue")),
        ("unknown attribute", json!([{"op": "replace", "path": "description", "value": "x"}]), Err("invalidPath")),
        ("unknown attribute in map", json!([{"op": "replace", "value": {"owner": "x"}}]), Err("invalidPath")),
        (
            "foreign schema",
            json!([{"op": "replace", "path": "urn:acme:ext:Group:owner", "value": "x"}]),
            Err("invalidPath"),
        ),
        (
            "core Group URN prefix accepted",
            json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:displayName", "value": "G"}]),
            Ok(GroupPatch { display_name: Some("G".into()), ..GroupPatch::default() }),
        ),
        ("remove without path", json!([{"op": "remove"}]), Err("noTarget")),
        ("path-less value not an object", json!([{"op": "replace", "value": [1]}]), Err("invalidValue")),
        ("meta as explicit path", json!([{"op": "replace", "path": "meta", "value": {}}]), Err("mutability")),
        ("remove id", json!([{"op": "remove", "path": "id"}]), Err("mutability")),
    ];
    for (name, operations, want) in cases {
        let id = "abf4dd94-a4c0-4f67-89c9-76b03340cb9b";
        match (group(id, operations), want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{name}"),
            (Err(e), Err(kind)) => assert_eq!(e.scim().1, Some(kind), "{name}: {e}"),
            (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn unknown_group_attribute_is_named() {
    let err = group("g", json!([{"op": "replace", "path": "description", "value": "x"}])).unwrap_err();
    assert!(err.to_string().contains("description"), "{err}");
}

#[test]
fn op_names_deserialize_case_insensitively() {
    for (name, kind) in [
        ("add", OpKind::Add),
        ("Add", OpKind::Add),
        ("REMOVE", OpKind::Remove),
        ("Replace", OpKind::Replace),
        ("rePlace", OpKind::Replace),
    ] {
        let op: PatchOp = serde_json::from_value(json!({"op": name, "path": "title", "value": "x"})).unwrap();
        assert_eq!(op.op, kind, "{name}");
    }
    let err = serde_json::from_value::<PatchOp>(json!({"op": "move", "path": "title"})).unwrap_err();
    assert!(err.to_string().contains("move"), "{err}");
    assert!(serde_json::from_value::<PatchOp>(json!({"op": 1})).is_err());
    assert!(serde_json::from_value::<PatchOp>(json!({"path": "x"})).is_err());
    let req: PatchRequest = serde_json::from_value(json!({"operations": [{"op": "remove", "path": "x"}]})).unwrap();
    assert!(req.schemas.is_empty());
    assert_eq!(req.operations.len(), 1);
    assert_eq!(req.operations[0].value, None);
    let op: PatchOp = serde_json::from_value(json!({"op": "replace", "path": "x", "value": null})).unwrap();
    assert_eq!(op.value, Some(Value::Null));
    assert!(serde_json::from_value::<PatchRequest>(json!({"Operations": [{"op": "copy"}]})).is_err());
}

#[test]
fn never_panics_on_garbage_paths() {
    let values =
        [json!(null), json!("x"), json!(true), json!([{"value": "a", "primary": true}]), json!({"value": "a"})];
    for (i, path) in crate::scim::filter::tests::fuzz_inputs(5_000).into_iter().enumerate() {
        for kind in ["add", "replace", "remove"] {
            let value = &values[i % values.len()];
            let ops = ops(json!([{"op": kind, "path": path, "value": value}]));
            let _ = apply_user(&mut user(), &ops);
            let _ = group_patch("g", &ops);
        }
    }
}
