/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The JSON API's tenants: /api/v1/tenants/{tenant}, read (with the
 * settings that apply), changed (display name and settings in one
 * change: tenant_change()) and deleted (by an owner, who types the slug
 * to confirm). The tenant was looked up, and the request authorized by
 * the route's action, before the handler runs; the core operations ask
 * the policy again and audit. */

#include <inttypes.h>

#include "http-handlers.h"
#include "names.h"
#include "tenant.h"

/* The tenant's version for If-Match: its changed time moves with every
 * change of its name or its settings. */
static void etag_of(const TenantRecord *t, char buf[static 40]) {
        snprintf(buf, 40, "\"%" PRIi64 "\"", t->changed_usec);
}

static json_t *settings_json(const TenantSettings *s) {
        return json_pack("{s:b, s:I, s:b, s:I, s:I, s:b, s:s, s:I, s:I, s:I}",
                         "open_signup", s->open_signup,
                         "password_min_length", (json_int_t) s->password_min_length,
                         "password_dictionary_check", s->password_dictionary_check,
                         "password_min_classes", (json_int_t) s->password_min_classes,
                         "password_max_repeat", (json_int_t) s->password_max_repeat,
                         "password_user_check", s->password_user_check,
                         "mfa_required", mfa_required_to_string(s->mfa_required),
                         "session_lifetime", (json_int_t) s->session_lifetime,
                         "refresh_idle_lifetime", (json_int_t) s->refresh_idle_lifetime,
                         "refresh_absolute_lifetime", (json_int_t) s->refresh_absolute_lifetime);
}

