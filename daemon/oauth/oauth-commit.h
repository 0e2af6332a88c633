/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An answer that may be told only once a write is durable: a redeemed
 * code (the claim, the refresh token it issued), a rotated refresh token,
 * a revocation, each with its audit events. The rule decides and prepares
 * everything it can on the caller's thread (signatures, the response
 * text); the face has the write run in a batch of the batch writer
 * (oauth_commit_write() is a BatchWriteFunc: one transaction and one fsync
 * for many requests), suspending its request meanwhile, and asks
 * oauth_commit_finish() what to tell once it is committed. The write reads,
 * checks and changes in one go on the writer's connection: two requests
 * with the same code or refresh token can't both win. */

#include "batch-writer.h"
#include "oauth-context.h"

typedef struct OAuthCommit OAuthCommit;

struct OAuthCommit {
        /* In the writer's transaction: 1 when the answer stands, 0 when
         * the write found it refused (the code was used meanwhile), or a
         * negative errno. */
        int (*write)(Store *s, OAuthCommit *c);
        void (*free)(OAuthCommit *c);
        char *response;           /* told when the write returns 1 */
        const char *refusal;      /* told as invalid_grant when it returns 0 */
};

/* A BatchWriteFunc: runs c's write. */
int oauth_commit_write(Store *s, void *c);

/* After the commit (result: the write's, or the commit's error): the
 * response to tell, or the refusal (invalid_grant) in e. A negative
 * result without e set: nothing was decided (an internal error). */
int oauth_commit_finish(OAuthCommit *c, int result, char **ret_response, OAuthError *e);

OAuthCommit *oauth_commit_free(OAuthCommit *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(OAuthCommit *, oauth_commit_free);
