// tls-alpn-01 end to end: Debian's Pebble validates against the HTTPS listener (its tlsPort is the
// listener's port; its httpPort has nothing listening, so HTTP-01 cannot be what succeeds), driven
// by acme-client 5.4's manual order flow with the challenge certificate registered on the listener.
import t from 'tap';
import crypto from 'node:crypto';
import https from 'node:https';
import net from 'node:net';
import acme from 'acme-client';
import { startPebble, freePort } from '../helpers/pebble.js';
import { WebListeners } from '../../src/services/tls/listener.js';
import { sClient } from '../helpers/served.js';
import { tlsAlpnChallenge } from '../../src/services/acme/tls-alpn.js';
import { pickChallenge, type Authz } from '../../src/services/acme/issuer.js';
import { makeCa, makeLeaf, testLogger } from '../helpers/pki.js';

function refused(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve('connected'); });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? String(e)));
  });
}

t.test('a tls-alpn-01 order through the HTTPS listener, port 80 closed', async (t) => {
  const ca = await makeCa();
  const server = await makeLeaf(ca, { cn: 'alpn.example.com' });
  const { logger, lines } = testLogger();
  const web = new WebListeners({ server: { certPem: server.pem, keyPem: server.keyPem }, logger });
  const httpsPort = await web.listenHttps(0);
  t.teardown(() => web.close());
  const closedHttpPort = await freePort();
  const pebble = await startPebble({ httpPort: closedHttpPort, tlsPort: httpsPort }, (fn) => t.teardown(fn));
  t.equal(await refused(closedHttpPort), 'ECONNREFUSED', 'nothing listens on the HTTP-01 port');

  // acme-client's axios is global: trust pebble's HTTPS, and no 5-25 s network retries.
  const defaults = acme.axios.defaults as unknown as { httpsAgent: https.Agent; acmeSettings: { retryMaxAttempts: number } };
  defaults.httpsAgent = new https.Agent({ ca: pebble.httpsCaPem });
  defaults.acmeSettings.retryMaxAttempts = 1;
  const client = new acme.Client({
    directoryUrl: pebble.directoryUrl,
    accountKey: await acme.crypto.createPrivateEcdsaKey(),
    backoffMin: 50, backoffMax: 1000, backoffAttempts: 12,
  });
  await client.createAccount({ termsOfServiceAgreed: true });

  const names = ['alpn.example.com', 'www.alpn.example.com'];
  const order = await client.createOrder({ identifiers: names.map((value) => ({ type: 'dns', value })) });
  const authzs = await client.getAuthorizations(order);
  t.equal(authzs.length, 2);
  const challenges: Authz['challenges'][number][] = [];
  try {
    for (const a of authzs) {
      const ch = pickChallenge(a as unknown as Authz, 'tls-alpn-01');
      const keyAuthorization = await client.getChallengeKeyAuthorization(ch as never);
      web.setAlpnChallenge(a.identifier.value, await tlsAlpnChallenge(a.identifier.value, keyAuthorization, new Date()));
      challenges.push(ch);
    }
    for (const ch of challenges) await client.completeChallenge(ch as never);
    for (const ch of challenges) await client.waitForValidStatus(ch as never);
  } finally {
    for (const n of names) web.setAlpnChallenge(n, undefined);
  }
  for (const n of names) {
    t.ok(lines.some((l) => /tls\.alpn-challenge/.test(l) && l.includes(`"${n}"`)), `pebble's validator got the challenge certificate of ${n}`);
  }

  const [keyPem, csr] = await acme.crypto.createCsr({ commonName: names[0], altNames: names }, await acme.crypto.createPrivateEcdsaKey());
  const final = await client.finalizeOrder(order, csr);
  const chain = await client.getCertificate(final);
  const leaf = new crypto.X509Certificate(chain);
  t.equal(leaf.subjectAltName, 'DNS:alpn.example.com, DNS:www.alpn.example.com', 'issued for both names');
  t.ok(leaf.checkPrivateKey(crypto.createPrivateKey(keyPem)), 'for our key');
  t.ok(leaf.verify(new crypto.X509Certificate(await pebble.intermediatePem()).publicKey), 'signed by pebble');

  // Outside an order: no challenge certificate.
  const after = await sClient(httpsPort, 'alpn.example.com');
  t.notMatch(after, /BEGIN CERTIFICATE/, 'acme-tls/1 after the order: no certificate');
  t.match(after, /alert no application protocol/);

  // The same flow with nothing registered fails at the CA: the order above could have failed.
  const bad = await client.createOrder({ identifiers: [{ type: 'dns', value: 'bad.alpn.example.com' }] });
  const [badAuthz] = await client.getAuthorizations(bad);
  const badCh = pickChallenge(badAuthz as unknown as Authz, 'tls-alpn-01');
  await client.completeChallenge(badCh as never);
  const err = await client.waitForValidStatus(badCh as never).then(() => undefined, (e: Error) => e);
  t.ok(err, 'validation fails without a registered challenge');
  const [after2] = await client.getAuthorizations(bad);
  t.equal(after2!.status, 'invalid');
  // The listener refused the handshake (no_application_protocol), so pebble could not even connect.
  const detail = (after2!.challenges.find((c) => (c.type as string) === 'tls-alpn-01') as { error?: { detail?: string } } | undefined)?.error?.detail;
  t.equal(detail, `Failed to connect to 127.0.0.1:${httpsPort} for the tls-alpn-01 challenge`, 'the CA could not complete a handshake');

  // A wildcard gets no TLS-ALPN-01 challenge (RFC 8737 section 3): one sentence naming it.
  const wild = await client.createOrder({ identifiers: [{ type: 'dns', value: '*.alpn.example.com' }] });
  const [wildAuthz] = await client.getAuthorizations(wild);
  t.throws(() => pickChallenge(wildAuthz as unknown as Authz, 'tls-alpn-01'), {
    name: 'OrderFailure', message: 'Challenge failed for alpn.example.com: the CA offers no TLS-ALPN-01 challenge',
  });
});
