import t from 'tap';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { FileTrustStore, MAX_TRUSTED_CAS, BUNDLE_FILE } from '../../src/services/trust/store.js';
import { actor, makeCa, makeLeaf, manualClock, testLogger, tmpDir, snapshot, openssl, encryptedPkcs8 } from '../helpers/pki.js';
import { FileStorage } from '../../src/stores/filestorage.js';

function open(dir: string, defaults?: () => readonly string[]) {
  const { logger, lines } = testLogger();
  return { store: new FileTrustStore({ storage: new FileStorage(dir), clock: manualClock(), logger, defaults }), lines };
}

t.test('first start seeds the real default list: Node\'s root certificates', async (t) => {
  const dir = tmpDir(t);
  const { store } = open(dir);
  // Only roots valid now (issue 12.14: Node 20's list holds an Entrust root that expired 2026-11-27).
  const valid = [...new Set(tls.rootCertificates)].map((p) => new crypto.X509Certificate(p)).filter((x) => Date.parse(x.validTo) > Date.now());
  t.equal(store.count(), valid.length);
  t.ok(store.count() > 100, 'a real list, not a hand-made one');
  t.same(store.list().map((c) => c.fingerprint), valid.map((x) => x.fingerprint256));
  const st = fs.statSync(path.join(dir, 'trust', BUNDLE_FILE));
  t.equal(st.mode & 0o777, 0o644);
  // Reopening reads the same list back.
  t.equal(open(dir).store.count(), store.count());
});

t.test('add: one, many, duplicates skipped and said, same-CN warning, audit', async (t) => {
  const dir = tmpDir(t);
  const { store, lines } = open(dir, () => []);
  const a = await makeCa({ cn: 'Alpha Root' });
  const b = await makeCa({ cn: 'Beta Root', keyType: 'RSA-2048' });
  const r1 = store.add(a.pem, actor);
  t.equal(r1.added.length, 1);
  t.equal(r1.added[0]!.fingerprint, a.x509.fingerprint256);
  const r2 = store.add(a.pem + b.pem + b.pem, actor);
  t.same(r2.added.map((c) => c.commonName), ['Beta Root']);
  t.same(r2.duplicates.map((c) => c.commonName), ['Alpha Root', 'Beta Root']);
  t.equal(store.count(), 2);
  const a2 = await makeCa({ cn: 'Alpha Root' });
  const r3 = store.add(a2.pem, actor);
  t.equal(r3.added.length, 1);
  t.match(r3.warnings[0], /Another trusted CA already has the common name "Alpha Root"/);
  t.ok(store.get(a.x509.fingerprint256.replace(/:/g, '').toLowerCase()), 'lookup by any fingerprint spelling');
  const audits = lines.map((l) => JSON.parse(l)).filter((l) => l.audit);
  t.equal(audits.length, 3);
  t.match(audits[0], { who: 'admin', from: '127.0.0.1', what: 'Security Certificates CA Add', result: /added 1/ });
  // The bundle on disk is what openssl uses: a leaf from a trusted CA verifies against it.
  const leaf = await makeLeaf(b);
  const leafFile = path.join(dir, 'leaf.pem');
  fs.writeFileSync(leafFile, leaf.pem);
  const v = openssl(['verify', '-CAfile', path.join(dir, 'trust', BUNDLE_FILE), leafFile]);
  t.equal(v.status, 0, v.out);
  t.equal(open(dir).store.count(), 3, 'durable');
});

