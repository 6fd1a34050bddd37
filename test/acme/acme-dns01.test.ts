// dns-01 through the product: a real BIND (dynamic zone, TSIG keys) and a real Pebble whose
// validator asks that BIND (`-dnsserver`), driven through the shell (real parser, bus and
// renderer). dig at the server is the oracle for "no record left behind"; every refusal reaches
// LastSign Reason as one sentence without the secret.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { acmeEnv, ADMIN, type AcmeEnv } from '../helpers/acme-env.js';
import { servedCert } from '../helpers/served.js';
import { startBind, type Bind } from '../helpers/bind.js';
import { freePort } from '../helpers/pebble.js';
import { buildApp } from '../../src/app.js';
import { memorySink } from '../../src/platform/log.js';
import { staticKey } from '../helpers/fixtures.js';

type Tap = typeof t;
declare namespace Tap { type Test = Parameters<Parameters<typeof t.test>[1]>[0]; }

const bind: Bind = await startBind({
  keys: [
    { name: 'acme-key' },
    // The server's policy lets this key touch one other name only: anything else is REFUSED.
    { name: 'narrow-key', grant: 'name _acme-challenge.narrow.example.test. TXT' },
  ],
  records: ['w1 IN A 127.0.0.1', 'w2 IN A 127.0.0.1', 'e1 IN A 127.0.0.1'],
});
t.teardown(() => bind.stop());
const key = bind.keys[0]!;

/** The shell lines that point dns-01 at this BIND, with `over` replacing some values. */
function dnsLines(over: Record<string, string | number> = {}): string {
  const v: Record<string, string | number> = {
    Server: '127.0.0.1', Port: bind.port, Zone: bind.zone, TsigKeyName: key.name, TsigAlgorithm: key.algorithm, TsigSecret: key.secret,
    PropagationTimeout: 20, ...over,
  };
  return Object.entries(v).map(([k, x]) => `xConfiguration Security Acme Dns ${k}: "${x}"`).join('\n');
}

async function env(t: Tap.Test): Promise<AcmeEnv> {
  // One attempt: every failure here is one the admin must fix, and its Reason is what we check.
  const e = await acmeEnv(t, { pebble: { dnsServer: `127.0.0.1:${bind.port}` }, limits: { orderAttempts: 1 } });
  await e.configure();
  return e;
}

