// SPDX-License-Identifier: LGPL-2.1-or-later
//
// The second peer of bench/http/run: Better Auth (npm better-auth, the
// library seed 004 is built on) on loopback, set up for the flows tessera's
// JSON API is measured on:
//
//   sign-in     POST /api/auth/sign-in/email {email, password}: checks the
//               scrypt hash, creates a session row, answers the user and the
//               session token (set-auth-token header, bearer plugin);
//   "refresh"   GET /api/auth/token with the session token as bearer (jwt
//               plugin): a new signed JWT (ES256, as tessera's) for the same
//               session. Better Auth has no refresh token for its own
//               sessions: nothing is rotated and no reuse is detected;
//   current     GET /api/auth/get-session with the session token as bearer
//               (bearer plugin): the session and its user from the database.
//
// The store is SQLite through better-sqlite3 (built from source by npm; no
// prebuilt binary is fetched), in a file, WAL with synchronous=FULL: what
// tessera does, so that both pay for durable writes. Its memory adapter
// would skip the database and is no fair peer for a server that stores.
// Rate limits are off (tessera's limit only failures, and the benchmark
// makes none), telemetry too.
//
//   node better-auth-peer.mjs PORT             serve; prints one JSON line
//   node better-auth-peer.mjs --hash SECONDS   Better Auth's password check
//                                              alone, as many at once as its
//                                              thread pool runs; prints JSON

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import Database from 'better-sqlite3';
import { betterAuth } from 'better-auth';
import { hashPassword, verifyPassword } from 'better-auth/crypto';
import { getMigrations } from 'better-auth/db/migration';
import { toNodeHandler } from 'better-auth/node';
import { bearer, jwt } from 'better-auth/plugins';

const EMAIL = 'alice@acme.example';
const PASSWORD = 'correct horse battery';

// The scrypt check of a sign-in, nothing else: verifyPassword() is what
// sign-in/email calls. node runs scrypt on libuv's pool (UV_THREADPOOL_SIZE,
// 4 unless set), so keep twice that many in flight.
async function hashRate(seconds) {
  const hash = await hashPassword(PASSWORD);
  const inFlight = 2 * Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const end = performance.now() + seconds * 1000;
  let done = 0;
  const one = async () => {
    while (performance.now() < end) {
      if (!await verifyPassword({ hash, password: PASSWORD }))
        throw new Error('verifyPassword refused the right password');
      done++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: inFlight }, one));
  const elapsed = (performance.now() - start) / 1000;
  console.log(JSON.stringify({ per_second: done / elapsed, threads: inFlight / 2,
                               params: 'scrypt N=16384 r=16 p=1' }));
}

async function serve(port) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'better-auth-bench-'));
  const db = new Database(path.join(dir, 'auth.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');

  let handler = null;
  const server = http.createServer((req, res) => handler(req, res));
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;

  const auth = betterAuth({
    baseURL: base,
    secret: crypto.randomBytes(32).toString('hex'),
    database: db,
    emailAndPassword: { enabled: true },
    rateLimit: { enabled: false },
    telemetry: { enabled: false },
    plugins: [
      bearer(),
      // ES256 as tessera's tenants sign by default; no JWT header on every
      // get-session (that would sign once per "current user" call).
      jwt({ jwks: { keyPairConfig: { alg: 'ES256' } }, disableSettingJwtHeader: true }),
    ],
  });
  const { runMigrations } = await getMigrations(auth.options);
  await runMigrations();
  handler = toNodeHandler(auth);

  // The user, made up front through Better Auth's own sign-up.
  await auth.api.signUpEmail({ body: { email: EMAIL, password: PASSWORD, name: 'Alice Liddell' } });

  // One sign-in for the bearer of the two other rows, over HTTP as a client.
  const r = await fetch(`${base}/api/auth/sign-in/email`, {
    // Better Auth refuses a POST without an Origin (its CSRF check), as a
    // browser would send it; wrk sends the same header.
    method: 'POST', headers: { 'content-type': 'application/json', origin: base },
    body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
  });
  const token = r.headers.get('set-auth-token');
  if (r.status !== 200 || !token)
    throw new Error(`sign-in answered ${r.status} without a token: ${await r.text()}`);
  // The first /token makes the signing key; do it before anyone measures.
  const t = await fetch(`${base}/api/auth/token`, { headers: { authorization: `Bearer ${token}` } });
  if (t.status !== 200)
    throw new Error(`/token answered ${t.status}`);

  const cleanup = () => { try { db.close(); fs.rmSync(dir, { recursive: true, force: true }); } catch {} process.exit(0); };
  process.on('SIGTERM', cleanup);
  process.on('SIGINT', cleanup);
  console.log(JSON.stringify({ port: server.address().port, origin: base, email: EMAIL, password: PASSWORD, session_token: token }));
}

if (process.argv[2] === '--hash')
  await hashRate(Number(process.argv[3] ?? 5));
else
  await serve(Number(process.argv[2] ?? 0));
