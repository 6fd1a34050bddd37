// Certificates and files in /tmp: PEM output is written to a file (never quoted line by line into
// a reply), only for an Admin; a key file is deleted once installed.
import t from 'tap';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { testApp, ADMIN, READER } from '../helpers/app.js';
import type { Actor } from '../../src/services/interfaces.js';
import { makeCa, makeLeaf } from '../helpers/pki.js';

function appliance(t: { teardown(fn: () => unknown): void }) {
  const app = testApp(t);
  const run = (input: string, actor: Actor = ADMIN) => app.run(input, 'exec', actor);
  const file = (name: string) => path.join(app.paths.uploads, name);
  return { app, run, file };
}

const blocks = (pem: string) => pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];

t.test('Server Upload File: a file holding the key is deleted once installed; a refused one stays', async (t) => {
  const { run, file } = appliance(t);
  const root = await makeCa({ cn: 'Files Root' });
  const leaf = await makeLeaf(root);
  const other = await makeLeaf(root);
  // Refused (the key belongs to another certificate): the file stays for the admin to fix.
  fs.writeFileSync(file('bad.pem'), leaf.pem + other.keyPem);
  let r = await run('xCommand Security Certificates Server Upload File: "/tmp/bad.pem"');
  t.match(r.out, /status=(Error|ParameterError)/);
  t.ok(fs.existsSync(file('bad.pem')), 'a refused file is kept');

  fs.writeFileSync(file('srv.pem'), leaf.pem + root.pem + leaf.keyPem);
  r = await run('xCommand Security Certificates Server Upload File: "/tmp/srv.pem"');
  t.match(r.out, /Status: "RestartRequired"\n     Message: "[^"]+"\n     FileDeleted: "\/tmp\/srv.pem"\n/);
  t.notOk(fs.existsSync(file('srv.pem')), 'the key file is gone from /tmp');
});

t.test('Domain Upload File: the key file is deleted; CA Add File: (no key) is kept', async (t) => {
  const { app, run, file } = appliance(t);
  const root = await makeCa({ cn: 'Files Dom Root' });
  const leaf = await makeLeaf(root, { cn: 'shop.example.com' });
  fs.writeFileSync(file('shop.pem'), leaf.pem + leaf.keyPem);
  let r = await run('xCommand Security Certificates Domain Upload Name: shop.example.com File: shop.pem');
  t.match(r.out, /Status: "Added"\n     FileDeleted: "shop.pem"\n/);
  t.notOk(fs.existsSync(file('shop.pem')));
  t.equal(app.web.certificates.domains()[0]?.name, 'shop.example.com');

  fs.writeFileSync(file('root.pem'), root.pem);
  r = await run('xCommand Security Certificates CA Add File: "/tmp/root.pem"');
  t.match(r.out, /Added: 1/);
  t.notMatch(r.out, /FileDeleted/);
  t.ok(fs.existsSync(file('root.pem')), 'a certificate file holds no secret: kept');
});

