// SPDX-License-Identifier: LGPL-2.1-or-later
//
// The account pages in a real browser (Debian's chromium, driven by
// playwright-core) against the real tesserad: the e-mail verification and
// password reset pages opened from the links of real mails, the "forgot"
// page the sign-in page links to, and the OpenID provider's sign-in with a
// TOTP second factor (openid-client as the app). Started by run_pages.py,
// which signs the user up, enrols TOTP and passes the verification link in
// TESSERA_PAGES (JSON); the reset link comes from the mail the "forgot" page
// sends (run_pages.py --mailed-link reads it). Each step saves a screenshot
// into env.screenshots. The tests run in file order: the reset ends the
// sign-up's session, which the verification test still uses. Last, the
// sign-up pages: a new organization on /signup, and an end user from the
// tenant's sign-in page (the site's open sign-up opens its tenants too).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as client from 'openid-client';
import { chromium } from 'playwright-core';
import { totp } from './totp.mjs';

const env = JSON.parse(process.env.TESSERA_PAGES);
const api = `${env.base}/api/v1/tenants/${env.tenant}`;
let browser, config;

async function shot(page, name) {
  await page.screenshot({ path: path.join(env.screenshots, `${name}.png`), fullPage: true });
}

async function call(method, url, { body, token } = {}) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const r = await fetch(url, { method, headers, body: body && JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

// What every server-rendered page must carry: no script, no framing, no
// referrer, nothing cached.
function assertPageHeaders(response) {
  const h = response.headers();
  assert.match(h['content-security-policy'] ?? '', /default-src 'none'/);
  assert.match(h['content-security-policy'] ?? '', /frame-ancestors 'none'/);
  assert.equal(h['x-frame-options'], 'DENY');
  assert.equal(h['referrer-policy'], 'no-referrer');
  assert.match(h['cache-control'] ?? '', /no-store/);
}

async function heading(page) {
  return (await page.textContent('h1')).trim();
}

// Submits the page's form and returns the answer to the POST.
async function submit(page) {
  const [response] = await Promise.all([
    page.waitForNavigation(),
    page.click('button[type=submit]'),
  ]);
  return response;
}

before(async () => {
  // playwright gives every launch a fresh, empty --user-data-dir of its own;
  // the rest keeps it off the (closed) network.
  config = await client.discovery(new URL(env.issuer), env.client_id, env.client_secret, undefined,
                                  { execute: [client.allowInsecureRequests] });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => { await browser?.close(); });

// A fresh authorization request of the app: its URL and what the code
// exchange needs.
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

function mails() {
  return fs.readdirSync(env.outbox).filter((f) => f.endsWith('.eml'));
}

// The link (reset-password or verify-email) of the first mail not among
// known (run_pages.py reads it with python's email module, waiting for the
// daemon to write it).
function mailedLink(known, kind = 'reset-password') {
  const out = execFileSync('python3', [path.join(import.meta.dirname, 'run_pages.py'), '--mailed-link', env.outbox,
                                       kind, ...known], { encoding: 'utf8', timeout: 60000 });
  return JSON.parse(out);
}

test('the verification link from the sign-up mail confirms the address, once', async () => {
  const before = await call('GET', `${api}/me`, { token: env.signup_token });
  assert.equal(before.status, 200);
  assert.equal(before.json.email_verified, false);

  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const opened = await page.goto(env.verify_url);
  assert.equal(opened.status(), 200);
  assertPageHeaders(opened);
  assert.equal(await heading(page), 'Confirm your e-mail address');
  assert.match(await page.textContent('.sub'), /Analytical Engines/);
  await shot(page, '01-verify-email');

  const done = await submit(page);
  assert.equal(done.status(), 200);
  assertPageHeaders(done);
  assert.equal(await heading(page), 'Your e-mail address is confirmed');
  await shot(page, '02-verify-email-done');

  const after = await call('GET', `${api}/me`, { token: env.signup_token });
  assert.equal(after.json.email_verified, true);

  // Single use: the same link now says so at once.
  const again = await page.goto(env.verify_url);
  assert.equal(again.status(), 400);
  assert.equal(await heading(page), "This link can't be used");
  await shot(page, '03-verify-email-used');
  await ctx.close();
});

test('"forgot" from the sign-in page answers alike for any address and mails a link', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto((await authorization()).url);
  assert.equal(await heading(page), 'Sign in');
  const known = mails();
  const [opened] = await Promise.all([page.waitForNavigation(), page.click('text=Forgot your password?')]);
  assert.equal(opened.status(), 200);
  assertPageHeaders(opened);
  assert.equal(new URL(page.url()).pathname, `/t/${env.tenant}/forgot-password`);
  assert.equal(await heading(page), 'Forgot your password?');
  await shot(page, '04-forgot-password');

  // An address no account has, then the user's: the same page.
  const answers = [];
  for (const address of ['nobody@analytical.example', env.email]) {
    await page.goto(`${env.base}/t/${env.tenant}/forgot-password`);
    await page.fill('input[name=email]', address);
    const sent = await submit(page);
    assertPageHeaders(sent);
    answers.push({ status: sent.status(), heading: await heading(page), text: await page.textContent('.sub') });
  }
  assert.equal(answers[0].heading, 'Check your mail');
  assert.equal(answers[0].status, 200);
  assert.deepEqual(answers[1], answers[0]);
  await shot(page, '05-forgot-password-sent');
  await ctx.close();

  // One mail, to the user; none for the address without an account.
  env.reset = mailedLink(known);
  assert.equal(env.reset.to, env.email);
  assert.deepEqual(mails().filter((f) => !known.includes(f)), [env.reset.file]);
});

test('the reset link from the "forgot" mail sets a new password; the old one stops working', async () => {
  assert.ok(env.reset, 'no reset link: the "forgot" test failed');
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const opened = await page.goto(env.reset.url);
  assert.equal(opened.status(), 200);
  assertPageHeaders(opened);
  assert.equal(await heading(page), 'Choose a new password');
  await shot(page, '06-reset-password');

  // Two different passwords: the form again with the error, the link unspent.
  await page.fill('input[name=password]', env.new_password);
  await page.fill('input[name=password2]', `${env.new_password}!`);
  const mismatch = await submit(page);
  assert.equal(mismatch.status(), 400);
  assert.match(await page.textContent('.error'), /not the same/);
  await shot(page, '07-reset-password-mismatch');

  // One the policy refuses (too short): the same.
  await page.fill('input[name=password]', 'short');
  await page.fill('input[name=password2]', 'short');
  const weak = await submit(page);
  assert.equal(weak.status(), 422);
  assert.match(await page.textContent('.error'), /at least 8 characters/);
  await shot(page, '08-reset-password-weak');

  await page.fill('input[name=password]', env.new_password);
  await page.fill('input[name=password2]', env.new_password);
  const done = await submit(page);
  assert.equal(done.status(), 200);
  assertPageHeaders(done);
  assert.equal(await heading(page), 'Your password is set');
  await shot(page, '09-reset-password-done');
  await ctx.close();

  // The old password is refused, the new one passes (to the second factor);
  // the reset ended the sign-up's session.
  const old = await call('POST', `${api}/auth/signin`, { body: { login: env.email, password: env.password } });
  assert.equal(old.status, 401);
  assert.equal(old.json.code, 'invalid_credentials');
  const fresh = await call('POST', `${api}/auth/signin`, { body: { login: env.email, password: env.new_password } });
  assert.equal(fresh.status, 200);
  assert.equal(fresh.json.status, 'mfa_required');
  assert.equal((await call('GET', `${api}/me`, { token: env.signup_token })).status, 401);
});

test('the sign-in page of the OpenID provider with the new password and a TOTP code', async () => {
  const { url, verifier, state, nonce } = await authorization();

  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  let callback;
  await page.route(`${new URL(env.redirect_uri).origin}/**`, (route) => {
    callback = route.request().url();
    return route.fulfill({ status: 200, contentType: 'text/html', body: '<p>back at the app</p>' });
  });
  const opened = await page.goto(url);
  assert.equal(opened.status(), 200);
  assertPageHeaders(opened);
  assert.equal(await heading(page), 'Sign in');
  await shot(page, '10-sign-in');

  await page.fill('input[name=login]', env.email);
  await page.fill('input[name=password]', env.new_password);
  const second = await submit(page);
  assertPageHeaders(second);
  assert.equal(await heading(page), 'Verification code');
  await shot(page, '11-sign-in-totp');

  // A code from long ago is refused on the page, which asks again.
  await page.fill('input[name=code]', totp(env.totp, -20));
  await submit(page);
  assert.equal(await heading(page), 'Verification code');
  assert.ok((await page.textContent('.error')).trim().length > 0);
  await shot(page, '12-sign-in-totp-wrong');

  // The next period's code: never the one the enrolment spent.
  await page.fill('input[name=code]', totp(env.totp, 1));
  await page.click('button[type=submit]');
  for (let i = 0; i < 100 && !callback; i++) await page.waitForTimeout(50);
  assert.ok(callback, `no redirect back from ${page.url()}`);
  await shot(page, '13-sign-in-back-at-the-app');
  await ctx.close();

  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce,
  });
  const claims = tokens.claims();
  assert.equal(claims.email, env.email);
  assert.equal(claims.email_verified, true);     // from the verification page
  assert.deepEqual(claims.amr, ['pwd', 'otp']);
});

