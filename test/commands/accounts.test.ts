// Accounts: password checks off the event loop under a global cap, one check per attempt whoever
// it names, and the user commands (add, list, delete) through the real parser and bus.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { openDatabase } from '../../src/stores/database.js';
import { SqliteAccountStore } from '../../src/stores/accounts.js';
import { PasswordHasher, scryptKdf, type Kdf } from '../../src/stores/passwords.js';
import { Logger, memorySink } from '../../src/platform/log.js';
import { testApp, tmpDir, ADMIN, READER } from '../helpers/app.js';

const PW = 'correct horse battery';

function store(t: Tap.Test, hasher?: PasswordHasher) {
  const dir = tmpDir('xway-accounts-');
  const db = openDatabase(path.join(dir, 'xway.db'));
  t.teardown(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const sink = memorySink();
  const s = new SqliteAccountStore(db, new Logger(sink), () => new Date(), hasher);
  s.ensureAccount('admin', 'Admin', PW);
  return { s, log: sink.lines };
}

/** The real scrypt, counted. */
function counted(): { kdf: Kdf; calls: () => number } {
  let n = 0;
  return { kdf: (...a) => (n++, scryptKdf(...a)), calls: () => n };
}

t.test('every password check costs exactly one scrypt call, known user or not', async (t) => {
  const k = counted();
  const { s } = store(t, new PasswordHasher(k.kdf));
  const cases: [string, string, boolean][] = [
    ['admin', PW, true],
    ['admin', 'wrong password!', false],
    ['nobody', PW, false],
    ['nobody', '', false],
    ['', 'x', false],
  ];
  for (const [user, pw, want] of cases) {
    const before = k.calls();
    t.equal(await s.verifyPassword(user, pw), want, `${user || '(empty)'}: ${want}`);
    t.equal(k.calls() - before, 1, `${user || '(empty)'}: one check`);
  }
});

t.test('a stored hash that cannot be used fails after one check, like an unknown user', async (t) => {
  const k = counted();
  const { s } = store(t, new PasswordHasher(k.kdf));
  const db = (s as unknown as { db: import('../../src/stores/database.js').Db }).db;
  for (const bad of ['plain', 'scrypt$16385$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==', 'scrypt$1073741824$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==', 'scrypt$16384$$']) {
    db.prepare('UPDATE account SET password = ? WHERE user = ?').run(bad, 'admin');
    const before = k.calls();
    t.equal(await s.verifyPassword('admin', PW), false, `refused: ${bad}`);
    t.equal(k.calls() - before, 1, 'one check');
  }
});

t.test('no more than maxConcurrent checks run at once; the rest wait in order', async (t) => {
  let running = 0;
  let peak = 0;
  const order: string[] = [];
  const release: (() => void)[] = [];
  const kdf: Kdf = async (password, salt, keylen, params) => {
    running++;
    peak = Math.max(peak, running);
    order.push(password);
    await new Promise<void>((r) => release.push(r));
    running--;
    return scryptKdf(password, salt, keylen, { ...params, N: 2 });
  };
  const h = new PasswordHasher(kdf, 3);
  const stored = await new PasswordHasher(scryptKdf).hash('p0');
  const all = Array.from({ length: 10 }, (_, i) => h.check(`p${i}`, stored));
  t.same(h.load(), { running: 3, waiting: 7 });
  // Let them through one at a time, waiting for each freed slot to be taken.
  while (order.length < 10 || release.length) {
    const r = release.shift();
    if (!r) {
      await new Promise((res) => setImmediate(res));
      continue;
    }
    r();
    await new Promise((res) => setImmediate(res));
  }
  const results = await Promise.all(all);
  t.equal(peak, 3, 'three at most');
  t.same(order, Array.from({ length: 10 }, (_, i) => `p${i}`), 'first come, first served');
  t.same(results, [false, false, false, false, false, false, false, false, false, false], 'cheap N: nothing matches the real hash');
  t.same(h.load(), { running: 0, waiting: 0 });
});

t.test('a failing KDF frees its slot', async (t) => {
  let calls = 0;
  const h = new PasswordHasher(async () => {
    calls++;
    throw new Error('out of memory');
  }, 1);
  await t.rejects(h.check('x', undefined), /out of memory/);
  await t.rejects(h.check('x', undefined), /out of memory/);
  t.equal(calls, 2);
  t.same(h.load(), { running: 0, waiting: 0 });
});

t.test('the event loop keeps turning while 40 checks run (real scrypt)', async (t) => {
  const { s } = store(t);
  let ticks = 0;
  let last = performance.now();
  let worst = 0;
  let running = true;
  const tick = () => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
    ticks++;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  const t0 = performance.now();
  // Half known, half unknown users, all started in the same turn of the loop. With scryptSync
  // this was one block of 40-60 × ~80 ms.
  const results = await Promise.all(Array.from({ length: 40 }, (_, i) => s.verifyPassword(i % 2 ? 'admin' : `guess${i}`, `wrong ${i}`)));
  const took = performance.now() - t0;
  running = false;
  t.same(results, Array(40).fill(false));
  t.ok(ticks > 40, `the loop turned ${ticks} times in ${took.toFixed(0)} ms`);
  // Generous for a busy 2-core machine; the blocking version stalls for seconds.
  t.ok(worst < 1000, `longest stall ${worst.toFixed(0)} ms`);
});

t.test('users: add, list, delete through the shell; names, passwords and roles checked', async (t) => {
  const app = testApp(t);
  let r = await app.run('xCommand SystemUnit User Add Name: viewer Role: ReadOnly Password: "a long enough pw"', 'exec');
  t.equal(r.out, '*r SystemUnitUserAddResult (status=OK):\n     Name: "viewer"\n     Role: "ReadOnly"\n*r/end\n\nOK\n');
  t.equal(app.services.accounts.roleOf('viewer'), 'ReadOnly');
  t.ok(await app.services.accounts.verifyPassword('viewer', 'a long enough pw'), 'its password works');

  r = await app.run('xCommand SystemUnit User List', 'exec');
  t.equal(
    r.out,
    '*r SystemUnitUserListResult (status=OK):\n     Count: 2\n     User 1:\n       Name: "admin"\n       Role: "Admin"\n       Keys: 0\n' +
      '     User 2:\n       Name: "viewer"\n       Role: "ReadOnly"\n       Keys: 0\n*r/end\n\nOK\n',
  );

  // Refusals change nothing and say why in one line.
  const refused: [string, RegExp][] = [
    ['xCommand SystemUnit User Add Name: viewer Role: Admin Password: "another long pw"', /Reason: "The user viewer already exists"/],
    ['xCommand SystemUnit User Add Name: "Bad Name" Role: Admin Password: "another long pw"', /Bad Name is not a user name: expected a-z 0-9 _ \. - starting with a letter or _/],
    ['xCommand SystemUnit User Add Name: "../etc" Role: Admin Password: "another long pw"', /is not a user name/],
    ['xCommand SystemUnit User Add Name: ops Role: Root Password: "another long pw"', /expected <Admin\/ReadOnly>/],
    ['xCommand SystemUnit User Add Name: ops Role: Admin Password: short', /Invalid value \(hidden\) for Password/],
    ['xCommand SystemUnit User Add Name: ops Role: Admin', /Password/],
    ['xCommand SystemUnit User Delete Name: ghost', /Reason: "No user ghost"/],
    ['xCommand SystemUnit User Delete Name: admin', /Reason: "You are logged in as admin: another Admin must delete this account"/],
  ];
  for (const [line, why] of refused) {
    r = await app.run(line + '\n');
    t.match(r.out, why, line);
    t.match(r.out, /\nERROR\n$/, `${line}: ERROR`);
  }
  t.same(app.services.accounts.users().map((u) => u.name), ['admin', 'viewer'], 'nothing changed');

  // A ReadOnly account may not manage users.
  r = await app.run('xCommand SystemUnit User Add Name: ops Role: Admin Password: "another long pw"\n', 'shell', READER);
  t.match(r.out, /Permission denied: xCommand SystemUnit User Add needs the Admin role/);
  r = await app.run('xCommand SystemUnit User List\n', 'shell', READER);
  t.match(r.out, /Permission denied/);

  r = await app.run('xCommand SystemUnit User Delete Name: viewer\n');
  t.match(r.out, /status=OK/);
  t.equal(app.services.accounts.roleOf('viewer'), undefined);
  t.notOk(app.logLines.some((l) => l.includes('a long enough pw') || l.includes('another long pw')), 'passwords never reach the log');
  t.ok(app.logLines.some((l) => /"what":"xCommand SystemUnit User Add Name: \\"viewer\\" Role: \\"ReadOnly\\" Password: \(hidden\)"/.test(l)), 'audited, password hidden');
});

t.test('the last Admin cannot be deleted; another Admin can delete admin', async (t) => {
  const app = testApp(t);
  await app.services.accounts.addUser('ops', 'Admin', 'ops password 123', ADMIN);
  await app.services.accounts.addUser('viewer', 'ReadOnly', 'viewer password 1', ADMIN);
  const OPS = { ...ADMIN, user: 'ops' };
  let r = await app.run('xCommand SystemUnit User Delete Name: admin\n', 'shell', OPS);
  t.match(r.out, /status=OK/, 'ops deletes admin');
  t.same(app.services.accounts.users().map((u) => u.name), ['ops', 'viewer']);
  // ops is now the only Admin; even another session of someone else cannot remove it.
  r = await app.run('xCommand SystemUnit User Delete Name: ops\n', 'shell', { ...ADMIN, user: 'someone' });
  t.match(r.out, /Reason: "ops is the last Admin account and cannot be deleted"/);
  t.equal(app.services.accounts.roleOf('ops'), 'Admin');
});

t.test('a deleted account is not re-created at the next start; first boot needs no account at all', async (t) => {
  const dir = tmpDir();
  const a1 = testApp(t, { dataDir: dir });
  await a1.services.accounts.addUser('ops', 'Admin', 'ops password 123', ADMIN);
  a1.services.accounts.deleteUser('admin', { ...ADMIN, user: 'ops' });
  await a1.close();
  const a2 = testApp(t, { dataDir: dir });
  t.same(a2.services.accounts.users().map((u) => u.name), ['ops']);
});

t.test('user deletions and password changes are told to listeners', async (t) => {
  const { s } = store(t);
  const seen: string[] = [];
  const off = s.onChange((c) => seen.push(`${c.kind} ${c.user}`));
  await s.addUser('viewer', 'ReadOnly', 'viewer password 1', ADMIN);
  await s.setPassword('viewer', 'viewer password 2', ADMIN);
  s.deleteUser('viewer', ADMIN);
  off();
  await s.addUser('other', 'ReadOnly', 'viewer password 1', ADMIN);
  s.deleteUser('other', ADMIN);
  t.same(seen, ['password viewer', 'deleted viewer']);
});

t.test('no command a ReadOnly account may run takes a file: the registry refuses such a declaration', async (t) => {
  const { Registry } = await import('../../src/bus/registry.js');
  const { COMMANDS } = await import('../../commands/index.js');
  const { CONFIG } = await import('../../schema/config.js');
  const { STATUS } = await import('../../schema/status.js');
  const { str } = await import('../../schema/types.js');
  const run = async () => ({});
  t.doesNotThrow(() => new Registry(CONFIG, STATUS, COMMANDS), 'the real declarations pass');
  const withFile = COMMANDS.filter((c) => Object.values(c.params).some((p) => p.file)).map((c) => c.path.join(' '));
  t.ok(withFile.length >= 6, `file-taking commands: ${withFile.join(', ')}`);
  const readOnlyFile = { path: ['Test', 'Read'], help: 'x', role: 'ReadOnly' as const, params: { File: { type: str(1, 9), help: 'x', file: true } }, run };
  t.throws(() => new Registry(CONFIG, STATUS, [readOnlyFile]), /Test Read takes a file \(File\) so it must need the Admin role/);
  const undeclared = { path: ['Test', 'Sneak'], help: 'x', role: 'ReadOnly' as const, params: { KeyPath: { type: str(1, 9), help: 'x' } }, run };
  t.throws(() => new Registry(CONFIG, STATUS, [undeclared]), /parameter KeyPath of Test Sneak names a file but is not declared as one/);
});

t.test('Tab completion offers /tmp file names to Admins only', async (t) => {
  const app = testApp(t);
  fs.writeFileSync(path.join(app.paths.uploads, 'x.pem'), 'x');
  const completeAs = (actor: typeof ADMIN) => {
    const s = app.newSession(actor, 'shell', { write: () => {} });
    const c = s.complete('xCommand Security Certificates CA Add File: ');
    s.dispose();
    return c.candidates;
  };
  t.same(completeAs(ADMIN), ['/tmp/x.pem']);
  t.same(completeAs(READER), [], 'a ReadOnly account does not even see the names');
});

t.test('passwords: any user changes their own after the old one; an Admin sets another account\'s', async (t) => {
  const app = testApp(t);
  await app.services.accounts.addUser('viewer', 'ReadOnly', 'viewer password 1', ADMIN);
  const me = { ...READER, user: 'viewer' };
  // Refusals change nothing and say why in one line.
  const refused: [string, RegExp][] = [
    ['xCommand SystemUnit User Password Change OldPassword: "not it at all" NewPassword: "a brand new password"', /Reason: "The old password is not right: nothing was changed"/],
    ['xCommand SystemUnit User Password Change OldPassword: "viewer password 1" NewPassword: "viewer password 1"', /Reason: "The new password is the old one: nothing was changed"/],
    ['xCommand SystemUnit User Password Change OldPassword: "viewer password 1" NewPassword: short', /Invalid value \(hidden\) for NewPassword/],
    ['xCommand SystemUnit User Password Change NewPassword: "a brand new password"', /OldPassword/],
    ['xCommand SystemUnit User Password Set Name: admin Password: "a brand new password"', /Permission denied: xCommand SystemUnit User Password Set needs the Admin role/],
  ];
  for (const [line, why] of refused) {
    const r = await app.run(line + '\n', 'shell', me);
    t.match(r.out, why, line);
    t.match(r.out, /\nERROR\n/, `${line}: ERROR`);
  }
  t.ok(await app.services.accounts.verifyPassword('viewer', 'viewer password 1'), 'the old password still works');
  t.ok(await app.services.accounts.verifyPassword('admin', 'correct horse battery'), "the admin's is untouched");

  let r = await app.run('xCommand SystemUnit User Password Change OldPassword: "viewer password 1" NewPassword: "a brand new password"\n', 'shell', me);
  t.match(r.out, /\*r SystemUnitUserPasswordChangeResult \(status=OK\)/);
  t.ok(await app.services.accounts.verifyPassword('viewer', 'a brand new password'), 'the new password works');
  t.notOk(await app.services.accounts.verifyPassword('viewer', 'viewer password 1'), 'the old one no longer does');

  r = await app.run('xCommand SystemUnit User Password Set Name: viewer Password: "set by the admin 1"\n');
  t.match(r.out, /\*r SystemUnitUserPasswordSetResult \(status=OK\):\n {5}Name: "viewer"/);
  t.ok(await app.services.accounts.verifyPassword('viewer', 'set by the admin 1'));
  r = await app.run('xCommand SystemUnit User Password Set Name: ghost Password: "set by the admin 1"\n');
  t.match(r.out, /Reason: "Unknown user ghost"/);
  t.notOk(app.logLines.some((l) => /viewer password 1|a brand new password|set by the admin 1/.test(l)), 'passwords never reach the log');
  t.ok(app.logLines.some((l) => l.includes('the old password was wrong')), 'a wrong old password is audited');
});
