// The ACME service through the whole appliance in process (parser, bus, services), with the
// memory storage and a fake issuer: no CA, no network, no disk. The real protocol path runs
// against Pebble in acme-service, acme-commands and acme-ssh.
import t from 'tap';
import { testApp } from '../helpers/app.js';
import { FAKE_CA_ACCOUNT, FakeIssuer } from '../helpers/fake-issuer.js';
import { systemClock } from '../../src/platform/clock.js';

function fakeApp(t: Tap.Test) {
  const issuer = new FakeIssuer(systemClock);
  const app = testApp(t, { storage: 'memory', issuer, defaultCas: () => [] });
  const sh = async (input: string) => (await app.run(input, 'exec')).out;
  return { app, issuer, sh };
}
type Tap = typeof t;
declare namespace Tap { type Test = Parameters<Parameters<typeof t.test>[1]>[0]; }

async function configured(t: Tap.Test) {
  const f = fakeApp(t);
  const out = await f.sh([
    ...FAKE_CA_ACCOUNT,
    'xCommand Security Certificates CSR Create CommonName: edge.example.com KeyType: ECDSA-P256',
  ].join('\n'));
  t.match(out, /SecurityAcmeAcceptTermsResult \(status=OK\)[\s\S]*TermsUrl: "https:\/\/ca\.fake\.example\/terms"/);
  t.match(out, /SecurityCertificatesCSRCreateResult \(status=OK\)/);
  return f;
}

t.test('server certificate: sign, pending, deploy, status; a second sign while one runs is refused', async (t) => {
  const { app, issuer, sh } = await configured(t);
  let out = await sh('xCommand Security Acme Sign Wait: True');
  t.match(out, /^\*r SecurityAcmeSignResult \(status=OK\):\n {5}Status: "?Succeeded"?\n {5}Pending:\n {7}Subject: "CN=edge\.example\.com"/);
  t.equal(issuer.issued.length, 1);
  out = await sh('xStatus Security Acme Status');
  t.match(out, /Status: "?PendingDeploy"?/);
  out = await sh('xCommand Security Acme Deploy');
  const serial = app.services.certificates.active().info.serial;
  t.equal(serial, issuer.issued[0]!.serial, 'the signed certificate is the one in use');
  t.match(out, new RegExp(`^\\*r SecurityAcmeDeployResult \\(status=OK\\):\\n {5}SerialNumber: "${serial}"`));
  out = await sh('xStatus Security Acme Status');
  t.match(out, /Status: "?Deployed"?/);
  out = await sh('xCommand Security Acme Deploy');
  t.match(out, /There is no pending ACME certificate for the server certificate: sign one with xCommand Security Acme Sign/);

  issuer.mode = 'hang';
  out = await sh('xCommand Security Acme Sign');
  t.match(out, /Status: "?InProgress"?/);
  out = await sh('xCommand Security Acme Sign');
  t.match(out, /\(status=Error\):\n {5}Reason: "An ACME order for the server certificate is already running"/);
});

t.test('a hosted domain: its own key, sign, deploy; unknown domains refused', async (t) => {
  const { app, sh } = await configured(t);
  let out = await sh('xCommand Security Acme Sign Domain: nope.example.com Wait: True');
  t.match(out, /\(status=ParameterError\):\n {5}Reason: "No hosted domain is named nope\.example\.com: add it with xCommand Security Certificates Domain Add"/);
  out = await sh('xCommand Security Certificates Domain Add Name: Shop.Example.com');
  t.match(out, /status=OK/);
  out = await sh('xCommand Security Acme Sign Domain: shop.example.com Wait: True');
  t.match(out, /Status: "?Succeeded"?[\s\S]*Subject: "CN=shop\.example\.com"/);
  out = await sh('xCommand Security Acme Pending Show Domain: SHOP.example.com');
  t.match(out, /SubjectAltNames: "shop\.example\.com"/);
  out = await sh('xCommand Security Acme Deploy Domain: shop.example.com');
  t.match(out, /SecurityAcmeDeployResult \(status=OK\)/);
  const d = app.services.certificates.domains().find((x) => x.name === 'shop.example.com');
  t.equal(d?.certificate?.source, 'Acme');
  out = await sh('xStatus Security Acme Domain');
  t.match(out, /Name: "?shop\.example\.com"?[\s\S]*Status: "?Deployed"?/);
});

t.test('revoke a replaced certificate by its archive name, once control is proven by a pending one', async (t) => {
  const { app, issuer, sh } = await configured(t);
  await sh('xCommand Security Acme Sign Wait: True');
  await sh('xCommand Security Acme Deploy');
  const first = app.services.certificates.active().info.serial;
  await sh('xCommand Security Acme Sign Wait: True');
  await sh('xCommand Security Acme Deploy');
  let out = await sh(`xCommand Acmerevoke CertPath: "/archive/${first}.pem"`);
  t.match(out, /No pending certificate from Custom covers edge\.example\.com/);
  await sh('xCommand Security Acme Sign Wait: True');
  out = await sh(`xCommand Acmerevoke CertPath: "/archive/${first}.pem" Reason: Superseded`);
  t.match(out, new RegExp(`^\\*r AcmerevokeResult \\(status=OK\\):[\\s\\S]*SerialNumber: "${first}"`));
  out = await sh('xCommand Acmerevoke CertPath: "/archive/../acme/accounts/Custom.key"');
  t.match(out, /\(status=ParameterError\)/, 'archive names are plain names');
  t.equal(issuer.issued.length, 3);
});
