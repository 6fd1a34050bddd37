// The reference transcripts of spec section 9, byte for byte, through the real parser, bus and
// terminal renderer.
import t from 'tap';
import { testApp, READER } from '../helpers/app.js';

t.test('xStatus SystemUnit', async (t) => {
  const app = testApp(t, { storage: 'memory' });
  const { out, code } = await app.run('xStatus SystemUnit\n', 'exec');
  t.equal(code, 0);
  t.match(out, /^\*s SystemUnit: \/\n     Product: "xway"\n     Name: ".+"\n     Software:\n       Version: "[^"]+"\n       ReleaseDate: "2026-11-23"\n     Uptime: \d+\n\*s\/end\n\nOK\n$/);
});

t.test('configuration get, set, bad value', async (t) => {
  const app = testApp(t, { storage: 'memory' });
  let r = await app.run('xConfiguration Http Redirect Mode\n', 'exec');
  t.equal(r.out, '*c xConfiguration Http Redirect Mode: Off\nOK\n');
  r = await app.run('xConfiguration Http Redirect Mode: Sideways\n', 'exec');
  t.equal(r.out, '*r ConfigurationResult (status=Error):\n     Reason: "Invalid value Sideways for Http Redirect Mode: expected <On/Off>"\n*r/end\n\nERROR\n');
  t.equal(r.code, 1);
  t.equal(app.services.config.get('Http Redirect Mode'), 'Off', 'bad value changed nothing');
  t.ok(
    app.logLines.map((l) => JSON.parse(l)).some((e) => e.audit && e.result === 'Rejected' && /Invalid value Sideways/.test(e.reason)),
    'a refused change is audited',
  );
  r = await app.run('xconf http redirect mode: on\n', 'exec');
  t.equal(r.out, 'OK\n');
  t.equal(app.services.config.get('Http Redirect Mode'), 'On', 'case-insensitive path and value, canonical value stored');
  r = await app.run('xConfiguration Http Redirect Mode\n', 'exec');
  t.equal(r.out, '*c xConfiguration Http Redirect Mode: On\nOK\n');
  r = await app.run('xConfiguration SystemUnit Name: "edge 1"\nxConfiguration SystemUnit Name\n', 'exec');
  t.equal(r.out, 'OK\n*c xConfiguration SystemUnit Name: "edge 1"\nOK\n');
  const audit = app.logLines.map((l) => JSON.parse(l)).filter((e) => e.audit);
  t.ok(audit.some((e) => e.what === 'xConfiguration Http Redirect Mode: On' && e.result === 'OK' && e.who === 'admin'), 'set is audited');
});

t.test('unknown first word, unknown paths, ambiguity', async (t) => {
  const app = testApp(t, { storage: 'memory' });
  let r = await app.run('xFrobnicate\n', 'exec');
  t.equal(r.out, 'Command not recognized.\n');
  t.equal(r.code, 1);
  r = await app.run('xStatus Nonsense\n', 'exec');
  t.equal(r.out, '*r StatusResult (status=Error):\n     Reason: "No match on address expression"\n     XPath: "/Status/Nonsense"\n*r/end\n\nERROR\n');
  r = await app.run('xCommand Nope\n', 'exec');
  t.match(r.out, /^\*r CommandResult \(status=Error\):\n     Reason: "No match on address expression"\n     XPath: "\/Command\/Nope"\n/);
  r = await app.run('xc\n', 'exec');
  t.match(r.out, /Ambiguous command xc: could be xStatus|Ambiguous command xc: could be xConfiguration, xCommand/);
});

t.test('command parameters: missing, unknown, repeated, positional', async (t) => {
  const app = testApp(t, { storage: 'memory' });
  let r = await app.run('xCommand Ssh AuthorizedKey Add\n', 'exec');
  t.equal(r.out, '*r SshAuthorizedKeyAddResult (status=ParameterError):\n     Reason: "Missing required parameter Key <S: 1, 16384>"\n*r/end\n\nERROR\n');
  r = await app.run('xCommand Ssh AuthorizedKey List Bogus: 1\n', 'exec');
  t.match(r.out, /status=ParameterError[^]*Unknown parameter Bogus/);
  r = await app.run('xCommand Ssh AuthorizedKey List User: admin User: admin\n', 'exec');
  t.match(r.out, /Parameter User given more than once/);
  r = await app.run('xCommand Ssh AuthorizedKey List admin\n', 'exec');
  t.equal(r.out, '*r SshAuthorizedKeyListResult (status=OK):\n     Count: 0\n*r/end\n\nOK\n');
});

