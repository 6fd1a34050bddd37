// The ACME service end to end in process, against a real Pebble and the real certificate
// service and listeners: account, sign (HTTP-01 on the real HTTP listener), pending, deploy by
// live swap (a fresh handshake sees the new serial), SNI domains, EAB, revocation.
import t from 'tap';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import os from 'node:os';
import tls from 'node:tls';
import { acmeEnv, ADMIN } from '../helpers/acme-env.js';
import { tlsProbe } from '../../src/services/acme/probe.js';
import acme from 'acme-client';
import { TransportContext, withTransport } from '../../src/services/acme/transport.js';
import { until } from '../helpers/wait.js';

function get(port: number, p: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: p }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject);
  });
}

function peerChain(port: number, servername?: string): Promise<crypto.X509Certificate[]> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(servername ? { servername } : {}) }, () => {
      const out: crypto.X509Certificate[] = [];
      let c = s.getPeerCertificate(true) as tls.DetailedPeerCertificate | undefined;
      for (let i = 0; c && c.raw && i < 5; i++) {
        out.push(new crypto.X509Certificate(c.raw));
        if (c.issuerCertificate === c) break;
        c = c.issuerCertificate;
      }
      s.destroy();
      resolve(out);
    });
    s.once('error', reject);
  });
}

t.test('full flow, ECDSA: accept terms, sign, pending, deploy by live swap', async (t) => {
  const env = await acmeEnv(t);
  t.equal(env.acmeStatus().Status, 'Disabled', 'no account yet');
  await env.configure({ accept: false });
  const shown = await env.acme.acceptTerms(ADMIN, false);
  t.match(shown, { agreed: false, accountUrl: '' });
  t.match(shown.termsUrl, /\S/, 'terms URL read from the directory');
  t.same((env.acmeStatus().Account as { Status: string }).Status, 'None', 'nothing created before agreeing');
  const terms = await env.acme.acceptTerms(ADMIN, true);
  t.equal(terms.termsUrl, shown.termsUrl, 'the terms shown are the terms accepted');
  t.same((env.acmeStatus().Account as { Status: string }).Status, 'Valid');
  t.equal(env.acmeStatus().Status, 'Configured');

  await env.csr(['edge.example.com', 'www.example.com']);
  const before = env.certs.active().info.serial;
  const r = await env.acme.sign(undefined, true, ADMIN);
  t.equal(r.status, 'Succeeded', r.reason);
  t.equal(env.acmeStatus().Status, 'PendingDeploy');
  t.match(env.acmeStatus().LastSign, { Status: 'Succeeded', Reason: '' });
  const pending = env.acme.pending(undefined)!;
  t.match(pending.info.subjectAltNames, ['edge.example.com', 'www.example.com']);
  t.equal((env.acmeStatus().Pending as { SerialNumber: string }).SerialNumber, pending.info.serial);
  t.equal(env.certs.active().info.serial, before, 'not deployed yet');
  t.ok(env.events.some((e) => e.name === 'AcmeProgress' && e.fields.Status === 'Succeeded'), 'progress events');
  t.notOk(env.events.some((e) => /PRIVATE KEY/.test(JSON.stringify(e))));

  // Challenges are over: the token path is 404 again, nothing installed on the listener.
  t.equal(await get(env.httpPort, '/.well-known/acme-challenge/abcdefghijklmnopqrstuvwxyz'), 404);

  // An open connection made before the swap survives it.
  const old = await new Promise<tls.TLSSocket>((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port: env.httpsPort, rejectUnauthorized: false }, () => resolve(s));
  });
  const d = await env.acme.deploy(undefined, ADMIN);
  t.equal(d.certificate.serial, pending.info.serial);
  t.equal(d.servedSerial, pending.info.serial, 'a fresh handshake sees the new serial');
  t.match(d.previous, /^\/archive\/[0-9A-F]+\.pem$/);
  t.equal(old.destroyed, false, 'existing connection kept');
  old.destroy();
  t.equal(env.certs.active().source, 'Acme');
  t.equal(env.acmeStatus().Status, 'Deployed');
  t.match(env.acmeStatus().LastDeploy, { Status: 'Succeeded' });
  t.equal(env.acme.pending(undefined), undefined);
  const chain = await peerChain(env.httpsPort);
  t.equal(chain[0]!.serialNumber.toUpperCase(), pending.info.serial);
  const inter = new crypto.X509Certificate(await env.pebble.intermediatePem());
  t.ok(chain.some((c) => c.fingerprint256 === inter.fingerprint256), 'pebble intermediate is in the chain');
  t.ok(chain[0]!.verify(inter.publicKey));

  // Files: keys 0600, certificates 0644.
  const acmeDir = path.join(env.dir, 'acme');
  t.equal(fs.statSync(path.join(acmeDir, 'accounts', 'Custom.key')).mode & 0o777, 0o600);
  for (const f of fs.readdirSync(path.join(acmeDir, 'archive'))) t.equal(fs.statSync(path.join(acmeDir, 'archive', f)).mode & 0o777, 0o644);
  t.notOk(env.logLines.some((l) => l.includes('PRIVATE KEY')), 'no key in the log');
});