test('a new organization signs up on /signup: signed in, told to confirm the address, which the mail does', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const opened = await page.goto(`${env.base}/signup`);
  assert.equal(opened.status(), 200);
  assertPageHeaders(opened);
  assert.equal(await heading(page), 'Create your organization');
  await shot(page, '14-signup');

  const known = mails();
  await page.fill('input[name=organization]', 'Difference Engines');
  await page.fill('input[name=name]', 'Charles Babbage');
  await page.fill('input[name=email]', 'charles@difference.example');
  await page.fill('input[name=password]', env.password);
  await page.fill('input[name=password2]', env.password);
  const done = await submit(page);
  assert.equal(done.status(), 200);
  assertPageHeaders(done);
  assert.equal(await heading(page), 'Welcome');
  const text = await page.textContent('.sub');
  assert.match(text, /signed in to Difference Engines as charles/);
  assert.match(text, /confirm your e-mail address/);
  await shot(page, '15-signup-done');
  // Signed in to the new tenant: its session cookie, as the sign-in sets it.
  const cookies = await ctx.cookies(`${env.base}/t/difference-engines/`);
  assert.ok(cookies.some((c) => c.name === 'tessera_session' && c.path === '/t/difference-engines/'));

  // The verification mail of the sign-up, to the new owner; its link works.
  const verify = mailedLink(known, 'verify-email');
  assert.equal(verify.to, 'charles@difference.example');
  await page.goto(verify.url);
  assert.equal(await heading(page), 'Confirm your e-mail address');
  await submit(page);
  assert.equal(await heading(page), 'Your e-mail address is confirmed');
  await shot(page, '16-signup-verified');
  await ctx.close();
});