t.test('a wildcard and its base name by dns-01 through the shell, served by the listener, records gone afterwards', async (t) => {
  const e = await env(t);
  let r = await e.shell('xCommand Security Certificates CSR Create CommonName: w1.example.test AlternativeNames: "*.w1.example.test" KeyType: ECDSA-P256');
  t.equal(r.out, '*r SecurityCertificatesCSRCreateResult (status=ParameterError):\n     Reason: "The wildcard name *.w1.example.test needs the DNS-01 challenge: set xConfiguration Security Acme Challenge Type: Dns01"\n*r/end\n\nERROR\n', 'a wildcard with Http01 is refused in one sentence');
  t.equal(e.certs.csr(), undefined, 'and no CSR was made');

  r = await e.shell('xConfiguration Security Acme Challenge Type: Dns01');
  t.equal(r.out, '*r ConfigurationResult (status=Error):\n     Reason: "Security Acme Challenge Type Dns01 needs Security Acme Dns Server: set the address of the DNS server that accepts updates first; '
    + 'Security Acme Challenge Type Dns01 needs Security Acme Dns TsigKeyName: set the name of the TSIG key first; '
    + 'Security Acme Challenge Type Dns01 needs Security Acme Dns TsigSecret: set the TSIG secret first"\n*r/end\n\nERROR\n', 'each missing part in one sentence');

  r = await e.shell(`${dnsLines()}\nxConfiguration Security Acme Challenge Type: Dns01\nxConfiguration Security Acme Dns TsigSecret`);
  t.equal(r.code, 0, r.out);
  t.notMatch(r.out, key.secret, 'the secret is never shown');
  t.match(r.out, /TsigSecret: "?\(hidden\)"?/);
  t.notOk(e.logLines.some((l) => l.includes(key.secret)), 'nor logged');

  r = await e.shell('xCommand Security Certificates CSR Create CommonName: w1.example.test AlternativeNames: "*.w1.example.test" KeyType: ECDSA-P256');
  t.equal(r.code, 0, r.out);

  let published = '';
  e.onEvent((ev) => {
    if (ev.name === 'AcmeProgress' && String(ev.fields.Detail).startsWith('Validating')) {
      published = String(((e.acmeStatus().Challenge ?? {}) as Record<string, string>).Published);
    }
  });
  r = await e.shell('xCommand Security Acme Sign Wait: True');
  t.match(r.out, /Status: "?Succeeded"?/, r.out);
  t.equal(published, `TXT _acme-challenge.w1.example.test at 127.0.0.1:${bind.port}`, 'xStatus said what was published where during the order');
  t.same(await bind.txt('_acme-challenge.w1.example.test'), [], 'dig at the server: both TXT values deleted');
  t.same(e.acmeStatus().Challenge, { Type: 'Dns01', Published: '' }, 'nothing published once the order ended');
  r = await e.shell('xStatus Security Acme Challenge');
  t.match(r.out, /Type: "?Dns01"?/);

  r = await e.shell('xCommand Security Acme Deploy');
  t.equal(r.code, 0, r.out);
  const cert = await servedCert(e.httpsPort, 'anything.w1.example.test');
  t.equal(cert.subjectAltName, 'DNS:w1.example.test, DNS:*.w1.example.test', 'the listener serves the wildcard certificate');
  t.equal(cert.checkHost('anything.w1.example.test'), '*.w1.example.test', 'and it covers any name under it');
});

