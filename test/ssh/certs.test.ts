import t from 'tap';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { FileCertificateService } from '../../src/services/certs/service.js';
import { FileTrustStore } from '../../src/services/trust/store.js';
import { certificatesStatus } from '../../src/services/certs/status.js';
import { STATUS } from '../../schema/status.js';
import { FileStorage } from '../../src/stores/filestorage.js';
import {
  actor, makeCa, makeLeaf, makeLeafWithoutCn, manualClock, MemoryAlarms, testLogger, tmpDir, snapshot,
  encryptedPkcs8, encryptedLegacy, openssl, signCsrWithOpenssl, type Issued,
} from '../helpers/pki.js';

async function setup(t: Tap.Test, opts: { dir?: string; trusted?: Issued[] } = {}) {
  const dir = opts.dir ?? tmpDir(t);
  const clock = manualClock();
  const { logger, lines } = testLogger();
  const alarms = new MemoryAlarms();
  const storage = new FileStorage(dir);
  const trust = new FileTrustStore({ storage, clock, logger, defaults: () => (opts.trusted ?? []).map((c) => c.pem) });
  const certs = await FileCertificateService.open({ storage, clock, logger, alarms, trust, systemName: () => 'edge.example.com' });
  return { dir, clock, lines, alarms, trust, certs };
}
type Tap = typeof t;
declare namespace Tap { type Test = Parameters<Parameters<typeof t.test>[1]>[0]; }

t.test('first start: a self-signed RSA certificate for the system name, files 0600/0644', async (t) => {
  const { dir, certs } = await setup(t);
  const a = certs.active();
  t.equal(a.source, 'SelfSigned');
  t.equal(a.info.commonName, 'edge.example.com');
  t.equal(a.info.keyType, 'RSA-2048');
  const files = snapshot(path.join(dir, 'certs'));
  const key = Object.entries(files).find(([f]) => f.endsWith('key.pem'))!;
  t.match(key[1], /^600 /);
  t.match(Object.entries(files).find(([f]) => f.endsWith('cert.pem'))![1], /^644 /);
  // Reopening keeps the same certificate.
  const again = await setup(t, { dir });
  t.equal(again.certs.active().info.fingerprint, a.info.fingerprint);
});

t.test('upload: accepted, staged until restart, alarm raised; trusted chain gives no warning', async (t) => {
  const root = await makeCa({ cn: 'Upload Root' });
  const inter = await makeCa({ cn: 'Upload Intermediate' }, root);
  const { dir, certs, alarms, trust, lines } = await setup(t);
  const leaf = await makeLeaf(inter, { cn: 'edge.example.com', sans: ['edge.example.com', 'alt.example.com'] });
  const r = certs.upload(leaf.pem + inter.pem + leaf.keyPem, actor);
  t.same(r.warnings, ['The issuer chain is not trusted: add the issuing CA with xCommand Security Certificates CA Add']);
  t.equal(certs.active().source, 'SelfSigned', 'not served before a restart');
  t.equal(certs.pendingRestart()?.info.fingerprint, leaf.x509.fingerprint256);
  t.ok(alarms.ids().includes('certificates.restart-required'));
  trust.add(root.pem, actor);
  const r2 = certs.upload(leaf.pem + inter.pem + leaf.keyPem, actor);
  t.same(r2.warnings, [], 'the chain reaches a trusted root');
  // Restart: a fresh service reads the new certificate and the alarm goes.
  const restarted = await setup(t, { dir, trusted: [root] });
  t.equal(restarted.certs.active().info.fingerprint, leaf.x509.fingerprint256);
  t.equal(restarted.certs.active().source, 'Uploaded');
  t.same(restarted.certs.active().chainPem, [inter.pem]);
  t.equal(restarted.certs.pendingRestart(), undefined);
  t.notOk(restarted.alarms.ids().includes('certificates.restart-required'));
  t.notOk(lines.some((l) => l.includes('PRIVATE KEY')), 'no key in the log');
  t.ok(lines.some((l) => /"what":"Security Certificates Server Upload"/.test(l)), 'audited');
});

