// SPDX-License-Identifier: LGPL-2.1-or-later
//
// "Continue with ..." in a real browser (Debian's chromium, driven by
// playwright-core) against the real tesserad and real upstreams on
// loopback: node's oidc-provider registered as any OpenID provider, and
// the GitHub stand-in through the github preset's endpoints. The app is
// openid-client: it sends the browser to tessera, the browser clicks the
// provider's button, signs in upstream, comes back signed in, and the app
// receives an ID token of the linked user with amr ["fed"]. Then the proof
// of an existing account before a link, and a provider that misbehaves
// (a token for another audience): a page that says so, and no code.
// Started by run_upstream.py, which passes TESSERA_UPSTREAM (JSON); each
// step saves a screenshot into env.screenshots.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import * as client from 'openid-client';
import { chromium } from 'playwright-core';

const env = JSON.parse(process.env.TESSERA_UPSTREAM);
let browser, config;

async function shot(page, name) {
  await page.screenshot({ path: path.join(env.screenshots, `${name}.png`), fullPage: true });
}

async function heading(page) {
  return (await page.textContent('h1'))?.trim();
}

async function call(method, url, { body, token } = {}) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const r = await fetch(url, { method, headers, body: body && JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

before(async () => {
  config = await client.discovery(new URL(env.issuer), env.client_id, env.client_secret, undefined,
                                  { execute: [client.allowInsecureRequests] });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => { await browser?.close(); });

async function authorization() {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: env.redirect_uri, scope: 'openid profile email', state, nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  return { url: url.href, verifier, state, nonce };
}

// A browser context whose requests to the app's redirect URI are caught
// (the app is this test); get() is the URL the browser was sent back to.
async function appContext() {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  let callback;
  await page.route(`${new URL(env.redirect_uri).origin}/**`, (route) => {
    callback = route.request().url();
    return route.fulfill({ status: 200, contentType: 'text/html', body: '<p>back at the app</p>' });
  });
  return { ctx, page, get: () => callback };
}

async function waitFor(get) {
  for (let i = 0; i < 200 && !get(); i++) await new Promise((r) => setTimeout(r, 50));
  return get();
}

// On tessera's sign-in page: click the provider's button, then sign in on
// the provider's own form.
async function viaProvider(page, button, login, password, shots) {
  assert.equal(await heading(page), 'Sign in');
  await shot(page, `${shots}-1-sign-in`);
  await Promise.all([page.waitForNavigation(), page.click(`button[data-provider=${button}]`)]);
  assert.ok(page.url().startsWith(env.upstreams[button]), `at the provider: ${page.url()}`);
  await shot(page, `${shots}-2-upstream-login`);
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForNavigation().catch(() => {}), page.click('button[type=submit]')]);
}

async function codeGrant(callback, { verifier, state, nonce }) {
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce,
  });
  return tokens.claims();
}

async function identities(user) {
  const r = await call('GET', `${env.api}/users/${user}/identities`, { token: env.admin_token });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.items;
}

test('the sign-in page offers the providers; the OpenID provider signs a new user in', async () => {
  const a = await authorization();
  const { ctx, page, get } = await appContext();
  const opened = await page.goto(a.url);
  assert.equal(opened.status(), 200);
  const buttons = await page.$$eval('button.provider', (bs) => bs.map((b) => b.textContent.trim()));
  assert.deepEqual(buttons.sort(), ['Continue with Example OP', 'Continue with GitHub', 'Continue with Strict OP']);

  await viaProvider(page, 'op', 'carl', 'carl-pw', '01-oidc');
  const callback = await waitFor(get);
  assert.ok(callback?.startsWith(env.redirect_uri), `no redirect back to the app from ${page.url()}`);
  await shot(page, '01-oidc-3-back-at-the-app');
  await ctx.close();

  const claims = await codeGrant(callback, a);
  assert.equal(claims.preferred_username, 'carl');
  assert.equal(claims.email, 'carl@example.net');
  assert.equal(claims.email_verified, true);
  assert.deepEqual(claims.amr, ['fed']);
  const ids = await identities('carl');
  assert.equal(ids.length, 1);
  assert.equal(ids[0].provider, 'op');
  assert.equal(ids[0].subject, '1003');
});

test('GitHub (OAuth and its REST API) signs a new user in', async () => {
  const a = await authorization();
  const { ctx, page, get } = await appContext();
  await page.goto(a.url);
  await viaProvider(page, 'gh', 'hedy', 'hedy-pw', '02-github');
  const callback = await waitFor(get);
  assert.ok(callback?.startsWith(env.redirect_uri), `no redirect back to the app from ${page.url()}`);
  await shot(page, '02-github-3-back-at-the-app');
  await ctx.close();

  const claims = await codeGrant(callback, a);
  assert.equal(claims.preferred_username, 'hedy');
  assert.equal(claims.email, 'hedy@example.net');
  assert.deepEqual(claims.amr, ['fed']);
  const ids = await identities('hedy');
  assert.equal(ids[0].provider, 'gh');
});

test('an address of an existing account: the account is proven, then linked', async () => {
  const a = await authorization();
  const { ctx, page, get } = await appContext();
  await page.goto(a.url);
  await viaProvider(page, 'strict', 'grace', 'grace-pw', '03-link');
  assert.equal(await heading(page), 'Link your account');
  await shot(page, '03-link-3-prove-the-account');
  assert.equal((await identities('grace')).length, 0);

  await page.fill('input[name=password]', 'not the password');
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  assert.equal(await heading(page), 'Link your account');
  assert.ok((await page.textContent('.error')).trim().length > 0);
  await shot(page, '03-link-4-wrong-password');
  assert.equal((await identities('grace')).length, 0);

  await page.fill('input[name=password]', env.password);
  await page.click('button[type=submit]');
  const callback = await waitFor(get);
  assert.ok(callback?.startsWith(env.redirect_uri), `no redirect back to the app from ${page.url()}`);
  await shot(page, '03-link-5-back-at-the-app');
  await ctx.close();

  const claims = await codeGrant(callback, a);
  assert.equal(claims.preferred_username, 'grace');
  assert.deepEqual(claims.amr, ['fed', 'pwd']);
  assert.equal((await identities('grace')).length, 1);
});

test('a provider whose token is for another client: a page that says so, no code', async () => {
  const r = await fetch(`${env.op_control}/mode`, { method: 'POST', body: JSON.stringify({ mode: 'wrong-aud' }),
                                                    headers: { 'Content-Type': 'application/json' } });
  assert.equal(r.status, 200);
  try {
    const a = await authorization();
    const { ctx, page, get } = await appContext();
    await page.goto(a.url);
    await viaProvider(page, 'op', 'm1', 'm-pw', '04-refused');
    assert.equal(await heading(page), "The provider's answer was not genuine");
    assert.match(await page.textContent('main'), /Example OP/);
    await shot(page, '04-refused-3-page');
    assert.equal(get(), undefined);
    await ctx.close();
    const users = await call('GET', `${env.api}/users/m1`, { token: env.admin_token });
    assert.equal(users.status, 404);
  } finally {
    await fetch(`${env.op_control}/mode`, { method: 'POST', body: JSON.stringify({ mode: 'good' }),
                                            headers: { 'Content-Type': 'application/json' } });
  }
});
