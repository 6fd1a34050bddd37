// tls-alpn-01 (RFC 8737) without a CA: the challenge certificate checked with openssl and with
// acme-client's own checker, the ALPN reader on real and generated ClientHellos, and the HTTPS
// listener answering `openssl s_client -alpn acme-tls/1` only while a challenge is registered.
import t from 'tap';
import crypto from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { spawn } from 'node:child_process';
import fc from 'fast-check';
import acme from 'acme-client';
import { WebListeners } from '../../src/services/tls/listener.js';
import { readClientHello, ACME_TLS_1, MAX_ALPN } from '../../src/services/tls/sni.js';
import { tlsAlpnCertificate, tlsAlpnChallenge } from '../../src/services/acme/tls-alpn.js';
import { generateKey } from '../../src/services/certs/build.js';
import { makeCa, makeLeaf, testLogger, type Issued } from '../helpers/pki.js';

const KEY_AUTH = 'evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI';

/** Runs openssl without blocking the event loop (the listener under test is in this process). */
function openssl(args: string[], input = ''): Promise<{ status: number; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, out });
    });
    p.stdin.end(input);
  });
}

const firstPem = (s: string) => /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(s)?.[0];
const hex = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');

t.test('the challenge certificate, decoded by openssl: one DNS SAN, critical acmeIdentifier = SHA-256(key authorization), P-256', async (t) => {
  const key = await generateKey('ECDSA-P256');
  const now = new Date('2026-11-30T10:00:00Z');
  const pem = tlsAlpnCertificate('Alpn.Example.com', KEY_AUTH, key, now);
  const digest = crypto.createHash('sha256').update(KEY_AUTH).digest();

  // ext_dump: openssl 3.0 has no name for the OID, so it hex-dumps the extension's value.
  const text = (await openssl(['x509', '-noout', '-text', '-certopt', 'ext_dump'], pem)).out;
  t.match(text, /Public Key Algorithm: id-ecPublicKey[\s\S]*ASN1 OID: prime256v1/, 'ECDSA P-256 key');
  t.match(text, /X509v3 Subject Alternative Name: *\n\s*DNS:alpn\.example\.com\n/, 'exactly one DNS SAN, lower case');
  t.match(text, /Issuer: CN *= *alpn\.example\.com\n[\s\S]*Subject: CN *= *alpn\.example\.com\n/, 'self-issued');
  const ext = /\n\s*1\.3\.6\.1\.5\.5\.7\.1\.31: (critical)?\n((?:\s*[0-9a-f]{4} - [^\n]*\n)+)/.exec(text);
  t.ok(ext, 'id-pe-acmeIdentifier present');
  t.equal(ext?.[1], 'critical', 'and critical');
  const dumped = [...(ext?.[2] ?? '').matchAll(/[0-9a-f]{4} - ((?:[0-9a-f]{2}[ -]){1,16})/g)]
    .map((m) => m[1]!.replace(/-/g, ' ').trim().split(/\s+/).join(':')).join(':');
  // The extension's value is the DER of OCTET STRING (SIZE (32)): tag 04, length 0x20, the digest.
  t.equal(dumped, hex(Buffer.concat([Buffer.from([0x04, 0x20]), digest])), 'value: OCTET STRING of SHA-256(key authorization)');

  const x = new crypto.X509Certificate(pem);
  t.ok(x.verify(x.publicKey), 'self-signed');
  t.equal(x.validFrom, 'Nov 30 09:59:00 2026 GMT');
  t.equal(x.validTo, 'Dec  7 09:59:00 2026 GMT');
  // acme-client's own RFC 8737 checker (independent of our builder) accepts it, and only for this key authorization.
  t.equal(acme.crypto.isAlpnCertificateAuthorizationValid(pem, KEY_AUTH), true, 'acme-client accepts it');
  t.equal(acme.crypto.isAlpnCertificateAuthorizationValid(pem, KEY_AUTH + 'x'), false, 'not for another key authorization');

  t.throws(() => tlsAlpnCertificate('*.example.com', KEY_AUTH, key, now), { name: 'ParameterError', message: 'tls-alpn-01 needs a DNS name, not "*.example.com"' });
  t.throws(() => tlsAlpnCertificate('127.0.0.1', KEY_AUTH, key, now), { name: 'ParameterError' });
  t.throws(() => tlsAlpnCertificate('a..b', KEY_AUTH, key, now), { name: 'ParameterError' });
  const pair = await tlsAlpnChallenge('www.example.com', KEY_AUTH, now);
  t.ok(new crypto.X509Certificate(pair.certPem).checkPrivateKey(crypto.createPrivateKey(pair.keyPem)), 'tlsAlpnChallenge: a matching fresh key');
  t.equal(crypto.createPrivateKey(pair.keyPem).asymmetricKeyDetails?.namedCurve, 'prime256v1');
});

