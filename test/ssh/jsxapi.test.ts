// Cisco's own jsxapi library drives the appliance over SSH, as it drives a codec: it logs in with
// keyboard-interactive, opens a plain shell, sends `echo off` and `xpreferences outputmode json`,
// tags requests with resultId, frames multiline requests, and registers for feedback.
import t from 'tap';
import { createRequire } from 'node:module';
import { startSsh, PASSWORD } from '../helpers/ssh.js';
import { ADMIN } from '../helpers/app.js';
import { generateSshKeyPair } from '../../src/ssh/hostkeys.js';
import { until } from '../helpers/wait.js';

const require = createRequire(import.meta.url);
const jsxapi = require('jsxapi');

interface XAPI {
  on(ev: string, cb: (...a: unknown[]) => void): XAPI;
  close(): void;
  status: { get(p: string): Promise<unknown>; on(p: string, cb: (v: unknown) => void): { registration: Promise<unknown> } & (() => void) };
  config: { get(p: string): Promise<unknown>; set(p: string, v: unknown): Promise<unknown>; on(p: string, cb: (v: unknown) => void): { registration: Promise<unknown> } & (() => void) };
  command(p: string, params?: Record<string, unknown>, body?: string): Promise<Record<string, unknown>>;
  event: { on(p: string, cb: (v: unknown) => void): { registration: Promise<unknown> } & (() => void) };
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<T>((_, rej) => (timer = setTimeout(() => rej(new Error(`timed out: ${what}`)), ms)));
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

t.test('jsxapi over SSH: status, configuration, commands, errors, multiline, feedback', async (t) => {
  delete process.env.SSH_AUTH_SOCK; // jsxapi would try an agent first
  const f = await startSsh(t);
  const xapi: XAPI = jsxapi.connect(`ssh://127.0.0.1:${f.port}`, { username: 'admin', password: PASSWORD, loglevel: 'error' });
  const errors: unknown[] = [];
  xapi.on('error', (e) => errors.push(e));
  t.teardown(() => xapi.close());
  await within(new Promise<void>((resolve) => xapi.on('ready', () => resolve())), 20_000, 'ready');

  t.equal(await xapi.status.get('SystemUnit Product'), 'xway');
  t.match(await xapi.status.get('SystemUnit Uptime'), /^\d+$/);
  t.same(Object.keys((await xapi.status.get('SystemUnit')) as object), ['Product', 'Name', 'Software', 'Uptime']);
  await t.rejects(xapi.status.get('NoSuchGroup'), { message: 'No match on address expression' });

  t.equal(await xapi.config.get('Http Redirect Mode'), 'Off');
  t.equal(await xapi.config.set('Http Redirect Mode', 'On'), null);
  t.equal(f.app.services.config.get('Http Redirect Mode'), 'On');
  await t.rejects(xapi.config.set('Http Redirect Mode', 'Sideways'), { message: /Invalid value Sideways for Http Redirect Mode/ });
  t.equal(f.app.services.config.get('Http Redirect Mode'), 'On', 'a refused value changes nothing');
  t.equal(await xapi.config.set('Ssh IdleTimeout', 900), null, 'numbers are sent bare');
  t.equal(await xapi.config.get('Ssh IdleTimeout'), '900');

  // Commands with parameters; jsxapi sorts and quotes them.
  const pair = generateSshKeyPair('ed25519');
  const added = await xapi.command('Ssh AuthorizedKey Add', { Key: `${pair.public} jsxapi@test` });
  t.equal(added.status, 'OK');
  t.match(added.Fingerprint, /^SHA256:/);
  t.equal(added.Comment, 'jsxapi@test');
  const list = await xapi.command('Ssh AuthorizedKey List');
  t.equal(list.Count, '1');
  t.same((list.Key as { Comment: string }[]).map((k) => k.Comment), ['jsxapi@test']);
  await t.rejects(xapi.command('Ssh AuthorizedKey Add', { Key: 'not a key' }), { code: 4 }, 'ParameterError');
  await t.rejects(xapi.command('Frobnicate Now'), /./, 'an unknown command is an error, not a hang');

  // A multiline request: jsxapi frames it as `{<bytes>} ` + newline + request + body.
  const exported = await f.app.run('xCommand SystemUnit Configuration Export File: "c.txt"', 'exec');
  t.equal(exported.code, 0);
  const text = f.app.services.uploads.read('/tmp/c.txt', 1 << 20).toString('utf8').replace('Http Redirect Mode: "On"', 'Http Redirect Mode: "Off"');
  t.match(text, /Http Redirect Mode: "Off"/);
  const imported = await xapi.command('SystemUnit Configuration Import', {}, text);
  t.equal(imported.status, 'OK');
  t.equal(f.app.services.config.get('Http Redirect Mode'), 'Off', 'the framed body was applied');

  // Feedback: configuration changes made elsewhere arrive as events.
  const seen: unknown[] = [];
  const off = xapi.config.on('Http Redirect Mode', (v) => seen.push(v));
  await off.registration;
  f.app.services.config.set([{ key: 'Http Redirect Mode', value: 'On' }], ADMIN);
  await until(() => seen.length > 0, 'the configuration feedback');
  t.same(seen, ['On']);
  off();

  // Events (`*e AcmeProgress ...` in terminal mode) arrive under Event.
  const events: unknown[] = [];
  const offEv = xapi.event.on('AcmeProgress', (v) => events.push(v));
  await offEv.registration;
  f.app.services.events.emit('AcmeProgress', { Target: 'Server', Status: 'Signing', Detail: 'order placed' });
  await within(
    until(() => events.length > 0, 'the event'),
    120_000,
    'event',
  );
  t.same(events, [{ Target: 'Server', Status: 'Signing', Detail: 'order placed' }]);
  offEv();

  // Requests still work after feedback, and nothing odd reached jsxapi's parser.
  t.equal(await xapi.status.get('SystemUnit Product'), 'xway');
  t.same(errors, [], 'no parser or transport errors');
});