t.test('CA Show Format: PEM writes the PEM to a file in /tmp and names it', async (t) => {
  const { app, run, file } = appliance(t);
  const a = await makeCa({ cn: 'Pem Root A' });
  const b = await makeCa({ cn: 'Pem Root B' });
  await run(`xCommand Security Certificates CA Add\n${a.pem}${b.pem}.\n`);
  const fpA = a.x509.fingerprint256;
  const hexA = fpA.replace(/:/g, '').slice(0, 16);

  let r = await run(`xCommand Security Certificates CA Show Fingerprint: ${fpA} Format: PEM`);
  t.equal(
    r.out,
    `*r SecurityCertificatesCAShowResult (status=OK):\n     Count: 1\n     File: "/tmp/xway-ca-${hexA}.pem"\n` +
      `     Certificate 1:\n       Fingerprint: "${fpA}"\n       Subject: "O=xway tests, CN=Pem Root A"\n*r/end\n\nOK\n`,
  );
  const one = fs.readFileSync(file(`xway-ca-${hexA}.pem`), 'utf8');
  t.equal(new crypto.X509Certificate(one).fingerprint256, fpA, 'the file is the certificate, ready to use');
  t.equal(fs.statSync(file(`xway-ca-${hexA}.pem`)).mode & 0o777, 0o600);

  r = await run(`xCommand Security Certificates CA Show Fingerprint: ${fpA} Fingerprint: ${b.x509.fingerprint256} Format: PEM`);
  t.match(r.out, /Count: 2\n     File: "\/tmp\/xway-ca-bundle.pem"\n/);
  const bundle = blocks(fs.readFileSync(file('xway-ca-bundle.pem'), 'utf8'));
  t.same(bundle.map((p) => new crypto.X509Certificate(p).fingerprint256), [fpA, b.x509.fingerprint256], 'both, in the order asked');

  r = await run('xCommand Security Certificates CA Show Format: PEM');
  t.equal(blocks(fs.readFileSync(file('xway-ca-bundle.pem'), 'utf8')).length, app.web.trust.count(), 'all of them without Fingerprint');

  // JSON and XML get the same fields: the file's name, no PEM.
  r = await run(`xPreferences outputmode json\nxCommand Security Certificates CA Show Fingerprint: ${fpA} Format: PEM | resultId="j"`);
  const doc = JSON.parse(r.out.split('\n').find((l) => l.includes('"ResultId":"j"'))!);
  t.same(doc.CommandResponse.SecurityCertificatesCAShowResult.File, { Value: `/tmp/xway-ca-${hexA}.pem` });
  t.notMatch(r.out, /BEGIN CERTIFICATE/);
  r = await run(`xPreferences outputmode xml\nxCommand Security Certificates CA Show Fingerprint: ${fpA} Format: PEM`);
  t.match(r.out, new RegExp(`<File>/tmp/xway-ca-${hexA}.pem</File>`));
  t.notMatch(r.out, /BEGIN CERTIFICATE/);
});

t.test('ReadOnly: decoded output only; PEM (a file) needs the Admin role', async (t) => {
  const { run, file } = appliance(t);
  let r = await run('xCommand Security Certificates CA Show Format: PEM', READER);
  t.match(r.out, /\(status=Error\):\n     Reason: "Permission denied: PEM output \(a file in \/tmp\) needs the Admin role"\n/);
  t.notOk(fs.existsSync(file('xway-ca-bundle.pem')), 'nothing written');
  r = await run('xCommand Security Certificates Server Show Format: PEM', READER);
  t.match(r.out, /Permission denied: PEM output/);
  r = await run('xCommand Security Certificates CA Show', READER);
  t.match(r.out, /status=OK/);

  r = await run('xCommand Security Certificates CSR Create CommonName: edge.example.com KeyType: ECDSA-P256');
  t.match(r.out, /File: "\/tmp\/xway-csr.pem"/);
  fs.rmSync(file('xway-csr.pem'));
  r = await run('xCommand Security Certificates CSR Show', READER);
  t.match(r.out, /CommonName: "edge.example.com"[\s\S]*Created: "[^"]+"\n\*r\/end/, 'decoded, no File');
  t.notOk(fs.existsSync(file('xway-csr.pem')), 'no file for ReadOnly');
  r = await run('xCommand Security Certificates CSR Show');
  t.match(r.out, /Created: "[^"]+"\n     File: "\/tmp\/xway-csr.pem"\n/);
  t.match(fs.readFileSync(file('xway-csr.pem'), 'utf8'), /^-----BEGIN CERTIFICATE REQUEST-----\n[\s\S]+-----END CERTIFICATE REQUEST-----\n$/);
});

t.test('Server Show Format: PEM writes the served certificate and its chain', async (t) => {
  const { app, run, file } = appliance(t);
  const r = await run('xCommand Security Certificates Server Show Format: PEM');
  t.match(r.out, /Active:\n[\s\S]*ChainLength: 0\n       File: "\/tmp\/xway-server.pem"\n/);
  const pem = fs.readFileSync(file('xway-server.pem'), 'utf8');
  t.equal(new crypto.X509Certificate(pem).fingerprint256, app.web.certificates.active().info.fingerprint);
});