/** A ClientHello record with the given extensions (type, body), in order. */
function clientHello(exts: readonly [number, Buffer][]): Buffer {
  const u16 = (n: number) => Buffer.from([n >> 8, n & 255]);
  const extBytes = Buffer.concat(exts.map(([type, body]) => Buffer.concat([u16(type), u16(body.length), body])));
  const body = Buffer.concat([
    Buffer.from([3, 3]), Buffer.alloc(32, 7), Buffer.from([0]), u16(2), Buffer.from([0x13, 0x01]), Buffer.from([1, 0]),
    u16(extBytes.length), extBytes,
  ]);
  const hs = Buffer.concat([Buffer.from([1, body.length >> 16, (body.length >> 8) & 255, body.length & 255]), body]);
  return Buffer.concat([Buffer.from([0x16, 3, 1]), u16(hs.length), hs]);
}
const sniExt = (name: string): [number, Buffer] => {
  const n = Buffer.from(name, 'latin1');
  return [0, Buffer.concat([Buffer.from([(n.length + 3) >> 8, (n.length + 3) & 255, 0, n.length >> 8, n.length & 255]), n])];
};
const alpnExt = (protocols: readonly string[]): [number, Buffer] => {
  const list = Buffer.concat(protocols.map((p) => Buffer.concat([Buffer.from([Buffer.byteLength(p, 'latin1')]), Buffer.from(p, 'latin1')])));
  return [16, Buffer.concat([Buffer.from([list.length >> 8, list.length & 255]), list])];
};

/** The first flight of a real client, captured on a plain TCP server. */
function capture(connect: (port: number) => void): Promise<Buffer> {
  return new Promise<Buffer>((resolve) => {
    const cap = net.createServer((s) => s.once('data', (d) => { resolve(d); s.destroy(); cap.close(); }));
    cap.listen(0, '127.0.0.1', () => connect((cap.address() as net.AddressInfo).port));
  });
}

t.test('ALPN read from real ClientHellos (openssl s_client, Node), every strict prefix asks for more', async (t) => {
  let sClient: ReturnType<typeof spawn> | undefined;
  const fromOpenssl = await capture((port) => {
    sClient = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'Alpn.Example.com', '-alpn', 'acme-tls/1'], { stdio: ['pipe', 'ignore', 'ignore'] });
  });
  sClient?.kill('SIGKILL');
  t.same(readClientHello(fromOpenssl), { kind: 'hello', servername: 'alpn.example.com', alpn: ['acme-tls/1'] });
  const fromNode = await capture((port) => {
    const c = tls.connect({ port, host: '127.0.0.1', servername: 'shop.example.com', ALPNProtocols: ['h2', 'http/1.1'] });
    c.on('error', () => undefined);
  });
  t.same(readClientHello(fromNode), { kind: 'hello', servername: 'shop.example.com', alpn: ['h2', 'http/1.1'] });
  for (const hello of [fromOpenssl, fromNode]) {
    let early = 0;
    for (let i = 0; i < hello.length; i++) if (readClientHello(hello.subarray(0, i)).kind !== 'more') early++;
    t.equal(early, 0, 'every strict prefix asks for more');
  }
});

