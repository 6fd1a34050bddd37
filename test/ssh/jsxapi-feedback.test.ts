// jsxapi apps register several status listeners on one connection; each must hear every change
// under its path exactly once, and nothing that did not change.
import t from 'tap';
import { createRequire } from 'node:module';
import { startSsh, PASSWORD } from '../helpers/ssh.js';
import { makeCa, signCsrWithOpenssl } from '../helpers/pki.js';

const require = createRequire(import.meta.url);
const jsxapi = require('jsxapi');

type Off = { registration: Promise<unknown> } & (() => void);
interface XAPI {
  on(ev: string, cb: (...a: unknown[]) => void): XAPI;
  close(): void;
  status: { on(p: string, cb: (v: unknown) => void): Off };
}

async function until(what: string, done: () => boolean): Promise<void> {
  // Bounded by time, not by tries: a loaded machine makes each try slower.
  for (const end = Date.now() + 120_000; !done() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 25));
  if (!done()) throw new Error(`timed out: ${what}`);
}

t.test('jsxapi: several listeners on sibling paths each get their changes, once', async (t) => {
  delete process.env.SSH_AUTH_SOCK; // jsxapi would try an agent first
  const f = await startSsh(t);
  const xapi: XAPI = jsxapi.connect(`ssh://127.0.0.1:${f.port}`, { username: 'admin', password: PASSWORD, loglevel: 'error' });
  const errors: unknown[] = [];
  xapi.on('error', (e) => errors.push(e));
  t.teardown(() => xapi.close());
  await new Promise<void>((resolve) => xapi.on('ready', () => resolve()));

  const seen: Record<string, unknown[]> = { csr: [], restart: [], trusted: [], parent: [], name: [] };
  const offs = [
    xapi.status.on('Security Certificates CSR State', (v) => seen.csr!.push(v)),
    xapi.status.on('Security Certificates Server RestartRequired', (v) => seen.restart!.push(v)),
    xapi.status.on('Security Certificates TrustedCA Count', (v) => seen.trusted!.push(v)),
    xapi.status.on('Security Certificates', (v) => seen.parent!.push(v)),
    xapi.status.on('SystemUnit Name', (v) => seen.name!.push(v)),
  ];
  await Promise.all(offs.map((o) => o.registration));

  const run = async (input: string) => {
    const r = await f.app.run(input, 'shell');
    t.notMatch(r.out, /status=(Error|ParameterError)/, input.split('\n')[0]);
  };
  await run('xCommand Security Certificates CSR Create CommonName: edge.example.com\n');
  await until('CSR State', () => seen.csr!.length === 1);
  const root = await makeCa();
  const signed = signCsrWithOpenssl(t, root, f.app.web.certificates.csr()!.pem);
  await run(`xCommand Security Certificates Server Upload\n${signed.pem}.\n`);
  await run(`xCommand Security Certificates CA Add\n${root.pem}.\n`);
  // The name change is announced last: once it arrived, everything before it has too.
  await run('xConfiguration SystemUnit Name: "edge-1"\n');
  await until('SystemUnit Name', () => seen.name!.length === 1);

  t.same(seen.csr, ['InProgress', 'None']);
  t.same(seen.restart, ['True']);
  t.equal(seen.trusted!.length, 1, 'TrustedCA Count once, for the CA Add only');
  t.match(seen.trusted![0], /^\d+$/);
  t.equal(seen.parent!.length, 3, 'the parent listener: once per change (CSR, upload, CA Add)');
  t.same(seen.parent![0], { CSR: { State: 'InProgress' } }, 'only the leaves that changed');
  t.same(seen.name, ['edge-1']);
  t.same(errors, []);
  for (const o of offs) o();
});
