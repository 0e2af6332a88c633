// SPDX-License-Identifier: LGPL-2.1-or-later
//
// tessera's OpenID provider as an independent, OpenID-certified client
// library (openid-client) and a real browser (Debian's chromium, driven by
// playwright-core) see it. Started by run_e2e.py, which runs tesserad and
// passes the issuer, clients and users in TESSERA_E2E (JSON).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as client from 'openid-client';
import { chromium } from 'playwright-core';
import { totp } from './totp.mjs';

const env = JSON.parse(process.env.TESSERA_E2E);
const artifacts = env.artifacts;
const insecure = { execute: [client.allowInsecureRequests] };   // plain http on loopback
let browser;

async function shot(page, name) {
  fs.mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

// Opens url in a fresh browser context and signs in; returns the URL the
// provider redirected back to (captured, not loaded: nothing listens there).
async function signInWithBrowser(url, { login, password, code, consent, shots, context }) {
  const ctx = context ?? await browser.newContext();
  const page = await ctx.newPage();
  let callback;
  await page.route(`${env.redirect_base}/**`, (route) => {
    callback = route.request().url();
    return route.fulfill({ status: 200, contentType: 'text/html', body: '<p>back at the app</p>' });
  });
  // A navigation that the provider redirects straight back (SSO) may not
  // pass the route; the request is seen all the same.
  page.on('request', (r) => { if (r.url().startsWith(env.redirect_base)) callback = r.url(); });
  await page.goto(url).catch((e) => { if (!callback) throw e; });
  if (!callback && await page.locator('input[name=password]').count()) {
    if (shots) await shot(page, `${shots}-1-sign-in`);
    await page.fill('input[name=login]', login);
    await page.fill('input[name=password]', password);
    await page.click('button[type=submit]');
    await page.waitForLoadState();
  }
  if (code) {
    await page.waitForSelector('input[name=code]');
    if (shots) await shot(page, `${shots}-2-totp`);
    await page.fill('input[name=code]', code());
    await page.click('button[type=submit]');
    await page.waitForLoadState();
  }
  if (consent) {
    await page.waitForSelector('button[value=allow]');
    if (shots) await shot(page, `${shots}-3-consent`);
    await page.click(`button[value=${consent}]`);
    await page.waitForLoadState();
  }
  for (let i = 0; i < 50 && !callback; i++) await page.waitForTimeout(100);
  if (!callback) {
    await page.waitForLoadState().catch(() => {});
    assert.fail(`no redirect back from ${page.url()}: ${(await page.content().catch((e) => String(e))).slice(0, 600)}`);
  }
  if (!context) await ctx.close();
  return new URL(callback);
}

async function codeFlow(config, redirectUri, opts, extra = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri, scope: 'openid profile email offline_access', state, nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
  });
  const back = await signInWithBrowser(url.href, opts);
  const tokens = await client.authorizationCodeGrant(config, back, {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce,
  });
  return tokens;
}

let web, webBasic, spa, third, svc;

before(async () => {
  // Debian's chromium; playwright gives every launch a fresh, empty
  // --user-data-dir of its own. The rest keeps it off the (closed) network.
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const issuer = new URL(env.issuer);
  web = await client.discovery(issuer, env.web.client_id, env.web.client_secret, undefined, insecure);
  webBasic = await client.discovery(issuer, env.web.client_id, {}, client.ClientSecretBasic(env.web.client_secret), insecure);
  spa = await client.discovery(issuer, env.spa.client_id, undefined, client.None(), insecure);
  third = await client.discovery(issuer, env.third.client_id, env.third.client_secret, undefined, insecure);
  svc = await client.discovery(issuer, env.svc.client_id, {}, client.ClientSecretBasic(env.svc.client_secret), insecure);
});

after(async () => { await browser?.close(); });

test('discovery', () => {
  const m = web.serverMetadata();
  assert.equal(m.issuer, env.issuer);
  assert.deepEqual(m.code_challenge_methods_supported, ['S256']);
  assert.equal(m.authorization_response_iss_parameter_supported, true);
});

test('client credentials', async () => {
  const t = await client.clientCredentialsGrant(svc, { scope: 'profile' });
  assert.equal(t.token_type.toLowerCase(), 'bearer');
  assert.equal(t.scope, 'profile');
  const intro = await client.tokenIntrospection(svc, t.access_token);
  assert.equal(intro.active, true);
  assert.equal(intro.client_id, env.svc.client_id);
});