t.test('ALPN reader: generated hellos read back exactly; malformed lists ignored; random and mutated bytes never throw', async (t) => {
  const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
  const host = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
  const proto = fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => Buffer.from(b).toString('latin1'));
  const other = fc.tuple(fc.constantFrom(5, 10, 11, 13, 21, 35, 43, 45, 51, 0xfe0d), fc.uint8Array({ maxLength: 200 }))
    .map(([type, b]): [number, Buffer] => [type, Buffer.from(b)]);
  fc.assert(fc.property(
    fc.option(host, { nil: undefined }), fc.option(fc.array(proto, { minLength: 1, maxLength: 60 }), { nil: undefined }),
    fc.array(other, { maxLength: 4 }), fc.nat(),
    (name, protocols, others, seed) => {
      const exts: [number, Buffer][] = [...others];
      // SNI and ALPN at any position among the other extensions.
      if (name !== undefined) exts.splice(seed % (exts.length + 1), 0, sniExt(name));
      if (protocols !== undefined) exts.splice((seed >> 3) % (exts.length + 1), 0, alpnExt(protocols));
      const r = readClientHello(clientHello(exts));
      if (r.kind !== 'hello') return false;
      const keys = ['kind', ...(name !== undefined ? ['servername'] : []), ...(protocols !== undefined ? ['alpn'] : [])];
      return JSON.stringify(Object.keys(r).sort()) === JSON.stringify(keys.sort())
        && r.servername === name && JSON.stringify(r.alpn) === JSON.stringify(protocols?.slice(0, MAX_ALPN));
    },
  ), { numRuns: 3000, seed: 11 });

  const sni = sniExt('alpn.example.com');
  const malformed: [string, Buffer][] = [
    ['an empty protocol name', Buffer.from([0, 4, 0, 2, 104, 50])],
    ['a list longer than the extension', Buffer.from([0, 9, 2, 104, 50])],
    ['a list shorter than the extension', Buffer.from([0, 3, 2, 104, 50, 9])],
    ['a name past the list', Buffer.from([0, 3, 5, 104, 50, 51])],
    ['an empty list', Buffer.from([0, 0])],
    ['no list length', Buffer.from([0])],
  ];
  for (const [what, body] of malformed) {
    t.same(readClientHello(clientHello([sni, [16, body]])), { kind: 'hello', servername: 'alpn.example.com' }, `ALPN with ${what} is ignored, SNI kept`);
  }
  t.same(readClientHello(clientHello([alpnExt(['h2']), alpnExt([ACME_TLS_1]), sni])), { kind: 'hello', servername: 'alpn.example.com', alpn: ['h2'] },
    'only the first ALPN extension counts (OpenSSL refuses a repeated one)');
  const many = Array.from({ length: 500 }, (_, i) => `p${i}`);
  t.same(readClientHello(clientHello([alpnExt(many)])), { kind: 'hello', alpn: many.slice(0, MAX_ALPN) }, `at most ${MAX_ALPN} protocols read`);

  const base = clientHello([sniExt('alpn.example.com'), alpnExt(['h2', ACME_TLS_1])]);
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 6 }), fc.nat(),
    (edits, cut) => {
      const b = Buffer.from(base);
      for (const [pos, v] of edits) b[pos % b.length] = v;
      const r = readClientHello(b.subarray(0, b.length - (cut % 8)));
      if (r.kind !== 'hello') return r.kind === 'more' || r.kind === 'other';
      return (r.alpn === undefined || (r.alpn.length >= 1 && r.alpn.length <= MAX_ALPN && r.alpn.every((p) => p.length >= 1)))
        && (r.servername === undefined || /^[a-z0-9.-]{1,253}$/.test(r.servername));
    },
  ), { numRuns: 5000, seed: 12 });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
    const b = Buffer.from(bytes);
    if (b.length > 0) b[0] = 0x16;
    return ['more', 'hello', 'other'].includes(readClientHello(b).kind);
  }), { numRuns: 5000, seed: 13 });
  t.pass('8000 mutated and random records read without a throw');
});

async function start(t: Tap, server: Issued) {
  const { logger, lines } = testLogger();
  const web = new WebListeners({ server: { certPem: server.pem, keyPem: server.keyPem }, logger });
  const httpsPort = await web.listenHttps(0);
  t.teardown(() => web.close());
  return { web, httpsPort, lines };
}
type Tap = { teardown(fn: () => unknown): void };

interface SClient {
  /** The leaf the server sent, as `openssl x509 -text -certopt ext_dump` prints it; '' when none. */
  leaf: string;
  alpn: string;
  out: string;
}

