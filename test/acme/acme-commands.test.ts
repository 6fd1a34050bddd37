// The ACME commands through the real parser, bus and terminal renderer, against Pebble; the
// status subtree checked against its declarations in schema/status.ts.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { acmeEnv } from '../helpers/acme-env.js';
import { STATUS } from '../../schema/status.js';
import { tlsProbe } from '../../src/services/acme/probe.js';
import type { Actor } from '../../src/services/interfaces.js';
import { until } from '../helpers/wait.js';

const READER: Actor = { user: 'viewer', role: 'ReadOnly', remote: '127.0.0.1:2', session: 'r' };

function checkDeclared(t: Tap.Test, tree: unknown, base: string[]): void {
  const declared = new Map(STATUS.map((n) => [n.path.join(' '), n]));
  const walk = (node: unknown, p: string[]): void => {
    if (Array.isArray(node)) return node.forEach((n) => walk(n, [...p, '#']));
    if (typeof node === 'object' && node !== null) return Object.entries(node).forEach(([k, v]) => walk(v, [...p, k]));
    const key = p.join(' ');
    const decl = declared.get(key);
    t.ok(decl, `${key} is declared`);
    if (decl) t.ok(decl.type.parse(String(node)).ok, `${key}=${String(node)} is in ${decl.type.space}`);
  };
  walk(tree, base);
}
type Tap = typeof t;
declare namespace Tap { type Test = Parameters<Parameters<typeof t.test>[1]>[0]; }

