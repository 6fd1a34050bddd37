import t from 'tap';
import crypto from 'node:crypto';
import { parsePem, toPem, MAX_BLOCK_BYTES } from '../../src/services/certs/pem.js';
import { decodeCertificate, splitSans, normalizeFingerprint } from '../../src/services/certs/x509.js';
import { makeCa, makeLeaf } from '../helpers/pki.js';

t.test('parses blocks with comments, CRLF and surrounding blank lines', async (t) => {
  const ca = await makeCa();
  const text = `# a comment\r\n\r\n${ca.pem.replace(/\n/g, '\r\n')}\n\n${ca.pem}`;
  const blocks = parsePem(text);
  t.equal(blocks.length, 2);
  t.equal(blocks[0]!.label, 'CERTIFICATE');
  t.equal(blocks[0]!.line, 3);
  t.equal(blocks[0]!.pem, ca.pem, 're-encoded canonically');
  t.ok(blocks[0]!.der.equals(ca.x509.raw));
});

t.test('refuses bad input with one clear sentence', async (t) => {
  const ca = await makeCa();
  const lines = ca.pem.trim().split('\n');
  const cases: [string, string, RegExp][] = [
    ['garbage', 'hello world\n', /Line 1 is not part of a PEM block/],
    ['empty', '\n\n', /No PEM certificate found/],
    ['DER as text', ca.x509.raw.toString('latin1'), /binary data.*not DER/],
    ['truncated (no END)', lines.slice(0, 5).join('\n'), /has no END line: the paste was cut off/],
    ['interrupted then restarted', lines.slice(0, 5).join('\n') + '\n' + ca.pem, /at line 1 .* has no END line/],
    ['mismatched END', lines.slice(0, -1).join('\n') + '\n-----END PRIVATE KEY-----\n', /ends with END PRIVATE KEY/],
    ['bad base64 line', [lines[0], '!!!notbase64', ...lines.slice(1)].join('\n'), /Line 2 inside the PEM block at line 1 is not base64/],
    ['base64 of wrong length', [lines[0], lines[1]!.slice(1), ...lines.slice(2)].join('\n'), /is not valid base64/],
    ['text after a block', ca.pem + 'trailing words\n', /is not part of a PEM block/],
  ];
  for (const [name, text, re] of cases) t.throws(() => parsePem(text), { name: 'ParameterError', message: re }, name);
});

t.test('refuses an oversized block', async (t) => {
  const der = crypto.randomBytes(MAX_BLOCK_BYTES + 10);
  t.throws(() => parsePem(toPem('CERTIFICATE', der)), { name: 'ParameterError', message: /too large/ });
});

t.test('decodes what users see', async (t) => {
  const ca = await makeCa({ cn: 'Root One', keyType: 'RSA-2048' });
  const leaf = await makeLeaf(ca, { cn: 'a.example.com', sans: ['a.example.com', 'b.example.com', 'IP:10.0.0.1'] });
  const [block] = parsePem(leaf.pem);
  const d = decodeCertificate(block!, 'Certificate 1');
  t.equal(d.info.commonName, 'a.example.com');
  t.equal(d.info.issuer, 'O=xway tests, CN=Root One');
  t.same(d.info.subjectAltNames, ['a.example.com', 'b.example.com', 'IP:10.0.0.1']);
  t.equal(d.info.keyType, 'ECDSA-P256');
  t.equal(d.info.signatureAlgorithm, 'sha256WithRSAEncryption');
  t.equal(d.info.isCA, false);
  t.equal(d.version, 3);
  t.equal(d.info.fingerprint, leaf.x509.fingerprint256);
  t.match(d.info.notAfter, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  t.throws(() => decodeCertificate({ ...block!, der: Buffer.from('3003020100', 'hex') }, 'Certificate 2'), { message: /Certificate 2 \(line 1\) is not a valid X.509 certificate/ });
});

t.test('SAN splitting handles quoted values', async (t) => {
  t.same(splitSans('DNS:a.example.com, IP Address:::1, DNS:"b,c"'), ['a.example.com', 'IP:::1', 'b,c']);
  t.same(splitSans(undefined), []);
});

t.test('fingerprints normalise', async (t) => {
  const fp = 'ab'.repeat(32);
  t.equal(normalizeFingerprint(fp), Array(32).fill('AB').join(':'));
  t.equal(normalizeFingerprint(Array(32).fill('ab').join(':')), Array(32).fill('AB').join(':'));
  t.equal(normalizeFingerprint('abc'), undefined);
});