async function sClient(port: number, servername: string, alpn?: string): Promise<SClient> {
  const r = await openssl(['s_client', '-connect', `127.0.0.1:${port}`, '-servername', servername, ...(alpn ? ['-alpn', alpn] : [])], 'Q\n');
  const pem = firstPem(r.out);
  const leaf = pem ? (await openssl(['x509', '-noout', '-text', '-certopt', 'ext_dump'], pem)).out : '';
  const proto = /ALPN protocol: (\S+)/.exec(r.out)?.[1] ?? (/No ALPN negotiated/.test(r.out) ? 'none' : '?');
  return { leaf, alpn: proto, out: r.out };
}

const serialLine = (text: string) => /Serial Number:\s*\n?\s*([0-9a-f:]+)/i.exec(text)?.[1]?.replace(/:/g, '').toUpperCase();
const isChallenge = (text: string) => /1\.3\.6\.1\.5\.5\.7\.1\.31: critical/.test(text);

t.test('listener: acme-tls/1 gets the challenge certificate only while registered; other clients and names never do', async (t) => {
  const ca = await makeCa();
  const server = await makeLeaf(ca, { cn: 'alpn.example.com', sans: ['alpn.example.com', 'www.alpn.example.com'] });
  const shop = await makeLeaf(ca, { cn: 'shop.example.com', keyType: 'RSA-2048' });
  const { web, httpsPort, lines } = await start(t, server);
  const serverSerial = server.x509.serialNumber.toUpperCase().replace(/^0+/, '');

  // Nothing registered (and no domain: the listener does not even read the hello): refused, no certificate.
  let r = await sClient(httpsPort, 'alpn.example.com', ACME_TLS_1);
  t.equal(r.leaf, '', 'no challenge: no certificate at all');
  t.match(r.out, /alert no application protocol/, 'refused with no_application_protocol');

  const pair = await tlsAlpnChallenge('alpn.example.com', KEY_AUTH, new Date());
  web.setAlpnChallenge('ALPN.example.com', pair);
  web.setDomain('shop.example.com', { certPem: shop.pem, keyPem: shop.keyPem });

  r = await sClient(httpsPort, 'alpn.example.com', ACME_TLS_1);
  t.ok(isChallenge(r.leaf), 'acme-tls/1 during the challenge: the challenge certificate');
  t.equal(serialLine(r.leaf), new crypto.X509Certificate(pair.certPem).serialNumber.replace(/^0+/, ''), 'the registered one');
  t.equal(r.alpn, ACME_TLS_1, 'acme-tls/1 negotiated');
  t.match(r.leaf, /DNS:alpn\.example\.com\n/);
  r = await sClient(httpsPort, 'Alpn.Example.COM', ACME_TLS_1);
  t.ok(isChallenge(r.leaf), 'SNI matched without case');

  // Ordinary clients of the same name: the ordinary certificate.
  r = await sClient(httpsPort, 'alpn.example.com');
  t.notOk(isChallenge(r.leaf), 'no ALPN: not the challenge certificate');
  t.equal(serialLine(r.leaf), serverSerial, 'no ALPN: the server certificate');
  r = await sClient(httpsPort, 'alpn.example.com', 'h2,http/1.1');
  t.equal(serialLine(r.leaf), serverSerial, 'browser ALPN: the server certificate');
  t.equal(r.alpn, 'http/1.1');
  const node = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const s = tls.connect({ port: httpsPort, host: '127.0.0.1', servername: 'alpn.example.com', rejectUnauthorized: false }, () => resolve(s));
    s.once('error', reject);
  });
  t.equal(node.getPeerX509Certificate()?.serialNumber.toUpperCase(), server.x509.serialNumber.toUpperCase(), 'Node client without ALPN: the server certificate');
  node.destroy();

  // acme-tls/1 for names without a challenge: refused, whether served by a domain or by the default.
  for (const name of ['shop.example.com', 'other.example.com']) {
    r = await sClient(httpsPort, name, ACME_TLS_1);
    t.equal(r.leaf, '', `${name}: no certificate`);
    t.match(r.out, /alert no application protocol/, `${name}: no_application_protocol`);
  }
  t.equal(serialLine((await sClient(httpsPort, 'shop.example.com')).leaf), shop.x509.serialNumber.toUpperCase().replace(/^0+/, ''), 'the domain still served');

  // The validator's view: handshake, acme-tls/1, then the server closes without being asked.
  const closed = await new Promise<{ alpn: string | false; ended: boolean }>((resolve, reject) => {
    const s = tls.connect({ port: httpsPort, host: '127.0.0.1', servername: 'alpn.example.com', ALPNProtocols: [ACME_TLS_1], rejectUnauthorized: false }, () => {
      const alpn = s.alpnProtocol ?? false;
      s.on('data', () => undefined);
      s.once('close', () => resolve({ alpn, ended: true }));
    });
    s.once('error', reject);
    s.setTimeout(20_000, () => s.destroy(new Error('the server kept the connection open')));
  });
  t.same(closed, { alpn: ACME_TLS_1, ended: true }, 'closed by the server after the handshake');
  t.ok(lines.some((l) => /tls\.alpn-challenge/.test(l) && /alpn\.example\.com/.test(l)), 'each answer logged');

  // Bad registrations change nothing.
  const other = await tlsAlpnChallenge('other.example.com', KEY_AUTH, new Date());
  t.throws(() => web.setAlpnChallenge('alpn.example.com', { certPem: pair.certPem, keyPem: other.keyPem }), { name: 'ParameterError', message: 'The tls-alpn-01 alpn.example.com certificate and key are not a matching pair' });
  t.throws(() => web.setAlpnChallenge('alpn.example.com', other), { name: 'ParameterError', message: 'The tls-alpn-01 certificate must name exactly DNS:alpn.example.com' });
  t.throws(() => web.setAlpnChallenge('alpn.example.com', { certPem: server.pem, keyPem: server.keyPem }), { name: 'ParameterError' }, 'an ordinary certificate with extra names is refused');
  r = await sClient(httpsPort, 'alpn.example.com', ACME_TLS_1);
  t.equal(serialLine(r.leaf), new crypto.X509Certificate(pair.certPem).serialNumber.replace(/^0+/, ''), 'still the registered challenge');

  // Removed: no challenge certificate any more.
  web.setAlpnChallenge('alpn.example.com', undefined);
  r = await sClient(httpsPort, 'alpn.example.com', ACME_TLS_1);
  t.equal(r.leaf, '', 'after removal: no certificate');
  t.match(r.out, /alert no application protocol/);
  t.equal(serialLine((await sClient(httpsPort, 'alpn.example.com')).leaf), serverSerial, 'ordinary clients unaffected');
  web.setDomain('shop.example.com', undefined);
  r = await sClient(httpsPort, 'alpn.example.com', ACME_TLS_1);
  t.equal(r.leaf, '', 'nothing hosted at all: still no certificate');
});