t.test('upload refusals: one clear error naming the check; nothing on disk changes', async (t) => {
  const root = await makeCa({ cn: 'Refusal Root' });
  const { dir, certs, alarms } = await setup(t, { trusted: [root] });
  const good = await makeLeaf(root);
  const other = await makeLeaf(root);
  const rsa = await makeLeaf(root, { keyType: 'RSA-2048' });
  const ipSan = await makeLeaf(root, { cn: 'edge.example.com', sans: ['edge.example.com', 'IP:192.0.2.1'] });
  const hostSan = await makeLeaf(root, { cn: 'edge.example.com', sans: ['edge'] });
  const ipCn = await makeLeaf(root, { cn: '192.0.2.1', sans: ['edge.example.com'] });
  const hostCn = await makeLeaf(root, { cn: 'edge', sans: ['edge.example.com'] });
  const expired = await makeLeaf(root, { notBefore: new Date(Date.now() - 100 * 86_400_000), days: 10 });
  const cases: [string, string, string, RegExp][] = [
    ['mismatched key', good.pem + other.keyPem, 'ParameterError', /^The private key does not match the certificate$/],
    ['encrypted PKCS#8 key', good.pem + encryptedPkcs8(good.key), 'ParameterError', /^The private key is encrypted: upload it without a passphrase$/],
    ['encrypted legacy key', rsa.pem + encryptedLegacy(rsa.key), 'ParameterError', /^The private key is encrypted/],
    ['IP in SAN', ipSan.pem + ipSan.keyPem, 'ParameterError', /^Subject alternative name must be a valid FQDN: IP:192.0.2.1$/],
    ['hostname in SAN', hostSan.pem + hostSan.keyPem, 'ParameterError', /^Subject alternative name must be a valid FQDN: edge$/],
    ['IP in CN', ipCn.pem + ipCn.keyPem, 'ParameterError', /^Common name must be a valid FQDN: 192.0.2.1$/],
    ['hostname in CN', hostCn.pem + hostCn.keyPem, 'ParameterError', /^Common name must be a valid FQDN: edge$/],
    ['expired', expired.pem + expired.keyPem, 'ParameterError', /^The certificate expired on /],
    ['no key, no match', other.pem, 'ParameterError', /No private key was supplied and the certificate does not match the current key/],
    ['garbage', 'garbage', 'ParameterError', /not part of a PEM block/],
    ['truncated', good.pem + good.keyPem.slice(0, 80), 'ParameterError', /has no END line: the paste was cut off/],
    ['DER as text', good.x509.raw.toString('latin1'), 'ParameterError', /binary data/],
    ['two keys', good.pem + good.keyPem + good.keyPem, 'ParameterError', /More than one private key/],
    ['a CSR block', good.pem + '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', 'ParameterError', /CERTIFICATE REQUEST block at line \d+ is not expected/],
    ['key only', good.keyPem, 'ParameterError', /No certificate found/],
    ['oversized', good.pem + '#'.repeat(300 * 1024), 'ParameterError', /too large/],
  ];
  const before = snapshot(dir);
  const alarmsBefore = alarms.ids();
  for (const [name, text, code, re] of cases) {
    t.throws(() => certs.upload(text, actor), { name: code, message: re }, name);
  }
  t.same(snapshot(dir), before, 'certificate, key and trust store exactly as before');
  t.same(alarms.ids(), alarmsBefore);
  t.equal(certs.pendingRestart(), undefined);
  // A key while a CSR is in progress.
  await certs.createCsr({ commonName: 'edge.example.com', alternativeNames: [], keyType: 'ECDSA-P256', reuseKey: false }, actor);
  const withCsr = snapshot(dir);
  t.throws(() => certs.upload(good.pem + good.keyPem, actor), { name: 'CommandError', message: /A private key cannot be uploaded while a CSR is in progress/ });
  t.throws(() => certs.upload(good.pem, actor), { message: /does not match the key of the CSR in progress/ });
  t.same(snapshot(dir), withCsr);
});

