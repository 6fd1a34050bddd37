// netmiko's cisco_tp driver (as used against Expressways) over a pty session: it needs the
// typed command echoed with CRLF, `OK`/`ERROR`/`Command not recognized.` alone on a line after
// every reply, and CR LF taken as one Enter.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSsh, run, PASSWORD } from '../helpers/ssh.js';
import { findRoot } from '../../src/platform/version.js';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'netmiko_client.py');

t.test('netmiko cisco_tp: status, configuration, an unknown command', async (t) => {
  const f = await startSsh(t);
  const r = await run(
    '/usr/bin/python3',
    [script, String(f.port), PASSWORD, 'xStatus SystemUnit Product', 'xConfiguration Http Redirect Mode', 'xConfiguration Http Redirect Mode: On', 'xFrobnicate', 'xConfiguration Http Redirect Mode: Sideways'],
    undefined,
    90_000,
    { ...process.env, PYTHONPATH: '' },
  );
  t.equal(r.code, 0, r.stdout + r.stderr);
  const res = JSON.parse(r.stdout) as { outputs: string[] };
  // netmiko normalises CRLF to LF, drops the echoed command and keeps the final status line
  // (its strip_prompt looks at the last line, which is empty after the closing CRLF).
  t.same(res.outputs, [
    '*s SystemUnit: /\n     Product: "xway"\n*s/end\n\nOK\n',
    '*c xConfiguration Http Redirect Mode: Off\nOK\n',
    'OK\n',
    'Command not recognized.\n',
    '*r ConfigurationResult (status=Error):\n     Reason: "Invalid value Sideways for Http Redirect Mode: expected <On/Off>"\n*r/end\n\nERROR\n',
  ]);
  t.equal(f.app.services.config.get('Http Redirect Mode'), 'On', 'the set went through');
});

// The README's example, extracted from README.md and run as written: only the port is the test's,
// and `pw` (which the snippet leaves to the reader) is defined before it.
t.test("the README's netmiko snippet works as written with Debian's netmiko", async (t) => {
  const readme = fs.readFileSync(path.join(findRoot(), 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Scripting with netmiko'));
  const snippet = /```python\n([\s\S]*?)```/.exec(section)?.[1];
  t.ok(snippet, 'README.md has a python block under "Scripting with netmiko"');
  t.match(snippet!, /port=2222\b/);
  const f = await startSsh(t);
  const code = `pw = ${JSON.stringify(PASSWORD)}\n` + snippet!.replace(/port=2222\b/, `port=${f.port}`);
  const started = Date.now();
  const r = await run('/usr/bin/python3', ['-c', code], undefined, 90_000, { ...process.env, PYTHONPATH: '' });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^\*s SystemUnit: \/\n {5}Product: "xway"\n[\s\S]*\*s\/end\n\nOK\n/);
  // A pattern that never matches still ends, but only after netmiko's 100 s read timeout.
  t.ok(Date.now() - started < 60_000, `answered in ${Date.now() - started} ms`);
});
