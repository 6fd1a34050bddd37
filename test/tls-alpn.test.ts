// tls-alpn-01 (RFC 8737) without a CA: the challenge certificate checked with openssl and with
// acme-client's own checker.
import t from 'tap';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import acme from 'acme-client';
import { tlsAlpnCertificate, tlsAlpnChallenge } from '../src/services/acme/tls-alpn.js';
import { generateKey } from '../src/services/certs/build.js';

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