t.test('bad input: one clear error, nothing changed', async (t) => {
  const dir = tmpDir(t);
  const { store } = open(dir, () => []);
  const root = await makeCa({ cn: 'Kept Root' });
  store.add(root.pem, actor);
  const before = snapshot(dir);
  const good = await makeCa({ cn: 'Good Root' });
  const leaf = await makeLeaf(root);
  const expired = await makeCa({ cn: 'Old Root', notBefore: new Date(Date.now() - 400 * 86_400_000), days: 30 });
  const lines = good.pem.trim().split('\n');
  const cases: [string, string, RegExp][] = [
    ['garbage', 'not a certificate', /Line 1 is not part of a PEM block/],
    ['truncated', good.pem + lines.slice(0, 6).join('\n'), /Block at line|has no END line: the paste was cut off/],
    ['DER as text', good.x509.raw.toString('latin1'), /binary data/],
    ['a private key', good.pem + root.keyPem, /Block 2 \(line \d+\) is a private key: CA Add takes CA certificates only/],
    ['an encrypted private key', encryptedPkcs8(root.key), /Block 1 .* is a private key/],
    ['a leaf (not a CA)', good.pem + leaf.pem, /Block 2 \(CN=edge.example.com\) is not a CA certificate/],
    ['expired', expired.pem, /Block 1 \(O=xway tests, CN=Old Root\) expired on/],
    ['oversized', 'x'.repeat(9 * 1024 * 1024), /too large/],
  ];
  for (const [name, text, re] of cases) {
    t.throws(() => store.add(text, actor), { name: 'ParameterError', message: re }, name);
    t.equal(store.count(), 1, `${name}: count unchanged`);
  }
  t.same(snapshot(dir), before, 'the bundle on disk is byte for byte the same');
  t.throws(() => store.delete(['00'.repeat(32)], actor), { message: /No trusted CA has the fingerprint 00:00/ });
  t.throws(() => store.delete([root.x509.fingerprint256, 'zz'], actor), { message: /Invalid Fingerprint "zz"/ });
  t.equal(store.count(), 1, 'a bad fingerprint deletes nothing, not even the good one');
  t.same(snapshot(dir), before);
});

t.test('at most 1000: the 1001st is refused and nothing is added', async (t) => {
  const dir = tmpDir(t);
  const cas = await Promise.all(Array.from({ length: MAX_TRUSTED_CAS + 1 }, (_, i) => makeCa({ cn: `Root ${i}` })));
  const { store } = open(dir, () => []);
  t.throws(() => store.add(cas.map((c) => c.pem).join(''), actor), { message: /at most 1000 CA certificates: it has 0 and the input adds 1001/ });
  t.equal(store.count(), 0);
  // Counted before decoding (issue 13.12): a leaf at the end is not even looked at, and repeats of
  // the same certificates (an 8 MiB paste) count once.
  const leaf = await makeLeaf(cas[0]!);
  const paste = cas.map((c) => c.pem).join('');
  t.throws(() => store.add(paste + paste + leaf.pem, actor), { message: /it has 0 and the input adds 1002$/ });
  t.throws(() => store.add(cas.slice(0, 500).map((c) => c.pem).join('').repeat(2) + leaf.pem, actor), { message: /is not a CA certificate/ }, 'under the limit, every block is still checked');
  const r = store.add(cas.slice(0, 1000).map((c) => c.pem).join(''), actor);
  t.equal(r.added.length, 1000);
  const before = snapshot(dir);
  t.throws(() => store.add(cas[1000]!.pem, actor), { message: /it has 1000 and the input adds 1/ });
  t.same(snapshot(dir), before);
  // A duplicate of an existing entry is still fine at the limit: it adds nothing.
  t.equal(store.add(cas[0]!.pem, actor).duplicates.length, 1);
  t.equal(store.list().length, 1000);
});

t.test('delete several by fingerprint; reset to the defaults', async (t) => {
  const dir = tmpDir(t);
  const defaults = await Promise.all([1, 2].map((i) => makeCa({ cn: `Default ${i}` })));
  const { store } = open(dir, () => defaults.map((d) => d.pem));
  t.equal(store.count(), 2);
  const extra = await Promise.all([1, 2, 3].map((i) => makeCa({ cn: `Extra ${i}` })));
  store.add(extra.map((e) => e.pem).join(''), actor);
  let changes = 0;
  store.onChange(() => changes++);
  const gone = store.delete([extra[0]!.x509.fingerprint256, extra[2]!.x509.fingerprint256.replace(/:/g, '')], actor);
  t.same(gone.map((g) => g.commonName).sort(), ['Extra 1', 'Extra 3']);
  t.same(store.list().map((c) => c.commonName), ['Default 1', 'Default 2', 'Extra 2']);
  t.equal(store.reset(actor), 2);
  t.same(open(dir, () => []).store.list().map((c) => c.commonName), ['Default 1', 'Default 2']);
  t.equal(changes, 2);
});
