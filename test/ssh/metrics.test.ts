// Monitoring: GET /metrics on the real HTTPS listener, switched and keyed through the real SSH
// shell, its body read by the Prometheus project's own text parser (python3-prometheus-client);
// alarms as one log line per event.
import t from 'tap';
import https from 'node:https';
import ssh2 from 'ssh2';
import { startSsh, connect, execOn, run } from '../helpers/ssh.js';
import { testApp } from '../helpers/app.js';
import { makeCa, makeLeaf } from '../helpers/pki.js';
import { render, type MetricFamily } from '../../src/services/metrics/exposition.js';
import { collect } from '../../src/services/metrics/collect.js';
import type { StatusTree } from '../../src/services/interfaces.js';
import { simClock } from '../helpers/simclock.js';
import { FakeIssuer } from '../helpers/fake-issuer.js';

const TOKEN = 'scrape-Token_0123456789.abc~+/';

interface Parsed {
  families: { name: string; type: string; help: string }[];
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

/** Parses exposition text with prometheus_client.parser; rejects when the parser refuses it. */
async function parse(text: string): Promise<Parsed> {
  const script = [
    'import json, sys',
    'from prometheus_client.parser import text_string_to_metric_families',
    'fams = list(text_string_to_metric_families(sys.stdin.read()))',
    'print(json.dumps({"families": [{"name": f.name, "type": f.type, "help": f.documentation} for f in fams],',
    '  "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for f in fams for s in f.samples]}))',
  ].join('\n');
  const r = await run('/usr/bin/python3', ['-c', script], text);
  if (r.code !== 0) throw new Error(`prometheus_client refused the text: ${r.stderr}`);
  return JSON.parse(r.stdout) as Parsed;
}

const value = (p: Parsed, name: string, labels: Record<string, string> = {}) =>
  p.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length)?.value;