t.test('upload warnings: no CN (alarm), weak key, weak signature, untrusted chain', async (t) => {
  const root = await makeCa({ cn: 'Warn Root', keyType: 'RSA-2048' });
  const { certs, alarms } = await setup(t, { trusted: [root] });
  const noCn = await makeLeafWithoutCn(root, ['edge.example.com']);
  const r1 = certs.upload(noCn.pem + noCn.keyPem, actor);
  t.match(r1.warnings, [/has no common name/]);
  t.ok(alarms.ids().includes('certificates.server.no-cn'));
  const weakKey = await makeLeaf(root, { keyType: 'RSA-1024' });
  t.match(certs.upload(weakKey.pem + weakKey.keyPem, actor).warnings, [/The key is weak \(RSA-1024\)/]);
  t.notOk(alarms.ids().includes('certificates.server.no-cn'), 'the CN alarm follows the certificate that will be served');
  const weakSig = await makeLeaf(root, { weakSignature: true, key: root.key, cn: 'sig.example.com' });
  t.match(certs.upload(weakSig.pem + weakSig.keyPem, actor).warnings, [/signature algorithm of the certificate is weak \(sha1WithRSAEncryption\)/]);
  const stranger = await makeCa({ cn: 'Stranger' });
  const untrusted = await makeLeaf(stranger);
  t.match(certs.upload(untrusted.pem + untrusted.keyPem, actor).warnings, [/issuer chain is not trusted/]);
});

t.test('CSR: every key type, verified by openssl; key never shown; upload without key consumes it', async (t) => {
  const root = await makeCa({ cn: 'CSR Root' });
  const { dir, certs, lines } = await setup(t, { trusted: [root] });
  for (const keyType of ['ECDSA-P256', 'ECDSA-P384', 'RSA-2048', 'RSA-3072', 'RSA-4096'] as const) {
    const csr = await certs.createCsr({ commonName: 'edge.example.com', alternativeNames: ['a.example.com', '*.b.example.com'], keyType, reuseKey: false }, actor);
    t.equal(csr.keyType, keyType);
    t.same(csr.alternativeNames, ['edge.example.com', 'a.example.com', '*.b.example.com']);
    t.notOk(JSON.stringify(csr).includes('PRIVATE'), 'CsrInfo holds no key');
    const v = openssl(['req', '-verify', '-noout', '-text'], csr.pem);
    t.equal(v.status, 0, v.out);
    t.match(v.out, /DNS:edge.example.com, DNS:a.example.com, DNS:\*.b.example.com/);
    t.match(v.out, keyType.startsWith('RSA') ? new RegExp(`Public-Key: \\(${keyType.slice(4)} bit\\)`) : /ASN1 OID: (prime256v1|secp384r1)/);
    await t.rejects(certs.createCsr({ commonName: 'x.example.com', alternativeNames: [], keyType, reuseKey: false }, actor), { name: 'CommandError', message: /already in progress/ });
    certs.discardCsr(actor);
  }
  t.throws(() => certs.discardCsr(actor), { message: /No CSR is in progress/ });
  await t.rejects(certs.createCsr({ commonName: '10.0.0.1', alternativeNames: [], keyType: 'ECDSA-P256', reuseKey: false }, actor), { name: 'ParameterError', message: /CommonName "10.0.0.1": expected a valid FQDN/ });
  await t.rejects(certs.createCsr({ commonName: 'edge.example.com', alternativeNames: ['host'], keyType: 'ECDSA-P256', reuseKey: false }, actor), { message: /AlternativeNames entry "host"/ });
  t.equal(certs.csr(), undefined);

  const csr = await certs.createCsr({ commonName: 'edge.example.com', alternativeNames: [], keyType: 'ECDSA-P256', reuseKey: false }, actor);
  const csrFile = path.join(dir, 'certs', 'csr.json');
  t.equal(fs.statSync(csrFile).mode & 0o777, 0o600);
  // Sign the CSR with the test CA: openssl does the signing, as an external CA would.
  const s = signCsrWithOpenssl(t, root, csr.pem);
  t.equal(s.status, 0, s.out);
  const signed = s.pem;
  const r = certs.upload(signed, actor);
  t.same(r.warnings, []);
  t.equal(certs.csr(), undefined, 'the CSR is used up');
  t.notOk(fs.existsSync(csrFile));
  const pending = certs.pendingRestart()!;
  t.equal(pending.info.subjectAltNames[0], 'edge.example.com');
  t.notOk(lines.some((l) => l.includes('PRIVATE KEY')));

  // ReuseKey: the CSR carries the current key.
  const reuse = await certs.createCsr({ commonName: 'edge.example.com', alternativeNames: [], keyType: 'RSA-4096', reuseKey: true }, actor);
  t.equal(reuse.reusedKey, true);
  t.equal(reuse.keyType, 'ECDSA-P256', 'the reused key decides the type');
  const pub = (pem: string) => crypto.createPublicKey(pem).export({ type: 'spki', format: 'der' }).toString('hex');
  t.equal(pub(certs.csrKeyPem()!), pending.info && pub(new crypto.X509Certificate(signed).publicKey.export({ type: 'spki', format: 'pem' }) as string));
});

