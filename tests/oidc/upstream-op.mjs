// SPDX-License-Identifier: LGPL-2.1-or-later
//
// An upstream OpenID provider on loopback for the tests of tessera's
// "sign in with ...": node's oidc-provider (OpenID certified), with static
// clients and users given as JSON, its own login form (fields "login" and
// "password") that a browser or urllib can fill, and misbehaviour modes
// that each do exactly one thing wrong.
//
//   node upstream-op.mjs --config FILE [--mode MODE] [--port P] [--slow-ms MS]
//
// FILE: {"clients": [{"client_id", "client_secret", "redirect_uris": [...],
//                     "token_endpoint_auth_method"?}],
//        "users": [{"sub", "login", "password", "email", "email_verified",
//                   "name"?, "preferred_username"?, "tid"?}]}
//
// Readiness: one JSON line on stdout once both listeners listen:
//   {"issuer": "http://127.0.0.1:P", "port": P, "control_port": C, "mode": M}
// Stopped by its pid (SIGTERM).
//
// The control listener (127.0.0.1:C, for the test driver only):
//   POST /mode    {"mode": M, "slow_ms"?: MS}  switch modes ("down" closes
//                 the provider's port, any other mode opens it again)
//   POST /rotate  a new signing key (a new kid) signs from now on; the key
//                 set serves the new key and the old one
//   GET  /stats   how often each endpoint was asked: {"discovery", "jwks",
//                 "authorization", "token", "userinfo", "login"}
//   POST /stats/reset
//
// Modes (MODES below): the ID token is always signed again by this file
// with the current key (so that a key can be rotated and a token forged),
// and the mode changes exactly one thing of it or of one answer.

import * as http from 'node:http';
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import * as jose from 'jose';
import Provider from 'oidc-provider';

const MODES = {
  good: 'everything as it should be',
  'foreign-key': 'the ID token signed by a key not in the key set, under the kid of the current key',
  'unknown-kid': 'the ID token signed by a key not in the key set, under a kid the key set does not have',
  'alg-none': 'the ID token unsigned (alg "none")',
  'alg-hs256': 'the ID token signed with HS256, the client secret as the key',
  'wrong-iss': 'the ID token\'s iss names another issuer',
  'wrong-aud': 'the ID token\'s aud names another client',
  'no-nonce': 'the ID token carries no nonce',
  'wrong-nonce': 'the ID token carries another nonce',
  'azp-wrong': 'the ID token has two audiences (ours first) and azp names the other',
  'azp-missing': 'the ID token has two audiences (ours first) and no azp',
  expired: 'the ID token expired an hour ago',
  'email-unverified': 'email_verified false (and xms_edov false) whatever the user\'s is',
  slow: 'the token endpoint answers after slow_ms (default 60 s)',
  garbage: 'the token endpoint answers 200 with a body that is not JSON',
  'garbage-discovery': 'discovery answers 200 with a body that is not JSON',
  'garbage-jwks': 'the key set answers 200 with JSON that is not a key set',
  huge: 'the token endpoint answers 200 with 5 MB of valid JSON',
  down: 'the provider\'s port is closed',
  microsoft: 'Entra\'s multi-tenant issuer: discovery at /common/v2.0 names "{base}/{tenantid}/v2.0", tokens carry tid and iss with it, xms_edov for email_verified',
  'microsoft-tid-mismatch': 'as microsoft, but iss names another tenant than tid',
};

const DEFAULT_TID = '9188040d-6c67-4c5b-b112-36a304b66dad';
const OTHER_TID = '72f988bf-86f1-41af-91ab-2d7cd011db47';

const { values: args } = parseArgs({
  options: {
    config: { type: 'string' },
    mode: { type: 'string', default: 'good' },
    port: { type: 'string', default: '0' },
    'slow-ms': { type: 'string', default: '60000' },
  },
});

function fail(message) {
  process.stderr.write(`upstream-op: ${message}\n`);
  process.exit(2);
}

if (!args.config)
  fail('--config FILE is required');
const config = JSON.parse(readFileSync(args.config, 'utf8'));
const users = config.users ?? [];
const clients = (config.clients ?? []).map((c) => ({
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  ...c,
}));
if (!(args.mode in MODES))
  fail(`unknown mode ${args.mode}; modes: ${Object.keys(MODES).join(', ')}`);

const state = {
  mode: args.mode,
  slowMs: Number(args['slow-ms']),
  stats: {},
  keys: [],   // [{kid, privateKey, publicJwk}], the first signs
};

function count(what) {
  state.stats[what] = (state.stats[what] ?? 0) + 1;
}

