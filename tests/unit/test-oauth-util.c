/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/pkce.c, base64url.c, token.c, secret-box.c, the redirect URI
 * rules of application.c, and the JSON text writer of the token path. */

#include <sys/stat.h>

#include "application.h"
#include "base64url.h"
#include "http-internal.h"
#include "oauth-scope.h"
#include "pkce.h"
#include "secret-box.h"
#include "test-util.h"
#include "token.h"

START_TEST(test_pkce_rfc7636_vector) {
        /* RFC 7636 appendix B. */
        const char *verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        const char *challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        char out[44];

        ck_assert_int_eq(pkce_s256(verifier, out), 0);
        ck_assert_str_eq(out, challenge);
        ck_assert(pkce_verify(challenge, verifier));
        ck_assert(!pkce_verify(challenge, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl"));
        /* A verifier equal to the challenge ("plain") does not pass S256. */
        ck_assert(!pkce_verify(challenge, challenge));
}
END_TEST

START_TEST(test_pkce_shapes) {
        char v128[130], v129[131];

        memset(v128, 'a', 128);
        v128[128] = '\0';
        memset(v129, 'a', 129);
        v129[129] = '\0';
        ck_assert(pkce_valid_verifier(v128));
        ck_assert(!pkce_valid_verifier(v129));
        ck_assert(!pkce_valid_verifier("short"));
        ck_assert(!pkce_valid_verifier("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa+"));
        ck_assert(!pkce_valid_verifier(NULL));
        ck_assert(pkce_valid_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        ck_assert(!pkce_valid_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c"));
        ck_assert(!pkce_valid_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c~"));
        ck_assert(!pkce_verify("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", NULL));
        ck_assert(!pkce_verify(NULL, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
}
END_TEST

START_TEST(test_base64url) {
        /* RFC 4648 section 10, without padding and in the URL alphabet. */
        static const struct {
                const char *plain, *encoded;
        } v[] = { { "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" }, { "foob", "Zm9vYg" },
                  { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" }, { "\xfb\xff", "-_8" } };

        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                _cleanup_free_ char *e = NULL;
                _cleanup_free_ uint8_t *d = NULL;
                size_t n;

                ck_assert_int_eq(base64url_encode(v[i].plain, strlen(v[i].plain), &e), 0);
                ck_assert_str_eq(e, v[i].encoded);
                ck_assert_uint_eq(strlen(e), base64url_encoded_len(strlen(v[i].plain)));
                ck_assert_int_eq(base64url_decode(e, strlen(e), &d, &n), 0);
                ck_assert_uint_eq(n, strlen(v[i].plain));
                ck_assert(memcmp(d, v[i].plain, n) == 0);
        }
        {
                uint8_t *d = NULL;
                size_t n;
                ck_assert_int_eq(base64url_decode("Zg==", 4, &d, &n), -EINVAL);   /* padding */
                ck_assert_int_eq(base64url_decode("Zm+v", 4, &d, &n), -EINVAL);   /* standard alphabet */
                ck_assert_int_eq(base64url_decode("Zh", 2, &d, &n), -EINVAL);     /* non-canonical bits */
                ck_assert_int_eq(base64url_decode("Zm9vY", 5, &d, &n), -EINVAL);  /* 1 leftover char */
        }
}
END_TEST

START_TEST(test_tokens) {
        _cleanup_free_ char *a = NULL, *b = NULL;
        uint8_t d1[TOKEN_DIGEST_SIZE], d2[TOKEN_DIGEST_SIZE];
        char hex[33];

        ck_assert_int_eq(token_random(TOKEN_RANDOM_BYTES, &a), 0);
        ck_assert_int_eq(token_random(TOKEN_RANDOM_BYTES, &b), 0);
        ck_assert_uint_eq(strlen(a), 43);
        ck_assert_str_ne(a, b);
        ck_assert(token_is_plausible(a));
        token_digest(a, d1);
        token_digest(b, d2);
        ck_assert(memcmp(d1, d2, sizeof(d1)) != 0);
        ck_assert_int_eq(token_random_hex(16, hex, sizeof(hex)), 0);
        ck_assert_uint_eq(strlen(hex), 32);
        ck_assert_uint_eq(strspn(hex, "0123456789abcdef"), 32);
        ck_assert_int_eq(token_random_hex(16, hex, 32), -EINVAL);

        /* Ids from the thread's pool: well past one block, each new. */
        {
                char ids[100][33];

                for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                        ck_assert_int_eq(token_random_id(16, ids[i], sizeof(ids[i])), 0);
                        ck_assert_uint_eq(strspn(ids[i], "0123456789abcdef"), 32);
                        ck_assert_uint_eq(strlen(ids[i]), 32);
                        for (size_t k = 0; k < i; k++)
                                ck_assert_str_ne(ids[i], ids[k]);
                }
                ck_assert_int_eq(token_random_id(16, hex, 32), -EINVAL);
                ck_assert_int_eq(token_random_id(65, ids[0], sizeof(ids[0])), -EINVAL);
        }

        ck_assert(!token_is_plausible(""));
        ck_assert(!token_is_plausible(NULL));
        ck_assert(!token_is_plausible("a b"));
        ck_assert(!token_is_plausible("a\"b"));
        ck_assert(!token_is_plausible("a%00"));
}
END_TEST

START_TEST(test_secret_box) {
        static const uint8_t raw[SECRET_KEY_SIZE] = { 1, 2, 3 }, raw2[SECRET_KEY_SIZE] = { 9 };
        _cleanup_(secret_key_freep) SecretKey *k = NULL, *k2 = NULL;
        _cleanup_free_ uint8_t *box = NULL, *plain = NULL;
        uint8_t d1[SECRET_DIGEST_SIZE], d2[SECRET_DIGEST_SIZE];
        size_t n, pn;

        ck_assert_int_eq(secret_key_from_bytes(raw, &k), 0);
        ck_assert_int_eq(secret_key_from_bytes(raw2, &k2), 0);
        ck_assert_int_eq(secret_box_seal(k, "signing-key:1:abc", "private", 7, &box, &n), 0);
        ck_assert(memmem(box, n, "private", 7) == NULL);
        ck_assert_int_eq(secret_box_open(k, "signing-key:1:abc", box, n, &plain, &pn), 0);
        ck_assert_uint_eq(pn, 7);
        ck_assert(memcmp(plain, "private", 7) == 0);
        /* Another context, another key, or a flipped bit: nothing opens. */
        ck_assert_int_eq(secret_box_open(k, "signing-key:2:abc", box, n, &plain, &pn), -EBADMSG);
        ck_assert_int_eq(secret_box_open(k2, "signing-key:1:abc", box, n, &plain, &pn), -EBADMSG);
        box[n - 1] ^= 1;
        ck_assert_int_eq(secret_box_open(k, "signing-key:1:abc", box, n, &plain, &pn), -EBADMSG);

        /* Keyed digests differ by context and key. */
        ck_assert_int_eq(secret_key_digest(k, "client-secret", "s", 1, d1), 0);
        ck_assert_int_eq(secret_key_digest(k, "csrf", "s", 1, d2), 0);
        ck_assert(memcmp(d1, d2, sizeof(d1)) != 0);
        ck_assert_int_eq(secret_key_digest(k2, "client-secret", "s", 1, d2), 0);
        ck_assert(memcmp(d1, d2, sizeof(d1)) != 0);
}
END_TEST

START_TEST(test_secret_key_file) {
        _cleanup_free_ char *dir = test_mkdtemp(), *path = NULL;
        _cleanup_(secret_key_freep) SecretKey *k = NULL, *again = NULL;
        _cleanup_free_ uint8_t *box = NULL, *plain = NULL;
        size_t n, pn;
        StderrCapture c;

        ck_assert_int_ge(asprintf(&path, "%s/secret.key", dir), 0);
        ck_assert_int_eq(secret_key_load(path, &k), 0);
        ck_assert_int_eq(secret_box_seal(k, "x", "hello", 5, &box, &n), 0);
        /* The second load reads the same key. */
        ck_assert_int_eq(secret_key_load(path, &again), 0);
        ck_assert_int_eq(secret_box_open(again, "x", box, n, &plain, &pn), 0);
        /* A key others may read is refused. */
        ck_assert_int_eq(chmod(path, 0644), 0);
        stderr_capture_start(&c);
        ck_assert_int_eq(secret_key_load(path, &again), -EPERM);
        free(stderr_capture_stop(&c));
        test_rm_rf(dir);
}
END_TEST

START_TEST(test_redirect_uris) {
        static const char *const good[] = {
                "https://app.example/cb", "https://app.example:8443/cb?x=1", "http://127.0.0.1:9000/cb",
                "http://localhost/cb", "http://[::1]:8080/", "com.example.app:/oauth2redirect", NULL,
        };
        static const char *const bad[] = {
                "http://app.example/cb",      /* plain http off loopback */
                "https://app.example/cb#frag", "https://user@app.example/cb", "https:///cb", "/relative",
                "javascript:alert(1)",        /* no reverse-domain scheme */
                "https://app.example/c b", "https://app.example/\"x", "", "mailto:", NULL,
        };

        for (size_t i = 0; good[i]; i++)
                ck_assert_msg(application_valid_redirect_uri(good[i]), "%s", good[i]);
        for (size_t i = 0; bad[i]; i++)
                ck_assert_msg(!application_valid_redirect_uri(bad[i]), "%s", bad[i]);
        ck_assert(!application_valid_redirect_uri(NULL));
}
END_TEST


START_TEST(test_json_text) {
        _cleanup_free_ char *a = NULL, *b = NULL;
        json_auto_t *parsed = NULL;
        JsonText j;

        json_text_begin(&j);
        json_text_str(&j, "s", "quote \" backslash \\ tab \t nl \n bell \a, caf\xc3\xa9 \xf0\x9f\x94\x91");
        json_text_int(&j, "min", INT64_MIN);
        json_text_int(&j, "zero", 0);
        json_text_int(&j, "n", 1234567890123);
        json_text_bool(&j, "t", true);
        json_text_bool(&j, "f", false);
        json_text_words(&j, "amr", "pwd  otp");
        json_text_words(&j, "none", "");
        a = json_text_end(&j);
        ck_assert_ptr_nonnull(a);
        ck_assert_str_eq(a, "{\"s\":\"quote \\\" backslash \\\\ tab \\u0009 nl \\u000a bell \\u0007, caf\xc3\xa9 "
                            "\xf0\x9f\x94\x91\",\"min\":-9223372036854775808,\"zero\":0,\"n\":1234567890123,"
                            "\"t\":true,\"f\":false,\"amr\":[\"pwd\",\"otp\"],\"none\":[]}");
        /* What jansson reads back is what went in. */
        parsed = json_loads(a, JSON_REJECT_DUPLICATES, NULL);
        ck_assert_ptr_nonnull(parsed);
        ck_assert_str_eq(json_string_value(json_object_get(parsed, "s")),
                         "quote \" backslash \\ tab \t nl \n bell \a, caf\xc3\xa9 \xf0\x9f\x94\x91");

        /* Not UTF-8 (a lone continuation byte, an overlong '/', a surrogate,
         * a truncated sequence): no text at all. */
        static const char *const bad[] = { "\x80", "\xc0\xaf", "\xed\xa0\x80", "ab\xe2\x82" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                json_text_begin(&j);
                json_text_str(&j, "s", bad[i]);
                ck_assert_ptr_null(json_text_end(&j));
        }
        json_text_begin(&j);
        b = json_text_end(&j);
        ck_assert_str_eq(b, "{}");
}
END_TEST

static bool in_list(const char *const *l, const char *s) {
        for (size_t i = 0; l[i]; i++)
                if (streq(l[i], s))
                        return true;
        return false;
}

START_TEST(test_known_scopes) {
        _cleanup_free_ char *requested = NULL, *normalized = NULL;
        _cleanup_(application_record_unrefp) ApplicationRecord *app = application_record_new();
        size_t n = 0, len = 0;

        /* Every scope the policy asks of keys and clients can be given to
         * an application (and with it, the read twin of each write). */
        for (PolicyAction a = 0; a < _POLICY_ACTION_MAX; a++) {
                const char *scope = policy_action_scope(a);
                char twin[64];

                if (!scope)
                        continue;
                ck_assert_msg(in_list(oidc_known_scopes, scope), "%s", scope);
                ck_assert(strneq(scope, "tessera:", 8));
                if (strlen(scope) > 6 && streq(scope + strlen(scope) - 6, ":write")) {
                        snprintf(twin, sizeof(twin), "%.*s:read", (int) (strlen(scope) - 6), scope);
                        ck_assert_msg(in_list(oidc_known_scopes, twin), "%s", twin);
                }
        }
        /* By default an application gets OpenID's scopes, none of the API's. */
        for (size_t i = 0; application_default_scopes[i]; i++) {
                ck_assert(in_list(oidc_known_scopes, application_default_scopes[i]));
                ck_assert(!strneq(application_default_scopes[i], "tessera:", 8));
        }

        /* All of them at once, in any order, normalize to the known order:
         * the scope of a token has room for every one. */
        ck_assert_ptr_nonnull(app);
        for (n = 0; oidc_known_scopes[n]; n++)
                len += strlen(oidc_known_scopes[n]) + 1;
        ck_assert_uint_le(n, APPLICATION_MAX_SCOPES);
        app->scopes = calloc(n + 1, sizeof(char *));
        requested = calloc(1, len + 1);
        ck_assert(app->scopes && requested);
        for (size_t i = 0; i < n; i++) {
                app->scopes[i] = strdup(oidc_known_scopes[n - 1 - i]);
                strcat(requested, i ? " " : "");
                strcat(requested, oidc_known_scopes[n - 1 - i]);
        }
        ck_assert_int_eq(oauth_scope_normalize(app, requested, &normalized), 0);
        ck_assert_uint_eq(strlen(normalized), len - 1);
        ck_assert(strneq(normalized, "openid profile email offline_access tessera:tenant:read ", 56));
        /* An unknown scope, or one the application does not have, is refused. */
        free(normalized);
        normalized = NULL;
        ck_assert_int_lt(oauth_scope_normalize(app, "tessera:users:admin", &normalized), 0);
        free(app->scopes[0]);
        app->scopes[0] = strdup("openid");
        ck_assert_int_lt(oauth_scope_normalize(app, oidc_known_scopes[n - 1], &normalized), 0);
}
END_TEST

int main(void) {
        Suite *s = suite_create("oauth-util");
        TCase *tc = tcase_create("oauth-util");

        log_set_max_level(LOG_WARNING);
        tcase_add_test(tc, test_pkce_rfc7636_vector);
        tcase_add_test(tc, test_pkce_shapes);
        tcase_add_test(tc, test_base64url);
        tcase_add_test(tc, test_tokens);
        tcase_add_test(tc, test_secret_box);
        tcase_add_test(tc, test_secret_key_file);
        tcase_add_test(tc, test_redirect_uris);
        tcase_add_test(tc, test_json_text);
        tcase_add_test(tc, test_known_scopes);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
