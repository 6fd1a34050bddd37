// Chaos lane against a real Pebble: nonce storms, validator sleeps, wrong DNS answers, the CA
// killed mid-order, a token mismatch. Each ends with a clear LastSign status, no hung command,
// and nothing answering challenges afterwards.
import t from 'tap';
import http from 'node:http';
import { acmeEnv, ADMIN, type AcmeEnv } from '../helpers/acme-env.js';
import { startFront, type Front } from '../helpers/front.js';

const FAST = { retryBaseMs: 200, retryCapMs: 1000, orderTimeoutMs: 60_000, waitMaxMs: 90_000 };

function get(port: number, p: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: p }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject);
  });
}

async function signTimed(env: AcmeEnv, domain?: string) {
  const start = performance.now();
  const r = await env.acme.sign(domain, true, ADMIN);
  return { r, ms: Math.round(performance.now() - start) };
}

function after(t: Tap.Test, env: AcmeEnv, tokenPaths: readonly string[] = []) {
  return (async () => {
    t.equal(env.acme.challengesActive(), false, 'no challenge handler left on the listener');
    for (const p of new Set(tokenPaths)) t.equal(await get(env.httpPort, p), 404, `${p} is 404 after the order`);
    t.notOk(['Signing'].includes(String(env.acmeStatus().Status)), 'not stuck in Signing');
  })();
}
type Tap = typeof t;
declare namespace Tap { type Test = Parameters<Parameters<typeof t.test>[1]>[0]; }

t.test('50 % nonce rejection: the order still succeeds', async (t) => {
  const env = await acmeEnv(t, { pebble: { nonceReject: 50 }, limits: FAST });
  await env.configure();
  await env.csr(['nonce.example.com', 'www.nonce.example.com']);
  const { r, ms } = await signTimed(env);
  t.equal(r.status, 'Succeeded', r.reason);
  t.comment(`issued under 50 % nonce rejection in ${ms} ms`);
  await after(t, env);
});

t.test('validator sleeps on: polling waits, bounded, and succeeds', async (t) => {
  const env = await acmeEnv(t, { pebble: { vaSleep: 4 }, limits: FAST });
  await env.configure();
  await env.csr(['sleepy.example.com']);
  const { r, ms } = await signTimed(env);
  t.equal(r.status, 'Succeeded', r.reason);
  t.comment(`issued with validator sleeps in ${ms} ms`);
  await after(t, env);
});

t.test('wrong DNS answer: challenge failed for the name', async (t) => {
  const env = await acmeEnv(t, { pebble: { defaultIPv4: '127.0.0.2' }, limits: FAST });
  await env.configure();
  await env.csr(['wrongdns.example.com']);
  const { r, ms } = await signTimed(env);
  t.equal(r.status, 'Failed');
  t.match(r.reason, /^Challenge failed for wrongdns\.example\.com: .+/);
  t.match(env.acmeStatus(), { Status: 'Failed', LastSign: { Status: 'Failed', Reason: r.reason } });
  t.ok(ms < 30_000, `ended in ${ms} ms`);
  await after(t, env);
});

t.test('pebble killed mid-order: CA unreachable, retried with back-off, then Failed', async (t) => {
  const env = await acmeEnv(t, { limits: FAST });
  await env.configure();
  await env.csr(['killed.example.com']);
  env.onEvent((e) => { if (String(e.fields.Detail).startsWith('Validating')) env.pebble.killCa(); });
  const { r, ms } = await signTimed(env);
  t.equal(r.status, 'Failed');
  t.match(r.reason, /^CA unreachable: 127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/);
  t.ok(env.events.some((e) => /^Retrying in \d+ s: CA unreachable/.test(String(e.fields.Detail))), 'order-level retry announced');
  t.ok(ms < 30_000, `ended in ${ms} ms`);
  await after(t, env);
  // The next attempt says the same, quickly: nothing is left half-open.
  const again = await signTimed(env);
  t.match(again.r.reason, /^CA unreachable/);
});

t.test('challenge token mismatch: challenge failed, responder closed', async (t) => {
  let front: Front | undefined;
  const env = await acmeEnv(t, {
    limits: FAST,
    front: async (port) => { front = await startFront(port, 'tamper'); t.teardown(() => front!.close()); return front.port; },
  });
  await env.configure();
  await env.csr(['mismatch.example.com']);
  const { r } = await signTimed(env);
  t.equal(r.status, 'Failed');
  t.match(r.reason, /^Challenge failed for mismatch\.example\.com: .*(key authorization|did not match|incorrect)/i);
  t.ok(front!.seen.length >= 1, 'pebble asked');
  await after(t, env, front!.seen);
});

t.test('order deadline: a CA that never validates ends as a clear timeout, not a hang', async (t) => {
  let front: Front | undefined;
  const env = await acmeEnv(t, {
    limits: { ...FAST, orderTimeoutMs: 3000, orderAttempts: 1 },
    front: async (port) => { front = await startFront(port, 'hold'); t.teardown(() => front!.close()); return front.port; },
  });
  await env.configure();
  await env.csr(['held.example.com']);
  const { r, ms } = await signTimed(env);
  t.equal(r.status, 'Failed');
  t.match(r.reason, /^No answer from the CA at 127\.0\.0\.1:\d+ within 3 s$/);
  t.ok(ms < 10_000, `ended in ${ms} ms`);
  await after(t, env, front!.seen);
});