async function newKey() {
  const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const kid = randomBytes(8).toString('hex');
  const publicJwk = { ...(await jose.exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const privateJwk = { ...(await jose.exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, publicJwk, privateJwk };
}

state.keys.push(await newKey());

function findUser(accountId) {
  return users.find((u) => u.sub === accountId);
}

// The HTTP server is created first so that the issuer can name its port.
const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number(args.port), '127.0.0.1', resolve);
});
const port = server.address().port;
const base = `http://127.0.0.1:${port}`;

const provider = new Provider(base, {
  clients,
  jwks: { keys: [state.keys[0].privateJwk] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username', 'nickname'],
  },
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: false },
  },
  pkce: { required: () => false },
  interactions: {
    url: (ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  // Every client is first-party here: no consent screen.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId)
      return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
  async findAccount(ctx, sub) {
    const user = findUser(sub);
    if (!user)
      return undefined;
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          email: user.email,
          email_verified: user.email_verified === true,
          name: user.name ?? user.login,
          preferred_username: user.preferred_username ?? user.login,
          nickname: user.login,
        };
      },
    };
  },
});
provider.proxy = false;

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(uid, clientId, message) {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Upstream sign-in</title></head>
<body>
<h1>Sign in to the upstream provider</h1>
<p>for ${escapeHtml(clientId)}</p>
${message ? `<p id="error" role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}">
<label>Login <input id="login" name="login" autocomplete="username" autofocus></label>
<label>Password <input id="password" name="password" type="password" autocomplete="current-password"></label>
<button id="submit" type="submit">Sign in</button>
</form>
</body></html>`;
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req)
    chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

// Our login form, in place of oidc-provider's development one.
provider.use(async (ctx, next) => {
  const m = ctx.path.match(/^\/interaction\/([^/]+)$/);
  if (!m)
    return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (ctx.method === 'GET') {
    ctx.type = 'html';
    ctx.body = loginPage(details.uid, details.params.client_id);
    return undefined;
  }
  if (ctx.method !== 'POST')
    ctx.throw(405);
  count('login');
  const form = new URLSearchParams(await readBody(ctx.req));
  const user = users.find((u) => u.login === form.get('login') && u.password === form.get('password'));
  if (!user) {
    ctx.status = 401;
    ctx.type = 'html';
    ctx.body = loginPage(details.uid, details.params.client_id, 'Wrong login or password.');
    return undefined;
  }
  await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: user.sub } },
    { mergeWithLastSubmission: false });
  ctx.respond = false;
  return undefined;
});

function isMicrosoft() {
  return state.mode === 'microsoft' || state.mode === 'microsoft-tid-mismatch';
}

function issuerFor(tid) {
  return `${base}/${tid}/v2.0`;
}

// The ID token as this mode has it: claims changed, then signed again.
async function forgeIdToken(idToken, clientId) {
  const claims = jose.decodeJwt(idToken);
  const client = clients.find((c) => c.client_id === clientId);
  const user = findUser(claims.sub);
  const now = Math.floor(Date.now() / 1000);
  const mode = state.mode;

  if (isMicrosoft()) {
    const tid = user?.tid ?? DEFAULT_TID;
    claims.tid = tid;
    claims.iss = issuerFor(mode === 'microsoft-tid-mismatch' ? (tid === OTHER_TID ? DEFAULT_TID : OTHER_TID) : tid);
    claims.xms_edov = user?.email_verified === true;
  }
  switch (mode) {
  case 'wrong-iss': claims.iss = `${base}/other-issuer`; break;
  case 'wrong-aud': claims.aud = 'another-client'; delete claims.azp; break;
  case 'no-nonce': delete claims.nonce; break;
  case 'wrong-nonce': claims.nonce = randomBytes(12).toString('base64url'); break;
  case 'azp-wrong': claims.aud = [clientId, 'another-client']; claims.azp = 'another-client'; break;
  case 'azp-missing': claims.aud = [clientId, 'another-client']; delete claims.azp; break;
  case 'expired': claims.iat = now - 7200; claims.exp = now - 3600; break;
  case 'email-unverified': claims.email_verified = false; if ('xms_edov' in claims) claims.xms_edov = false; break;
  default: break;
  }

  if (mode === 'alg-none') {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
  }
  if (mode === 'alg-hs256') {
    return new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: state.keys[0].kid, typ: 'JWT' })
      .sign(new TextEncoder().encode(client?.client_secret ?? 'secret'));
  }
  let key = state.keys[0].privateKey;
  let kid = state.keys[0].kid;
  if (mode === 'foreign-key' || mode === 'unknown-kid') {
    key = (await newKey()).privateKey;
    if (mode === 'unknown-kid')
      kid = randomBytes(8).toString('hex');
  }
  return new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(key);
}