t.test('refusals: each a clear LastSign Reason, no record left behind', async (t) => {
  const e = await env(t);
  await e.shell(`${dnsLines()}\nxConfiguration Security Acme Challenge Type: Dns01`);
  await e.csr(['w2.example.test', '*.w2.example.test']);
  const wrongSecret = crypto.randomBytes(32).toString('base64');
  const down = await freePort();
  const cases: [string, Record<string, string | number>, RegExp, string][] = [
    ['wrong secret', { TsigSecret: wrongSecret }, /^DNS server 127\.0\.0\.1:\d+ rejected the signature of TSIG key acme-key \(BADSIG\): the secret differs from the server's$/, '_acme-challenge.w2.example.test'],
    ['unknown key', { TsigKeyName: 'nobody-key' }, /^DNS server 127\.0\.0\.1:\d+ does not know TSIG key nobody-key with algorithm hmac-sha256 \(BADKEY\)$/, '_acme-challenge.w2.example.test'],
    ['update policy', { TsigKeyName: 'narrow-key', TsigSecret: bind.keys[1]!.secret },
      /^DNS server 127\.0\.0\.1:\d+ refused the update of _acme-challenge\.w2\.example\.test by TSIG key narrow-key \(REFUSED\): its update policy does not allow it$/, '_acme-challenge.w2.example.test'],
    ['server down', { Port: down }, new RegExp(`^DNS server 127\\.0\\.0\\.1:${down} is unreachable: connection refused$`), '_acme-challenge.w2.example.test'],
  ];
  for (const [what, over, reason, name] of cases) {
    const r = await e.shell(`${dnsLines(over)}\nxCommand Security Acme Sign Wait: True`);
    t.match(r.out, /status=Error/, what);
    const last = (e.acmeStatus().LastSign as Record<string, string>);
    t.equal(last.Status, 'Failed', what);
    t.match(last.Reason, reason, `${what}: ${last.Reason}`);
    t.notMatch(last.Reason, key.secret, `${what}: no secret in the reason`);
    t.notMatch(last.Reason, wrongSecret, `${what}: nor the wrong one`);
    t.same(await bind.txt(name), [], `${what}: no record left`);
  }
  t.notOk(e.logLines.some((l) => l.includes(key.secret) || l.includes(wrongSecret) || l.includes(bind.keys[1]!.secret)), 'no secret in the log');

  // The CSR holds a wildcard, the type went back to Http01: Sign says what is needed, asks the CA nothing.
  let r = await e.shell(`${dnsLines()}\nxConfiguration Security Acme Challenge Type: Http01\nxCommand Security Acme Sign Wait: True`);
  t.match(r.out, /\*r SecurityAcmeSignResult \(status=Error\):\n {5}Reason: "The wildcard name \*\.w2\.example\.test needs the DNS-01 challenge: set xConfiguration Security Acme Challenge Type: Dns01"/);
  t.same(e.acmeStatus().Challenge, { Type: 'Http01', Published: '' });
  await e.shell('xConfiguration Security Acme Challenge Type: Dns01');

  // A name outside the configured zone: the server says NOTZONE.
  await e.shell(dnsLines());
  await e.csr(['e1.other.test']);
  r = await e.shell('xCommand Security Acme Sign Wait: True');
  t.match(r.out, /status=Error/);
  t.match((e.acmeStatus().LastSign as Record<string, string>).Reason,
    /^DNS server 127\.0\.0\.1:\d+ refused the update: _acme-challenge\.e1\.other\.test is not in zone example\.test \(NOTZONE\)$/);
  t.same(e.acmeStatus().Challenge, { Type: 'Dns01', Published: '' });
});

t.test('Dns Test reports each step; a refusal is its sentence', async (t) => {
  const e = await env(t);
  await e.shell(`${dnsLines()}\nxConfiguration Security Acme Challenge Type: Dns01`);
  let r = await e.shell('xCommand Security Acme Dns Test');
  t.equal(r.code, 0, r.out);
  t.match(r.out, new RegExp(`^\\*r SecurityAcmeDnsTestResult \\(status=OK\\):\\n {5}Name: "?_acme-challenge\\.example\\.test"?\\n {5}Zone: "?example\\.test"?\\n {5}Server: "?127\\.0\\.0\\.1:${bind.port}"?\\n {5}AddMs: \\d+\\n {5}VisibleMs: \\d+\\n {5}RemoveMs: \\d+\\n`));
  t.same(await bind.txt('_acme-challenge.example.test'), [], 'the probe is deleted');
  r = await e.shell('xCommand Security Acme Dns Test Domain: w1.example.test');
  t.match(r.out, /Name: "?_acme-challenge\.w1\.example\.test"?/);
  r = await e.shell(`xConfiguration Security Acme Dns TsigKeyName: nobody-key\nxCommand Security Acme Dns Test`);
  t.match(r.out, /\*r SecurityAcmeDnsTestResult \(status=Error\):\n {5}Reason: "DNS server 127\.0\.0\.1:\d+ does not know TSIG key nobody-key with algorithm hmac-sha256 \(BADKEY\)"/);
});

t.test('values of an order cut short by a crash are deleted at the next start', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xway-dns-crash-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const build = () => {
    const sink = memorySink();
    const app = buildApp({ dataDir: dir, adminPassword: 'correct horse battery', logSink: sink, announce: () => {}, keySource: staticKey, defaultCas: () => [] });
    return { app, lines: sink.lines };
  };
  const first = build();
  first.app.services.config.set([
    ['Server', '127.0.0.1'], ['Port', bind.port], ['Zone', bind.zone], ['TsigKeyName', key.name], ['TsigSecret', key.secret],
  ].map(([k, value]) => ({ key: `Security Acme Dns ${k}`, value: value! })), ADMIN);
  // What an order had recorded and added when the appliance died: two values at one name, next to
  // a value somebody else owns, which must stay.
  const name = '_acme-challenge.crash.example.test';
  const ours = ['crash-value-1-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'crash-value-2-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'];
  await bind.nsupdate([...ours, 'not-ours'].map((v) => `update add ${name} 60 TXT "${v}"`));
  const state = first.app.services.state;
  const saved = state.read<{ targets: Record<string, object> }>('acme')!;
  saved.targets.server = {
    lastSign: { status: 'InProgress', time: '2026-01-01T00:00:00Z', reason: '' }, lastDeploy: { status: 'None', time: '', reason: '' },
    published: ours.map((value) => ({ name, value })),
  };
  state.write('acme', saved);
  await first.app.close();
  t.same(await bind.txt(name), [...ours, 'not-ours'].sort());

  const second = build();
  t.teardown(() => second.app.close());
  for (let i = 0; i < 200 && !second.lines.some((l) => l.includes('acme.dns-leftovers')); i++) await new Promise((r) => setTimeout(r, 25));
  t.ok(second.lines.some((l) => l.includes('acme.dns-leftovers-removed')), second.lines.filter((l) => l.includes('dns')).join('\n'));
  t.same(await bind.txt(name), ['not-ours'], 'exactly the recorded values are gone');
  const rec = second.app.services.state.read<{ targets: Record<string, { published?: unknown; lastSign: { reason: string } }> }>('acme')!;
  t.equal(rec.targets.server?.published, undefined, 'and forgotten');
  t.equal(rec.targets.server?.lastSign.reason, 'Interrupted by a restart');
});

t.test('a record not visible at every authoritative server: the timeout reason, and a cancelled wait cleans up at once', async (t) => {
  // A second NS for the zone at an address where nothing answers: the values never show there.
  const hidden = await startBind({ keys: [{ name: 'acme-key' }], records: ['@ IN NS ns2.example.test.', 'ns2 IN A 127.0.0.2', 'w3 IN A 127.0.0.1'] });
  t.teardown(() => hidden.stop());
  const k = hidden.keys[0]!;
  const e = await acmeEnv(t, { pebble: { dnsServer: `127.0.0.1:${hidden.port}` }, limits: { orderAttempts: 1 } });
  await e.configure();
  const lines = (timeout: number) => [
    `xConfiguration Security Acme Dns Server: 127.0.0.1`, `xConfiguration Security Acme Dns Port: ${hidden.port}`,
    `xConfiguration Security Acme Dns TsigKeyName: ${k.name}`, `xConfiguration Security Acme Dns TsigSecret: "${k.secret}"`,
    `xConfiguration Security Acme Dns PropagationTimeout: ${timeout}`, 'xConfiguration Security Acme Challenge Type: Dns01',
  ].join('\n');
  await e.csr(['w3.example.test', '*.w3.example.test']);
  let r = await e.shell(`${lines(1)}\nxCommand Security Acme Sign Wait: True`);
  t.match(r.out, /status=Error/);
  t.match((e.acmeStatus().LastSign as Record<string, string>).Reason,
    new RegExp(`^TXT record _acme-challenge\\.w3\\.example\\.test is not visible at ns2\\.example\\.test \\(127\\.0\\.0\\.2:${hidden.port}\\) after 1 s`));
  t.same(await hidden.txt('_acme-challenge.w3.example.test'), [], 'deleted after the failure');

  // A long wait, cut short by stopping the service: the values go at once, not after 60 s.
  r = await e.shell(`${lines(60)}\nxCommand Security Acme Sign`);
  t.equal(r.code, 0, r.out);
  const seen = async () => (await hidden.txt('_acme-challenge.w3.example.test')).length;
  for (let i = 0; i < 400 && (await seen()) < 2; i++) await new Promise((res) => setTimeout(res, 25));
  t.equal(await seen(), 2, 'both values published, the order waiting for ns2');
  t.match(String((e.acmeStatus().Challenge as Record<string, string>).Published), /^TXT _acme-challenge\.w3\.example\.test at 127\.0\.0\.1:\d+$/);
  const stopped = Date.now();
  await e.acme.stop();
  for (let i = 0; i < 400 && (await seen()) > 0; i++) await new Promise((res) => setTimeout(res, 25));
  t.equal(await seen(), 0, 'deleted once the order was cancelled');
  t.ok(Date.now() - stopped < 30_000, 'well before the 60 s propagation timeout');
});