t.test('expiry alarms at 30 and 7 days and once expired; status tree is declared in the schema', async (t) => {
  const { certs, alarms, clock, trust } = await setup(t);
  const notAfter = Date.parse(certs.active().info.notAfter);
  clock.set(new Date(notAfter - 40 * 86_400_000));
  certs.refreshAlarms();
  t.same(alarms.ids(), []);
  clock.set(new Date(notAfter - 20 * 86_400_000));
  certs.refreshAlarms();
  t.same(alarms.ids(), ['certificates.server.expiring30']);
  clock.set(new Date(notAfter - 3 * 86_400_000));
  certs.refreshAlarms();
  t.same(alarms.ids(), ['certificates.server.expiring7']);
  t.equal(alarms.list()[0]!.severity, 'Error');
  clock.set(new Date(notAfter + 1000));
  certs.refreshAlarms();
  t.same(alarms.ids(), ['certificates.server.expired']);
  t.equal(alarms.list()[0]!.severity, 'Critical');

  certs.addDomain('shop.example.com', undefined, actor);
  const tree = certificatesStatus(certs, trust, clock.now());
  t.match(tree, { Server: { Source: 'SelfSigned', DaysLeft: 0, KeyType: 'RSA-2048' }, TrustedCA: { Count: 0 }, CSR: { State: 'None' }, Domain: [{ Name: 'shop.example.com', Source: 'None' }] });
  const declared = new Set(STATUS.map((n) => n.path.join(' ')));
  const walk = (node: unknown, p: string[]): void => {
    if (Array.isArray(node)) return node.forEach((n) => walk(n, [...p, '#']));
    if (typeof node === 'object' && node !== null) return Object.entries(node).forEach(([k, v]) => walk(v, [...p, k]));
    const key = p.join(' ');
    t.ok(declared.has(key), `${key} is declared`);
    const decl = STATUS.find((n) => n.path.join(' ') === key)!;
    t.ok(decl.type.parse(String(node)).ok, `${key}=${String(node)} is in ${decl.type.space}`);
  };
  walk(tree, ['Security', 'Certificates']);
});

