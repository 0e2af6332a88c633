// SPDX-License-Identifier: LGPL-2.1-or-later
//
// The peer of bench/http/run: node's oidc-provider on loopback, set up for
// the grants tessera is measured on: client_credentials with JWT access
// tokens (ES256 or RS256, as tessera's), and userinfo with a user's access
// token. Prints one JSON line with what the benchmark needs, then serves.

import crypto from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.argv[2] ?? 0);
const jwk = (kp, alg) => ({ ...kp.privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: alg.toLowerCase() });
const es = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rs = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });

const clients = [
  { client_id: 'svc-es256', client_secret: 'x'.repeat(43), grant_types: ['client_credentials'], redirect_uris: [],
    response_types: [], token_endpoint_auth_method: 'client_secret_basic' },
  { client_id: 'svc-rs256', client_secret: 'y'.repeat(43), grant_types: ['client_credentials'], redirect_uris: [],
    response_types: [], token_endpoint_auth_method: 'client_secret_basic' },
  { client_id: 'web', client_secret: 'z'.repeat(43), redirect_uris: ['https://app.example/cb'] },
];

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients,
  jwks: { keys: [jwk(rs, 'RS256'), jwk(es, 'ES256')] },
  findAccount: (ctx, sub) => ({
    accountId: sub,
    claims: () => ({ sub, name: 'Alice Liddell', preferred_username: 'alice', email: 'alice@acme.example',
                     email_verified: false }),
  }),
  claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email', 'email_verified'] },
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    devInteractions: { enabled: false },
    // JWT access tokens (RFC 9068) for the client_credentials grant, signed
    // with the algorithm of the client, as tessera does.
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:bench',
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource, client) => ({
        scope: 'profile',
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: client.clientId === 'svc-rs256' ? 'RS256' : 'ES256' } },
      }),
    },
  },
});
provider.proxy = false;

const server = http.createServer(provider.callback());
server.listen(port, '127.0.0.1', async () => {
  // A user's opaque access token for userinfo, minted through the
  // provider's own model (its in-memory store), as the code flow would.
  const client = await provider.Client.find('web');
  const grant = new provider.Grant({ accountId: 'alice', clientId: 'web' });
  grant.addOIDCScope('openid profile email');
  const grantId = await grant.save();
  const at = new provider.AccessToken({ accountId: 'alice', client, grantId, scope: 'openid profile email' });
  const token = await at.save();
  console.log(JSON.stringify({ port: server.address().port, userinfo_token: token, clients }));
});
