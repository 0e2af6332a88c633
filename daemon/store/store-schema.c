/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* SQLite's schema: forward migrations. migrations[i] takes a database
 * from schema version i to i + 1; PRAGMA user_version records where a
 * database is. Never edit a migration that has shipped: add a new one.
 *
 * The version number is shared by every backend (one migration number,
 * two dialects): another backend's schema at version n has the same
 * tables, indexes and constraints as this one's, and store_migrate()
 * picks the dialect's runner. */

#include "log.h"
#include "store-internal.h"
#include "store-schema-pg.h"

static const char *const migrations[] = {
        /* 0 -> 1: tenants, users, groups, membership, audit. */
        "CREATE TABLE tenants ("
        "  id INTEGER PRIMARY KEY,"
        "  slug TEXT NOT NULL UNIQUE,"
        "  display_name TEXT NOT NULL DEFAULT '',"
        "  slice INTEGER NOT NULL UNIQUE,"
        "  id_min INTEGER NOT NULL,"
        "  id_max INTEGER NOT NULL,"
        "  created_usec INTEGER NOT NULL,"
        "  changed_usec INTEGER NOT NULL"
        ");"
        "CREATE TABLE users ("
        "  id INTEGER PRIMARY KEY,"
        "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),"
        "  name TEXT NOT NULL,"
        "  uid INTEGER NOT NULL UNIQUE,"
        "  gid INTEGER NOT NULL,"
        "  real_name TEXT NOT NULL DEFAULT '',"
        "  email TEXT,"
        "  email_verified INTEGER NOT NULL DEFAULT 0,"
        "  home TEXT NOT NULL,"
        "  shell TEXT NOT NULL,"
        "  password_hash TEXT,"
        "  password_changed_usec INTEGER NOT NULL DEFAULT 0,"
        "  role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'admin', 'owner')),"
        "  disabled INTEGER NOT NULL DEFAULT 0,"
        "  locked_until_usec INTEGER NOT NULL DEFAULT 0,"
        "  expires_usec INTEGER NOT NULL DEFAULT 0,"
        "  created_usec INTEGER NOT NULL,"
        "  changed_usec INTEGER NOT NULL,"
        "  UNIQUE (tenant_id, name)"
        ");"
        /* Sign-in by e-mail needs one owner per address within a tenant. */
        "CREATE UNIQUE INDEX users_email ON users(tenant_id, email COLLATE NOCASE) WHERE email IS NOT NULL;"
        "CREATE TABLE groups ("
        "  id INTEGER PRIMARY KEY,"
        "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),"
        "  name TEXT NOT NULL,"
        "  gid INTEGER NOT NULL UNIQUE,"
        "  description TEXT NOT NULL DEFAULT '',"
        "  private_user_id INTEGER UNIQUE REFERENCES users(id) ON DELETE CASCADE,"
        "  created_usec INTEGER NOT NULL,"
        "  changed_usec INTEGER NOT NULL,"
        "  UNIQUE (tenant_id, name)"
        ");"
        "CREATE TABLE group_members ("
        "  group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,"
        "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  PRIMARY KEY (group_id, user_id)"
        ") WITHOUT ROWID;"
        "CREATE INDEX group_members_user ON group_members(user_id);"
        /* Tenant and target are copied as text: events outlive their objects. */
        "CREATE TABLE audit_events ("
        "  id INTEGER PRIMARY KEY,"
        "  time_usec INTEGER NOT NULL,"
        "  channel TEXT NOT NULL,"
        "  actor_uid INTEGER,"
        "  actor TEXT,"
        "  action TEXT NOT NULL,"
        "  tenant TEXT,"
        "  target TEXT,"
        "  result TEXT NOT NULL,"
        "  remote TEXT,"
        "  details TEXT"
        ");"
        "CREATE INDEX audit_events_tenant ON audit_events(tenant, id);",

        /* 1 -> 2: authentication state shared by every channel (PAM, HTTP,
         * D-Bus): failure counters for the lockout, TOTP seeds (encrypted
         * with a key kept outside the database) with the last accepted time
         * step, single-use backup codes as keyed digests, and sessions.
         * Everything goes with its user. */
        "CREATE TABLE auth_state ("
        "  user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"
        "  failed_count INTEGER NOT NULL DEFAULT 0,"
        "  first_failure_usec INTEGER NOT NULL DEFAULT 0,"
        "  last_failure_usec INTEGER NOT NULL DEFAULT 0,"
        "  lock_level INTEGER NOT NULL DEFAULT 0,"
        "  last_success_usec INTEGER NOT NULL DEFAULT 0"
        ");"
        "CREATE TABLE totp ("
        "  user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"
        "  secret_box BLOB NOT NULL,"
        "  last_step INTEGER NOT NULL DEFAULT 0,"
        "  created_usec INTEGER NOT NULL,"
        "  confirmed_usec INTEGER NOT NULL DEFAULT 0"
        ");"
        "CREATE TABLE backup_codes ("
        "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  digest BLOB NOT NULL,"
        "  created_usec INTEGER NOT NULL,"
        "  PRIMARY KEY (user_id, digest)"
        ") WITHOUT ROWID;"
        "CREATE TABLE sessions ("
        "  id INTEGER PRIMARY KEY,"
        "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  kind TEXT NOT NULL,"
        "  service TEXT NOT NULL DEFAULT '',"
        "  tty TEXT NOT NULL DEFAULT '',"
        "  remote_host TEXT NOT NULL DEFAULT '',"
        "  remote_user TEXT NOT NULL DEFAULT '',"
        "  pid INTEGER NOT NULL DEFAULT 0,"
        "  opened_usec INTEGER NOT NULL,"
        "  closed_usec INTEGER NOT NULL DEFAULT 0"
        ");"
        "CREATE INDEX sessions_user ON sessions(user_id, closed_usec);",

        /* 2 -> 3: OAuth clients, JWT signing keys and what the OpenID provider
         * remembers between requests. Secrets and tokens are stored as
         * digests only; private keys sealed with the master key. */
        "CREATE TABLE applications ("
        "  id INTEGER PRIMARY KEY,"
        "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),"
        "  name TEXT NOT NULL,"
        "  client_id TEXT NOT NULL UNIQUE,"
        "  secret_digest BLOB,"
        "  public INTEGER NOT NULL DEFAULT 0,"
        "  first_party INTEGER NOT NULL DEFAULT 0,"
        "  redirect_uris TEXT NOT NULL DEFAULT '',"
        "  post_logout_redirect_uris TEXT NOT NULL DEFAULT '',"
        "  grants TEXT NOT NULL,"
        "  scopes TEXT NOT NULL,"
        "  signing_alg TEXT NOT NULL DEFAULT 'RS256',"
        "  secret_changed_usec INTEGER NOT NULL DEFAULT 0,"
        "  created_usec INTEGER NOT NULL,"
        "  changed_usec INTEGER NOT NULL,"
        "  UNIQUE (tenant_id, name)"
        ");"
        "CREATE TABLE signing_keys ("
        "  id INTEGER PRIMARY KEY,"
        "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
        "  kid TEXT NOT NULL,"
        "  alg TEXT NOT NULL,"
        "  public_jwk TEXT NOT NULL,"
        "  sealed_private BLOB NOT NULL,"
        "  created_usec INTEGER NOT NULL,"
        "  retired_usec INTEGER NOT NULL DEFAULT 0,"
        "  UNIQUE (tenant_id, kid)"
        ");"
        "CREATE TABLE oidc_sessions ("
        "  id INTEGER PRIMARY KEY,"
        "  sid TEXT NOT NULL UNIQUE,"
        "  cookie_digest BLOB NOT NULL UNIQUE,"
        "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
        "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  amr TEXT NOT NULL,"
        "  auth_time_usec INTEGER NOT NULL,"
        "  expires_usec INTEGER NOT NULL,"
        "  revoked_usec INTEGER NOT NULL DEFAULT 0"
        ");"
        "CREATE INDEX oidc_sessions_user ON oidc_sessions(user_id);"
        "CREATE TABLE authorization_codes ("
        "  digest BLOB PRIMARY KEY,"
        "  application_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,"
        "  session_id INTEGER NOT NULL REFERENCES oidc_sessions(id) ON DELETE CASCADE,"
        "  redirect_uri TEXT NOT NULL,"
        "  scope TEXT NOT NULL,"
        "  nonce TEXT,"
        "  code_challenge TEXT,"
        "  created_usec INTEGER NOT NULL,"
        "  expires_usec INTEGER NOT NULL,"
        "  used_usec INTEGER NOT NULL DEFAULT 0,"
        "  issued_jti TEXT,"
        "  issued_family TEXT"
        ") WITHOUT ROWID;"
        "CREATE TABLE refresh_tokens ("
        "  id INTEGER PRIMARY KEY,"
        "  digest BLOB NOT NULL UNIQUE,"
        "  family TEXT NOT NULL,"
        "  application_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,"
        "  session_id INTEGER REFERENCES oidc_sessions(id) ON DELETE CASCADE,"
        "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  scope TEXT NOT NULL,"
        "  auth_time_usec INTEGER NOT NULL,"
        "  amr TEXT NOT NULL,"
        "  created_usec INTEGER NOT NULL,"
        "  idle_expires_usec INTEGER NOT NULL,"
        "  absolute_expires_usec INTEGER NOT NULL,"
        "  rotated_usec INTEGER NOT NULL DEFAULT 0,"
        "  revoked_usec INTEGER NOT NULL DEFAULT 0"
        ");"
        "CREATE INDEX refresh_tokens_family ON refresh_tokens(family);"
        "CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);"
        /* Access tokens are JWTs; the ones revoked before they expire. */
        "CREATE TABLE revoked_tokens ("
        "  jti TEXT PRIMARY KEY,"
        "  expires_usec INTEGER NOT NULL"
        ") WITHOUT ROWID;"
        "CREATE TABLE consents ("
        "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  application_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,"
        "  scope TEXT NOT NULL,"
        "  created_usec INTEGER NOT NULL,"
        "  PRIMARY KEY (user_id, application_id)"
        ") WITHOUT ROWID;",

        /* 3 -> 4: no query reads audit events by tenant through an index
         * (the listing filters as it walks the ids), and every token issue
         * writes an event: the index only cost a b-tree insert and a WAL
         * page per batch. */
        "DROP INDEX audit_events_tenant;",

        /* 4 -> 5: repeated refusals are counted on one event (audit.h):
         * count, and the time of the last repeat (NULL while there is
         * none, so that no existing row is rewritten). The index finds the
         * event a repeat belongs to; it is partial, so successes (every
         * token issue) cost it nothing. */
        "ALTER TABLE audit_events ADD COLUMN count INTEGER NOT NULL DEFAULT 1;"
        "ALTER TABLE audit_events ADD COLUMN last_usec INTEGER;"
        "CREATE INDEX audit_events_repeats ON audit_events(action, remote, target, time_usec) "
        "WHERE result <> 'success';",

        /* 5 -> 6: the mail outbox (store-mail.h). A mail is queued in the
         * transaction of its change and stays until it is sent or failed
         * for good. The tenant is copied as text, as in audit events: a
         * queued mail neither holds a tenant back nor goes with it. The
         * bodies are sealed and wiped once the mail is done. The partial
         * index finds what is due without walking what was sent. */
        "CREATE TABLE outbox ("
        "  id INTEGER PRIMARY KEY,"
        "  tenant TEXT,"
        "  template TEXT NOT NULL,"
        "  recipient TEXT NOT NULL,"
        "  sender_name TEXT NOT NULL DEFAULT '',"
        "  subject TEXT NOT NULL,"
        "  message_id TEXT NOT NULL UNIQUE,"
        "  body_text BLOB,"
        "  body_html BLOB,"
        "  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),"
        "  attempts INTEGER NOT NULL DEFAULT 0,"
        "  next_attempt_usec INTEGER NOT NULL,"
        "  last_error TEXT,"
        "  created_usec INTEGER NOT NULL,"
        "  finished_usec INTEGER NOT NULL DEFAULT 0"
        ");"
        "CREATE INDEX outbox_due ON outbox(next_attempt_usec) WHERE state = 'queued';",

        /* 6 -> 7: a tenant's settings (tenant-settings.h), a row of typed
         * columns, one per setting. NULL is the site's default from
         * tesserad.conf, so that a tenant follows the site where it chose
         * nothing; a tenant without a row chose nothing at all (every
         * tenant before this version). The row goes with its tenant. */
        "CREATE TABLE tenant_settings ("
        "  tenant_id INTEGER PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,"
        "  open_signup INTEGER CHECK (open_signup IN (0, 1)),"
        "  password_min_length INTEGER CHECK (password_min_length > 0),"
        "  password_dictionary_check INTEGER CHECK (password_dictionary_check IN (0, 1)),"
        "  password_min_classes INTEGER CHECK (password_min_classes BETWEEN 0 AND 4),"
        "  password_max_repeat INTEGER CHECK (password_max_repeat >= 0),"
        "  password_user_check INTEGER CHECK (password_user_check IN (0, 1)),"
        "  mfa_required TEXT CHECK (mfa_required IN ('none', 'admins', 'everyone')),"
        "  session_lifetime INTEGER CHECK (session_lifetime > 0),"
        "  refresh_idle_lifetime INTEGER CHECK (refresh_idle_lifetime > 0),"
        "  refresh_absolute_lifetime INTEGER CHECK (refresh_absolute_lifetime > 0),"
        "  changed_usec INTEGER NOT NULL"
        ");",

        /* 7 -> 8: the JSON API's accounts (store-account.h): the second
         * step of a sign-in (a right password of a user with TOTP gives a
         * short-lived token, stored as its digest, that one call with the
         * code may spend), and the owners' addresses sign-up looks up. */
        "CREATE TABLE mfa_challenges ("
        "  digest BLOB PRIMARY KEY,"
        "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
        "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  created_usec INTEGER NOT NULL,"
        "  expires_usec INTEGER NOT NULL,"
        "  used_usec INTEGER NOT NULL DEFAULT 0"
        ") WITHOUT ROWID;"
        "CREATE INDEX mfa_challenges_expires ON mfa_challenges(expires_usec);"
        /* Sign-up asks whether an owner of any tenant has an address:
         * owners are few, so the index is small. */
        "CREATE INDEX users_owner_email ON users(email COLLATE NOCASE) WHERE role = 'owner';",

        /* 8 -> 9: PKCE for confidential clients too (OAuth 2.1), unless
         * an application opts out. The clients registered before keep
         * working as they did: they are opted out, explicitly, here; new
         * ones must ask for it. */
        "ALTER TABLE applications ADD COLUMN pkce_optional INTEGER NOT NULL DEFAULT 0;"
        "UPDATE applications SET pkce_optional = 1 "
        "WHERE public = 0 AND name <> 'tessera.api';",

        /* 9 -> 10: the single-use tokens mailed for account flows
         * (store-account-token.h): e-mail verification and password
         * reset. Only the digest of a token is kept; the address it went
         * to is kept too, so that a verification proves that address and
         * no later one. */
        "CREATE TABLE account_tokens ("
        "  digest BLOB PRIMARY KEY,"
        "  purpose TEXT NOT NULL CHECK (purpose IN ('verify-email', 'reset-password')),"
        "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
        "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  email TEXT NOT NULL,"
        "  created_usec INTEGER NOT NULL,"
        "  expires_usec INTEGER NOT NULL,"
        "  used_usec INTEGER NOT NULL DEFAULT 0"
        ") WITHOUT ROWID;"
        "CREATE INDEX account_tokens_user ON account_tokens(user_id, purpose);",

        /* 10 -> 11: the browser origins an application's pages are served
         * from (CORS, and where its publishable keys may be used), and the
         * tenant's API keys (api-key.h): secret keys with scopes for
         * programs, publishable keys for an application's end-user
         * sign-up and sign-in. Only a keyed digest of a key is kept; the
         * key's public id (in its text) finds the row in one indexed read.
         * revoked_usec may lie ahead: a rotated key that still works for
         * the overlap its rotation chose. */
        "ALTER TABLE applications ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '';"
        "CREATE TABLE api_keys ("
        "  id INTEGER PRIMARY KEY,"
        "  key_id TEXT NOT NULL UNIQUE,"
        "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
        "  kind TEXT NOT NULL CHECK (kind IN ('secret', 'publishable')),"
        "  env TEXT NOT NULL,"
        "  name TEXT NOT NULL DEFAULT '',"
        "  scopes TEXT NOT NULL DEFAULT '',"
        "  application_id INTEGER REFERENCES applications(id) ON DELETE CASCADE,"
        "  digest BLOB NOT NULL,"
        "  created_usec INTEGER NOT NULL,"
        "  expires_usec INTEGER NOT NULL DEFAULT 0,"
        "  revoked_usec INTEGER NOT NULL DEFAULT 0,"
        "  last_used_usec INTEGER NOT NULL DEFAULT 0,"
        "  replaced_by TEXT"
        ");"
        "CREATE INDEX api_keys_tenant ON api_keys(tenant_id, id);"
        "CREATE INDEX api_keys_application ON api_keys(application_id) WHERE application_id IS NOT NULL;",
        /* 11 -> 12: invitations to a tenant (store-invitation.h): an
         * address and the role it will have, the digest of the mailed
         * token (a resend replaces it), and how it ended. One pending
         * invitation per address and tenant; the pending ones are listed
         * by id. */
        "CREATE TABLE invitations ("
        "  id INTEGER PRIMARY KEY,"
        "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
        "  digest BLOB NOT NULL UNIQUE,"
        "  email TEXT NOT NULL,"
        "  role TEXT NOT NULL CHECK (role IN ('member', 'admin', 'owner')),"
        "  invited_by TEXT,"
        "  created_usec INTEGER NOT NULL,"
        "  sent_usec INTEGER NOT NULL,"
        "  expires_usec INTEGER NOT NULL,"
        "  accepted_usec INTEGER NOT NULL DEFAULT 0,"
        "  user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,"
        "  revoked_usec INTEGER NOT NULL DEFAULT 0"
        ");"
        "CREATE UNIQUE INDEX invitations_pending_email ON invitations(tenant_id, email COLLATE NOCASE) "
        "WHERE accepted_usec = 0 AND revoked_usec = 0;"
        "CREATE INDEX invitations_pending ON invitations(tenant_id, id) WHERE accepted_usec = 0 AND revoked_usec = 0;",
        /* 12 -> 13: the admin view of users (store_user_search()): every filter of a
         * page has an index that reads its rows in the page's order, so that
         * a page is one range read however many users the tenant has. By
         * name: (tenant_id, name) is UNIQUE already; by role, and the states
         * other than "active" through partial indexes over the few users in
         * them. By creation time: (tenant_id, created_usec, id). The e-mail
         * prefix reads users_email_name, which also gives each match's
         * name without reading its row. */
        "CREATE INDEX users_role ON users(tenant_id, role, name);"   /* and the last-owner rule's count */
        "CREATE INDEX users_disabled ON users(tenant_id, name) WHERE disabled = 1;"
        "CREATE INDEX users_locked ON users(tenant_id, name) WHERE locked_until_usec > 0;"
        "CREATE INDEX users_expiring ON users(tenant_id, name) WHERE expires_usec > 0;"
        "CREATE INDEX users_created ON users(tenant_id, created_usec, id);"
        "CREATE INDEX users_email_name ON users(tenant_id, email COLLATE NOCASE, name) WHERE email IS NOT NULL;"
        /* The tenant's groups without the one private group per user. */
        "CREATE INDEX groups_shared ON groups(tenant_id, name) WHERE private_user_id IS NULL;",
        /* 13 -> 14: the audit query of a tenant (audit.h, AuditQuery):
         * newest first, keyset pages on (time, id), filtered by actor,
         * target, action or result. Each filter gets an index that starts
         * with the tenant and the filtered column and ends with the time
         * (the id follows implicitly), so that a page is one range read
         * however deep it is. Refusals are few: their index is partial,
         * and a query for successes walks the time index, where nearly
         * every row matches. Events an operator caused while
         * impersonating a tenant name the operator and the reason given. */
        "ALTER TABLE audit_events ADD COLUMN operator_name TEXT;"
        "ALTER TABLE audit_events ADD COLUMN reason TEXT;"
        "CREATE INDEX audit_events_tenant_time ON audit_events(tenant, time_usec);"
        "CREATE INDEX audit_events_tenant_actor ON audit_events(tenant, actor, time_usec);"
        "CREATE INDEX audit_events_tenant_target ON audit_events(tenant, target, time_usec);"
        "CREATE INDEX audit_events_tenant_action ON audit_events(tenant, action, time_usec);"
        "CREATE INDEX audit_events_tenant_refusals ON audit_events(tenant, result, time_usec) "
        "WHERE result <> 'success';",

        /* 14 -> 15: a tenant's entitlements (entitlement.h): limits the
         * core enforces (NULL: none) and feature flags, set by the
         * platform; and its usage counters, each increment with the
         * caller's idempotency key, remembered for a day so that a retry
         * counts once. Everything goes with its tenant. */
        "CREATE TABLE tenant_entitlements ("
        "  tenant_id INTEGER PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,"
        "  max_users INTEGER CHECK (max_users >= 0),"
        "  max_applications INTEGER CHECK (max_applications >= 0),"
        "  features TEXT NOT NULL DEFAULT '',"
        "  changed_usec INTEGER NOT NULL"
        ");"
        "CREATE TABLE usage_counters ("
        "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
        "  counter TEXT NOT NULL,"
        "  value INTEGER NOT NULL,"
        "  changed_usec INTEGER NOT NULL,"
        "  PRIMARY KEY (tenant_id, counter)"
        ") WITHOUT ROWID;"
        "CREATE TABLE usage_increments ("
        "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
        "  idempotency_key TEXT NOT NULL,"
        "  counter TEXT NOT NULL,"
        "  amount INTEGER NOT NULL,"
        "  value_after INTEGER NOT NULL,"
        "  created_usec INTEGER NOT NULL,"
        "  PRIMARY KEY (tenant_id, idempotency_key)"
        ") WITHOUT ROWID;"
        "CREATE INDEX usage_increments_created ON usage_increments(created_usec);",

        /* 15 -> 16: the platform's operators (operator.h), who sign in
         * with a password and TOTP (the seed sealed, as users' are), and
         * the tokens they hold: their own, and the short-lived grants to
         * act as a tenant's admin with the reason given. Tokens are kept
         * as digests; they go with their operator, a grant with its
         * tenant. Operators are searched for users by e-mail across
         * tenants: the index serves a prefix of the address. */
        "CREATE TABLE operators ("
        "  id INTEGER PRIMARY KEY,"
        "  name TEXT NOT NULL UNIQUE,"
        "  email TEXT NOT NULL,"
        "  password_hash TEXT NOT NULL,"
        "  totp_secret_box BLOB NOT NULL,"
        "  totp_last_step INTEGER NOT NULL DEFAULT 0,"
        "  created_usec INTEGER NOT NULL,"
        "  last_signin_usec INTEGER NOT NULL DEFAULT 0"
        ");"
        "CREATE TABLE platform_tokens ("
        "  digest BLOB PRIMARY KEY,"
        "  operator_id INTEGER NOT NULL REFERENCES operators(id) ON DELETE CASCADE,"
        "  tenant_id INTEGER REFERENCES tenants(id) ON DELETE CASCADE,"
        "  reason TEXT,"
        "  created_usec INTEGER NOT NULL,"
        "  expires_usec INTEGER NOT NULL,"
        "  CHECK ((tenant_id IS NULL) = (reason IS NULL))"
        ") WITHOUT ROWID;"
        "CREATE INDEX platform_tokens_expires ON platform_tokens(expires_usec);"
        "CREATE INDEX platform_tokens_operator ON platform_tokens(operator_id);"
        "CREATE INDEX users_email_any_tenant ON users(email COLLATE NOCASE) WHERE email IS NOT NULL;",

        /* 16 -> 17: a tenant's upstream identity providers ("Sign in with
         * Google", upstream-provider.h), the client secret sealed with
         * the daemon's key (NULL: a public client); scopes and allowed
         * e-mail domains are space-separated lists (NULL: the preset's,
         * any). And the identities linked to users (upstream-link.h): one
         * row per (provider, upstream subject), never keyed by e-mail;
         * they go with their user or their provider. A user's links are
         * listed by user. */
        "CREATE TABLE upstream_providers ("
        "  id INTEGER PRIMARY KEY,"
        "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
        "  name TEXT NOT NULL,"
        "  kind TEXT NOT NULL,"
        "  display_name TEXT NOT NULL,"
        "  icon_url TEXT,"
        "  client_id TEXT NOT NULL,"
        "  client_secret_box BLOB,"
        "  scopes TEXT,"
        "  allowed_domains TEXT,"
        "  signup TEXT NOT NULL CHECK (signup IN ('jit', 'existing', 'invitation')),"
        "  role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'admin', 'owner')),"
        "  link_by_email INTEGER NOT NULL DEFAULT 0,"
        "  enabled INTEGER NOT NULL DEFAULT 1,"
        "  issuer TEXT,"
        "  authorization_endpoint TEXT,"
        "  token_endpoint TEXT,"
        "  userinfo_endpoint TEXT,"
        "  jwks_uri TEXT,"
        "  api_url TEXT,"
        "  allowed_tid TEXT,"
        "  created_usec INTEGER NOT NULL,"
        "  changed_usec INTEGER NOT NULL,"
        "  UNIQUE (tenant_id, name)"
        ");"
        "CREATE TABLE upstream_links ("
        "  id INTEGER PRIMARY KEY,"
        "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
        "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  provider_id INTEGER NOT NULL REFERENCES upstream_providers(id) ON DELETE CASCADE,"
        "  subject TEXT NOT NULL,"
        "  email TEXT,"
        "  username TEXT,"
        "  created_usec INTEGER NOT NULL,"
        "  last_used_usec INTEGER NOT NULL DEFAULT 0,"
        "  UNIQUE (provider_id, subject)"
        ");"
        "CREATE INDEX upstream_links_user ON upstream_links(user_id);",

        /* 17 -> 18: how the first step of a two-step sign-in went, so that
         * the session the code completes says so (amr "pwd otp", or "fed
         * otp" after an upstream provider's sign-in). */
        "ALTER TABLE mfa_challenges ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';",

        /* 18 -> 19: the sign-in flows in flight towards upstream providers
         * (store-upstream-flow.h), kept in the store rather than in one
         * instance's memory: the provider may send the browser back to
         * any instance behind the load balancer. Keyed by the digest of
         * the state or link ticket; kind 0 is a flow out to the provider,
         * 1 an identity waiting for the proof of an account (with the
         * identity's fields). Oldest first by expires_usec. */
        "CREATE TABLE upstream_flows ("
        "  digest BLOB PRIMARY KEY,"
        "  kind INTEGER NOT NULL,"
        "  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
        "  provider TEXT NOT NULL,"
        "  provider_id INTEGER NOT NULL,"
        "  binding TEXT NOT NULL,"
        "  api INTEGER NOT NULL,"
        "  nonce TEXT NOT NULL,"
        "  verifier TEXT NOT NULL,"
        "  challenge TEXT NOT NULL,"
        "  request TEXT,"
        "  redirect_uri TEXT,"
        "  user_id INTEGER NOT NULL,"
        "  subject TEXT,"
        "  email TEXT,"
        "  email_verified INTEGER NOT NULL,"
        "  name TEXT,"
        "  username TEXT,"
        "  issuer TEXT,"
        "  tid TEXT,"
        "  expires_usec INTEGER NOT NULL"
        ");"
        "CREATE INDEX upstream_flows_expires ON upstream_flows(expires_usec);",
};

