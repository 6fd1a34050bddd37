// A wildcard name through the shell against Pebble: CSR Create warns that wildcards need DNS-01,
// and a Sign that can only answer HTTP-01 says so with the full `*.` name.
import t from 'tap';
import { acmeEnv } from '../helpers/acme-env.js';

t.test('wildcard: warned at CSR Create, and Sign names *.example.com and DNS-01', { timeout: 120_000 }, async (t) => {
  const env = await acmeEnv(t);
  await env.configure();
  let r = await env.shell('xCommand Security Certificates CSR Create CommonName: "*.example.com" KeyType: ECDSA-P256');
  t.match(r.out, /\(status=OK\)[\s\S]*Warning 1: "\*\.example\.com is a wildcard name: ACME CAs validate wildcard names only with a DNS-01 challenge, never HTTP-01"/);
  r = await env.shell('xCommand Security Certificates CSR Discard\nxCommand Security Certificates CSR Create CommonName: edge.example.com KeyType: ECDSA-P256');
  t.notMatch(r.out, /Warning/, 'no warning without a wildcard');

  await env.csr(['*.example.com']);
  r = await env.shell('xCommand Security Acme Sign Wait: True');
  t.match(r.out, /\(status=Error\):\n {5}Reason: "Challenge failed for \*\.example\.com: a wildcard name can only be validated with a DNS-01 challenge, and the CA offers no HTTP-01 challenge for it"/);
});
