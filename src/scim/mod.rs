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

/// The most resources one list page returns; advertised as `filter.maxResults` in /ServiceProviderConfig.
pub const MAX_PAGE: i64 = 500;
/// The page size when a client sends no `count` (RFC 7644 §3.4.2.4 leaves it to the server).
pub const DEFAULT_PAGE: i64 = 100;
/// The largest request body, advertised as `bulk.maxPayloadSize`; larger bodies get 413.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// The most operations one PATCH may carry; more get 400 `tooMany`.
pub const MAX_PATCH_OPS: usize = 1000;