t.test('authorized keys round trip', async (t) => {
  const app = testApp(t, { storage: 'memory' });
  const { generateSshKeyPair } = await import('../../src/ssh/hostkeys.js');
  const kp = generateSshKeyPair('ed25519', 'me@laptop');
  let r = await app.run(`xCommand Ssh AuthorizedKey Add Key: "${kp.public.trim()}"\n`, 'exec');
  t.match(r.out, /^\*r SshAuthorizedKeyAddResult \(status=OK\):\n     Fingerprint: "SHA256:[A-Za-z0-9+/]{43}"\n     Type: "ssh-ed25519"\n     Comment: "me@laptop"\n/);
  const fp = /Fingerprint: "([^"]+)"/.exec(r.out)![1]!;
  r = await app.run('xCommand Ssh AuthorizedKey List\n', 'exec');
  t.match(r.out, `     Key 1:\n       Fingerprint: "${fp}"`);
  r = await app.run('xCommand Ssh AuthorizedKey Add Key: "ssh-ed25519 AAAAnotakey"\n', 'exec');
  t.match(r.out, /status=ParameterError[^]*Invalid public key/);
  r = await app.run(`xCommand Ssh AuthorizedKey Delete Fingerprint: "${fp}" Fingerprint: "SHA256:nope1234"\n`, 'exec');
  t.match(r.out, /nothing was deleted/);
  t.equal(app.accounts.listKeys('admin').length, 1, 'a bad fingerprint deletes nothing');
  r = await app.run(`xCommand Ssh AuthorizedKey Delete Fingerprint: "${fp}"\n`, 'exec');
  t.match(r.out, /Deleted: 1/);
});

t.test('read-only role cannot change anything', async (t) => {
  const app = testApp(t, { storage: 'memory' });
  const r = await app.run('xConfiguration Http Redirect Mode: On\n', 'exec', READER);
  t.match(r.out, /Permission denied: Http Redirect Mode needs the Admin role/);
  t.equal(app.services.config.get('Http Redirect Mode'), 'Off');
});

t.test('banner, echo, bye, exit status in shell mode', async (t) => {
  const app = testApp(t, { storage: 'memory' });
  let r = await app.run('echo off\nxStatus SystemUnit Product\nbye\nxStatus SystemUnit\n', 'shell');
  t.match(r.out, /^Welcome to xway\nxway version [^\n]+, released 2026-11-23\n\*r Login successful\n\nOK\nOK\n\*s SystemUnit: \/\n     Product: "xway"\n\*s\/end\n\nOK\n$/);
  t.equal(r.code, 0, 'bye ends the session; nothing after it runs');
  r = await app.run('xStatus SystemUnit Product\r\nxFoo\r', 'shell');
  t.equal(r.code, 1, 'any failure makes the exit status 1');
  t.equal((r.out.match(/\*s SystemUnit/g) ?? []).length, 1, 'CRLF and CR each end one line');
});

t.test('interactive mode ends lines with CRLF', async (t) => {
  const app = testApp(t, { storage: 'memory' });
  let out = '';
  const s = app.newSession({ user: 'admin', role: 'Admin', remote: 'x', session: 's' }, 'interactive', { write: (d) => void (out += d) });
  s.start();
  s.submitLine('xConfiguration Http Redirect Mode');
  s.endInput();
  await s.closed;
  t.match(out, /\*r Login successful\r\n\r\nOK\r\n\*c xConfiguration Http Redirect Mode: Off\r\nOK\r\n$/);
  t.notMatch(out.replace(/\r\n/g, ''), /\n/, 'no bare LF');
});

t.test('resultId, multiline payload, interrupted payload', async (t) => {
  const app = testApp(t, { storage: 'memory' });
  let r = await app.run('xStatus SystemUnit Product | resultId="abc"\n', 'exec');
  t.equal(r.out, '*s SystemUnit: /\n     Product: "xway"\n*s/end\n\nOK\n');
  await app.run('xConfiguration SystemUnit Name: before\n', 'exec');
  r = await app.run('xCommand SystemUnit Configuration Import\nxConfiguration SystemUnit Name: "after"\n', 'shell');
  t.match(r.out, /Multiline input ended without its closing period line; nothing was changed/);
  t.equal(app.services.config.get('SystemUnit Name'), 'before', 'interrupted paste changes nothing');
  r = await app.run('xCommand SystemUnit Configuration Import\nxConfiguration SystemUnit Name: "after"\nxConfiguration Http Redirect Mode: "On"\n.\n', 'shell');
  t.match(r.out, /SystemUnitConfigurationImportResult \(status=OK\):\n     Count: 2/);
  t.equal(app.services.config.get('SystemUnit Name'), 'after');
  t.equal(app.services.config.get('Http Redirect Mode'), 'On');
});

t.test('export and import round-trip the whole configuration', async (t) => {
  const app = testApp(t, { storage: 'memory' });
  await app.run('xConfiguration SystemUnit Name: "edge \\"1\\""\nxConfiguration Ssh IdleTimeout: 60\nxConfiguration Clustering Peer 3 Address: peer3.example.com\n', 'exec');
  const before = app.services.config.entries();
  let r = await app.run('xCommand SystemUnit Configuration Export File: backup.txt\n', 'exec');
  t.match(r.out, /File: "\/tmp\/backup.txt"/);
  await app.run('xConfiguration SystemUnit Name: other\nxConfiguration Ssh IdleTimeout: 5\n', 'exec');
  r = await app.run('xCommand SystemUnit Configuration Import File: "/tmp/backup.txt"\n', 'exec');
  t.equal(r.code, 0, r.out);
  t.same(app.services.config.entries(), before);
  r = await app.run('xCommand SystemUnit Configuration Import File: "/tmp/../etc/passwd"\n', 'exec');
  t.match(r.out, /status=ParameterError[^]*Invalid path component/);
});