function clientIdOf(ctx, form) {
  const authz = ctx.get('authorization');
  if (authz?.startsWith('Basic ')) {
    const [id] = Buffer.from(authz.slice(6), 'base64').toString('utf8').split(':');
    return decodeURIComponent(id);
  }
  return form?.get('client_id');
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

// The modes, around oidc-provider's own answers.
provider.use(async (ctx, next) => {
  const mode = state.mode;
  let path = ctx.path;

  if (path === '/.well-known/openid-configuration' || /^\/[^/]+\/v2\.0\/\.well-known\/openid-configuration$/.test(path)) {
    count('discovery');
    if (mode === 'garbage-discovery') {
      ctx.type = 'json';
      ctx.body = '<html>this is not the metadata you are looking for';
      return;
    }
    if (path !== '/.well-known/openid-configuration') {
      if (!isMicrosoft()) {
        ctx.status = 404;
        return;
      }
      ctx.path = '/.well-known/openid-configuration';
    }
    await next();
    if (isMicrosoft() && ctx.body && typeof ctx.body === 'object')
      ctx.body = { ...ctx.body, issuer: `${base}/{tenantid}/v2.0` };
    ctx.set('Cache-Control', 'public, max-age=3600');
    return;
  }
  if (path === '/jwks') {
    count('jwks');
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.type = 'application/jwk-set+json';
    ctx.body = mode === 'garbage-jwks' ? { keys: 'none here' } : { keys: state.keys.map((k) => k.publicJwk) };
    return;
  }
  if (path === '/auth')
    count('authorization');
  if (path === '/me')
    count('userinfo');
  if (path !== '/token')
    return next();

  count('token');
  if (mode === 'slow')
    await sleep(state.slowMs);
  if (mode === 'garbage') {
    ctx.status = 200;
    ctx.type = 'json';
    ctx.body = '{"access_token": "abc", "id_token": <<garbage>>';
    return;
  }
  if (mode === 'huge') {
    ctx.status = 200;
    ctx.type = 'json';
    ctx.body = JSON.stringify({ access_token: 'x', token_type: 'Bearer', padding: 'x'.repeat(5 * 1024 * 1024) });
    return;
  }
  await next();
  if (ctx.status === 200 && ctx.body && typeof ctx.body === 'object' && ctx.body.id_token) {
    const clientId = ctx.oidc?.client?.clientId ?? clientIdOf(ctx, null);
    ctx.body = { ...ctx.body, id_token: await forgeIdToken(ctx.body.id_token, clientId) };
  }
});

server.on('request', provider.callback());

// Down: the port closed (connections refused), opened again on any other mode.
async function setMode(mode) {
  const wasDown = state.mode === 'down';
  state.mode = mode;
  if (mode === 'down' && !wasDown) {
    await new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  } else if (mode !== 'down' && wasDown) {
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
  }
}

const control = http.createServer(async (req, res) => {
  const reply = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  try {
    const body = req.method === 'POST' ? await readBody(req) : '';
    if (req.method === 'GET' && req.url === '/stats')
      return reply(200, state.stats);
    if (req.method === 'POST' && req.url === '/stats/reset') {
      state.stats = {};
      return reply(200, {});
    }
    if (req.method === 'POST' && req.url === '/rotate') {
      state.keys = [await newKey(), state.keys[0]];
      return reply(200, { kid: state.keys[0].kid });
    }
    if (req.method === 'POST' && req.url === '/mode') {
      const want = JSON.parse(body || '{}');
      if (!(want.mode in MODES))
        return reply(400, { error: `unknown mode ${want.mode}` });
      if (want.slow_ms !== undefined)
        state.slowMs = Number(want.slow_ms);
      await setMode(want.mode);
      return reply(200, { mode: state.mode });
    }
    if (req.method === 'GET' && req.url === '/modes')
      return reply(200, MODES);
    return reply(404, { error: 'no such control' });
  } catch (err) {
    return reply(500, { error: String(err) });
  }
});
await new Promise((resolve) => { control.listen(0, '127.0.0.1', resolve); });

if (state.mode === 'down') {
  state.mode = 'good';
  await setMode('down');
}

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));

process.stdout.write(`${JSON.stringify({
  issuer: base, port, control_port: control.address().port, mode: state.mode,
})}\n`);
