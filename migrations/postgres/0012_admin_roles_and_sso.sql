-- Admin roles (owner, admin, helpdesk, auditor: the table is src/rules/roles.rs). Every admin there was could do
-- everything, so each becomes an owner.
alter table admin add column role text not null default 'owner';
-- A local password that still works when sign-in through the company's IdP is required.
alter table admin add column break_glass boolean not null default false;
alter table admin add column last_sign_in_at bigint;
-- The admin's subject at the company's OpenID provider, once they have signed in through it: after the first sign-in
-- an admin is found by it, not by email.
alter table admin add column oidc_subject text;
create unique index admin_oidc_subject on admin (oidc_subject);

-- Sign-in through the company's OpenID provider, installation-wide so every instance agrees. The client secret is
-- stored like webhook secrets: sealed when a key file is set.
alter table setting add column sso_issuer text;
alter table setting add column sso_client_id text;
alter table setting add column sso_client_secret text;
alter table setting add column sso_label text;
alter table setting add column sso_groups_claim text not null default 'groups';
alter table setting add column sso_scopes text not null default '';
alter table setting add column sso_required boolean not null default false;

-- Which of the provider's groups gives which role; with several, the highest wins.
create table sso_role_map (
    group_name text primary key,
    role       text not null
);
