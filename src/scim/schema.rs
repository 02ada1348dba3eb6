//! The SCIM schemas roster serves, as one table (RFC 7643 §4 and §7). The PATCH engine takes attribute names, shapes
//! and sub-attributes from it; body validation takes types and length caps; `/Schemas` is rendered from it; and the
//! filter allow-list is the set of attributes marked [`Attribute::filter`], which the store maps to indexed columns.
use super::filter::AttrPath;
use super::{SCHEMA_ENTERPRISE_USER, SCHEMA_GROUP, SCHEMA_USER};
use crate::Error;

/// An attribute's data type (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    String,
    Boolean,
    DateTime,
    Reference,
    Complex,
    Binary,
}

/// RFC 7643 §7 `mutability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    WriteOnly,
}

/// RFC 7643 §7 `returned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Default,
    Never,
}

/// RFC 7643 §7 `uniqueness`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
}

/// An attribute a filter may name. Each is backed by an indexed column (or an indexed side table), so a filter never
/// loads rows to test them; the store maps each variant to its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterAttr {
    Id,
    ExternalId,
    Created,
    LastModified,
    UserName,
    /// A User's or a Group's `displayName`.
    DisplayName,
    GivenName,
    FamilyName,
    Active,
    /// `emails` and `emails.value`.
    EmailValue,
    EmailType,
    EmailPrimary,
    /// A Group's `members` and `members.value`.
    Member,
}

/// One attribute definition (RFC 7643 §7).
#[derive(Debug, Clone, Copy)]
pub struct Attribute {
    pub name: &'static str,
    pub ty: Type,
    pub multi_valued: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub description: &'static str,
    pub sub_attributes: &'static [Attribute],
    /// Set when filters may name this attribute.
    pub filter: Option<FilterAttr>,
}

const fn attr(name: &'static str, ty: Type, description: &'static str) -> Attribute {
    Attribute {
        name,
        ty,
        multi_valued: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        uniqueness: Uniqueness::None,
        description,
        sub_attributes: &[],
        filter: None,
    }
}

const fn string(name: &'static str, description: &'static str) -> Attribute {
    attr(name, Type::String, description)
}

const fn boolean(name: &'static str, description: &'static str) -> Attribute {
    attr(name, Type::Boolean, description)
}

const fn complex(name: &'static str, description: &'static str, subs: &'static [Attribute]) -> Attribute {
    Attribute { sub_attributes: subs, ..attr(name, Type::Complex, description) }
}

impl Attribute {
    const fn multi(self) -> Self {
        Attribute { multi_valued: true, ..self }
    }
    const fn required(self) -> Self {
        Attribute { required: true, ..self }
    }
    const fn exact(self) -> Self {
        Attribute { case_exact: true, ..self }
    }
    const fn read_only(self) -> Self {
        Attribute { mutability: Mutability::ReadOnly, ..self }
    }
    const fn write_only(self) -> Self {
        Attribute { mutability: Mutability::WriteOnly, returned: Returned::Never, ..self }
    }
    const fn always(self) -> Self {
        Attribute { returned: Returned::Always, ..self }
    }
    const fn unique(self) -> Self {
        Attribute { uniqueness: Uniqueness::Server, ..self }
    }
    const fn filter(self, f: FilterAttr) -> Self {
        Attribute { filter: Some(f), ..self }
    }

    /// A sub-attribute by name, ignoring case (RFC 7643 §2.1: attribute names are case-insensitive).
    pub fn sub(&self, name: &str) -> Option<&'static Attribute> {
        find(self.sub_attributes, name)
    }

    /// Whether roster stores this attribute in an indexed column, so its values are capped at
    /// [`super::MAX_INDEXED_CHARS`].
    pub fn indexed(&self) -> bool {
        self.filter.is_some() && self.ty == Type::String
    }
}

