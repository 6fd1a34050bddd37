// The Security Certificates commands through the real parser, bus and terminal renderer.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { testApp, ADMIN, READER } from '../helpers/app.js';
import type { Actor } from '../../src/services/interfaces.js';
import { makeCa, makeLeaf, snapshot } from '../helpers/pki.js';
import { fewDefaultCas } from '../helpers/fixtures.js';

function appliance(t: Tap) {
  // The whole appliance as app.ts wires it (trust store, certificates, listeners, ACME).
  const app = testApp(t);
  const c = app.web;
  return { app, c, run: (input: string, actor: Actor = ADMIN) => app.run(input, 'shell', actor).then((r) => ({ ...r, out: r.out.replace(/^[\s\S]*?\*r Login successful\n\nOK\n/, '') })) };
}
type Tap = { teardown(fn: () => unknown): void };

t.test('CA Add by paste and by File, List, Show, Delete, Reset', async (t) => {
  const { app, c, run } = appliance(t);
  const defaults = c.trust.count();
  const a = await makeCa({ cn: 'Cmd Root A' });
  const b = await makeCa({ cn: 'Cmd Root B' });
  let r = await run(`xCommand Security Certificates CA Add\n${a.pem}${b.pem}${a.pem}.\n`);
  t.match(r.out, /\*r SecurityCertificatesCAAddResult \(status=OK\):\n     Added: 2\n     Skipped: 1\n     Count: \d+\n     Certificate 1:\n       Status: "Added"\n       Subject: "O=xway tests, CN=Cmd Root A"/);
  t.match(r.out, /Certificate 3:\n       Status: "Duplicate"/);
  t.equal(r.code, 0);
  const a2 = await makeCa({ cn: 'Cmd Root A' });
  fs.writeFileSync(path.join(app.paths.uploads, 'a2.pem'), a2.pem);
  r = await run('xCommand Security Certificates CA Add File: "/tmp/a2.pem"\n');
  t.match(r.out, /Added: 1[\s\S]*Warning 1: "Another trusted CA already has the common name \\"Cmd Root A\\"/);
  t.equal(c.trust.count(), defaults + 3);

  r = await run('xCommand Security Certificates CA List\n', READER);
  t.match(r.out, new RegExp(`Count: ${defaults + 3}\\n`));
  t.match(r.out, /Certificate \d+:\n       Subject: "O=xway tests, CN=Cmd Root B"\n       Issuer: "O=xway tests, CN=Cmd Root B"\n       NotBefore: "[^"]+"\n       NotAfter: "[^"]+"\n       Fingerprint: "[0-9A-F:]{95}"/);

  const fpA = a.x509.fingerprint256;
  r = await run(`xCommand Security Certificates CA Show Fingerprint: ${fpA} Format: PEM\n`);
  t.match(r.out, /Count: 1\n     File: "\/tmp\/xway-ca-[0-9A-F]{16}\.pem"\n     Certificate 1:\n       Fingerprint: "[0-9A-F:]+"\n       Subject: "O=xway tests, CN=Cmd Root A"\n/);
  r = await run(`xCommand Security Certificates CA Show Fingerprint: ${fpA.replace(/:/g, '')}\n`);
  t.match(r.out, /Subject: "O=xway tests, CN=Cmd Root A"[\s\S]*KeyType: "ECDSA-P256"[\s\S]*CA: "True"/);

  const fpB = b.x509.fingerprint256;
  r = await run(`xCommand Security Certificates CA Delete Fingerprint: ${fpA} Fingerprint: ${'0'.repeat(64)}\n`);
  t.match(r.out, /\(status=ParameterError\):\n     Reason: "No trusted CA has the fingerprint 00:00/);
  t.match(r.out, /ERROR\n/);
  t.equal(c.trust.count(), defaults + 3, 'all or nothing');
  r = await run(`xCommand Security Certificates CA Delete Fingerprint: ${fpA} Fingerprint: ${fpB}\n`);
  t.match(r.out, /Deleted: 2\n     Count: \d+/);
  r = await run('xCommand Security Certificates CA Reset\n');
  t.match(r.out, new RegExp(`Count: ${defaults}\\n`));
  r = await run('xStatus Security Certificates TrustedCA\n');
  t.match(r.out, new RegExp(`TrustedCA:\\n\\s+Count: ${defaults}\\n`));
});

t.test('bad input through the shell: one clear error, nothing changed', async (t) => {
  const { app, c, run } = appliance(t);
  const before = snapshot(path.join(app.dir, 'trust'));
  const certsBefore = snapshot(path.join(app.dir, 'certs'));
  const a = await makeCa({ cn: 'Cut Root' });
  const lines = a.pem.trim().split('\n');
  const cases: [string, RegExp][] = [
    [`xCommand Security Certificates CA Add\n${lines.slice(0, 4).join('\n')}\n.\n`, /Reason: "The PEM block at line 1 \(CERTIFICATE\) has no END line: the paste was cut off"/],
    ['xCommand Security Certificates CA Add\nhello\n.\n', /Reason: "Line 1 is not part of a PEM block/],
    [`xCommand Security Certificates CA Add\n${a.keyPem}.\n`, /is a private key: CA Add takes CA certificates only/],
    ['xCommand Security Certificates CA Add File: "/etc/passwd"\n', /files must be in \/tmp/],
    ['xCommand Security Certificates CA Add File: "/tmp/../x.pem"\n', /Reason: "Invalid path component/],
    ['xCommand Security Certificates Server Upload\ngarbage\n.\n', /Reason: "Line 1 is not part of a PEM block/],
  ];
  for (const [input, re] of cases) {
    const r = await run(input);
    t.match(r.out, re, input.split('\n')[0]);
    t.match(r.out, /\nERROR\n/);
    t.equal(r.code, 1);
  }
  // An interrupted paste: the session ends before the closing "." line.
  const r = await run(`xCommand Security Certificates CA Add\n${a.pem}`);
  t.match(r.out, /nothing was changed/);
  t.same(snapshot(path.join(app.dir, 'trust')), before);
  t.same(snapshot(path.join(app.dir, 'certs')), certsBefore);
  t.equal(c.trust.count(), fewDefaultCas().length, 'the default list is intact');
});

t.test('Server Upload with chain, Show, restart alarm; CSR Create/Show/Discard; ReadOnly refused', async (t) => {
  const { app, c, run } = appliance(t);
  const root = await makeCa({ cn: 'Srv Root' });
  const inter = await makeCa({ cn: 'Srv Intermediate' }, root);
  const leaf = await makeLeaf(inter);
  let r = await run(`xCommand Security Certificates Server Upload\n${leaf.pem}${inter.pem}${leaf.keyPem}.\n`);
  t.match(r.out, /\*r SecurityCertificatesServerUploadResult \(status=OK\):[\s\S]*Status: "RestartRequired"[\s\S]*Warning 1: "The issuer chain is not trusted/);
  t.notOk(r.out.includes('PRIVATE'), 'the key is never echoed');
  r = await run('xStatus Alarm\n');
  t.match(r.out, /Id: "certificates.restart-required"/);
  r = await run('xCommand Security Certificates Server Show\n', READER);
  t.match(r.out, /Active:\n       Subject: "O=xway self-signed, CN=[^"]+"[\s\S]*Source: "SelfSigned"[\s\S]*PendingRestart:\n       Subject: "CN=edge.example.com"[\s\S]*ChainLength: 1/);
  r = await run('xStatus Security Certificates Server\n');
  t.match(r.out, /Source: "?SelfSigned"?\n\s+RestartRequired: "?True"?\n/);

  r = await run('xCommand Security Certificates Server Upload\n' + leaf.pem + leaf.keyPem + '.\n', READER);
  t.match(r.out, /Permission denied|PermissionDenied/);
  r = await run('xCommand Security Certificates CSR Create CommonName: edge.example.com AlternativeNames: "a.example.com, b.example.com" KeyType: ECDSA-P384\n');
  t.match(r.out, /AlternativeNames: "edge.example.com, a.example.com, b.example.com"\n     KeyType: "ECDSA-P384"\n     ReusedKey: "False"\n     Created: "[^"]+"\n     File: "\/tmp\/xway-csr.pem"\n/);
  t.match(fs.readFileSync(path.join(app.paths.uploads, 'xway-csr.pem'), 'utf8'), /^-----BEGIN CERTIFICATE REQUEST-----\n/);
  r = await run('xCommand Security Certificates CSR Show\n', READER);
  t.match(r.out, /KeyType: "ECDSA-P384"/);
  t.notOk(r.out.includes('PRIVATE'));
  r = await run('xStatus Security Certificates CSR\n');
  t.match(r.out, /State: "?InProgress"?\n/);
  r = await run(`xCommand Security Certificates Server Upload\n${leaf.pem}${leaf.keyPem}.\n`);
  t.match(r.out, /\(status=Error\):\n     Reason: "A private key cannot be uploaded while a CSR is in progress/);
  r = await run('xCommand Security Certificates CSR Create CommonName: 10.1.1.1\n');
  t.match(r.out, /already in progress/);
  r = await run('xCommand Security Certificates CSR Discard\n');
  t.match(r.out, /Message: "The CSR was discarded"/);
  r = await run('xCommand Security Certificates CSR Show\n');
  t.match(r.out, /Reason: "No CSR is in progress"/);
  r = await run('xCommand Security Certificates CSR Create CommonName: 10.1.1.1\n');
  t.match(r.out, /\(status=ParameterError\):\n     Reason: "Invalid CommonName \\"10.1.1.1\\": expected a valid FQDN"/);
  r = await run('xCommand Security Certificates CSR Create CommonName: edge.example.com KeyType: DSA-1024\n');
  t.match(r.out, /ParameterError[\s\S]*KeyType/);
  t.notOk(app.logLines.some((l) => l.includes('PRIVATE KEY')), 'no key in any log line');
});

t.test('Domain Add/Upload/List/Delete; the listener serves the domain certificate at once', async (t) => {
  const { c, run } = appliance(t);
  const port = await c.web.listenHttps(0);
  const root = await makeCa({ cn: 'Dom Root' });
  const leaf = await makeLeaf(root, { cn: 'shop.example.com', keyType: 'RSA-2048' });
  let r = await run('xCommand Security Certificates Domain Add Name: shop.example.com\n');
  t.match(r.out, /Name: "shop.example.com"\n     Status: "NoCertificate"/);
  r = await run(`xCommand Security Certificates Domain Upload Name: shop.example.com\n${leaf.pem}${leaf.keyPem}.\n`);
  t.match(r.out, /Status: "Replaced"/);
  r = await run('xCommand Security Certificates Domain List\n');
  t.match(r.out, /Count: 1\n     Domain 1:\n       Name: "shop.example.com"\n       Subject: "CN=shop.example.com"/);
  const tls = await import('node:tls');
  const serial = await new Promise<string>((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', servername: 'shop.example.com', rejectUnauthorized: false }, () => {
      resolve(s.getPeerX509Certificate()!.serialNumber);
      s.destroy();
    });
    s.on('error', reject);
  });
  t.equal(serial.toUpperCase(), leaf.x509.serialNumber.toUpperCase());
  r = await run('xStatus Security Certificates Domain\n');
  t.match(r.out, /Domain 1:\n\s+Name: "shop.example.com"/);
  r = await run('xCommand Security Certificates Domain Delete Name: shop.example.com\n');
  t.match(r.out, /was deleted/);
  r = await run('xCommand Security Certificates Domain Delete Name: shop.example.com\n');
  t.match(r.out, /No hosted domain is named shop.example.com/);
});

t.test('xConfiguration Http Redirect Mode drives the HTTP listener', async (t) => {
  const { c, run } = appliance(t);
  const httpsPort = await c.web.listenHttps(0);
  const httpPort = await c.web.listenHttp(0);
  const http = await import('node:http');
  const get = (p: string) => new Promise<{ status: number; location?: string }>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: httpPort, path: p, headers: { host: 'edge.example.com' } }, (res) => {
      res.resume();
      resolve({ status: res.statusCode!, location: res.headers.location });
    }).on('error', reject);
  });
  t.equal((await get('/x')).status, 404);
  t.match((await run('xConfiguration Http Redirect Mode: On\n')).out, /^OK\n/m);
  t.same(await get('/x'), { status: 301, location: `https://edge.example.com:${httpsPort}/x` });
  t.equal((await get('/.well-known/acme-challenge/none')).status, 404, 'challenge paths are never redirected');
  await run('xConfiguration Http Redirect Mode: Off\n');
  t.equal((await get('/x')).status, 404);
});