t.test('RSA-2048 CSR', async (t) => {
  const env = await acmeEnv(t);
  await env.configure();
  await env.csr(['rsa.example.com'], 'RSA-2048');
  const r = await env.acme.sign(undefined, true, ADMIN);
  t.equal(r.status, 'Succeeded', r.reason);
  t.equal(r.pending!.keyType, 'RSA-2048');
  const d = await env.acme.deploy(undefined, ADMIN);
  t.equal(await tlsProbe('127.0.0.1', env.httpsPort, undefined), d.certificate.serial);
});

t.test('sign without waiting returns at once; refusals are clear and change nothing', async (t) => {
  const env = await acmeEnv(t);
  // The service states the fact and names the remedy; the command words it (commands/advice.ts).
  await t.rejects(env.acme.sign(undefined, false, ADMIN), { name: 'CommandError', message: /^No ACME account with LetsEncrypt$/, remedy: 'AcceptTerms' });
  await env.configure();
  await t.rejects(env.acme.sign(undefined, false, ADMIN), { message: /^No CSR is in progress/ });
  await t.rejects(env.acme.sign('nope.example.com', false, ADMIN), { name: 'ParameterError', message: /^No hosted domain is named nope\.example\.com/ });
  await t.rejects(env.acme.deploy(undefined, ADMIN), { message: /^There is no pending ACME certificate for the server certificate/ });
  t.throws(() => env.acme.discardPending(undefined, ADMIN), { message: /^There is no pending ACME certificate/ });
  await env.csr(['quick.example.com']);
  const r = await env.acme.sign(undefined, false, ADMIN);
  t.equal(r.status, 'InProgress');
  t.equal(env.acmeStatus().Status, 'Signing');
  await t.rejects(env.acme.sign(undefined, false, ADMIN), { message: /already running/ });
  await until(() => env.acmeStatus().Status !== 'Signing', 'the order to end');
  t.equal(env.acmeStatus().Status, 'PendingDeploy');
  const info = env.acme.discardPending(undefined, ADMIN);
  t.match(info.subjectAltNames, ['quick.example.com']);
  t.equal(env.acme.pending(undefined), undefined);
  t.equal(env.acmeStatus().Status, 'Configured');
});

t.test('external account binding required', async (t) => {
  const hmac = crypto.randomBytes(32).toString('base64url');
  const env = await acmeEnv(t, { pebble: { eab: { 'kid-1': hmac } } });
  await env.configure({ accept: false });
  await t.rejects(env.acme.acceptTerms(ADMIN, true), { name: 'CommandError', message: /^The CA requires external account binding: set Security Acme ExternalAccount KeyId and HmacKey/ });
  // Half a pair is refused when it is committed (the Security Acme owner), no longer at AcceptTerms.
  t.throws(() => env.set({ 'Security Acme ExternalAccount KeyId': 'kid-1' }), {
    name: 'CommandError',
    message: 'Security Acme ExternalAccount KeyId needs HmacKey: set both with xCommand Security Acme ExternalAccount Set, or neither',
  });
  env.set({ 'Security Acme ExternalAccount KeyId': 'kid-1', 'Security Acme ExternalAccount HmacKey': crypto.randomBytes(32).toString('base64url') });
  await t.rejects(env.acme.acceptTerms(ADMIN, true), { name: 'CommandError' }, 'wrong HMAC key refused');
  env.set({ 'Security Acme ExternalAccount HmacKey': hmac });
  await env.acme.acceptTerms(ADMIN, true);
  await env.csr(['eab.example.com']);
  const r = await env.acme.sign(undefined, true, ADMIN);
  t.equal(r.status, 'Succeeded', r.reason);
  t.notOk(env.logLines.some((l) => l.includes(hmac)), 'HMAC key never logged');
  t.notOk(JSON.stringify(env.acmeStatus()).includes(hmac));
});