/* The names of the settings the tenant leaves to the site's defaults. */
static json_t *inherited_json(const TenantSettings *own) {
        json_t *a = json_array();

        for (TenantSettingId id = 0; a && id < _TENANT_SETTING_MAX; id++)
                if (!tenant_settings_has(own, id) && json_array_append_new(a, json_string(tenant_setting_to_string(id))) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

static json_t *tenant_json(const TenantRecord *t, const TenantSettings *effective) {
        return json_pack("{s:s, s:s, s:{s:I, s:I}, s:o, s:o, s:o, s:o}",
                         "slug", t->slug,
                         "display_name", strempty(t->display_name),
                         "unix_ids", "first", (json_int_t) t->id_min, "last", (json_int_t) t->id_max,
                         "settings", settings_json(effective),
                         "inherited_settings", inherited_json(&t->settings),
                         "created_at", http_json_time(t->created_usec),
                         "updated_at", http_json_time(t->changed_usec));
}

static void reply_tenant(HttpRequest *req, const Principal *p, const TenantRecord *t) {
        TenantSettings eff;
        TesseraError e = {};
        char etag[40];
        json_t *j;
        int r;

        r = tenant_settings_get(req->manager, http_store(req), p, t, &eff, &e);
        if (r < 0) {
                http_reply_errno(req, r, &e);
                return;
        }
        j = tenant_json(t, &eff);
        if (!j) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        http_reply_json(req, MHD_HTTP_OK, j);
        http_reply_no_store(req);
        etag_of(t, etag);
        http_reply_header(req, MHD_HTTP_HEADER_ETAG, etag);
}

void api_handle_tenant_get(HttpRequest *req) {
        const Principal *p;
        int r;

        r = http_request_principal(req, &p);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        reply_tenant(req, p, req->target.tenant);
}

/* PATCH {"display_name", "settings": {...}, "reset": [names]}: what is
 * given changes, what reset names follows the site's default again. */
typedef struct SettingsBody {
        bool open_signup, password_dictionary_check, password_user_check;
        int64_t password_min_length, password_min_classes, password_max_repeat;
        int64_t session_lifetime, refresh_idle_lifetime, refresh_absolute_lifetime;
        char *mfa_required;
        bool has[_TENANT_SETTING_MAX];
} SettingsBody;

#define HAS(id) .present = JSON_PRESENT(SettingsBody, has[id])
static const JsonField settings_fields[] = {
        JSON_FIELD_BOOLEAN(SettingsBody, open_signup, "open_signup", HAS(TENANT_SETTING_OPEN_SIGNUP)),
        JSON_FIELD_INTEGER(SettingsBody, password_min_length, "password_min_length", .min = 0, .max = UINT32_MAX,
                           HAS(TENANT_SETTING_PASSWORD_MIN_LENGTH)),
        JSON_FIELD_BOOLEAN(SettingsBody, password_dictionary_check, "password_dictionary_check",
                           HAS(TENANT_SETTING_PASSWORD_DICTIONARY_CHECK)),
        JSON_FIELD_INTEGER(SettingsBody, password_min_classes, "password_min_classes", .min = 0, .max = UINT32_MAX,
                           HAS(TENANT_SETTING_PASSWORD_MIN_CLASSES)),
        JSON_FIELD_INTEGER(SettingsBody, password_max_repeat, "password_max_repeat", .min = 0, .max = UINT32_MAX,
                           HAS(TENANT_SETTING_PASSWORD_MAX_REPEAT)),
        JSON_FIELD_BOOLEAN(SettingsBody, password_user_check, "password_user_check",
                           HAS(TENANT_SETTING_PASSWORD_USER_CHECK)),
        JSON_FIELD_STRING(SettingsBody, mfa_required, "mfa_required", .max_len = 32,
                          HAS(TENANT_SETTING_MFA_REQUIRED)),
        JSON_FIELD_INTEGER(SettingsBody, session_lifetime, "session_lifetime", .min = 0, .max = UINT32_MAX,
                           HAS(TENANT_SETTING_SESSION_LIFETIME)),
        JSON_FIELD_INTEGER(SettingsBody, refresh_idle_lifetime, "refresh_idle_lifetime", .min = 0, .max = UINT32_MAX,
                           HAS(TENANT_SETTING_REFRESH_IDLE_LIFETIME)),
        JSON_FIELD_INTEGER(SettingsBody, refresh_absolute_lifetime, "refresh_absolute_lifetime", .min = 0,
                           .max = UINT32_MAX, HAS(TENANT_SETTING_REFRESH_ABSOLUTE_LIFETIME)),
        {}
};
#undef HAS
static const JsonSchema settings_schema = { settings_fields, sizeof(SettingsBody) };

typedef struct TenantBody {
        char *display_name;
        SettingsBody settings;
        char **reset;
} TenantBody;

static const JsonField tenant_fields[] = {
        JSON_FIELD_STRING(TenantBody, display_name, "display_name", .max_len = 1024),
        JSON_FIELD_OBJECT(TenantBody, settings, "settings", &settings_schema),
        JSON_FIELD_STRINGS(TenantBody, reset, "reset", .max_len = _TENANT_SETTING_MAX, .item_max_len = 64),
        {}
};
static const JsonSchema tenant_schema = { tenant_fields, sizeof(TenantBody) };

static void tenant_body_done(TenantBody *b) {
        json_schema_done(&tenant_schema, b);
}

/* The change the body asks for, in the core's terms. Replies 422 (and
 * returns < 0) for a name in reset that is no setting, or an mfa_required
 * that is none of its values. */
static int read_change(HttpRequest *req, const TenantBody *b, TenantSettings *ret_change, uint32_t *ret_reset) {
        const SettingsBody *s = &b->settings;
        TenantSettings c = {
                .open_signup = s->open_signup,
                .password_min_length = (uint32_t) s->password_min_length,
                .password_dictionary_check = s->password_dictionary_check,
                .password_min_classes = (uint32_t) s->password_min_classes,
                .password_max_repeat = (uint32_t) s->password_max_repeat,
                .password_user_check = s->password_user_check,
                .session_lifetime = (uint32_t) s->session_lifetime,
                .refresh_idle_lifetime = (uint32_t) s->refresh_idle_lifetime,
                .refresh_absolute_lifetime = (uint32_t) s->refresh_absolute_lifetime,
        };
        uint32_t reset = 0;

        for (TenantSettingId id = 0; id < _TENANT_SETTING_MAX; id++)
                if (s->has[id])
                        c.set |= TENANT_SETTING_BIT(id);
        if (s->has[TENANT_SETTING_MFA_REQUIRED]) {
                TesseraError e = {};

                if (mfa_required_parse(s->mfa_required, &c.mfa_required, &e) < 0) {
                        http_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                                         json_pack("{s:s}", "field", "settings.mfa_required"), "%s",
                                         tessera_error_message(&e));
                        return -EINVAL;
                }
        }
        STRV_FOREACH(name, b->reset) {
                TenantSettingId id = tenant_setting_from_string(*name);

                if (id < 0) {
                        http_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                                         json_pack("{s:s}", "field", "reset"), "'%.64s' is no setting.", *name);
                        return -EINVAL;
                }
                reset |= TENANT_SETTING_BIT(id);
        }
        *ret_change = c;
        *ret_reset = reset;
        return 0;
}