test('authorization code with PKCE, userinfo, refresh rotation and reuse detection', async () => {
  const tokens = await codeFlow(web, env.web.redirect_uri,
                                { login: 'alice', password: env.password, shots: 'alice' });
  const claims = tokens.claims();            // validated by the library: iss, aud, exp, nonce, signature
  assert.equal(claims.iss, env.issuer);
  assert.equal(claims.preferred_username, 'alice');
  assert.equal(claims.email, 'alice@acme.example');
  assert.deepEqual(claims.amr, ['pwd']);
  assert.ok(claims.sid && claims.auth_time);
  const info = await client.fetchUserInfo(web, tokens.access_token, claims.sub);
  assert.equal(info.name, 'Alice Liddell');

  const r1 = await client.refreshTokenGrant(webBasic, tokens.refresh_token);
  assert.notEqual(r1.refresh_token, tokens.refresh_token);
  assert.equal(r1.claims().sub, claims.sub);
  await new Promise((res) => setTimeout(res, 1500));          // past the reuse grace period
  await assert.rejects(client.refreshTokenGrant(web, tokens.refresh_token),
                       (e) => e.error === 'invalid_grant');
  // Reuse revoked the whole lineage, the new token too.
  await assert.rejects(client.refreshTokenGrant(web, r1.refresh_token), (e) => e.error === 'invalid_grant');
});

test('revocation and introspection', async () => {
  const tokens = await codeFlow(web, env.web.redirect_uri, { login: 'alice', password: env.password });
  assert.equal((await client.tokenIntrospection(web, tokens.access_token)).active, true);
  assert.equal((await client.tokenIntrospection(web, tokens.refresh_token)).active, true);
  await client.tokenRevocation(web, tokens.access_token);
  assert.equal((await client.tokenIntrospection(web, tokens.access_token)).active, false);
  await assert.rejects(client.fetchUserInfo(web, tokens.access_token, tokens.claims().sub));
  await client.tokenRevocation(web, tokens.refresh_token);
  assert.equal((await client.tokenIntrospection(web, tokens.refresh_token)).active, false);
  await assert.rejects(client.refreshTokenGrant(web, tokens.refresh_token));
});

test('sign-in with TOTP', async () => {
  const tokens = await codeFlow(web, env.web.redirect_uri,
                                { login: 'bob', password: env.password, code: () => totp(env.bob_totp, 1), shots: 'bob' });
  assert.deepEqual(tokens.claims().amr, ['pwd', 'otp']);
});

test('public client, consent for a third-party app', async () => {
  const t = await codeFlow(spa, env.spa.redirect_uri, { login: 'carol', password: env.password });
  assert.equal(t.claims().aud, env.spa.client_id);
  const t3 = await codeFlow(third, env.third.redirect_uri,
                            { login: 'carol', password: env.password, consent: 'allow', shots: 'consent' });
  assert.equal(t3.claims().preferred_username, 'carol');
});

test('single sign-on and RP-initiated logout', async () => {
  const ctx = await browser.newContext();
  const tokens = await codeFlow(web, env.web.redirect_uri, { login: 'alice', password: env.password, context: ctx });
  // The same browser gets the next app's code without signing in again.
  const again = await codeFlow(spa, env.spa.redirect_uri, { context: ctx });
  assert.equal(again.claims().sub, tokens.claims().sub);

  const state = client.randomState();
  const url = client.buildEndSessionUrl(web, {
    id_token_hint: tokens.id_token, post_logout_redirect_uri: env.web.post_logout_uri, state,
  });
  const page = await ctx.newPage();
  let landed;
  await page.route(`${env.redirect_base}/**`, (route) => {
    landed = route.request().url();
    return route.fulfill({ status: 200, body: 'bye' });
  });
  page.on('request', (r) => { if (r.url().startsWith(env.redirect_base)) landed = r.url(); });
  await page.goto(url.href).catch((e) => { if (!landed) throw e; });
  for (let i = 0; i < 50 && !landed; i++) await page.waitForTimeout(100);
  assert.equal(landed, `${env.web.post_logout_uri}?state=${state}`);
  await assert.rejects(client.refreshTokenGrant(web, tokens.refresh_token), (e) => e.error === 'invalid_grant');
  // Signed out: the next authorization asks for the password again.
  const probe = await ctx.newPage();
  await probe.goto(client.buildAuthorizationUrl(web, {
    redirect_uri: env.web.redirect_uri, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(
      client.randomPKCECodeVerifier()), code_challenge_method: 'S256', state: 'x',
  }).href);
  assert.equal(await probe.locator('input[name=password]').count(), 1);
  await shot(probe, 'signed-out-sign-in');
  await ctx.close();
});

test('a wrong password shows an error on the page', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(client.buildAuthorizationUrl(web, {
    redirect_uri: env.web.redirect_uri, scope: 'openid', state: 's',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  }).href);
  await page.fill('input[name=login]', 'carol');
  await page.fill('input[name=password]', 'not the password');
  await page.click('button[type=submit]');
  await page.waitForSelector('.error');
  assert.match(await page.textContent('.error'), /not right/);
  await shot(page, 'wrong-password');
  await ctx.close();
});
