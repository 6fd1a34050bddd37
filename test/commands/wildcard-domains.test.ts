// Wildcard SNI domains through the whole appliance in process: Domain Add/Upload/List/Delete for
// `*.name`, each refusal in one sentence that changes nothing, the listener's SNI match over real
// TLS handshakes, the storage name on disk, and a restart that keeps it all.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { testApp, tmpDir, type TestApp } from '../helpers/app.js';
import { makeCa, makeLeaf, snapshot } from '../helpers/pki.js';
import { servedCert } from '../helpers/served.js';

const DNS01 = [
  'xConfiguration Security Acme Dns Server: 192.0.2.53',
  'xConfiguration Security Acme Dns TsigKeyName: acme-key',
  'xConfiguration Security Acme Dns TsigSecret: "c2VjcmV0LXNlY3JldC1zZWNyZXQ="',
].join('\n');

function shell(app: TestApp) {
  return async (input: string) => (await app.run(input, 'exec')).out;
}

/** The serial the HTTPS listener presents for `servername`. */
async function served(port: number, servername: string): Promise<string> {
  return (await servedCert(port, servername)).serialNumber.toUpperCase();
}

t.test('bad wildcard names and challenge types are refused in one sentence and change nothing', async (t) => {
  const dir = tmpDir();
  const app = testApp(t, { dataDir: dir });
  const sh = shell(app);
  const before = snapshot(path.join(dir, 'certs'));
  const refusals: [string, string][] = [
    ['Name: "*.*.example.com"', 'Invalid Name \\"*.*.example.com\\": only the first label may be a wildcard'],
    ['Name: "a*.example.com"', 'Invalid Name \\"a*.example.com\\": a wildcard must be the whole first label, as in *.example.com'],
    ['Name: "*.com"', 'Invalid Name \\"*.com\\": a wildcard needs at least two labels after *.'],
    ['Name: "*.com" Challenge: Dns01', 'Invalid Name \\"*.com\\": a wildcard needs at least two labels after *.'],
    ['Name: "*.example.com"', 'The wildcard domain *.example.com needs the DNS-01 challenge, not Http01: add it with Challenge: Dns01, or set xConfiguration Security Acme Challenge Type: Dns01'],
    ['Name: "*.example.com" Challenge: TlsAlpn01', 'The wildcard domain *.example.com needs the DNS-01 challenge, not TlsAlpn01: add it with Challenge: Dns01, or set xConfiguration Security Acme Challenge Type: Dns01'],
    ['Name: "*.example.com" Challenge: Http01', 'The wildcard domain *.example.com needs the DNS-01 challenge, not Http01: add it with Challenge: Dns01, or set xConfiguration Security Acme Challenge Type: Dns01'],
    ['Name: example.com IncludeBase: True Challenge: Dns01', 'IncludeBase applies to a wildcard domain (*.example.com) only'],
  ];
  for (const [args, reason] of refusals) {
    const out = await sh(`xCommand Security Certificates Domain Add ${args}`);
    t.equal(out, `*r SecurityCertificatesDomainAddResult (status=ParameterError):\n     Reason: "${reason}"\n*r/end\n\nERROR\n`, args);
  }
  // Upload and Delete refuse a bad name before reading any PEM.
  let out = await sh('xCommand Security Certificates Domain Upload Name: "*.*.example.com"\n-----BEGIN CERTIFICATE-----\n.');
  t.match(out, /Reason: "Invalid Name \\"\*\.\*\.example\.com\\": only the first label may be a wildcard"\n\*r\/end/);
  t.notMatch(out, /Parameter: /, 'the Name is at fault, not the pasted body');
  out = await sh('xCommand Security Certificates Domain Delete Name: "*.com"');
  t.match(out, /Reason: "Invalid Name \\"\*\.com\\": a wildcard needs at least two labels after \*\."/);
  out = await sh('xCommand Security Certificates Domain Delete Name: "*.*.example.com"');
  t.match(out, /Reason: "Invalid Name \\"\*\.\*\.example\.com\\": only the first label may be a wildcard"/);
  out = await sh('xCommand Security Acme Sign Domain: "a*.example.com"');
  t.match(out, /status=ParameterError/);
  t.match(out, /a\*\.example\.com is not a valid wildcard/);
  out = await sh('xCommand Security Certificates Domain List');
  t.match(out, /Count: 0\n/);
  t.same(snapshot(path.join(dir, 'certs')), before, 'nothing written');
});