test('an end user signs up from the sign-in page of an open tenant and is back at the app', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const first = await authorization();
  await page.goto(first.url);
  assert.equal(await heading(page), 'Sign in');
  const [opened] = await Promise.all([page.waitForNavigation(), page.click('text=Sign up')]);
  assert.equal(opened.status(), 200);
  assertPageHeaders(opened);
  assert.equal(new URL(page.url()).pathname, `/t/${env.tenant}/signup`);
  assert.equal(await heading(page), 'Create your account');
  await shot(page, '17-tenant-signup');

  await page.fill('input[name=name]', 'Mary Somerville');
  await page.fill('input[name=email]', 'mary@analytical.example');
  await page.fill('input[name=password]', env.password);
  await page.fill('input[name=password2]', env.password);
  const done = await submit(page);
  assert.equal(done.status(), 200);
  assert.equal(await heading(page), 'Welcome');
  assert.match(await page.textContent('.sub'), /as mary\./);
  await shot(page, '18-tenant-signup-done');

  // The app's sign-in now passes on the session the sign-up started: the
  // authorization request answers with the code at once (asked with the
  // browser context's cookies, without following the redirect).
  const { url, verifier, state, nonce } = await authorization();
  const back = await ctx.request.get(url, { maxRedirects: 0 });
  assert.equal(back.status(), 302);
  const callback = back.headers().location;
  assert.ok(callback?.startsWith(env.redirect_uri), `redirected to ${callback}`);
  await ctx.close();

  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce,
  });
  const claims = tokens.claims();
  assert.equal(claims.email, 'mary@analytical.example');
  assert.equal(claims.email_verified, false);
  assert.deepEqual(claims.amr, ['pwd']);
});
