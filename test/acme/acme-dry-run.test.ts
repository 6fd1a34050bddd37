// `xCommand Security Acme Sign DryRun: True` against a real Pebble (issue 10 item 4): the order
// runs to a signed certificate, and the data directory is byte-for-byte what it was before
// (file modes and contents), apart from the SQLite files, which hold no files of the dry run
// (the run keeps its outcome in memory; the in-process test compares the ACME record itself).
import t from 'tap';
import { ADMIN, acmeEnv } from '../helpers/acme-env.js';
import { snapshot } from '../helpers/pki.js';

/** The data directory without the SQLite database and its journal files. */
function files(dir: string): Record<string, string> {
  return Object.fromEntries(Object.entries(snapshot(dir)).filter(([name]) => !/^xway\.db(-wal|-shm|-journal)?$/.test(name)));
}

t.test('a dry run against Pebble signs and leaves the data directory as it was', async (t) => {
  const env = await acmeEnv(t);
  await env.configure();
  await env.csr(['edge.example.com', 'www.example.com']);
  // History the dry run must not touch: a deployed ACME certificate (archive) and a pending one.
  t.equal((await env.acme.sign(undefined, true, ADMIN)).status, 'Succeeded');
  let r = await env.shell('xCommand Security Acme Deploy');
  t.equal(r.code, 0, r.out);
  r = await env.shell('xCommand Security Acme Sign Wait: True');
  t.match(r.out, /Status: "?Succeeded"?/);
  const before = files(env.dir);
  t.ok(Object.keys(before).some((n) => n.startsWith('acme/')), 'the comparison covers the ACME files');
  const lastSign = env.acmeStatus().LastSign;
  const pending = env.acmeStatus().Pending;
  const issuedBefore = env.logLines.filter((l) => /"acme\.dry-run-succeeded"/.test(l)).length;

  r = await env.shell('xCommand Security Acme Sign DryRun: True Wait: True');
  t.equal(r.out, '*r SecurityAcmeSignResult (status=OK):\n     Status: "Succeeded"\n     DryRun: "True"\n*r/end\n\nOK\n');
  t.equal(env.logLines.filter((l) => /"acme\.dry-run-succeeded"/.test(l)).length, issuedBefore + 1, 'the CA signed the throwaway key');

  t.same(files(env.dir), before, 'no file added, changed or removed');
  t.same(env.acmeStatus().LastSign, lastSign, 'LastSign unchanged');
  t.same(env.acmeStatus().Pending, pending, 'the pending certificate is the one from before');
  t.match(env.acmeStatus().LastDryRun, { Status: 'Succeeded', Reason: '' });
  t.match((env.acmeStatus().LastDryRun as { Time: string }).Time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});