t.test('a wildcard domain: added under DNS-01, served one label deep by SNI, kept across a restart, deleted', async (t) => {
  const dir = tmpDir();
  let app = testApp(t, { dataDir: dir });
  let sh = shell(app);
  t.equal(await sh(DNS01), 'OK\nOK\nOK\n');
  // The domain's own type suffices while the configured one is Http01.
  let out = await sh('xCommand Security Certificates Domain Add Name: "*.Example.com" Challenge: Dns01 IncludeBase: True');
  t.equal(out, '*r SecurityCertificatesDomainAddResult (status=OK):\n     Name: "*.example.com"\n     Status: "NoCertificate"\n*r/end\n\nOK\n');
  t.equal(app.acme.challengeType('*.example.com'), 'Dns01');
  // With the configured type Dns01, no Challenge: is needed.
  out = await sh('xConfiguration Security Acme Challenge Type: Dns01\nxCommand Security Certificates Domain Add Name: "*.b.example.com"');
  t.match(out, /Name: "\*\.b\.example\.com"\n     Status: "NoCertificate"/);
  t.ok(fs.existsSync(path.join(dir, 'certs', 'domains', '_wildcard.example.com', 'current.json')), 'stored as _wildcard.example.com');
  out = await sh('xCommand Security Certificates Domain Add Name: "*.example.com" Challenge: Dns01');
  t.match(out, /Reason: "The domain \*\.example\.com already exists"/);

  out = await sh('xStatus Security Acme Domain');
  t.match(out, /Domain 1:\n\s+Name: "\*\.b\.example\.com"\n\s+Names: "\*\.b\.example\.com"\n/, 'a wildcard says what its orders name');
  t.match(out, /Domain 2:\n\s+Name: "\*\.example\.com"\n\s+Names: "\*\.example\.com, example\.com"\n/, 'IncludeBase: the base too');
  t.match(out, /Challenge:\n\s+Type: "?Dns01"?/);

  // Certificates: the wildcard (an upload needs no challenge), an exact name, and the server's.
  const port = await app.web.web.listenHttps(0);
  const root = await makeCa({ cn: 'Wild Root' });
  const wild = await makeLeaf(root, { cn: '*.example.com', sans: ['*.example.com'] });
  const exact = await makeLeaf(root, { cn: 'exact.example.com', sans: ['exact.example.com'] });
  const narrow = await makeLeaf(root, { cn: 'a.example.com', sans: ['a.example.com'] });
  out = await sh(`xCommand Security Certificates Domain Upload Name: "*.example.com"\n${narrow.pem}${narrow.keyPem}.`);
  t.match(out, /Reason: "The certificate does not cover the domain \*\.example\.com"/, 'a certificate for one name under it is not the wildcard');
  out = await sh(`xCommand Security Certificates Domain Upload Name: "*.example.com"\n${wild.pem}${wild.keyPem}.`);
  t.match(out, /Name: "\*\.example\.com"\n\s+Subject: "CN=\*\.example\.com"[\s\S]*Status: "Replaced"/);
  out = await sh(`xCommand Security Certificates Domain Upload Name: exact.example.com\n${exact.pem}${exact.keyPem}.`);
  t.match(out, /Status: "Added"/);
  const serverSerial = app.web.web.currentServer().serial;
  const wildSerial = wild.x509.serialNumber.toUpperCase();
  const check = async (when: string, p: number) => {
    t.equal(await served(p, 'a.example.com'), wildSerial, `${when}: a.example.com gets the wildcard`);
    t.equal(await served(p, 'other.example.com'), wildSerial, `${when}: other.example.com too`);
    t.equal(await served(p, 'exact.example.com'), exact.x509.serialNumber.toUpperCase(), `${when}: an exact name comes first`);
    t.equal(await served(p, 'example.com'), serverSerial, `${when}: not the base (the certificate does not name it)`);
    t.equal(await served(p, 'a.b.example.com'), serverSerial, `${when}: not two labels deep (*.b.example.com has no certificate)`);
  };
  await check('live', port);
  out = await sh('xCommand Security Certificates Domain List');
  t.match(out, /Count: 3\n[\s\S]*Name: "\*\.b\.example\.com"\n\s+Source: "None"[\s\S]*Name: "\*\.example\.com"\n\s+Subject: "CN=\*\.example\.com"/);
  out = await sh('xStatus Security Certificates Domain');
  t.match(out, /Name: "\*\.example\.com"\n\s+Subject: "CN=\*\.example\.com"/);

  // A restart: the same data directory, a new appliance.
  await app.close();
  app = testApp(t, { dataDir: dir });
  sh = shell(app);
  const restarted = await app.web.web.listenHttps(0);
  await check('after a restart', restarted);
  t.equal(app.acme.challengeType('*.example.com'), 'Dns01');
  out = await sh('xStatus Security Acme Domain');
  t.match(out, /Name: "\*\.example\.com"\n\s+Names: "\*\.example\.com, example\.com"\n/, 'IncludeBase kept');

  out = await sh('xCommand Security Certificates Domain Delete Name: "*.example.com"');
  t.match(out, /Message: "The domain \*\.example\.com was deleted"/);
  t.notOk(fs.existsSync(path.join(dir, 'certs', 'domains', '_wildcard.example.com')), 'gone from the disk');
  t.equal(await served(restarted, 'a.example.com'), app.web.web.currentServer().serial, 'its names get the server certificate again');
  out = await sh('xCommand Security Certificates Domain Delete Name: "*.example.com"');
  t.match(out, /No hosted domain is named \*\.example\.com/);
});

t.test('a wildcard certificate that also names its base serves the base when no exact domain does', async (t) => {
  const app = testApp(t);
  const sh = shell(app);
  const port = await app.web.web.listenHttps(0);
  const root = await makeCa({ cn: 'Wild Root' });
  const both = await makeLeaf(root, { cn: '*.shop.example', sans: ['*.shop.example', 'shop.example'] });
  // An uploaded certificate needs no challenge: the configured Http01 does not stop it.
  const out = await sh(`xCommand Security Certificates Domain Upload Name: "*.shop.example"\n${both.pem}${both.keyPem}.`);
  t.match(out, /Status: "Added"/);
  const serial = both.x509.serialNumber.toUpperCase();
  t.equal(await served(port, 'www.shop.example'), serial);
  t.equal(await served(port, 'shop.example'), serial, 'the base, named by the certificate');
  t.equal(await served(port, 'x.www.shop.example'), app.web.web.currentServer().serial, 'never two labels deep');
});