/// An attribute of `list` by name, ignoring case.
pub fn find(list: &'static [Attribute], name: &str) -> Option<&'static Attribute> {
    list.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// The sub-attributes of `emails`, `phoneNumbers`, `ims`, `photos`, `entitlements`, `roles` and `x509Certificates`
/// (RFC 7643 §4.1.2).
const MULTI: &[Attribute] = &[
    string("value", "The value"),
    string("display", "A human-readable name, primarily used for display purposes"),
    string("type", "A label indicating the attribute's function, e.g. 'work' or 'home'"),
    boolean("primary", "Whether this is the preferred value; at most one value is primary"),
];

const EMAIL: &[Attribute] = &[
    string("value", "Email address").filter(FilterAttr::EmailValue),
    string("display", "A human-readable name, primarily used for display purposes"),
    string("type", "A label indicating the email's function: 'work', 'home' or 'other'").filter(FilterAttr::EmailType),
    boolean("primary", "Whether this is the preferred email").filter(FilterAttr::EmailPrimary),
];

const NAME: &[Attribute] = &[
    string("formatted", "The full name, formatted for display"),
    string("familyName", "The family name, or last name").filter(FilterAttr::FamilyName),
    string("givenName", "The given name, or first name").filter(FilterAttr::GivenName),
    string("middleName", "The middle name(s)"),
    string("honorificPrefix", "The honorific prefix(es), or title"),
    string("honorificSuffix", "The honorific suffix(es)"),
];

const ADDRESS: &[Attribute] = &[
    string("formatted", "The full mailing address, formatted for display"),
    string("streetAddress", "The full street address"),
    string("locality", "The city or locality"),
    string("region", "The state or region"),
    string("postalCode", "The zip code or postal code"),
    string("country", "The country name, in ISO 3166-1 alpha-2 form"),
    string("type", "A label: 'work', 'home' or 'other'"),
    boolean("primary", "Whether this is the preferred address"),
];

const GROUP_REF: &[Attribute] = &[
    string("value", "The group's id").read_only(),
    attr("$ref", Type::Reference, "The URI of the group").read_only(),
    string("display", "The group's displayName").read_only(),
    string("type", "'direct' or 'indirect'").read_only(),
];

const MEMBER: &[Attribute] = &[
    string("value", "The id of a member (a User)").exact().filter(FilterAttr::Member),
    attr("$ref", Type::Reference, "The URI of the member"),
    string("display", "The member's userName").read_only(),
    string("type", "'User'"),
];

const MANAGER: &[Attribute] = &[
    string("value", "The id of the user's manager"),
    attr("$ref", Type::Reference, "The URI of the manager"),
    string("displayName", "The manager's display name").read_only(),
];

/// The attributes of the core User schema (RFC 7643 §4.1), in the order `/Schemas` lists them.
pub const USER_ATTRIBUTES: &[Attribute] = &[
    string("userName", "Unique identifier for the user, compared without regard to case")
        .required()
        .unique()
        .filter(FilterAttr::UserName),
    complex("name", "The components of the user's name", NAME),
    string("displayName", "The name of the user, suitable for display").filter(FilterAttr::DisplayName),
    string("nickName", "The casual way to address the user"),
    attr("profileUrl", Type::Reference, "A URI of the user's online profile"),
    string("title", "The user's title, such as 'Vice President'"),
    string("userType", "The relationship between the organisation and the user"),
    string("preferredLanguage", "The user's preferred written or spoken language"),
    string("locale", "The user's default location, for localising items such as currency and dates"),
    string("timezone", "The user's time zone, in the IANA Time Zone database format"),
    boolean("active", "Whether the user may use the product; an active user takes a licence seat")
        .filter(FilterAttr::Active),
    string("password", "Accepted and discarded: roster never stores passwords").write_only(),
    complex("emails", "Email addresses", EMAIL).multi().filter(FilterAttr::EmailValue),
    complex("phoneNumbers", "Phone numbers", MULTI).multi(),
    complex("ims", "Instant messaging addresses", MULTI).multi(),
    complex("photos", "URLs of photos of the user", MULTI).multi(),
    complex("addresses", "Physical mailing addresses", ADDRESS).multi(),
    complex("groups", "The groups the user belongs to; change them through /Groups", GROUP_REF).multi().read_only(),
    complex("entitlements", "Entitlements", MULTI).multi(),
    complex("roles", "Roles", MULTI).multi(),
    complex("x509Certificates", "X.509 certificates", MULTI).multi(),
];

/// The enterprise User extension (RFC 7643 §4.3).
pub const ENTERPRISE_ATTRIBUTES: &[Attribute] = &[
    string("employeeNumber", "A string identifier, typically numeric or alphanumeric, assigned by the organisation"),
    string("costCenter", "Identifies the name of a cost center"),
    string("organization", "Identifies the name of an organisation"),
    string("division", "Identifies the name of a division"),
    string("department", "Identifies the name of a department"),
    complex("manager", "The user's manager", MANAGER),
];

/// The core Group schema (RFC 7643 §4.2).
pub const GROUP_ATTRIBUTES: &[Attribute] = &[
    string("displayName", "The group's name, unique without regard to case")
        .required()
        .unique()
        .filter(FilterAttr::DisplayName),
    complex("members", "The members of the group (Users only)", MEMBER).multi().filter(FilterAttr::Member),
];

/// The common attributes of every resource (RFC 7643 §3.1). `/Schemas` lists `externalId` with the resource's own
/// attributes, as most clients expect; `id` and `meta` are implied.
pub const COMMON_ATTRIBUTES: &[Attribute] = &[
    string("id", "Assigned by roster: stable, unique, never reused")
        .exact()
        .read_only()
        .always()
        .filter(FilterAttr::Id),
    string("externalId", "The IdP's identifier for the resource").exact().filter(FilterAttr::ExternalId),
    complex("meta", "Resource metadata", META).read_only(),
];

/// `schemas` (RFC 7643 §3): on every resource, kept by roster; PATCH bodies may echo it.
pub const SCHEMAS_ATTRIBUTE: Attribute =
    attr("schemas", Type::Reference, "The schema URNs the resource conforms to").multi().read_only();

const META: &[Attribute] = &[
    string("resourceType", "'User' or 'Group'").read_only(),
    attr("created", Type::DateTime, "When the resource was added").read_only().filter(FilterAttr::Created),
    attr("lastModified", Type::DateTime, "When the resource last changed").read_only().filter(FilterAttr::LastModified),
    attr("location", Type::Reference, "The URI of the resource").read_only(),
    string("version", "The weak ETag of the resource (RFC 7644 §3.14)").read_only(),
];

/// The two resource types roster serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceType {
    User,
    Group,
}

impl ResourceType {
    pub fn name(self) -> &'static str {
        match self {
            ResourceType::User => "User",
            ResourceType::Group => "Group",
        }
    }

    /// The core schema URN.
    pub fn schema(self) -> &'static str {
        match self {
            ResourceType::User => SCHEMA_USER,
            ResourceType::Group => SCHEMA_GROUP,
        }
    }

    /// The resource's own core attributes (without the common ones).
    pub fn attributes(self) -> &'static [Attribute] {
        match self {
            ResourceType::User => USER_ATTRIBUTES,
            ResourceType::Group => GROUP_ATTRIBUTES,
        }
    }

    /// A top-level attribute of the core schema or a common one, by name, ignoring case.
    pub fn attribute(self, name: &str) -> Option<&'static Attribute> {
        find(self.attributes(), name).or_else(|| find(COMMON_ATTRIBUTES, name))
    }
}