function scrape(port: number, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; type?: string; auth?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/metrics', method, headers, rejectUnauthorized: false, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], auth: res.headers['www-authenticate'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** One xConfiguration line through an SSH exec channel: the transcript. */
async function shell(c: ssh2.Client, line: string): Promise<string> {
  return (await execOn(c, line)).out;
}

t.test('exposition: escaped HELP and label values survive the reference parser', async (t) => {
  const families: MetricFamily[] = [
    { name: 'xway_test_info', type: 'gauge', help: 'back\\slash and\nnewline', samples: [{ labels: { v: 'a "quoted" \\ value\nnext' }, value: 1 }] },
    { name: 'xway_test_total', type: 'counter', help: 'A counter.', samples: [{ value: 42 }] },
    { name: 'xway_test_empty', type: 'gauge', help: 'No samples yet.', samples: [] },
  ];
  const p = await parse(render(families));
  t.same(p.families.find((f) => f.name === 'xway_test_info'), { name: 'xway_test_info', type: 'gauge', help: 'back\\slash and\nnewline' });
  t.same(p.samples.find((s) => s.name === 'xway_test_info')?.labels, { v: 'a "quoted" \\ value\nnext' });
  t.equal(value(p, 'xway_test_total'), 42);
  t.ok(p.families.some((f) => f.name === 'xway_test_empty' && f.type === 'gauge'), 'an empty family still declares itself');
  t.throws(() => render([{ name: 'bad-name', type: 'gauge', help: '', samples: [] }]), /Invalid metric name/);
});

t.test('collect: ACME times and words per target, absent times give no sample', async (t) => {
  const noRenewal: StatusTree = { Window: { Start: '', End: '' }, Source: '', ExplanationUrl: '', LastCheck: '', Failures: 0 };
  const target = (sign: string, signTime: string, next: string, renewal: StatusTree = noRenewal) => ({
    Status: 'Failed', LastSign: { Status: sign, Time: signTime, Reason: '', Progress: '' },
    LastDeploy: { Status: 'None', Time: '', Reason: '' }, NextSign: next, Renewal: renewal,
  });
  const ari: StatusTree = { Window: { Start: '2026-12-10T00:00:00Z', End: '2026-12-12T00:00:00Z' }, Source: 'ARI', ExplanationUrl: '', LastCheck: '2026-11-30T09:00:00Z', Failures: 0 };
  const lifetime: StatusTree = { Window: { Start: '2027-01-01T00:00:00Z', End: '2027-01-02T00:00:00Z' }, Source: 'Lifetime', ExplanationUrl: '', LastCheck: '', Failures: 3 };
  const text = render(collect({
    server: { notAfter: '2027-01-01T00:00:00.000Z' },
    domains: [{ name: 'shop.example.com', notAfter: '2027-02-01T00:00:00Z' }, { name: 'new.example.com' }],
    acme: {
      ...target('Failed', '2026-11-30T10:00:00Z', '2026-11-30T16:00:00Z', lifetime),
      Domain: [{ Name: 'shop.example.com', ...target('Succeeded', '2026-11-29T10:00:00Z', '', ari) }, { Name: 'new.example.com', ...target('None', '', '') }],
    },
    trustedCas: 7,
    alarms: [{ severity: 'Error' }, { severity: 'Error' }, { severity: 'Critical' }],
    ssh: { sessionsOpen: 2, loginsRefused: { credentials: 3, limits: 1, algorithm: 0 } },
    rssBytes: 123456789,
    version: '1.2.3',
  }));
  const p = await parse(text);
  t.equal(value(p, 'xway_certificate_not_after_timestamp_seconds', { kind: 'server' }), Date.parse('2027-01-01T00:00:00Z') / 1000);
  t.equal(value(p, 'xway_certificate_not_after_timestamp_seconds', { kind: 'domain', domain: 'shop.example.com' }), Date.parse('2027-02-01T00:00:00Z') / 1000);
  t.equal(value(p, 'xway_certificate_not_after_timestamp_seconds', { kind: 'domain', domain: 'new.example.com' }), undefined, 'a domain without a certificate has no notAfter');
  t.equal(value(p, 'xway_acme_last_sign_status', { kind: 'server', status: 'Failed' }), 1);
  t.equal(value(p, 'xway_acme_last_sign_status', { kind: 'server', status: 'Succeeded' }), 0);
  t.equal(value(p, 'xway_acme_last_sign_status', { kind: 'domain', domain: 'shop.example.com', status: 'Succeeded' }), 1);
  t.equal(value(p, 'xway_acme_last_sign_timestamp_seconds', { kind: 'server' }), Date.parse('2026-11-30T10:00:00Z') / 1000);
  t.equal(value(p, 'xway_acme_next_sign_timestamp_seconds', { kind: 'server' }), Date.parse('2026-11-30T16:00:00Z') / 1000);
  t.equal(value(p, 'xway_acme_next_sign_timestamp_seconds', { kind: 'domain', domain: 'shop.example.com' }), undefined, 'no plan, no sample');
  t.equal(value(p, 'xway_acme_last_deploy_timestamp_seconds', { kind: 'server' }), undefined);
  t.equal(value(p, 'xway_acme_status', { kind: 'server', status: 'Failed' }), 1);
  // Renewal: the window, its source, the failures and the last ARI poll of each target.
  const shop = { kind: 'domain', domain: 'shop.example.com' };
  const fresh = { kind: 'domain', domain: 'new.example.com' };
  t.equal(value(p, 'xway_acme_renewal_window_start_timestamp_seconds', shop), Date.parse('2026-12-10T00:00:00Z') / 1000);
  t.equal(value(p, 'xway_acme_renewal_window_end_timestamp_seconds', shop), Date.parse('2026-12-12T00:00:00Z') / 1000);
  t.equal(value(p, 'xway_acme_renewal_window_start_timestamp_seconds', { kind: 'server' }), Date.parse('2027-01-01T00:00:00Z') / 1000);
  t.equal(value(p, 'xway_acme_renewal_window_end_timestamp_seconds', fresh), undefined, 'no window, no sample');
  t.equal(value(p, 'xway_acme_renewal_source', { ...shop, source: 'ARI' }), 1);
  t.equal(value(p, 'xway_acme_renewal_source', { ...shop, source: 'Lifetime' }), 0);
  t.equal(value(p, 'xway_acme_renewal_source', { kind: 'server', source: 'Lifetime' }), 1);
  t.same([value(p, 'xway_acme_renewal_source', { ...fresh, source: 'ARI' }), value(p, 'xway_acme_renewal_source', { ...fresh, source: 'Lifetime' })], [0, 0], 'no window: both 0');
  t.equal(value(p, 'xway_acme_consecutive_failures', { kind: 'server' }), 3);
  t.equal(value(p, 'xway_acme_consecutive_failures', shop), 0);
  t.equal(value(p, 'xway_acme_ari_last_check_timestamp_seconds', shop), Date.parse('2026-11-30T09:00:00Z') / 1000);
  t.equal(value(p, 'xway_acme_ari_last_check_timestamp_seconds', { kind: 'server' }), undefined, 'never asked: no sample');
  t.equal(value(p, 'xway_trusted_cas'), 7);
  t.equal(value(p, 'xway_alarms_active', { severity: 'Error' }), 2);
  t.equal(value(p, 'xway_alarms_active', { severity: 'Critical' }), 1);
  t.equal(value(p, 'xway_alarms_active', { severity: 'Warning' }), 0);
  t.equal(value(p, 'xway_ssh_logins_refused_total', { reason: 'credentials' }), 3);
  t.equal(value(p, 'xway_ssh_sessions_open'), 2);
  t.equal(value(p, 'xway_process_resident_memory_bytes'), 123456789);
  t.equal(value(p, 'xway_build_info', { version: '1.2.3' }), 1);
  for (const f of p.families) {
    t.ok(f.name.startsWith('xway_'), `${f.name}: prefixed`);
    t.ok(f.help.length > 0 && (f.type === 'gauge' || f.type === 'counter'), `${f.name}: HELP and TYPE`);
  }
});

t.test('/metrics over HTTPS: off (404), token rules through the SSH shell, 401, then the series', async (t) => {
  const { app, port: sshPort } = await startSsh(t);
  const httpsPort = await app.web.web.listenHttps(0);
  const admin = await connect(sshPort);
  t.teardown(() => admin.end());

  // Off by default: the path is not served.
  t.equal((await scrape(httpsPort)).status, 404, 'Mode Off: 404');
  t.equal((await scrape(httpsPort, { authorization: `Bearer ${TOKEN}` })).status, 404, 'Mode Off: 404 even with a token');

  // Mode On without a token: refused in one sentence, nothing changed.
  let out = await shell(admin, 'xConfiguration Metrics Mode: On');
  t.match(out, /\*r ConfigurationResult \(status=Error\):\n\s+Reason: "Metrics Mode On needs Metrics Token: set the token before turning metrics on, and turn them off before clearing it"\n/);
  t.match(await shell(admin, 'xConfiguration Metrics Mode'), /\*c xConfiguration Metrics Mode: Off\n/);
  t.equal((await scrape(httpsPort)).status, 404, 'still not served');

  // A token too short, or with a space: refused without echoing it.
  out = await shell(admin, 'xConfiguration Metrics Token: "short-secret"');
  t.match(out, /status=Error/);
  t.notMatch(out, /short-secret/, 'the refused token is not echoed');
  out = await shell(admin, 'xConfiguration Metrics Token: "0123456789abcdef 0123"');
  t.match(out, /Reason: "Invalid value \(hidden\) for Metrics Token: expected 16 to 256 characters/);

  out = await shell(admin, `xConfiguration Metrics Token: "${TOKEN}"`);
  t.notMatch(out, /status=Error/);
  t.match(await shell(admin, 'xConfiguration Metrics Token'), /\*c xConfiguration Metrics Token: "\(hidden\)"\n/, 'the token is never shown');
  t.equal((await scrape(httpsPort)).status, 404, 'a token alone does not serve');
  t.notMatch(await shell(admin, 'xConfiguration Metrics Mode: On'), /status=Error/);

  // On: refused without the token, with a wrong one, or with another scheme; no detail either way.
  const none = await scrape(httpsPort);
  t.equal(none.status, 401);
  t.equal(none.auth, 'Bearer realm="xway"');
  t.equal(none.body, 'Unauthorized\n');
  const wrong = await scrape(httpsPort, { authorization: `Bearer ${TOKEN}x` });
  t.same([wrong.status, wrong.body], [401, 'Unauthorized\n'], 'a wrong token looks like no token');
  t.equal((await scrape(httpsPort, { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` })).status, 401);
  t.equal((await scrape(httpsPort, { authorization: `Bearer ${TOKEN.slice(0, -1)}` })).status, 401, 'a prefix of the token is refused');
  t.equal((await scrape(httpsPort, { authorization: `Bearer ${TOKEN}` }, 'POST')).status, 405);

  // Series: a hosted domain with a certificate, an alarm, a refused SSH login, an open session.
  const root = await makeCa({ cn: 'Metrics Root' });
  const leaf = await makeLeaf(root, { cn: 'shop.example.com' });
  app.services.certificates!.addDomain('shop.example.com', leaf.pem + leaf.keyPem, { user: 'admin', role: 'Admin', remote: 'test', session: 't' });
  app.services.alarms.raise('test.metrics', 'A test alarm', 'Critical');
  await t.rejects(connect(sshPort, { password: 'wrong password!' }), /authentication methods failed/i);

  const ok = await scrape(httpsPort, { authorization: `bearer  ${TOKEN}` });
  t.equal(ok.status, 200, 'the scheme is matched without case');
  t.equal(ok.type, 'text/plain; version=0.0.4; charset=utf-8');
  const p = await parse(ok.body);
  const server = app.services.certificates!.active().info;
  t.equal(value(p, 'xway_certificate_not_after_timestamp_seconds', { kind: 'server' }), Math.floor(Date.parse(server.notAfter) / 1000));
  t.equal(value(p, 'xway_certificate_not_after_timestamp_seconds', { kind: 'domain', domain: 'shop.example.com' }), Math.floor(Date.parse(leaf.x509.validTo) / 1000));
  t.equal(value(p, 'xway_acme_status', { kind: 'server', status: 'Disabled' }), 1, 'no ACME account yet');
  t.equal(value(p, 'xway_acme_last_sign_status', { kind: 'domain', domain: 'shop.example.com', status: 'None' }), 1);
  t.equal(value(p, 'xway_trusted_cas'), app.services.trust!.count());
  t.equal(value(p, 'xway_alarms_active', { severity: 'Critical' }), 1);
  t.equal(value(p, 'xway_ssh_sessions_open'), 1, 'the admin connection');
  t.equal(value(p, 'xway_ssh_logins_refused_total', { reason: 'credentials' }), 1, 'the wrong password');
  t.equal(value(p, 'xway_ssh_logins_refused_total', { reason: 'limits' }), 0);
  const rss = value(p, 'xway_process_resident_memory_bytes')!;
  t.ok(rss > 10e6 && rss < 8e9, `RSS is plausible (${rss})`);
  t.equal(value(p, 'xway_build_info', { version: app.version.version }), 1);

  // The session count follows the connection closing (waited for, bounded).
  admin.end();
  const deadline = Date.now() + 30_000;
  let open: number | undefined = 1;
  while (open !== 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    open = value(await parse((await scrape(httpsPort, { authorization: `Bearer ${TOKEN}` })).body), 'xway_ssh_sessions_open');
  }
  t.equal(open, 0, 'the closed connection is no longer counted');

  // Clearing the token while On is refused and changes nothing; Mode Off takes effect at once.
  const admin2 = await connect(sshPort);
  t.teardown(() => admin2.end());
  t.match(await shell(admin2, 'xConfiguration Metrics Token: ""'), /Reason: "Metrics Mode On needs Metrics Token/);
  t.equal((await scrape(httpsPort, { authorization: `Bearer ${TOKEN}` })).status, 200, 'the token still works');
  t.notMatch(await shell(admin2, 'xConfiguration Metrics Mode: Off'), /status=Error/);
  t.equal((await scrape(httpsPort, { authorization: `Bearer ${TOKEN}` })).status, 404, 'Mode Off: not served at once');

  const logs = app.logLines.join('');
  t.notOk(logs.includes(TOKEN), 'the token never reaches the log');
  t.ok(app.logLines.some((l) => JSON.parse(l).event === 'metrics.refused'), 'refused scrapes are logged');
});

t.test('ACME renewal series from the running service: Lifetime window, then the CA window, its last check and failures', async (t) => {
  const DAY = 86_400_000;
  const T0 = Date.UTC(2027, 0, 4, 0, 0, 0);
  const clock = simClock(T0);
  const ca = new FakeIssuer(clock, 90 * DAY);
  ca.ari = true;
  const app = testApp(t, { storage: 'memory', issuer: ca, clock, defaultCas: () => [], acmeLimits: { failureBackoffBaseMs: 3600_000 } });
  const sh = async (input: string) => (await app.run(input, 'exec')).out;
  t.notMatch(await sh([
    'xConfiguration Security Acme DirectoryUrl: "https://ca.fake.example/dir"',
    'xConfiguration Security Acme Provider: Custom',
    'xConfiguration Security Acme AdminEmail: admin@example.com',
    'xCommand Security Acme AcceptTerms Agree: True',
    'xCommand Security Certificates CSR Create CommonName: edge.example.com KeyType: ECDSA-P256',
    'xCommand Security Acme Sign Wait: True',
    'xCommand Security Acme Deploy',
  ].join('\n')), /status=Error/);
  const server = { kind: 'server' };
  const secs = (ms: number) => Math.floor(ms / 1000);
  let p = await parse(app.metrics.text());
  t.equal(value(p, 'xway_acme_renewal_source', { ...server, source: 'Lifetime' }), 1, 'no window from the CA yet: the lifetime rule');
  t.equal(value(p, 'xway_acme_renewal_window_start_timestamp_seconds', server), secs(T0 + 60 * DAY), 'two thirds of 90 days');
  t.equal(value(p, 'xway_acme_consecutive_failures', server), 0);
  t.equal(value(p, 'xway_acme_ari_last_check_timestamp_seconds', server), undefined);

  // The scheduler asks the CA about the certificate in use.
  const w = { start: T0 + 10 * DAY, end: T0 + 12 * DAY };
  ca.windows.set(ca.issued[0]!.certId, w);
  app.services.config.set([{ key: 'Security Acme Scheduler Mode', value: 'On' }], { user: 'admin', role: 'Admin', remote: 'sim', session: 'sim' });
  await clock.advanceTo(T0 + 60_000);
  p = await parse(app.metrics.text());
  t.equal(value(p, 'xway_acme_renewal_source', { ...server, source: 'ARI' }), 1);
  t.equal(value(p, 'xway_acme_renewal_window_start_timestamp_seconds', server), secs(w.start));
  t.equal(value(p, 'xway_acme_renewal_window_end_timestamp_seconds', server), secs(w.end));
  t.equal(value(p, 'xway_acme_ari_last_check_timestamp_seconds', server), secs(ca.renewalInfoAsked[ca.renewalInfoAsked.length - 1]!.at));

  // The renewal fails inside the window: counted until a success.
  ca.mode = 'fail';
  await clock.advanceTo(w.end - 1000);
  p = await parse(app.metrics.text());
  const failures = value(p, 'xway_acme_consecutive_failures', server)!;
  t.ok(failures >= 1, `${failures} consecutive failures`);
  t.equal(failures, (app.acme.status() as { Renewal: { Failures: number } }).Renewal.Failures, 'as xStatus counts them');
  t.equal(value(p, 'xway_acme_last_sign_status', { ...server, status: 'Failed' }), 1);
});

t.test('alarms: one log line per raise, change and lower, with severity', async (t) => {
  const { app } = await startSsh(t);
  const events = () => app.logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => String(e.event).startsWith('alarm.'));
  const before = events().length;
  app.services.alarms.raise('test.one', 'First title', 'Warning');
  app.services.alarms.raise('test.one', 'First title', 'Warning');
  app.services.alarms.raise('test.one', 'Second title', 'Error');
  app.services.alarms.lower('test.one');
  app.services.alarms.lower('test.one');
  t.same(events().slice(before).map(({ time: _t, ...e }) => e), [
    { level: 'warn', event: 'alarm.raised', id: 'test.one', severity: 'Warning', title: 'First title' },
    { level: 'error', event: 'alarm.updated', id: 'test.one', severity: 'Error', title: 'Second title' },
    { level: 'info', event: 'alarm.lowered', id: 'test.one', severity: 'Error', title: 'Second title' },
  ], 'a repeated raise or lower logs nothing');
});

t.test('SSH refusals by the login limits are counted apart from wrong credentials', async (t) => {
  // One failure locks the source out: its next connection is refused at accept.
  const { app, port } = await startSsh(t, { policy: { lockoutFailures: 1, penaltyBaseMs: 1 } });
  await t.rejects(connect(port, { password: 'wrong password!' }), /authentication methods failed/i);
  await t.rejects(connect(port), 'the locked-out source is refused');
  const p = await parse(app.metrics.text());
  t.equal(value(p, 'xway_ssh_logins_refused_total', { reason: 'credentials' }), 1);
  t.equal(value(p, 'xway_ssh_logins_refused_total', { reason: 'limits' }), 1);
  t.equal(value(p, 'xway_ssh_sessions_open'), 0);
});

t.test('Mode and token are kept across a restart: served at boot, still keyed', async (t) => {
  const first = testApp(t);
  const r = await first.run(`xConfiguration Metrics Token: "${TOKEN}"\nxConfiguration Metrics Mode: On\n`);
  t.notMatch(r.out, /status=Error/);
  await first.close();
  const second = testApp(t, { dataDir: first.dir });
  const port = await second.web.web.listenHttps(0);
  t.equal((await scrape(port)).status, 401);
  const ok = await scrape(port, { authorization: `Bearer ${TOKEN}` });
  t.equal(ok.status, 200);
  t.ok(value(await parse(ok.body), 'xway_trusted_cas')! > 0);
});
