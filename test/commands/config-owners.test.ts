// The configuration lifecycle: value spaces, every owner's verify (pure, whole proposed
// configuration), one transaction, then apply. A refused commit changes nothing and says each
// problem in one sentence; an apply that fails after the commit raises an alarm; a key nobody
// owns refuses the boot.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { CONFIG } from '../../schema/config.js';
import { STATUS } from '../../schema/status.js';
import { Registry } from '../../src/bus/registry.js';
import { openDatabase } from '../../src/stores/database.js';
import { SqliteConfigStore } from '../../src/stores/config.js';
import { Configuration, applyAlarmId } from '../../src/services/config/configuration.js';
import { Alarms } from '../../src/services/alarms.js';
import { Status } from '../../src/services/status.js';
import { Logger, memorySink } from '../../src/platform/log.js';
import { verifyAcme } from '../../src/services/acme/owner.js';
import { clusteringOwner } from '../../src/services/cluster/owner.js';
import type { ConfigOwner } from '../../src/services/interfaces.js';
import { ConfigurationRefused } from '../../src/errors.js';
import { ADMIN, testApp, tmpDir } from '../helpers/app.js';
import { buildApp } from '../../src/app.js';
import http from 'node:http';
import type { ClientChannel } from 'ssh2';
import { connect, startSsh } from '../helpers/ssh.js';

const CUSTOM_NEEDS_URL = 'Security Acme Provider Custom needs Security Acme DirectoryUrl: set the directory URL first';
const DAYS_NEEDED = 'Security Acme Scheduler Mode On needs at least one day in Security Acme Scheduler Days';

function fresh(t: Tap.Test, owners: ConfigOwner[]) {
  const dir = tmpDir('xway-config-');
  const db = openDatabase(path.join(dir, 'xway.db'));
  t.teardown(() => { db.close(); fs.rmSync(dir, { recursive: true, force: true }); });
  const logger = new Logger(memorySink());
  const alarms = new Alarms(new Status(), logger, () => new Date());
  const config = new Configuration({ store: new SqliteConfigStore(db), declared: new Registry(CONFIG, STATUS, []).allConfig(), logger, alarms });
  for (const o of owners) config.own(o);
  const rows = () => db.prepare('SELECT key, value FROM config ORDER BY key').all();
  return { config, alarms, rows };
}

const acme: ConfigOwner = { name: 'Security Acme', subtrees: ['Security Acme'], verify: verifyAcme, apply: () => {} };

t.test('a refused commit writes nothing, applies nothing, announces nothing', async (t) => {
  let applied = 0;
  let announced = 0;
  const { config, rows } = fresh(t, [{ ...acme, apply: () => void applied++ }]);
  config.onChange(() => void announced++);
  const err = t.throws(() => config.set([{ key: 'Security Acme Provider', value: 'Custom' }, { key: 'Security Acme AdminEmail', value: 'a@example.com' }], ADMIN));
  t.type(err, ConfigurationRefused);
  t.same((err as ConfigurationRefused).problems, [CUSTOM_NEEDS_URL], 'one sentence for the one problem');
  t.equal((err as ConfigurationRefused).code, 'CommandError');
  t.equal(config.value('Security Acme Provider'), 'LetsEncrypt');
  t.equal(config.value('Security Acme AdminEmail'), '', 'the other key of the commit is not written either');
  t.same(rows(), [], 'nothing in the database');
  t.equal(applied, 0);
  t.equal(announced, 0);
  // The same change in a commit that carries the URL is accepted and applied once.
  config.set([{ key: 'Security Acme DirectoryUrl', value: 'https://ca.example.com/dir' }, { key: 'Security Acme Provider', value: 'Custom' }], ADMIN);
  t.equal(config.value('Security Acme Provider'), 'Custom');
  t.equal(applied, 1);
  t.equal(announced, 1);
  // Taking the URL away from a Custom provider breaks the same rule.
  t.throws(() => config.set([{ key: 'Security Acme DirectoryUrl', value: '' }], ADMIN), { message: CUSTOM_NEEDS_URL });
  t.equal(config.value('Security Acme DirectoryUrl'), 'https://ca.example.com/dir');
});

