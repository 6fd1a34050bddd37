// The chain check (Node's X509Certificate) agrees with `openssl verify` on the same inputs.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { chainTrusted } from '../../src/services/certs/checks.js';
import { parsePem } from '../../src/services/certs/pem.js';
import { decodeCertificate } from '../../src/services/certs/x509.js';
import { FileTrustStore } from '../../src/services/trust/store.js';
import { readClientHello } from '../../src/services/tls/sni.js';
import { makeCa, makeLeaf, tmpDir, openssl, manualClock, testLogger, actor, snapshot, type Issued } from '../helpers/pki.js';
import type { TrustedCa } from '../../src/services/interfaces.js';
import { FileStorage } from '../../src/stores/filestorage.js';

const trustedOf = (cas: Issued[]): TrustedCa[] =>
  cas.map((c) => ({ ...decodeCertificate(parsePem(c.pem)[0]!, 'x').info, pem: c.pem }));

t.test('chainTrusted matches openssl verify', async (t) => {
  const dir = tmpDir(t);
  const root = await makeCa({ cn: 'Chain Root', keyType: 'RSA-2048' });
  const inter = await makeCa({ cn: 'Chain Inter' }, root);
  const other = await makeCa({ cn: 'Chain Root' }); // same name, other key: a forged issuer
  const viaInter = await makeLeaf(inter);
  const direct = await makeLeaf(root);
  const forged = await makeLeaf(other);
  const cases: { name: string; leaf: Issued; chain: Issued[]; trusted: Issued[]; want: boolean }[] = [
    { name: 'leaf from a trusted root', leaf: direct, chain: [], trusted: [root], want: true },
    { name: 'leaf via a supplied intermediate', leaf: viaInter, chain: [inter], trusted: [root], want: true },
    { name: 'intermediate missing', leaf: viaInter, chain: [], trusted: [root], want: false },
    { name: 'intermediate trusted itself', leaf: viaInter, chain: [], trusted: [inter], want: true },
    { name: 'issuer name matches but the key does not', leaf: forged, chain: [], trusted: [root], want: false },
    { name: 'nothing trusted', leaf: direct, chain: [], trusted: [], want: false },
  ];
  for (const c of cases) {
    const ours = chainTrusted(c.leaf.x509, c.chain.map((x) => x.x509), trustedOf(c.trusted));
    const ca = path.join(dir, 'ca.pem');
    const untrusted = path.join(dir, 'chain.pem');
    const leaf = path.join(dir, 'leaf.pem');
    fs.writeFileSync(ca, c.trusted.map((x) => x.pem).join('') || '\n');
    fs.writeFileSync(untrusted, c.chain.map((x) => x.pem).join('') || '\n');
    fs.writeFileSync(leaf, c.leaf.pem);
    const args = ['verify', '-no-CAfile', '-no-CApath', '-partial_chain', '-CAfile', ca];
    if (c.chain.length) args.push('-untrusted', untrusted);
    const v = openssl([...args, leaf]);
    t.equal(ours, c.want, `${c.name}: ours`);
    t.equal(v.status === 0, c.want, `${c.name}: openssl agrees (${v.out.trim().split('\n').pop()})`);
  }
});

t.test('fuzz: mangled PEM is parsed or refused with a ParameterError, never anything else', async (t) => {
  const root = await makeCa();
  const leaf = await makeLeaf(root);
  const text = root.pem + leaf.pem + leaf.keyPem;
  fc.assert(
    fc.property(fc.integer({ min: 0, max: text.length - 1 }), fc.integer({ min: 0, max: 40 }), fc.string({ maxLength: 8 }), (at, del, ins) => {
      const mangled = text.slice(0, at) + ins + text.slice(at + del);
      try {
        parsePem(mangled);
      } catch (e) {
        return (e as Error).name === 'ParameterError';
      }
      return true;
    }),
    { numRuns: 2000, seed: 42 },
  );
  t.pass('2000 mangled inputs');
});

t.test('fuzz: CA Add with mangled input changes nothing unless it succeeds', async (t) => {
  const dir = tmpDir(t);
  const { logger } = testLogger();
  const store = new FileTrustStore({ storage: new FileStorage(dir), clock: manualClock(), logger, defaults: () => [] });
  const a = await makeCa({ cn: 'Fuzz A' });
  store.add(a.pem, actor);
  const b = await makeCa({ cn: 'Fuzz B' });
  let refused = 0;
  fc.assert(
    fc.property(fc.integer({ min: 0, max: b.pem.length - 1 }), fc.integer({ min: 1, max: 30 }), (at, del) => {
      const before = snapshot(dir);
      try {
        // Accepted only when the cut removed nothing that mattered (e.g. the final newline):
        // then it is exactly the same certificate, which we take out again.
        const r = store.add(b.pem.slice(0, at) + b.pem.slice(at + del), actor);
        const same = r.added.length === 1 && r.added[0]!.fingerprint === b.x509.fingerprint256;
        store.delete([b.x509.fingerprint256], actor);
        return same;
      } catch (e) {
        refused++;
        return (e as Error).name === 'ParameterError' && JSON.stringify(snapshot(dir)) === JSON.stringify(before) && store.count() === 1;
      }
    }),
    { numRuns: 300, seed: 7 },
  );
  t.ok(refused > 250, `${refused} of 300 refused`);
});

t.test('fuzz: the ClientHello reader never throws', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
    const b = Buffer.from(bytes);
    if (b.length > 0) b[0] = 0x16;
    const r = readClientHello(b);
    return ['more', 'hello', 'other'].includes(r.kind);
  }), { numRuns: 5000, seed: 1 });
  t.pass('5000 random records');
});
