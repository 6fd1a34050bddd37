// Feedback as monitoring scripts see it: every registration that matches a change gets it, each
// session once per change, and only the leaves that changed.
import t from 'tap';
import { testApp, ADMIN, type TestApp } from '../helpers/app.js';
import { makeCa, signCsrWithOpenssl } from '../helpers/pki.js';
import type { CliSession } from '../../src/cli/session.js';
import { until } from '../helpers/wait.js';

/** A shell session registered with `lines`, collecting what is written to it after their OKs. */
async function listener(app: TestApp, lines: string) {
  let out = '';
  const s: CliSession = app.newSession({ ...ADMIN, session: 'listen' }, 'shell', { write: (d) => void (out += d) });
  s.feed(lines);
  const want = 'OK\n'.repeat(lines.split('\n').length - 1);
  for (let i = 0; i < 1000 && out !== want; i++) await new Promise((r) => setImmediate(r));
  if (out !== want) throw new Error(`registration failed: ${out}`);
  out = '';
  return {
    s,
    take() {
      const o = out;
      out = '';
      return o;
    },
  };
}

const statusCsr = (state: string) => `*s Security: /\n     Certificates:\n       CSR:\n         State: "${state}"\n*s/end\n`;

t.test('sibling registrations under one change: each gets its part, in one message per session', async (t) => {
  const app = testApp(t);
  const both = await listener(app, 'xFeedback register /Status/Security/Certificates/Server\nxFeedback register /Status/Security/Certificates/CSR\n');
  const server = await listener(app, 'xFeedback register /Status/Security/Certificates/Server/RestartRequired\n');
  const parent = await listener(app, 'xFeedback register /Status/Security/Certificates\nxFeedback register /Status/Security/Certificates/CSR\n');
  const trusted = await listener(app, 'xFeedback register /Status/Security/Certificates/TrustedCA\n');

  // The CSR is announced at Security Certificates: only CSR State changed.
  let r = await app.run('xCommand Security Certificates CSR Create CommonName: edge.example.com\n', 'exec');
  t.equal(r.code, 0);
  t.equal(both.take(), statusCsr('InProgress'), 'the CSR registration gets the change, unchanged leaves stay out');
  t.equal(parent.take(), statusCsr('InProgress'), 'overlapping registrations of one session: one message');
  t.equal(server.take(), '', 'nothing changed under Server');
  t.equal(trusted.take(), '');

  // Uploading the signed certificate changes Server and CSR in one announcement: both siblings.
  const root = await makeCa();
  const signed = signCsrWithOpenssl(t, root, app.web.certificates.csr()!.pem);
  t.equal(signed.status, 0, signed.out);
  r = await app.run(`xCommand Security Certificates Server Upload\n${signed.pem}.\n`, 'shell');
  t.match(r.out, /ServerUploadResult \(status=OK\)/);
  const got = both.take();
  t.equal(got.match(/\*s Security: \//g)?.length, 1, 'one message');
  t.match(got, /\n       Server:\n/);
  t.match(got, /\n       CSR:\n         State: "None"\n/);
  t.notMatch(got, /TrustedCA/);
  t.match(server.take(), /^\*s Security: \/\n     Certificates:\n       Server:\n         RestartRequired: "True"\n\*s\/end\n$/, 'a leaf registration gets that leaf only');
  t.equal(trusted.take(), '');

  // The trust store announces TrustedCA; only that registration hears it.
  r = await app.run(`xCommand Security Certificates CA Add\n${root.pem}.\n`, 'shell');
  t.match(r.out, /CAAddResult \(status=OK\)/);
  t.match(trusted.take(), /^\*s Security: \/\n     Certificates:\n       TrustedCA:\n         Count: \d+\n\*s\/end\n$/);
  t.equal(both.take(), '');
  t.equal(server.take(), '');
  for (const l of [both, server, parent, trusted]) {
    l.s.endInput();
    await l.s.closed;
    l.s.dispose();
  }
});

t.test('/Status/SystemUnit fires when SystemUnit Name changes, with the name only, once', async (t) => {
  const app = testApp(t);
  const l = await listener(app, 'xFeedback register /Status/SystemUnit\nxFeedback register /Status/SystemUnit/Name\n');
  await app.run('xConfiguration SystemUnit Name: "edge-1"\n', 'exec');
  t.equal(l.take(), '*s SystemUnit: /\n     Name: "edge-1"\n*s/end\n');
  await app.run('xConfiguration SystemUnit Name: "edge-1"\n', 'exec');
  t.equal(l.take(), '', 'the same value again: nothing changed, nothing sent');
  app.services.status.changed(['Security', 'Acme']);
  app.services.status.changed(['SystemUnit']);
  t.equal(l.take(), '', 'an announcement without a change sends nothing');
  l.s.endInput();
  await l.s.closed;
  l.s.dispose();
});

t.test('/Status/Clustering fires as a Join goes to Joining and, with no etcd to run, back to Standalone', async (t) => {
  // Nothing listens on these ports and the etcd binary does not exist: the Join fails at once.
  const app = testApp(t, { cluster: { self: '127.0.0.1', clientPort: 1, peerPort: 2, bin: '/nonexistent/etcd' } });
  const l = await listener(app, 'xFeedback register /Status/Clustering\n');
  const joined = await app.run('xConfiguration Clustering Peer 1 Address: 127.0.0.1\nxConfiguration Clustering Peer 2 Address: 127.0.0.9\nxCommand Clustering Join\n', 'exec');
  t.match(joined.out, /Joining the cluster/);
  let seen = '';
  await until(() => /Status: "Standalone"/.test((seen += l.take())), 'the feedback of Standalone again', 60_000);
  t.match(seen, /^\*s Clustering: \/\n {5}Status: "Joining"\n/, 'Joining first, as a script sees it');
  t.match(seen, /\*s Clustering: \/\n {5}Status: "Standalone"\n\*s\/end\n$/, 'then Standalone, once the Join failed');
  t.ok(app.services.alarms.list().some((a) => a.id === 'cluster-join'), 'and the alarm says why');
  l.s.endInput();
  await l.s.closed;
  l.s.dispose();
});
