// tls-alpn-01 through the product: Pebble's tlsPort is the appliance's HTTPS listener and its
// HTTP-01 port has nothing listening, so only the order's challenge certificates can succeed.
// Driven through the shell; a hosted domain takes tls-alpn-01 by its own Challenge: parameter
// while the server certificate stays on the configured type. Outside an order a validator gets no
// challenge certificate.
import t from 'tap';
import { acmeEnv } from '../helpers/acme-env.js';
import { sClient } from '../helpers/served.js';

t.test('tls-alpn-01 orders through the shell with port 80 closed', async (t) => {
  const e = await acmeEnv(t, { alpn: true, limits: { orderAttempts: 1 } });
  await e.configure();
  // Under Http01 the order cannot succeed: Pebble's HTTP-01 port is closed.
  await e.csr(['alpn.example.test', 'www.alpn.example.test']);
  let r = await e.shell('xCommand Security Acme Sign Wait: True');
  t.match(r.out, /status=Error/, 'HTTP-01 fails with port 80 closed');
  t.match((e.acmeStatus().LastSign as Record<string, string>).Reason, /^Challenge failed for (www\.)?alpn\.example\.test: .*(connect|refused)/i);

  r = await e.shell('xConfiguration Security Acme Challenge Type: TlsAlpn01\nxCommand Security Acme Sign Wait: True');
  t.match(r.out, /Status: "?Succeeded"?/, r.out);
  t.match(r.out, /SubjectAltNames: "alpn\.example\.test, www\.alpn\.example\.test"/);
  t.ok(e.logLines.some((l) => /tls\.alpn-challenge/.test(l) && l.includes('"alpn.example.test"')), 'the validator got the challenge certificate');
  t.same(e.acmeStatus().Challenge, { Type: 'TlsAlpn01', Published: '' });

  // Outside an order: no challenge certificate for acme-tls/1.
  const after = await sClient(e.httpsPort, 'alpn.example.test');
  t.notMatch(after, /BEGIN CERTIFICATE/, 'acme-tls/1 after the order: no certificate');
  t.match(after, /alert no application protocol/);

  // A wildcard is refused at CSR Create under TlsAlpn01.
  r = await e.shell('xCommand Security Certificates CSR Discard\nxCommand Security Certificates CSR Create CommonName: "*.alpn.example.test"');
  t.match(r.out, /Reason: "The wildcard name \*\.alpn\.example\.test needs the DNS-01 challenge: set xConfiguration Security Acme Challenge Type: Dns01"/);

  // A domain's own type wins over the configured one, and shows in its status.
  r = await e.shell('xConfiguration Security Acme Challenge Type: Http01\nxCommand Security Certificates Domain Add Name: sni.example.test Challenge: TlsAlpn01');
  t.equal(r.code, 0, r.out);
  r = await e.shell('xCommand Security Certificates Domain Add Name: "*.sni.example.test"');
  t.equal(r.out, '*r SecurityCertificatesDomainAddResult (status=ParameterError):\n     Reason: "The wildcard domain *.sni.example.test needs the DNS-01 challenge, not Http01: add it with Challenge: Dns01, or set xConfiguration Security Acme Challenge Type: Dns01"\n*r/end\n\nERROR\n');
  t.equal(e.certs.domains().length, 1, 'the refused wildcard added nothing');
  let published = '';
  e.onEvent((ev) => {
    if (ev.name === 'AcmeProgress' && ev.fields.Target === 'sni.example.test' && String(ev.fields.Detail).startsWith('Validating')) {
      const d = (e.acmeStatus().Domain as Record<string, unknown>[])[0]!;
      published = String((d.Challenge as Record<string, string>).Published);
    }
  });
  r = await e.shell('xCommand Security Acme Sign Domain: sni.example.test Wait: True');
  t.match(r.out, /Status: "?Succeeded"?/, r.out);
  t.equal(published, 'TLS-ALPN-01 certificate for sni.example.test on the HTTPS listener', 'published during the order');
  r = await e.shell('xStatus Security Acme');
  t.match(r.out, /Challenge:\n {9}Type: "?Http01"?\n/, 'the server follows the configuration');
  t.match(r.out, /Name: "?sni\.example\.test"?[\s\S]*Challenge:\n {11}Type: "?TlsAlpn01"?\n/, 'the domain keeps its own');
  // Added again without Challenge:, the domain follows the configuration.
  r = await e.shell('xCommand Security Certificates Domain Delete Name: sni.example.test\nxCommand Security Certificates Domain Add Name: sni.example.test');
  t.equal(r.code, 0, r.out);
  t.equal(e.acme.challengeType('sni.example.test'), 'Http01');
});
