// Issue 13.8: a server certificate "chain" was not checked to link to the leaf: 400 unrelated
// certificates were accepted (with a warning) and after Boot every TLS client failed with
// "excessive message size". Only the certificates that form the issuer chain are kept, bounded.
import t from 'tap';
import { testApp } from '../helpers/app.js';
import { makeCa, makeLeaf } from '../helpers/pki.js';

t.test('unrelated certificates in an upload are left out, with a warning; the chain stays in order', async (t) => {
  const app = testApp(t);
  const root = await makeCa({ cn: 'Upload Root' });
  const inter = await makeCa({ cn: 'Upload Inter' }, root);
  const leaf = await makeLeaf(inter, { cn: 'edge.example.com' });
  const strays = await Promise.all([1, 2, 3].map((i) => makeCa({ cn: `Stray ${i}` })));
  // Root before the intermediate and strays between them: the order of the paste does not matter.
  const r = await app.run(`xCommand Security Certificates Server Upload\n${leaf.pem}${strays[0]!.pem}${root.pem}${strays[1]!.pem}${inter.pem}${strays[2]!.pem}${leaf.keyPem}.\n`);
  t.match(r.out, /\(status=OK\)/);
  t.match(r.out, /Warning \d: "3 certificates do not belong to the certificate's issuer chain and were left out"/);
  const staged = app.services.certificates!.pendingRestart();
  t.ok(staged, 'staged for the restart');
  t.same(staged!.chainPem, [inter.pem, root.pem], 'only the issuer chain, leaf-issuer first');
});

t.test('more certificates than a chain can hold are refused before any is decoded, and nothing changes', async (t) => {
  const app = testApp(t);
  const leaf = await makeLeaf(undefined, { cn: 'edge.example.com' });
  const stray = await makeCa({ cn: 'Stray' });
  const before = app.services.certificates!.pendingRestart();
  const r = await app.run(`xCommand Security Certificates Server Upload\n${leaf.pem}${stray.pem.repeat(40)}${leaf.keyPem}.\n`);
  t.match(r.out, /\(status=ParameterError\):\n\s+Reason: "The upload holds 41 certificates: at most 10 \(the certificate and its chain\)"/);
  t.equal(app.services.certificates!.pendingRestart(), before, 'nothing staged');
});