t.test('each rule: one sentence per problem, all problems of a commit together', async (t) => {
  const { config } = fresh(t, [acme, clusteringOwner({ self: '127.0.0.1', clientPort: 2379, peerPort: 2380 })]);
  const problems = (changes: Record<string, string | number>) => {
    try {
      config.set(Object.entries(changes).map(([key, value]) => ({ key, value })), ADMIN);
      return [];
    } catch (e) {
      if (!(e instanceof ConfigurationRefused)) throw e;
      return [...e.problems];
    }
  };
  t.same(problems({ 'Security Acme ExternalAccount KeyId': 'kid' }), ['Security Acme ExternalAccount KeyId needs HmacKey: set both with xCommand Security Acme ExternalAccount Set, or neither']);
  t.same(problems({ 'Security Acme ExternalAccount HmacKey': 'c2VjcmV0' }), ['Security Acme ExternalAccount HmacKey needs KeyId: set both with xCommand Security Acme ExternalAccount Set, or neither']);
  t.same(problems({ 'Security Acme ExternalAccount KeyId': 'kid', 'Security Acme ExternalAccount HmacKey': 'c2VjcmV0' }), [], 'the pair together');
  t.same(problems({ 'Security Acme Scheduler Days': '', 'Security Acme Scheduler Mode': 'On' }), [DAYS_NEEDED]);
  t.same(problems({ 'Security Acme Scheduler Days': '' }), [], 'no days is fine while the scheduler is off');
  t.same(problems({ 'Clustering Peer 2 Address': 'peer.example.com', 'Clustering Peer 5 Address': 'PEER.example.com.' }),
    ['Clustering Peer 5 Address PEER.example.com. duplicates Peer 2 Address']);
  const all = problems({ 'Security Acme Provider': 'Custom', 'Security Acme Scheduler Mode': 'On', 'Clustering Peer 1 Address': 'a.example.com', 'Clustering Peer 3 Address': 'a.example.com' });
  t.same(all, [CUSTOM_NEEDS_URL, DAYS_NEEDED, 'Clustering Peer 3 Address a.example.com duplicates Peer 1 Address']);
  for (const p of all) t.notMatch(p, /[.;]\s|\n/, 'one sentence');
  t.equal(config.value('Security Acme Scheduler Mode'), 'Off', 'nothing of a refused commit is kept');
  t.equal(config.value('Security Acme Scheduler Days'), '', 'the earlier accepted commit is');
});

t.test('value spaces are checked before any owner', async (t) => {
  let verified = 0;
  const { config } = fresh(t, [{ ...acme, verify: (n) => (verified++, verifyAcme(n)) }]);
  t.throws(() => config.set([{ key: 'Security Acme Provider', value: 'Nobody' }], ADMIN), { name: 'ParameterError' });
  t.equal(verified, 0);
});

t.test('an apply that fails after the commit: kept, alarmed, cleared by the next good apply', async (t) => {
  let fail = true;
  const http: ConfigOwner = {
    name: 'Http', subtrees: ['Http'], verify: () => [],
    apply: () => { if (fail) throw new Error('the listener refused the change'); },
  };
  const { config, alarms, rows } = fresh(t, [http]);
  config.set([{ key: 'Http Redirect Mode', value: 'On' }], ADMIN);
  t.equal(config.value('Http Redirect Mode'), 'On', 'committed is committed');
  t.same(rows(), [{ key: 'Http Redirect Mode', value: 'On' }]);
  const alarm = alarms.list().find((a) => a.id === applyAlarmId('Http'));
  t.equal(alarm?.title, 'The Http configuration was saved but could not be applied: the listener refused the change');
  t.equal(alarm?.severity, 'Error');
  fail = false;
  config.set([{ key: 'Http Redirect Mode', value: 'Off' }], ADMIN);
  t.equal(alarms.list().length, 0, 'lowered once an apply succeeds');
});

t.test('ownership: every key has exactly one owner, or no boot', async (t) => {
  const { config } = fresh(t, [acme]);
  t.throws(() => config.checkOwnership(), { message: /^Configuration ownership: configuration SystemUnit Name has no owner; configuration Http Redirect Mode has no owner/ });
  const both = fresh(t, [acme, { name: 'Security', subtrees: ['Security'], verify: () => [], apply: () => {} }]);
  t.throws(() => both.config.checkOwnership(), { message: /configuration Security Acme Provider has two owners: Security Acme, Security/ });
  // A whole word, not a prefix: "Http" does not own a key named "Https ...".
  t.doesNotThrow(() => testApp(t).services.config, 'the appliance itself boots: all keys owned');
});