t.test('SNI domain: its own order, key, status and live swap', async (t) => {
  const env = await acmeEnv(t);
  await env.configure();
  env.certs.addDomain('sni.example.com', undefined, ADMIN);
  const r = await env.acme.sign('sni.example.com', true, ADMIN);
  t.equal(r.status, 'Succeeded', r.reason);
  const domains = env.acmeStatus().Domain as Record<string, unknown>[];
  t.match(domains, [{ Name: 'sni.example.com', Status: 'PendingDeploy' }]);
  t.equal(env.acmeStatus().Status, 'Configured', 'the server target is untouched');
  const d = await env.acme.deploy('sni.example.com', ADMIN);
  t.equal(await tlsProbe('127.0.0.1', env.httpsPort, 'sni.example.com'), d.certificate.serial);
  t.not(await tlsProbe('127.0.0.1', env.httpsPort, undefined), d.certificate.serial, 'server certificate unchanged');
  t.match(env.acmeStatus().Domain, [{ Name: 'sni.example.com', Status: 'Deployed', LastDeploy: { Status: 'Succeeded' } }]);
  // The domain key is kept and reused for the next order.
  const key1 = fs.readFileSync(path.join(env.dir, 'acme', 'domains', 'sni.example.com.key'), 'utf8');
  t.equal(fs.statSync(path.join(env.dir, 'acme', 'domains', 'sni.example.com.key')).mode & 0o777, 0o600);
  const r2 = await env.acme.sign('sni.example.com', true, ADMIN);
  t.equal(r2.status, 'Succeeded');
  t.equal(fs.readFileSync(path.join(env.dir, 'acme', 'domains', 'sni.example.com.key'), 'utf8'), key1);
});

t.test('revoke: hostile paths, in use, proof of control, CA answer', async (t) => {
  const env = await acmeEnv(t);
  await env.configure();
  await env.csr(['rev.example.com', 'www.rev.example.com']);
  const a = await env.acme.sign(undefined, true, ADMIN);
  await env.acme.deploy(undefined, ADMIN);
  const aPem = env.certs.active().certPem;
  fs.writeFileSync(path.join(env.dir, 'uploads', 'a.pem'), aPem);
  await t.rejects(env.acme.revoke('/tmp/a.pem', undefined, 'Superseded', ADMIN), { name: 'CommandError', message: /is in use: deploy another certificate before revoking it$/ });

  await env.acme.sign(undefined, true, ADMIN);
  await env.acme.deploy(undefined, ADMIN); // a is no longer in use
  await t.rejects(env.acme.revoke('/tmp/a.pem', undefined, 'Superseded', ADMIN), { message: /^No pending certificate from Custom covers rev\.example\.com, www\.rev\.example\.com/ });

  // A pending certificate covering only one name does not prove control of both.
  await env.csr(['rev.example.com']);
  await env.acme.sign(undefined, true, ADMIN);
  await t.rejects(env.acme.revoke('/tmp/a.pem', undefined, 'Superseded', ADMIN), { message: /^No pending certificate from Custom covers/ });

  // Hostile paths: one clear ParameterError, nothing read outside the upload area or archive.
  fs.symlinkSync('/etc/passwd', path.join(env.dir, 'uploads', 'link.pem'));
  for (const p of ['/etc/passwd', '/tmp/../xway.db', '../xway.db', '/tmp/%2e%2e/xway.db', '/tmp/link.pem', '/archive/../xway.db', '/archive/', '/tmp/nope.pem', '/tmp/a.pem\u0000x']) {
    await t.rejects(env.acme.revoke(p, undefined, 'Superseded', ADMIN), { name: 'ParameterError' }, p);
  }
  await t.rejects(env.acme.revoke('/tmp/a.pem', 'LetsEncrypt', 'Superseded', ADMIN), { message: /^No ACME account with LetsEncrypt/ });

  await env.csr(['rev.example.com', 'www.rev.example.com']);
  await env.acme.sign(undefined, true, ADMIN);
  const pendingPem = env.acme.pending(undefined)!.pem;
  fs.writeFileSync(path.join(env.dir, 'uploads', 'p.pem'), pendingPem);
  await t.rejects(env.acme.revoke('/tmp/p.pem', undefined, 'Superseded', ADMIN), { message: /^That is the pending certificate/ });
  t.equal((await env.pebble.certStatus(a.pending!.serial)).Status, 'Valid');
  const res = await env.acme.revoke('/tmp/a.pem', 'Custom', 'KeyCompromise', ADMIN);
  t.equal(res.answer, '200 OK');
  t.equal(res.serial, a.pending!.serial);
  const st = await env.pebble.certStatus(a.pending!.serial);
  t.equal(st.Status, 'Revoked');
  t.equal(st.Reason, 1, 'keyCompromise');
  t.ok(env.logLines.some((l) => /"what":"Acmerevoke"/.test(l) && /"result":"revoked"/.test(l)), 'audited');

  // The archive is a valid source too (the previous certificate was archived at deploy).
  const archived = fs.readdirSync(path.join(env.dir, 'acme', 'archive'));
  t.ok(archived.includes(`${a.pending!.serial}.pem`));
  await t.rejects(env.acme.revoke(`/archive/${a.pending!.serial}.pem`, undefined, 'Superseded', ADMIN), { name: 'CommandError', message: /alreadyRevoked|already revoked/i });
});