int store_latest_schema_version(void) {
        /* One number for every backend: each dialect's schema at version
         * n holds the same tables, indexes and constraints. */
        return (int) ELEMENTSOF(migrations);
}

static int sqlite_schema_version(Store *s) {
        static const char sql[] = "PRAGMA user_version";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int64_t v;
        int r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        r = store_step_int64(s, st, &v);
        if (r < 0)
                return r;
        return (int) v;
}

int store_schema_version(Store *s) {
        switch (db_dialect(s->db)) {
        case DB_DIALECT_SQLITE:
                return sqlite_schema_version(s);
        case DB_DIALECT_POSTGRESQL:
                return store_pg_schema_version(s->db, s->description);
        default:
                return -EPROTONOSUPPORT;
        }
}

static int check_version(Store *s, int version) {
        if (version < 0)
                return log_error_errno(version, "Failed to read the schema version of %s.", s->description);
        if (version > store_latest_schema_version())
                return log_error_errno(-EPROTONOSUPPORT,
                                       "%s has schema version %d, newer than this tesserad knows (%d). "
                                       "Refusing to touch it; run a newer tesserad.",
                                       s->description, version, store_latest_schema_version());
        return 0;
}

static int sqlite_migrate(Store *s) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        int version, latest = store_latest_schema_version(), r;

        version = store_schema_version(s);
        r = check_version(s, version);
        if (r < 0 || version == latest)
                return r;

        /* Read the version again under the write lock: another connection
         * may have migrated in between. */
        r = store_begin(s);
        if (r < 0)
                return r;
        txn = s;
        version = store_schema_version(s);
        r = check_version(s, version);
        if (r < 0)
                return r;

        for (; version < latest; version++) {
                char pragma[64];

                /* db_exec() logs what failed, with the SQL. */
                r = db_exec(s->db, migrations[version]);
                if (r >= 0) {
                        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", version + 1);
                        r = db_exec(s->db, pragma);
                }
                if (r < 0)
                        return log_error_errno(r, "Schema migration of %s to version %d failed.", s->description,
                                               version + 1);
                log_debug("%s: migrated to schema version %d.", s->description, version + 1);
        }
        return store_commit(TAKE_PTR(txn));
}

int store_migrate(Store *s) {
        switch (db_dialect(s->db)) {
        case DB_DIALECT_SQLITE:
                return sqlite_migrate(s);
        case DB_DIALECT_POSTGRESQL:
                /* store-schema-pg.c, under an advisory lock. */
                return store_pg_migrate(s->db, s->description);
        default:
                return log_error_errno(-EPROTONOSUPPORT, "The %s backend has no schema yet.", db_backend_name(s->db));
        }
}