/// A schema roster serves, for `/Schemas` (RFC 7643 §7).
pub struct Schema {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [Attribute],
}

/// Every schema roster serves: User, the enterprise extension, and Group.
pub const SCHEMAS: [Schema; 3] = [
    Schema { id: SCHEMA_USER, name: "User", description: "User Account", attributes: USER_ATTRIBUTES },
    Schema {
        id: SCHEMA_ENTERPRISE_USER,
        name: "EnterpriseUser",
        description: "Enterprise User",
        attributes: ENTERPRISE_ATTRIBUTES,
    },
    Schema { id: SCHEMA_GROUP, name: "Group", description: "Group", attributes: GROUP_ATTRIBUTES },
];

/// Resolves a filter's attribute path (RFC 7644 §3.4.2.2) to what the store can filter on. The path may carry the
/// resource's core schema URN; anything not marked filterable in the table is `invalidFilter`, naming what is.
pub fn filter_attr(resource: ResourceType, path: &AttrPath) -> Result<FilterAttr, Error> {
    if let Some(schema) = &path.schema
        && !schema.eq_ignore_ascii_case(resource.schema())
    {
        return Err(unsupported(resource, path));
    }
    let top = resource.attribute(&path.attr).ok_or_else(|| unsupported(resource, path))?;
    let attr = match &path.sub_attr {
        None => top,
        Some(sub) => top.sub(sub).ok_or_else(|| unsupported(resource, path))?,
    };
    attr.filter.ok_or_else(|| unsupported(resource, path))
}

