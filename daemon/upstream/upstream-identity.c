/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "upstream-identity.h"

#include <inttypes.h>

#include "macro.h"

void upstream_identity_done(UpstreamIdentity *id) {
        if (!id)
                return;
        free(id->subject);
        free(id->email);
        free(id->name);
        free(id->username);
        free(id->issuer);
        free(id->tid);
        *id = (UpstreamIdentity) {};
}

char *upstream_claim_string(json_t *claims, const char *name, size_t max) {
        json_t *v;
        char *s;

        if (!name)
                return NULL;
        v = json_object_get(claims, name);
        if (json_is_string(v)) {
                if (json_string_length(v) == 0 || json_string_length(v) > max ||
                    strlen(json_string_value(v)) != json_string_length(v))
                        return NULL;
                return strdup(json_string_value(v));
        }
        if (json_is_integer(v) && json_integer_value(v) >= 0) {
                if (asprintf(&s, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < 0)
                        return NULL;
                return s;
        }
        return NULL;
}

bool upstream_claim_true(json_t *claims, const char *name) {
        json_t *v = name ? json_object_get(claims, name) : NULL;

        return json_is_true(v) || (json_is_string(v) && streq(json_string_value(v), "true"));
}

static bool plausible_email(const char *s) {
        const char *at = s ? strrchr(s, '@') : NULL;

        return at && at != s && at[1] != '\0' && !strpbrk(s, " \t\r\n<>\"");
}

static int fill_optional(const UpstreamPreset *preset, json_t *claims, UpstreamIdentity *id) {
        if (!id->email && preset->claim_email) {
                _cleanup_free_ char *email = upstream_claim_string(claims, preset->claim_email, UPSTREAM_FIELD_MAX);

                if (email && plausible_email(email)) {
                        id->email_verified = preset->email_always_verified ||
                                             upstream_claim_true(claims, preset->claim_email_verified);
                        id->email = TAKE_PTR(email);
                }
        }
        if (!id->name)
                id->name = upstream_claim_string(claims, preset->claim_name, UPSTREAM_FIELD_MAX);
        if (!id->username)
                id->username = upstream_claim_string(claims, preset->claim_username, UPSTREAM_FIELD_MAX);
        return 0;
}

int upstream_identity_from_claims(const UpstreamPreset *preset, json_t *claims, UpstreamIdentity *ret,
                                  TesseraError *e) {
        _cleanup_(upstream_identity_done) UpstreamIdentity id = {};

        id.subject = upstream_claim_string(claims, preset->claim_subject, UPSTREAM_SUBJECT_MAX);
        if (!id.subject)
                return tessera_error_set(e, -EBADMSG, "the provider named no user (%s)", preset->claim_subject);
        fill_optional(preset, claims, &id);
        *ret = id;
        id = (UpstreamIdentity) {};
        return 0;
}

int upstream_identity_merge(const UpstreamPreset *preset, json_t *claims, UpstreamIdentity *ret, TesseraError *e) {
        _cleanup_free_ char *sub = upstream_claim_string(claims, preset->claim_subject, UPSTREAM_SUBJECT_MAX);

        /* Core 5.3.2: userinfo of another subject must not be used. */
        if (!sub || !streq(sub, ret->subject))
                return tessera_error_set(e, -EPROTO, "the provider's userinfo is about another user");
        return fill_optional(preset, claims, ret);
}