t.test('shell: refusals are one Cisco line each and change nothing; Import goes through verify', async (t) => {
  const app = testApp(t);
  let r = await app.run('xConfiguration Security Acme Scheduler Days: ""\nxConfiguration Security Acme Scheduler Mode: On\nxConfiguration Security Acme Scheduler Mode\n', 'exec');
  t.equal(r.out, [
    'OK',
    '*r ConfigurationResult (status=Error):',
    `     Reason: "${DAYS_NEEDED}"`,
    '*r/end',
    '',
    'ERROR',
    '*c xConfiguration Security Acme Scheduler Mode: Off',
    'OK',
    '',
  ].join('\n'));
  t.equal(r.code, 1);
  t.match(app.logLines.join('\n'), /"what":"xConfiguration Security Acme Scheduler Mode: On","result":"CommandError"/, 'audited as refused');

  r = await app.run('xCommand SystemUnit Configuration Import\nxConfiguration Security Acme Provider: Custom\nxConfiguration SystemUnit Name: "imported"\n.\n', 'shell');
  t.match(r.out, new RegExp(`\\*r SystemUnitConfigurationImportResult \\(status=Error\\):\\n     Reason: "${CUSTOM_NEEDS_URL}"`));
  t.equal(app.services.config.value('SystemUnit Name'), '', 'a refused import changes nothing');
  t.equal(app.services.config.value('Security Acme Scheduler Days'), '', 'not even the keys it would reset');

  r = await app.run('xCommand Security Acme ExternalAccount Set KeyId: kid-1 HmacKey: "c2VjcmV0"\nxConfiguration Security Acme ExternalAccount KeyId\n', 'exec');
  t.match(r.out, /\*c xConfiguration Security Acme ExternalAccount KeyId: "kid-1"/);
  t.notMatch(app.logLines.join('\n'), /c2VjcmV0/, 'the HMAC key is never logged');
});

t.test('a stored configuration that breaks a rule (an older database) boots, with an alarm', async (t) => {
  const dir = tmpDir();
  const first = buildApp({ dataDir: dir, adminPassword: 'correct horse battery', logSink: memorySink(), announce: () => {} });
  await first.close();
  const db = openDatabase(path.join(dir, 'xway.db'));
  db.prepare("INSERT INTO config (key, value, is_number, changed_at, changed_by) VALUES ('Security Acme ExternalAccount KeyId', 'kid-1', 0, '', 'old')").run();
  db.close();
  const app = testApp(t, { dataDir: dir });
  const alarm = app.services.alarms.list().find((a) => a.id === 'config-verify');
  t.equal(alarm?.title, 'The stored configuration breaks a rule: Security Acme ExternalAccount KeyId needs HmacKey: set both with xCommand Security Acme ExternalAccount Set, or neither');
  t.equal(app.services.config.value('Security Acme ExternalAccount KeyId'), 'kid-1', 'it runs as stored');
  const r = await app.run('xConfiguration Security Acme AdminEmail: a@example.com\n', 'exec');
  t.match(r.out, /status=Error[^]*KeyId needs HmacKey/, 'the next commit has to mend it');
  const mended = await app.run('xCommand Security Acme ExternalAccount Set KeyId: "" HmacKey: ""\n', 'exec');
  t.equal(mended.code, 0, mended.out);
  t.equal(app.services.alarms.list().find((a) => a.id === 'config-verify'), undefined, 'lowered once a commit passes verify');
});

t.test('owners apply at once: the HTTP listener redirects, open SSH sessions take the new idle timeout', async (t) => {
  const f = await startSsh(t);
  const httpPort = await f.app.web.web.listenHttp(0);
  const status = () => new Promise<number>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: httpPort, path: '/x' }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject);
  });
  t.equal(await status(), 404);
  let r = await f.app.run('xConfiguration Http Redirect Mode: On\n', 'exec');
  t.equal(r.code, 0, r.out);
  t.equal(await status(), 301, 'the Http owner switched the listener');

  // A session opened under the default (1800 s) closes soon after the timeout is lowered:
  // its timer is re-armed by the Ssh owner's apply, not found by polling.
  const c = await connect(f.port);
  t.teardown(() => c.end());
  const opened = await new Promise<ClientChannel>((resolve, reject) => c.shell(false, (err, ch) => (err ? reject(err) : resolve(ch))));
  opened.resume();
  const closed = new Promise<number>((resolve) => opened.on('close', () => resolve(Date.now())));
  let told = 0;
  f.app.sshSettings.onChange(() => void told++);
  const changed = Date.now();
  r = await f.app.run('xConfiguration Ssh IdleTimeout: 1\n', 'exec');
  t.equal(told, 1, 'the commit told the SSH layer once');
  t.equal(r.code, 0, r.out);
  const after = (await closed) - changed;
  t.ok(after < 8000, `closed ${after} ms after the change`);
});

type Tap = typeof t;
declare namespace Tap { type Test = Parameters<Parameters<typeof t.test>[1]>[0]; }
