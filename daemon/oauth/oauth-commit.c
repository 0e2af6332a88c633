/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "oauth-commit.h"

#include <stdlib.h>

int oauth_commit_write(Store *s, void *c) {
        OAuthCommit *commit = c;

        return commit->write(s, commit);
}

int oauth_commit_finish(OAuthCommit *c, int result, char **ret_response, OAuthError *e) {
        if (result < 0)
                return result;
        if (result == 0)
                return oauth_error_set(e, -EACCES, "invalid_grant", "%s", strempty(c->refusal));
        if (!c->response)
                return -EIO;
        *ret_response = TAKE_PTR(c->response);
        return 0;
}

OAuthCommit *oauth_commit_free(OAuthCommit *c) {
        if (!c)
                return NULL;
        erase_and_free(c->response);
        c->response = NULL;
        c->free(c);
        return NULL;
}