t.test('domains: add, certificate by paste, delete; names checked', async (t) => {
  const root = await makeCa({ cn: 'Domain Root' });
  const { dir, certs } = await setup(t, { trusted: [root] });
  t.equal(certs.addDomain('Shop.Example.com', undefined, actor).name, 'shop.example.com');
  t.throws(() => certs.addDomain('shop.example.com', undefined, actor), { message: /already exists/ });
  t.throws(() => certs.addDomain('../etc', undefined, actor), { name: 'ParameterError', message: /expected a valid FQDN/ });
  const wrong = await makeLeaf(root, { cn: 'other.example.com' });
  t.throws(() => certs.addDomain('shop.example.com', wrong.pem + wrong.keyPem, actor), { message: /does not cover the domain shop.example.com/ });
  const right = await makeLeaf(root, { cn: 'shop.example.com' });
  const d = certs.addDomain('shop.example.com', right.pem + right.keyPem, actor);
  t.equal(d.certificate?.info.fingerprint, right.x509.fingerprint256);
  const reopened = await setup(t, { dir, trusted: [root] });
  t.equal(reopened.certs.domains()[0]?.certificate?.info.fingerprint, right.x509.fingerprint256);
  reopened.certs.deleteDomain('shop.example.com', actor);
  t.same(reopened.certs.domains(), []);
  t.throws(() => reopened.certs.deleteDomain('shop.example.com', actor), { message: /No hosted domain is named shop.example.com/ });
  t.same(fs.readdirSync(path.join(dir, 'certs', 'domains')), []);
});

t.test('deploy swaps the live listener without a restart; rollback; refused deploys change nothing', async (t) => {
  const { WebListeners } = await import('../../src/services/tls/listener.js');
  const tls = await import('node:tls');
  const root = await makeCa({ cn: 'Deploy Root' });
  const { dir, certs, alarms, lines } = await setup(t, { trusted: [root] });
  const m = certs.listenerMaterial();
  const { logger } = testLogger();
  const web = new WebListeners({ server: m.server, logger });
  certs.attach(web);
  const port = await web.listenHttps(0);
  t.teardown(() => web.close());
  const served = () => new Promise<string>((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', servername: 'edge.example.com', rejectUnauthorized: false }, () => {
      resolve(s.getPeerX509Certificate()!.serialNumber.toUpperCase());
      s.destroy();
    });
    s.on('error', reject);
  });
  const selfSerial = certs.active().info.serial;
  t.equal(await served(), selfSerial);
  // ACME-style: the CSR key, no key given.
  const csr = await certs.createCsr({ commonName: 'edge.example.com', alternativeNames: [], keyType: 'ECDSA-P256', reuseKey: false }, actor);
  const s = signCsrWithOpenssl(t, root, csr.pem);
  t.equal(s.status, 0, s.out);
  const signed = s.pem;
  const before = snapshot(dir);
  const other = await makeLeaf(root);
  await t.rejects(certs.deploy(other.pem, [], undefined, 'Acme', actor), { message: /does not match/ });
  await t.rejects(certs.deploy(signed, [], other.keyPem, 'Acme', actor), { message: /does not match/ });
  t.same(snapshot(dir), before, 'refused deploys leave the disk as it was');
  t.equal(await served(), selfSerial);
  // Callers' PEM may lack the final newline.
  const d = await certs.deploy(signed.trim(), [], undefined, 'Acme', actor);
  t.equal(d.source, 'Acme');
  t.equal(await served(), d.info.serial, 'served at once');
  t.equal(certs.pendingRestart(), undefined);
  t.notOk(alarms.ids().includes('certificates.restart-required'), 'no restart needed');
  t.equal(certs.active().info.serial, d.info.serial);
  // Rollback to the self-signed one, live; and the pair on disk follows.
  const back = await certs.rollback(actor);
  t.equal(back.info.serial, selfSerial);
  t.equal(await served(), selfSerial);
  const reopened = await setup(t, { dir, trusted: [root] });
  t.equal(reopened.certs.active().info.serial, selfSerial);
  t.notOk(lines.some((l) => l.includes('PRIVATE KEY')));
});