t.test('listener: removing a challenge ends a validator handshake in progress', async (t) => {
  const ca = await makeCa();
  const server = await makeLeaf(ca, { cn: 'alpn.example.com' });
  const { web, httpsPort } = await start(t, server);
  web.setAlpnChallenge('alpn.example.com', await tlsAlpnChallenge('alpn.example.com', KEY_AUTH, new Date()));
  const hello = clientHello([sniExt('alpn.example.com'), alpnExt([ACME_TLS_1]),
    // supported_groups, signature_algorithms, supported_versions (TLS 1.3), key_share (x25519): enough for a ServerHello.
    [10, Buffer.from([0, 2, 0, 0x1d])], [13, Buffer.from([0, 2, 4, 3])], [43, Buffer.from([2, 3, 4])],
    [51, Buffer.concat([Buffer.from([0, 36, 0, 0x1d, 0, 32]), crypto.randomBytes(32)])]]);
  const sock = net.connect(httpsPort, '127.0.0.1');
  const started = Date.now();
  const serverHello = new Promise<Buffer>((resolve) => sock.once('data', resolve));
  const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
  sock.on('error', () => undefined);
  sock.write(hello);
  const first = await serverHello;
  t.equal(first[0], 0x16, 'the challenge server answered the hello (handshake record) and now waits for our Finished');
  web.setAlpnChallenge('alpn.example.com', undefined);
  await closed;
  t.ok(Date.now() - started < 9_000, `closed by the removal, not by the 10 s handshake timeout (${Date.now() - started} ms)`);
});
