/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The JSON API's signing keys of a tenant: /api/v1/tenants/{tenant}/keys
 * lists the keys its tokens are signed with (the active ones and those
 * retired but still published in the JWKS until every token they signed
 * has expired), /keys/rotate retires the active keys and makes new ones.
 * The private parts never leave the store (sealed there). The core
 * (key-set.h) checks the policy again and audits. */

#include "http-handlers.h"
#include "key-set.h"
#include "store-oidc.h"
#include "time-util.h"

static json_t *keys_json(HttpRequest *req, int *ret_error) {
        int64_t publish = signing_keys_publish_usec(req->manager), now = now_realtime_usec();
        StoredSigningKey *keys = NULL;
        json_t *items;
        size_t n = 0;
        int r;

        /* Every key still published; a tenant has a handful at most. */
        r = store_signing_key_list(http_store(req), req->target.tenant->id, now - publish, &keys, &n);
        if (r < 0) {
                *ret_error = r;
                return NULL;
        }
        items = json_array();
        for (size_t i = 0; items && i < n; i++)
                if (json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}",
                                                           "kid", keys[i].kid,
                                                           "alg", jwt_alg_to_string(keys[i].alg) ?: "",
                                                           "state", keys[i].retired_usec > 0 ? "retired" : "active",
                                                           "created_at", http_json_time(keys[i].created_usec),
                                                           "retired_at", http_json_time(keys[i].retired_usec),
                                                           "published_until",
                                                           http_json_time(keys[i].retired_usec > 0
                                                                                  ? keys[i].retired_usec + publish
                                                                                  : 0))) < 0) {
                        json_decref(items);
                        items = NULL;
                }
        stored_signing_key_array_free(keys, n);
        *ret_error = -ENOMEM;
        /* Never more than a page: the list is not paged. */
        return items ? json_pack("{s:o, s:n}", "items", items, "next_cursor") : NULL;
}

static void reply_keys(HttpRequest *req, unsigned status) {
        int r = 0;
        json_t *j = keys_json(req, &r);

        if (!j) {
                http_reply_internal_error(req, r);
                return;
        }
        http_reply_json(req, status, j);
        http_reply_no_store(req);
}

void api_handle_signing_keys_list(HttpRequest *req) {
        int r;

        /* A tenant's first keys are made on first use: listing them is one. */
        r = signing_keys_ensure(req->manager, http_store(req), req->target.tenant->id);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        reply_keys(req, MHD_HTTP_OK);
}

void api_handle_signing_keys_rotate(HttpRequest *req) {
        _cleanup_(signing_key_batch_freep) SigningKeyBatch *batch = NULL;
        _cleanup_(strv_freep) char **kids = NULL;
        const Principal *p;
        TesseraError e = {};
        int r;

        if (api_me_no_body(req) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        /* The door asked the policy before this slow part (an RSA key
         * takes up to a second, on this request's thread: rotations are
         * rare); the core asks again when it rotates. */
        r = signing_key_batch_make(req->manager, req->target.tenant->id, &batch);
        if (r < 0)
                r = tessera_error_set(&e, r, "Failed to make new signing keys.");
        else
                r = signing_keys_rotate(req->manager, http_store(req), p, req->target.tenant, batch, &kids, &e);
        if (r < 0) {
                http_reply_errno(req, r, &e);
                return;
        }
        reply_keys(req, MHD_HTTP_OK);
}
