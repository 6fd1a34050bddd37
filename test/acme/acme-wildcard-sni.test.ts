// A wildcard SNI domain end to end: Domain Add `*.w4.example.test` under DNS-01, ordered from a
// real Pebble whose validator asks a real BIND, deployed, and served by the listener for
// `a.w4.example.test` (never for the base nor two labels deep); the base name is ordered only
// when configured (IncludeBase), and then served too. A restart on the same data directory keeps
// it all. dig at the server says no record is left behind.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { acmeEnv } from '../helpers/acme-env.js';
import { servedCert } from '../helpers/served.js';
import { startBind } from '../helpers/bind.js';
import { buildApp } from '../../src/app.js';
import { memorySink } from '../../src/platform/log.js';
import { staticKey } from '../helpers/fixtures.js';

const bind = await startBind({ records: ['w4 IN A 127.0.0.1', 'w5 IN A 127.0.0.1'] });
t.teardown(() => bind.stop());
const key = bind.keys[0]!;

t.test('a wildcard SNI domain ordered through DNS-01, served for a.w4.example.test, kept across a restart', async (t) => {
  const e = await acmeEnv(t, { pebble: { dnsServer: `127.0.0.1:${bind.port}` }, limits: { orderAttempts: 1 } });
  await e.configure();
  const dns = {
    Server: '127.0.0.1', Port: bind.port, Zone: bind.zone, TsigKeyName: key.name, TsigAlgorithm: key.algorithm, TsigSecret: key.secret, PropagationTimeout: 20,
  };
  let r = await e.shell(Object.entries(dns).map(([k, v]) => `xConfiguration Security Acme Dns ${k}: "${v}"`).join('\n'));
  t.equal(r.code, 0, r.out);

  // The configured type stays Http01: the wildcard is refused without its own Dns01.
  r = await e.shell('xCommand Security Certificates Domain Add Name: "*.w4.example.test"');
  t.match(r.out, /Reason: "The wildcard domain \*\.w4\.example\.test needs the DNS-01 challenge, not Http01: add it with Challenge: Dns01, or set xConfiguration Security Acme Challenge Type: Dns01"/);
  t.equal(e.certs.domains().length, 0, 'nothing added');
  r = await e.shell('xCommand Security Certificates Domain Add Name: "*.w4.example.test" Challenge: Dns01\n'
    + 'xCommand Security Certificates Domain Add Name: "*.w5.example.test" Challenge: Dns01 IncludeBase: True');
  t.equal(r.code, 0, r.out);

  let published = '';
  e.onEvent((ev) => {
    if (ev.name === 'AcmeProgress' && ev.fields.Target === '*.w4.example.test' && String(ev.fields.Detail).startsWith('Validating')) {
      const d = (e.acmeStatus().Domain as Record<string, unknown>[]).find((x) => x.Name === '*.w4.example.test')!;
      published = String((d.Challenge as Record<string, string>).Published);
    }
  });
  r = await e.shell('xCommand Security Acme Sign Domain: "*.w4.example.test" Wait: True');
  t.match(r.out, /Status: "?Succeeded"?/, r.out);
  t.equal(published, `TXT _acme-challenge.w4.example.test at 127.0.0.1:${bind.port}`, 'xStatus said what was published where');
  t.same(await bind.txt('_acme-challenge.w4.example.test'), [], 'dig at the server: the TXT value is deleted');
  r = await e.shell('xCommand Security Acme Deploy Domain: "*.w4.example.test"');
  t.equal(r.code, 0, r.out);

  const w4 = await servedCert(e.httpsPort, 'a.w4.example.test');
  t.equal(w4.subjectAltName, 'DNS:*.w4.example.test', 'the wildcard alone: its base was not configured');
  const serverSerial = e.listeners.currentServer().serial;
  t.equal((await servedCert(e.httpsPort, 'b.w4.example.test')).serialNumber, w4.serialNumber, 'any label under it');
  t.equal((await servedCert(e.httpsPort, 'w4.example.test')).serialNumber.toUpperCase(), serverSerial, 'not the base');
  t.equal((await servedCert(e.httpsPort, 'a.b.w4.example.test')).serialNumber.toUpperCase(), serverSerial, 'not two labels deep');

  // IncludeBase: one order for both names (two values at one TXT name), the base served too.
  r = await e.shell('xCommand Security Acme Sign Domain: "*.w5.example.test" Wait: True\nxCommand Security Acme Deploy Domain: "*.w5.example.test"');
  t.equal(r.code, 0, r.out);
  t.same(await bind.txt('_acme-challenge.w5.example.test'), [], 'both values deleted');
  const w5 = await servedCert(e.httpsPort, 'w5.example.test');
  t.equal(w5.subjectAltName, 'DNS:*.w5.example.test, DNS:w5.example.test');
  t.equal((await servedCert(e.httpsPort, 'x.w5.example.test')).serialNumber, w5.serialNumber);

  r = await e.shell('xStatus Security Acme Domain');
  t.match(r.out, /Name: "\*\.w4\.example\.test"\n\s+Names: "\*\.w4\.example\.test"\n\s+Status: "?Deployed"?/);
  t.match(r.out, /Name: "\*\.w5\.example\.test"\n\s+Names: "\*\.w5\.example\.test, w5\.example\.test"\n\s+Status: "?Deployed"?/);
  t.ok(fs.existsSync(path.join(e.dir, 'acme', 'domains', '_wildcard.w4.example.test.key')), 'the request key, under the stored name');

  // A restart: another appliance on the same data directory serves the same certificates.
  await e.close();
  const sink = memorySink();
  const again = buildApp({ dataDir: e.dir, adminPassword: 'correct horse battery', logSink: sink, announce: () => {}, keySource: staticKey, defaultCas: () => [] });
  t.teardown(() => again.close());
  const port = await again.web.web.listenHttps(0);
  t.equal((await servedCert(port, 'a.w4.example.test')).serialNumber, w4.serialNumber, 'after a restart: the wildcard');
  t.equal((await servedCert(port, 'w5.example.test')).serialNumber, w5.serialNumber, 'after a restart: the base named by *.w5');
  t.equal((await servedCert(port, 'w4.example.test')).serialNumber.toUpperCase(), again.web.web.currentServer().serial);
  const status = again.acme.status() as { Domain: Record<string, unknown>[] };
  t.same(status.Domain.map((d) => [d.Name, d.Names, d.Status, (d.Challenge as Record<string, string>).Type]), [
    ['*.w4.example.test', '*.w4.example.test', 'Deployed', 'Dns01'],
    ['*.w5.example.test', '*.w5.example.test, w5.example.test', 'Deployed', 'Dns01'],
  ]);
  await again.close();
});