t.test('shell: configure, accept terms, sign, show, deploy, status', async (t) => {
  const env = await acmeEnv(t);
  let r = await env.shell('xCommand Acmerevoke');
  t.equal(r.out, '*r AcmerevokeResult (status=ParameterError):\n     Reason: "Missing required parameter CertPath <S: 1, 1024>"\n*r/end\n\nERROR\n');
  t.equal(r.code, 1);

  // Custom needs its directory URL: the URL is set first (the Security Acme owner refuses the other order).
  r = await env.shell('xConfiguration Security Acme Provider: Custom');
  t.equal(r.out, '*r ConfigurationResult (status=Error):\n     Reason: "Security Acme Provider Custom needs Security Acme DirectoryUrl: set the directory URL first"\n*r/end\n\nERROR\n');
  t.equal(r.code, 1);
  r = await env.shell([
    `xConfiguration Security Acme DirectoryUrl: "${env.pebble.directoryUrl}"`,
    'xConfiguration Security Acme Provider: Custom',
    'xConfiguration Security Acme AdminEmail: admin@example.com',
    'xCommand Security Acme ExternalAccount Set KeyId: kid-1 HmacKey: "c2VjcmV0LXNlY3JldA"',
    'xConfiguration Security Acme ExternalAccount HmacKey',
  ].join('\n'));
  t.equal(r.code, 0, r.out);
  t.match(r.out, /\*c xConfiguration Security Acme ExternalAccount HmacKey: \(hidden\)|\*c xConfiguration Security Acme ExternalAccount HmacKey: "\(hidden\)"/);
  t.notMatch(r.out, /c2VjcmV0/, 'secret never shown');
  // Half a pair is refused and changes nothing; the command clears both.
  r = await env.shell('xConfiguration Security Acme ExternalAccount HmacKey: ""\nxConfiguration Security Acme ExternalAccount KeyId');
  t.equal(r.out, '*r ConfigurationResult (status=Error):\n     Reason: "Security Acme ExternalAccount KeyId needs HmacKey: set both with xCommand Security Acme ExternalAccount Set, or neither"\n*r/end\n\nERROR\n*c xConfiguration Security Acme ExternalAccount KeyId: "kid-1"\nOK\n');
  r = await env.shell('xCommand Security Acme ExternalAccount Set KeyId: "" HmacKey: ""');
  t.equal(r.code, 0, r.out);

  r = await env.shell('xCommand Security Acme AcceptTerms Agree: True');
  t.match(r.out, /^\*r SecurityAcmeAcceptTermsResult \(status=OK\):\n {5}Provider: Custom|^\*r SecurityAcmeAcceptTermsResult \(status=OK\):\n {5}Provider: "Custom"/);
  t.match(r.out, /TermsUrl: "\S+"/);

  r = await env.shell('xCommand Security Acme Sign Wait: True');
  t.match(r.out, /^\*r SecurityAcmeSignResult \(status=Error\):\n {5}Reason: "No CSR is in progress: create one with xCommand Security Certificates CSR Create"/);

  await env.csr(['shell.example.com']);
  r = await env.shell('xCommand Security Acme Sign Wait: True', READER);
  t.match(r.out, /status=Error/);
  t.match(r.out, /Permission denied/);

  r = await env.shell('xCommand Security Acme Sign Wait: True');
  t.match(r.out, /^\*r SecurityAcmeSignResult \(status=OK\):\n {5}Status: "?Succeeded"?\n {5}Pending:\n {7}Subject: "CN=shell\.example\.com"/);
  t.equal(r.code, 0);

  r = await env.shell('xStatus Security Acme');
  t.match(r.out, /^\*s Security: \/\n {5}Acme:\n {7}Status: "?PendingDeploy"?\n/);
  t.match(r.out, /LastSign:\n {9}Status: "?Succeeded"?\n/);
  checkDeclared(t, env.acme.status(), ['Security', 'Acme']);

  r = await env.shell('xCommand Security Acme Pending Show', READER);
  t.match(r.out, /SubjectAltNames: "shell\.example\.com"/);
  t.match(r.out, /Provider: "?Custom"?/);
  t.notMatch(r.out, /PRIVATE KEY/);

  const before = env.certs.active().info.serial;
  r = await env.shell('xCommand Security Acme Deploy');
  const serial = env.certs.active().info.serial;
  t.match(r.out, new RegExp(`^\\*r SecurityAcmeDeployResult \\(status=OK\\):\\n {5}SerialNumber: "${serial}"\\n {5}NotAfter: "[0-9T:Z-]+"\\n {5}ServedSerialNumber: "${serial}"`));
  r = await env.shell('xStatus Security Acme Status');
  t.match(r.out, /Status: "?Deployed"?/);

  // A bad deploy can be rolled back, live: the replaced certificate is presented again.
  r = await env.shell('xCommand Security Acme Rollback');
  t.match(r.out, new RegExp(`^\\*r SecurityAcmeRollbackResult \\(status=OK\\):\\n {5}SerialNumber: "${before}"`));
  t.equal(await tlsProbe('127.0.0.1', env.httpsPort, undefined), before);
  r = await env.shell('xStatus Security Acme Status');
  t.match(r.out, /Status: "?Configured"?/);
  r = await env.shell('xCommand Security Acme Rollback');
  t.match(r.out, new RegExp(`SerialNumber: "${serial}"`), 'rolling back again returns to the ACME certificate');

  r = await env.shell('xCommand Security Acme Pending Discard');
  t.match(r.out, /status=Error/);
  t.match(r.out, /There is no pending ACME certificate for the server certificate/);

  // Revoke parameters: positional CertPath, provider by name, reason as a word.
  fs.writeFileSync(path.join(env.dir, 'uploads', 'x.pem'), env.certs.active().certPem);
  r = await env.shell('xCommand Acmerevoke "/tmp/x.pem"');
  t.match(r.out, /is in use: deploy another certificate before revoking it/);
  r = await env.shell('xCommand Acmerevoke CertPath: "/tmp/../etc/passwd" Provider: "Custom"');
  t.match(r.out, /\(status=ParameterError\)/);
  r = await env.shell('xCommand Acmerevoke CertPath: "/tmp/x.pem" Provider: "Sideways"');
  t.match(r.out, /\(status=ParameterError\)/);
  t.match(r.out, /LetsEncrypt\/LetsEncryptStaging\/Custom/);
});

t.test('Sign returns at once without Wait; progress events reach feedback subscribers', async (t) => {
  const env = await acmeEnv(t);
  await env.configure();
  env.certs.addDomain('feed.example.com', undefined, { user: 'admin', role: 'Admin', remote: 'x', session: 'x' });
  const r = await env.shell('xFeedback register /Event/AcmeProgress\nxCommand Security Acme Sign Domain: feed.example.com');
  t.match(r.out, /SecurityAcmeSignResult \(status=OK\):\n {5}Status: "?InProgress"?/);
  await until(() => (env.acme.status().Domain as { Status: string }[])[0]!.Status !== 'Signing', 'the domain order to end');
  t.equal((env.acme.status().Domain as { Status: string }[])[0]!.Status, 'PendingDeploy');
  t.ok(env.events.some((e) => e.fields.Target === 'feed.example.com' && e.fields.Status === 'Succeeded'));
  checkDeclared(t, env.acme.status(), ['Security', 'Acme']);
});
