//! The SCIM 2.0 wire format (RFC 7643 schemas, RFC 7644 protocol). Pure: no I/O.
pub mod filter;
pub mod patch;
pub mod resource;

/// RFC 7644 §3.1: responses use this media type; requests may also use `application/json`.
pub const CONTENT_TYPE: &str = "application/scim+json";
pub const SCHEMA_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const SCHEMA_ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const SCHEMA_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const SCHEMA_LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SCHEMA_PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const SCHEMA_ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const SCHEMA_SERVICE_PROVIDER_CONFIG: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const SCHEMA_RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// Multi-valued attributes of the core User schema (RFC 7643 §4.1.2). One list for the PATCH engine and validation.
pub const USER_MULTI_VALUED: [&str; 8] =
    ["emails", "phoneNumbers", "ims", "photos", "addresses", "entitlements", "roles", "x509Certificates"];

/// The most resources one list page returns; advertised as `filter.maxResults` in /ServiceProviderConfig.
pub const MAX_PAGE: i64 = 500;
/// The page size when a client sends no `count` (RFC 7644 §3.4.2.4 leaves it to the server).
pub const DEFAULT_PAGE: i64 = 100;
/// The largest request body, advertised as `bulk.maxPayloadSize`; larger bodies get 413.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// The most operations one PATCH may carry; more get 400 `tooMany`.
pub const MAX_PATCH_OPS: usize = 1000;
/// The longest value, in characters, of an attribute roster indexes (externalId, displayName, name.familyName, email
/// values; a group's displayName and externalId). PostgreSQL refuses a B-tree entry over 2,704 bytes, so without this
/// cap a long value was a 500 on PostgreSQL and fine on SQLite; now it is the same 400 `invalidValue` on both.
pub const MAX_INDEXED_CHARS: usize = 512;

/// The message for an indexed attribute longer than [`MAX_INDEXED_CHARS`], or `None` when it fits.
pub fn too_long(what: &str, value: &str) -> Option<String> {
    (value.chars().count() > MAX_INDEXED_CHARS)
        .then(|| format!("{what} is longer than {MAX_INDEXED_CHARS} characters, the most roster stores"))
}