t.test('an account deactivated at the CA shows as Deactivated; AcceptTerms makes a new one', async (t) => {
  const env = await acmeEnv(t);
  await env.configure();
  await env.csr(['deact.example.com']);
  const keyFile = path.join(env.dir, 'acme', 'accounts', 'Custom.key');
  const key1 = fs.readFileSync(keyFile, 'utf8');
  // Accepting again finds the same account (same key) and tells its URL.
  const url = (await env.acme.acceptTerms(ADMIN, true)).accountUrl;
  t.equal(fs.readFileSync(keyFile, 'utf8'), key1, 'the account key is kept and reused');
  const client = new acme.Client({ directoryUrl: env.pebble.directoryUrl, accountKey: key1, accountUrl: url });
  await withTransport(new TransportContext([env.pebble.httpsCaPem], new AbortController().signal, 5000, 5), () => client.updateAccount({ status: 'deactivated' } as never));
  const r = await env.acme.sign(undefined, true, ADMIN);
  t.equal(r.status, 'Failed');
  t.match(r.reason, /^The CA refused the account: .*deactivated/i);
  t.match(env.acmeStatus(), { Status: 'Disabled', Account: { Status: 'Deactivated' } });
  await env.acme.acceptTerms(ADMIN, true);
  t.not(fs.readFileSync(keyFile, 'utf8'), key1, 'a new account key');
  t.match(env.acmeStatus(), { Account: { Status: 'Valid' } });
  const again = await env.acme.sign(undefined, true, ADMIN);
  t.equal(again.status, 'Succeeded', again.reason);
});

t.test('deploy checked by a handshake: when another certificate is served, it fails and the previous one is back', async (t) => {
  // The probe is pointed at a TLS server that keeps presenting an unrelated certificate.
  const other = tls.createServer({ ...(await (async () => {
    const { execFileSync } = await import('node:child_process');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xway-other-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=other.example.com', '-keyout', path.join(dir, 'k.pem'), '-out', path.join(dir, 'c.pem')], { stdio: 'ignore' });
    const pair = { key: fs.readFileSync(path.join(dir, 'k.pem')), cert: fs.readFileSync(path.join(dir, 'c.pem')) };
    fs.rmSync(dir, { recursive: true, force: true });
    return pair;
  })()) });
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => other.close(() => r())));
  const env = await acmeEnv(t, { probePort: () => (other.address() as import('node:net').AddressInfo).port });
  await env.configure();
  await env.csr(['probe.example.com']);
  await env.acme.sign(undefined, true, ADMIN);
  const before = env.certs.active().info.serial;
  const pending = env.acme.pending(undefined)!.info.serial;
  await t.rejects(env.acme.deploy(undefined, ADMIN), { name: 'CommandError', message: new RegExp(`^After the swap the listener still presents serial [0-9A-F]+, not ${pending}; the previous certificate is back$`) });
  t.equal(env.certs.active().info.serial, before, 'rolled back');
  t.equal(await tlsProbe('127.0.0.1', env.httpsPort, undefined), before, 'the listener presents the previous certificate');
  t.match(env.acmeStatus(), { Status: 'Failed', LastDeploy: { Status: 'Failed', Reason: /^After the swap/ } });
  t.equal(env.acme.pending(undefined)?.info.serial, pending, 'the pending certificate is kept');
});
