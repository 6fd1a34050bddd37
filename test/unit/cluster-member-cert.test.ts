// The certificate a voter's client listener serves in TlsVerify Mode Permissive: it names the peer
// address (an IP or a host name) in its SANs and subject, is kept across restarts (other peers pin
// it), and is made anew only when the address changed or it is about to expire.
import t from 'tap';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { mergePins, permissiveMemberCert, permissivePins } from '../../src/services/cluster/member-cert.js';
import { tmpDir } from '../helpers/pki.js';

const read = (f: string) => fs.readFileSync(f, 'utf8');

t.test('made once for the peer address, then kept', async (t) => {
  const dir = tmpDir(t);
  const a = await permissiveMemberCert(dir, '127.0.0.2');
  const x = new crypto.X509Certificate(read(a.certFile));
  t.equal(x.checkIP('127.0.0.2'), '127.0.0.2', 'names the address as an IP SAN');
  t.match(x.subject, /CN=127\.0\.0\.2/, 'and in its subject: several voters\' pins never share one');
  t.equal(fs.statSync(a.keyFile).mode & 0o777, 0o600, 'the key is private');
  t.ok(x.checkPrivateKey(crypto.createPrivateKey(read(a.keyFile))), 'the key matches');
  const pem = read(a.certFile);
  const b = await permissiveMemberCert(dir, '127.0.0.2');
  t.same(b, a);
  t.equal(read(b.certFile), pem, 'a restart serves the same certificate (the pins stay valid)');

  const c = await permissiveMemberCert(dir, 'peer2.example.com');
  t.not(read(c.certFile), pem, 'another address: a new certificate');
  t.equal(new crypto.X509Certificate(read(c.certFile)).checkHost('peer2.example.com'), 'peer2.example.com', 'naming the host name');

  const later = new Date(Date.now() + 900 * 86_400_000);
  const d = await permissiveMemberCert(dir, 'peer2.example.com', later);
  t.ok(new Date(new crypto.X509Certificate(read(d.certFile)).validTo) > later, 'an expired one is replaced');
});

t.test('Permissive pins: what a voter presents now, else what it presented before; kept in the directory', async (t) => {
  const e = ['https://127.0.0.2:2379', 'https://127.0.0.3:2379', 'https://127.0.0.4:2379'];
  t.same(mergePins({}, e, ['A', '', 'C']), { [e[0]!]: 'A', [e[2]!]: 'C' }, 'a first start pins what answers');
  t.same(mergePins({ [e[1]!]: 'B', [e[2]!]: 'old C' }, e, ['A', '', 'C']), { [e[0]!]: 'A', [e[1]!]: 'B', [e[2]!]: 'C' }, 'a voter down now keeps its pin; a new certificate replaces the old');
  t.same(mergePins({ 'https://10.0.0.9:2379': 'X' }, e, ['A', 'B', 'C']), { [e[0]!]: 'A', [e[1]!]: 'B', [e[2]!]: 'C' }, 'a voter no longer planned is dropped');
  const dir = tmpDir(t);
  t.equal(permissivePins(dir, e, ['A', 'B', '']), 'AB');
  // The restart while peer 2 is down: peer 2's certificate is still trusted.
  t.equal(permissivePins(dir, e, ['A', '', 'C']), 'ABC');
  fs.writeFileSync(path.join(dir, 'pinned-members.json'), '{not json');
  t.equal(permissivePins(dir, e, ['A', '', '']), 'A', 'a damaged file pins what answers now');
});