/// Resolves a path inside a value filter, such as `type` in `emails[type eq "work"]`: a filterable sub-attribute of
/// the multi-valued attribute `parent`.
pub fn element_filter_attr(resource: ResourceType, parent: &AttrPath, inner: &AttrPath) -> Result<FilterAttr, Error> {
    filter_attr(resource, parent)?;
    let top = resource.attribute(&parent.attr).filter(|a| a.multi_valued && parent.sub_attr.is_none());
    let top = top.ok_or_else(|| unsupported(resource, parent))?;
    let sub = (inner.sub_attr.is_none() && inner.schema.is_none()).then(|| top.sub(&inner.attr)).flatten();
    sub.and_then(|a| a.filter)
        .ok_or_else(|| Error::InvalidFilter(format!("filtering on '{}.{}' is not supported", top.name, inner.attr)))
}

/// The names filters may use on `resource`, for error messages and docs/scim.md.
pub fn filterable(resource: ResourceType) -> Vec<String> {
    let mut out = Vec::new();
    for list in [resource.attributes(), COMMON_ATTRIBUTES] {
        for a in list {
            if a.filter.is_some() {
                out.push(a.name.to_owned());
            }
            for s in a.sub_attributes.iter().filter(|s| s.filter.is_some()) {
                out.push(format!("{}.{}", a.name, s.name));
            }
        }
    }
    out
}

fn unsupported(resource: ResourceType, path: &AttrPath) -> Error {
    let name = match &path.sub_attr {
        Some(s) => format!("{}.{}", path.attr, s),
        None => path.attr.clone(),
    };
    Error::InvalidFilter(format!(
        "filtering {}s on '{name}' is not supported; filter on {}",
        resource.name(),
        filterable(resource).join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::parse_path;

    fn path(s: &str) -> AttrPath {
        parse_path(s).unwrap().attr
    }

    #[test]
    fn filter_allow_list() {
        use FilterAttr as F;
        use ResourceType::{Group, User};
        let ok = [
            (User, "userName", F::UserName),
            (User, "USERNAME", F::UserName),
            (User, "urn:ietf:params:scim:schemas:core:2.0:User:userName", F::UserName),
            (User, "name.givenName", F::GivenName),
            (User, "emails", F::EmailValue),
            (User, "emails.type", F::EmailType),
            (User, "meta.lastModified", F::LastModified),
            (User, "id", F::Id),
            (Group, "displayName", F::DisplayName),
            (Group, "members.value", F::Member),
            (Group, "members", F::Member),
        ];
        for (res, p, want) in ok {
            assert_eq!(filter_attr(res, &path(p)).unwrap(), want, "{p}");
        }
        for (res, p) in [(User, "nickName"), (User, "members"), (Group, "userName"), (User, "name.middleName")] {
            let e = filter_attr(res, &path(p)).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidFilter(m) if m.contains("userName") || m.contains("displayName")),
                "{e}"
            );
        }
        let urn = "urn:ietf:params:scim:schemas:core:2.0:Group:displayName";
        assert!(filter_attr(User, &path(urn)).is_err(), "another resource's schema");
    }

    #[test]
    fn indexed_attributes_are_the_filterable_strings() {
        let user: Vec<&str> = USER_ATTRIBUTES.iter().filter(|a| a.indexed()).map(|a| a.name).collect();
        assert_eq!(user, ["userName", "displayName"]);
        assert!(find(NAME, "familyname").is_some_and(Attribute::indexed));
        assert!(find(EMAIL, "value").is_some_and(Attribute::indexed));
    }
}
