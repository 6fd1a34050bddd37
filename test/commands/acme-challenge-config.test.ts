// The challenge configuration through the whole appliance in process (parser, bus, owners):
// value spaces that refuse bad input in one line without echoing a secret, the Dns01 rule, and the
// pure wildcard rule. The orders themselves run against BIND and Pebble in test/acme.
import t from 'tap';
import { testApp } from '../helpers/app.js';
import { wildcardProblem } from '../../src/services/acme/solvers.js';

t.test('wildcards need Dns01 (pure)', async (t) => {
  t.equal(wildcardProblem(['a.example.com', 'b.example.com'], 'Http01'), undefined);
  t.equal(wildcardProblem(['a.example.com', '*.a.example.com'], 'Dns01'), undefined);
  for (const type of ['Http01', 'TlsAlpn01'] as const) {
    t.equal(wildcardProblem(['a.example.com', '*.a.example.com'], type),
      'The wildcard name *.a.example.com needs the DNS-01 challenge: set xConfiguration Security Acme Challenge Type: Dns01');
  }
});

t.test('bad values are refused in one line and change nothing; the secret is never echoed', async (t) => {
  const app = testApp(t, { storage: 'memory', defaultCas: () => [] });
  const sh = async (input: string) => (await app.run(input, 'exec')).out;
  let out = await sh('xConfiguration Security Acme Dns TsigSecret: "not base64!!"');
  t.match(out, /^\*r ConfigurationResult \(status=(Error|ParameterError)\):\n {5}Reason: "[^"\n]*expected the base64 secret tsig-keygen prints"/);
  t.notMatch(out, /not base64!!/, 'the refused secret is not repeated');
  out = await sh('xConfiguration Security Acme Dns Server: "not a host!"\nxConfiguration Security Acme Dns Port: 0\nxConfiguration Security Acme Dns TsigAlgorithm: hmac-md5\nxConfiguration Security Acme Challenge Type: Dns02');
  t.equal(out.match(/status=(Error|ParameterError)/g)?.length, 4, out);
  out = await sh('xConfiguration Security Acme Dns');
  t.match(out, /Server: ""\n/);
  t.match(out, /Port: 53\n/);
  t.match(out, /TsigAlgorithm: "?hmac-sha256"?\n/);
  t.match(out, /PropagationTimeout: 120\n/);
  out = await sh('xConfiguration Security Acme Challenge Type');
  t.match(out, /Type: "?Http01"?\n/);

  for (const server of ['192.0.2.53', '2001:db8::53', 'ns1.example.com']) {
    out = await sh(`xConfiguration Security Acme Dns Server: "${server}"`);
    t.match(out, /^OK\n$/m, `${server} accepted`);
  }
  out = await sh('xConfiguration Security Acme Dns TsigKeyName: acme-key\nxConfiguration Security Acme Dns TsigSecret: "c2VjcmV0LXNlY3JldC1zZWNyZXQ="\nxConfiguration Security Acme Challenge Type: Dns01\nxConfiguration Security Acme Dns TsigSecret');
  t.notMatch(out, /status=/, out);
  t.notMatch(out, /c2VjcmV0/, 'never shown');
  // Taking a needed part away from Dns01 is refused.
  out = await sh('xConfiguration Security Acme Dns TsigKeyName: ""');
  t.match(out, /Reason: "Security Acme Challenge Type Dns01 needs Security Acme Dns TsigKeyName: set the name of the TSIG key first"/);
  out = await sh('xStatus Security Acme Challenge');
  t.match(out, /Type: "?Dns01"?\n/);
});