t.test('help and value spaces come from the schema', async (t) => {
  const app = testApp(t, { storage: 'memory' });
  let r = await app.run('xConfiguration Http ?\n', 'exec');
  t.match(r.out, /Redirect/);
  r = await app.run('xConfiguration Http ??\n', 'exec');
  t.match(r.out, '*? xConfiguration Http Redirect Mode: <On/Off>  (default Off)\n');
  r = await app.run('xCommand Ssh AuthorizedKey Add ?\n', 'exec');
  t.match(r.out, /Key\(r\): <S: 1, 16384>/);
  r = await app.run('?\n', 'exec');
  t.match(r.out, /^xStatus +Read status/m);
  r = await app.run('xConfiguration //Mode\n', 'exec');
  t.match(r.out, /\*c xConfiguration Http Redirect Mode: Off\n/);
  t.match(r.out, /\*c xConfiguration Security Acme Scheduler Mode: Off\n/);
});

t.test('feedback: configuration changes reach a registered session between replies', async (t) => {
  const app = testApp(t, { storage: 'memory' });
  let out = '';
  const s = app.newSession({ user: 'admin', role: 'Admin', remote: 'x', session: 'f' }, 'shell', { write: (d) => void (out += d) });
  s.feed('xFeedback register /Configuration/Http\n');
  s.feed('xFeedback list\n');
  await new Promise((r) => setTimeout(r, 10));
  await app.run('xConfiguration Http Redirect Mode: On\nxConfiguration SystemUnit Name: x\n', 'exec');
  s.feed('xFeedback deregisterall\n');
  s.endInput();
  await s.closed;
  t.equal(out, 'OK\n*f 1 /Configuration/Http\nOK\n*c xConfiguration Http Redirect Mode: On\nOK\n');
});

t.test('jsxapi framing: {N} then exactly N bytes holding a command and its body', async (t) => {
  const app = testApp(t, { storage: 'memory' });
  const body = 'xCommand SystemUnit Configuration Import | resultId="9"\nxConfiguration SystemUnit Name: "framed"\n';
  const frame = `{${Buffer.byteLength(body)}} \n${body}`;
  // Split mid-frame, as a network would.
  let out = '';
  const s = app.newSession({ user: 'admin', role: 'Admin', remote: 'x', session: 'fr' }, 'shell', { write: (d) => void (out += d) });
  s.feed(frame.slice(0, 20));
  s.feed(frame.slice(20) + 'xStatus SystemUnit Name\n');
  s.endInput();
  t.equal(await s.closed, 0);
  t.match(out, /SystemUnitConfigurationImportResult \(status=OK\):\n     Count: 1\n[^]*\*s SystemUnit: \/\n     Name: "framed"\n/);
  t.equal(app.services.config.get('SystemUnit Name'), 'framed');
});

t.test('a bug caught in a session answers once, is logged with its stack, and the session goes on', async (t) => {
  const app = testApp(t, { storage: 'memory' });
  const { Bus } = await import('../../src/bus/bus.js');
  const { Registry } = await import('../../src/bus/registry.js');
  const { CONFIG } = await import('../../schema/config.js');
  const { STATUS } = await import('../../schema/status.js');
  const { Logger } = await import('../../src/platform/log.js');
  const { CliSession } = await import('../../src/cli/session.js');
  const lines: string[] = [];
  // A handler returning a value no renderer can draw: the failure happens outside the bus.
  const broken = { path: ['Broken'], help: 'returns garbage', role: 'Admin' as const, params: {}, run: async () => ({ X: null as unknown as string }) };
  const bus = new Bus({ registry: new Registry(CONFIG, STATUS, [broken]), services: app.services, logger: new Logger({ write: (l) => void lines.push(l) }) });
  let out = '';
  const s = new CliSession({ bus, actor: { user: 'admin', role: 'Admin', remote: 'x', session: 'bug' }, mode: 'shell', io: { write: (d) => void (out += d) }, banner: '' });
  s.feed('xCommand Broken\nxStatus SystemUnit Product\n');
  s.endInput();
  t.equal(await s.closed, 1);
  t.match(out, /^\*r CommandResult \(status=Error\):\n     Reason: "Internal error; see the log"\n\*r\/end\n\nERROR\n\*s SystemUnit: \/\n     Product: "xway"\n/);
  const logged = lines.map((l) => JSON.parse(l)).find((e) => e.event === 'session.internal-error');
  t.ok(logged, 'logged');
  t.match(logged.error, /TypeError/, 'with the stack');
});
