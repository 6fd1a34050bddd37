// Failure sentences, and the transport's bounds against a real HTTPS server that rate-limits
// everything with Retry-After: one hour. acme-client would sleep that hour; we cap it and say
// until when the CA is rate limiting.
import t from 'tap';
import fs from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import { classify, oneLine, OrderFailure } from '../../src/services/acme/reasons.js';
import { parseRetryAfter } from '../../src/services/acme/transport.js';
import { AcmeClientIssuer, generateKey, DEFAULT_ISSUER_LIMITS } from '../../src/services/acme/issuer.js';
import { httpsIdentity } from '../helpers/pebble.js';

const seen = (o: Partial<Parameters<typeof classify>[1]> = {}) => ({ timedOut: false, cancelled: false, origin: 'ca.example.net', timeoutS: 15, ...o });
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

t.test('sentences', async (t) => {
  const problem = (type: string, detail: string, status = 400, retryAfterS?: number) => ({ status, type: `urn:ietf:params:acme:error:${type}`, detail, url: 'u', retryAfterS, at: NOW });
  t.equal(classify(new Error('too many'), seen({ lastProblem: problem('rateLimited', 'too many', 429, 3600) }), NOW).reason,
    'Rate limited by the CA until 2026-11-23T13:00:00Z: too many');
  t.equal(classify(new Error('x'), seen({ lastProblem: problem('externalAccountRequired', 'x') }), NOW).kind, 'eab');
  t.equal(classify(new Error('boom'), seen({ lastProblem: problem('serverInternal', 'boom', 500) }), NOW).retryable, true);
  t.equal(classify(new TypeError("Cannot read properties of undefined (reading 'config')"), seen({ lastNetError: { code: 'ECONNREFUSED', message: 'x', host: 'ca.example.net:443' } }), NOW).reason,
    'CA unreachable: ca.example.net:443 (ECONNREFUSED)');
  t.match(classify(new TypeError('x'), seen({ lastNetError: { code: 'SELF_SIGNED_CERT_IN_CHAIN', message: 'x', host: 'ca.example.net:443' } }), NOW).reason,
    /^Untrusted CA certificate: the TLS certificate of ca\.example\.net:443 is not signed by a CA in the trust store \(SELF_SIGNED_CERT_IN_CHAIN\)/);
  t.equal(classify(new Error('aborted'), seen({ timedOut: true, timeoutS: 120 }), NOW).reason, 'No answer from the CA at ca.example.net within 120 s');
  const own = new OrderFailure({ kind: 'challenge', reason: 'Challenge failed for a.example.com: nope', retryable: false });
  t.equal(classify(own, seen(), NOW), own.failure);
  t.equal(oneLine('a\n\tb\u0000c  d'), 'a b c d');
  t.equal(oneLine('x'.repeat(400)).length, 300);
  t.equal(parseRetryAfter('120', NOW), 120);
  t.equal(parseRetryAfter(new Date(NOW + 90_000).toUTCString(), NOW), 90);
  t.equal(parseRetryAfter('soon', NOW), undefined);
});

t.test('a CA that answers 429 with Retry-After: 3600 ends in seconds with the time it names', async (t) => {
  const id = httpsIdentity();
  let hits = 0;
  const server = https.createServer({ cert: fs.readFileSync(id.cert), key: fs.readFileSync(id.key) }, (req, res) => {
    hits++;
    res.writeHead(429, { 'Content-Type': 'application/problem+json', 'Retry-After': '3600', 'Replay-Nonce': 'n' + hits });
    res.end(JSON.stringify({ type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many new orders recently', status: 429 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  const port = (server.address() as net.AddressInfo).port;
  const issuer = new AcmeClientIssuer(() => [id.caPem], { ...DEFAULT_ISSUER_LIMITS, retryAfterCapS: 1 });
  const start = Date.now();
  const err = await issuer.register({ name: 'Custom', directoryUrl: `https://127.0.0.1:${port}/dir` }, await generateKey('ECDSA-P256'), '', new AbortController().signal).catch((e) => e);
  const ms = Date.now() - start;
  t.ok(err instanceof OrderFailure);
  t.equal(err.failure.kind, 'rateLimited');
  t.match(err.message, /^Rate limited by the CA until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: too many new orders recently$/);
  const until = Date.parse(/until (\S+):/.exec(err.message)![1]!);
  t.ok(Math.abs(until - (start + 3600_000)) < 10_000, `the time the CA named, not the capped wait: ${err.message}`);
  t.ok(ms < 8000, `ended in ${ms} ms (acme-client alone would sleep an hour)`);
  t.equal(hits, 3, 'one request and two bounded retries');
});
