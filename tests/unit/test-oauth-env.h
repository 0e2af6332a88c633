/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The fixture of the OAuth core's unit tests (test-oauth-*.c): a Manager
 * with a master key on a SQLite file in a private directory (so that
 * several connections and the real batch writer can use it), two tenants,
 * a user, applications made by the core's own operation, and the calls a
 * face would make, without HTTP. */

#include "application.h"
#include "batch-writer.h"
#include "oauth-authorize.h"
#include "oauth-commit.h"
#include "oauth-context.h"
#include "test-util.h"

#define OAUTH_TEST_REDIRECT "https://app.example/cb"
/* RFC 7636 appendix B. */
#define OAUTH_TEST_VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define OAUTH_TEST_CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

typedef struct OAuthTestEnv {
        Manager *m;
        char *dir;
        BatchWriter *writer;
        TenantRecord *acme, *globex;
        UserRecord *alice;            /* of acme */
        /* Of acme: web (confidential; code and refresh; every scope),
         * spa (public; code), svc (confidential; client_credentials) and
         * first (confidential, first party), legacy (like web, opted out
         * of PKCE). Of globex: other (like web). */
        ApplicationRecord *web, *spa, *svc, *first, *other, *legacy;
        char *web_secret, *svc_secret, *first_secret, *other_secret, *legacy_secret;
        OAuthCache cache;
        Principal caller;             /* anonymous, from 192.0.2.7 */
} OAuthTestEnv;

void oauth_test_env_init(OAuthTestEnv *env);
void oauth_test_env_done(OAuthTestEnv *env);

/* A context for tenant t on s with cache c (NULL: the env's store and
 * cache). Free with oauth_context_done(). */
void oauth_test_context(OAuthTestEnv *env, const TenantRecord *t, Store *s, OAuthCache *c, OAuthContext *ret);

/* A new SSO session of alice, through the core. */
void oauth_test_session(OAuthTestEnv *env, SsoSession *ret);

/* A code for app, issued through the core's authorization request (check,
 * then continue with session; consent given first when the application
 * asks for it). challenge: NULL for none. */
char *oauth_test_code(OAuthTestEnv *env, const ApplicationRecord *app, const char *scope, const char *challenge,
                      const SsoSession *session);

/* Runs a commit's write through the batch writer, as the HTTP face does,
 * and returns what oauth_commit_finish() makes of it: 0 with the response
 * in *ret_response (may be NULL), or the refusal in e. Takes c. */
int oauth_test_commit(OAuthTestEnv *env, OAuthCommit *c, char **ret_response, OAuthError *e);

/* Commits the context's pending audit events. */
void oauth_test_flush_audit(OAuthTestEnv *env, OAuthContext *ctx);

/* Redeems a code as the web client: the token response, parsed. */
json_t *oauth_test_redeem(OAuthTestEnv *env, OAuthContext *ctx, const char *code, const char *verifier);

/* A string member of a JSON object (asserted). */
const char *oauth_test_str(json_t *j, const char *key);
