// A wildcard name through the shell against Pebble. Wildcards are proved only by DNS-01: CSR Create
// refuses one while the challenge type is another, and a Sign of a wildcard CSR made otherwise
// (e.g. before the type changed) names the full `*.` name and DNS-01.
import t from 'tap';
import { acmeEnv } from '../helpers/acme-env.js';

t.test('wildcard: refused at CSR Create without DNS-01, and Sign names *.example.com and DNS-01', { timeout: 120_000 }, async (t) => {
  const env = await acmeEnv(t);
  await env.configure();
  let r = await env.shell('xCommand Security Certificates CSR Create CommonName: "*.example.com" KeyType: ECDSA-P256');
  t.match(r.out, /\(status=ParameterError\):\n {5}Reason: "The wildcard name \*\.example\.com needs the DNS-01 challenge[^"]*"/);
  r = await env.shell('xStatus Security Certificates CSR State');
  t.match(r.out, /State: "None"/, 'nothing was created');
  r = await env.shell('xCommand Security Certificates CSR Create CommonName: edge.example.com KeyType: ECDSA-P256');
  t.match(r.out, /\(status=OK\)/);
  t.notMatch(r.out, /Warning/, 'no warning without a wildcard');
  await env.shell('xCommand Security Certificates CSR Discard');

  await env.csr(['*.example.com']);
  r = await env.shell('xCommand Security Acme Sign Wait: True');
  t.match(r.out, /\(status=(Error|ParameterError)\):\n {5}Reason: "[^"]*\*\.example\.com[^"]*DNS-01[^"]*"/);
});
