// The protocol layer against a real Pebble: account, order with HTTP-01 served from memory,
// certificate chain; failures become one clear sentence and the responder is closed.
import t from 'tap';
import crypto from 'node:crypto';
import { startPebble } from '../helpers/pebble.js';
import { startChallengeHost } from '../helpers/challenge-host.js';
import { AcmeClientIssuer, generateKey, makeCsr, type ProviderRef } from '../../src/services/acme/issuer.js';
import { ChallengeResponder } from '../../src/services/acme/responder.js';
import { OrderFailure } from '../../src/services/acme/reasons.js';

async function setup(t: Tap.Test, opts: Parameters<typeof startPebble>[0] extends infer O ? Partial<O> : never = {}) {
  const host = await startChallengeHost();
  t.teardown(() => host.close());
  const pebble = await startPebble({ httpPort: host.port, ...opts }, (fn) => t.teardown(fn));
  const responder = new ChallengeResponder(host);
  const issuer = new AcmeClientIssuer(() => [pebble.httpsCaPem]);
  const provider: ProviderRef = { name: 'Custom', directoryUrl: pebble.directoryUrl };
  return { host, pebble, responder, issuer, provider };
}

function orderReq(responder: ChallengeResponder, csrPem: string, names: string[], signal = new AbortController().signal) {
  const id = crypto.randomUUID();
  const steps: string[] = [];
  return {
    steps,
    req: {
      csrPem, names, signal, progress: (s: string) => steps.push(s),
      challenges: { open: (tk: ReadonlyMap<string, string>) => responder.open(id, tk), close: () => responder.close(id) },
    },
  };
}

t.test('account, ECDSA order, chain from pebble', async (t) => {
  const { pebble, responder, issuer, provider, host } = await setup(t);
  const accountKey = await generateKey('ECDSA-P256');
  const acct = await issuer.register(provider, accountKey, 'admin@example.com', new AbortController().signal);
  t.match(acct.accountUrl, /^https:\/\/127\.0\.0\.1/);
  t.match(acct.termsUrl, /^(https?|data):/, 'terms URL (pebble serves a data: URL)');
  const key = await generateKey('ECDSA-P256');
  const csr = await makeCsr(key, ['edge.example.com', 'www.example.com']);
  const { req, steps } = orderReq(responder, csr, ['edge.example.com', 'www.example.com']);
  const pem = await issuer.order(provider, { keyPem: accountKey, url: acct.accountUrl }, req);
  const leaf = new crypto.X509Certificate(pem);
  t.match(leaf.subjectAltName, /edge\.example\.com/);
  t.ok(leaf.checkPrivateKey(crypto.createPrivateKey(key)), 'certificate matches the CSR key');
  t.ok(responder.served >= 1, 'the CA fetched the token');
  t.equal(responder.active, false, 'responder closed after the order');
  t.equal(host.installed, false, 'handler removed from the listener');
  t.same(steps[0], 'Creating order');
  const root = await pebble.intermediatePem();
  t.ok(leaf.verify(new crypto.X509Certificate(root).publicKey), 'signed by pebble intermediate');
});

t.test('untrusted CA certificate is named as such', async (t) => {
  const { responder, provider } = await setup(t);
  const issuer = new AcmeClientIssuer(() => []);
  const err = await issuer.register(provider, await generateKey('ECDSA-P256'), '', new AbortController().signal).catch((e) => e);
  t.ok(err instanceof OrderFailure);
  t.match(err.message, /^Untrusted CA certificate: the TLS certificate of 127\.0\.0\.1:\d+ is not signed by a CA in the trust store/);
  t.equal(responder.active, false);
});

t.test('CA unreachable is named as such, quickly', async (t) => {
  const { pebble, issuer, provider } = await setup(t);
  await pebble.stop();
  const start = Date.now();
  const err = await issuer.register(provider, await generateKey('ECDSA-P256'), '', new AbortController().signal).catch((e) => e);
  t.match(err.message, /^CA unreachable: 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  t.ok(Date.now() - start < 5000, `took ${Date.now() - start} ms`);
});