void api_handle_tenant_update(HttpRequest *req) {
        _cleanup_(tenant_body_done) TenantBody b = {};
        _cleanup_(tenant_record_unrefp) TenantRecord *now = NULL;
        const TenantRecord *t = req->target.tenant;
        const char *if_match = http_header(req, MHD_HTTP_HEADER_IF_MATCH);
        TenantSettings change;
        const Principal *p;
        TesseraError e = {};
        uint32_t reset;
        char etag[40];
        int r;

        if (http_json_body(req, &tenant_schema, &b) < 0)
                return;
        if (read_change(req, &b, &change, &reset) < 0)
                return;
        /* A client that read the tenant may ask that it has not changed
         * since ("*" matches any). */
        etag_of(t, etag);
        if (if_match && !streq(if_match, "*") && !strstr(if_match, etag)) {
                http_reply_errno(req, -ESTALE, NULL);
                return;
        }
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = tenant_change(req->manager, http_store(req), p, t, b.display_name, &change, reset, &e);
        if (r >= 0)
                r = tenant_lookup(req->manager, http_store(req), t->slug, &now, &e);
        if (r < 0) {
                http_reply_errno(req, r, &e);
                return;
        }
        reply_tenant(req, p, now);
}

/* DELETE {"confirm": slug}: typing the slug is the confirmation that
 * this tenant, and everything in it, is meant. */
typedef struct DeleteBody {
        char *confirm;
} DeleteBody;

static const JsonField delete_fields[] = {
        JSON_FIELD_STRING(DeleteBody, confirm, "confirm", .required = true, .max_len = TENANT_SLUG_MAX_LEN + 1),
        {}
};
static const JsonSchema delete_schema = { delete_fields, sizeof(DeleteBody) };

static void delete_body_done(DeleteBody *b) {
        json_schema_done(&delete_schema, b);
}

void api_handle_tenant_delete(HttpRequest *req) {
        _cleanup_(delete_body_done) DeleteBody b = {};
        const TenantRecord *t = req->target.tenant;
        const Principal *p;
        TesseraError e = {};
        int r;

        if (http_json_body(req, &delete_schema, &b) < 0)
                return;
        if (!streq(b.confirm, t->slug)) {
                http_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "confirmation_mismatch",
                                 json_pack("{s:s}", "field", "confirm"),
                                 "To delete tenant '%s', give its slug as confirm.", t->slug);
                return;
        }
        r = http_request_principal(req, &p);
        if (r >= 0)
                r = tenant_delete_all(req->manager, http_store(req), p, t, &e);
        if (r < 0) {
                http_reply_errno(req, r, &e);
                return;
        }
        http_reply_text(req, MHD_HTTP_NO_CONTENT, "text/plain", strdup(""), 0);
}
