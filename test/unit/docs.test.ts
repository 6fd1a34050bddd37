// The reference docs are generated from the declarations; this fails when they are stale.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { CONFIG } from '../../schema/config.js';
import { STATUS } from '../../schema/status.js';
import { COMMANDS } from '../../commands/index.js';
import { Registry } from '../../src/bus/registry.js';
import { referenceMarkdown, REFERENCE_FILE } from '../../src/tools/gendocs.js';
import { findRoot } from '../../src/platform/version.js';

t.test('docs/reference.md matches the declarations (run npm run docs)', async (t) => {
  const committed = fs.readFileSync(path.join(findRoot(), REFERENCE_FILE), 'utf8');
  t.equal(committed, referenceMarkdown(new Registry(CONFIG, STATUS, COMMANDS)));
});

t.test('every declaration has help, and every command a role', async (t) => {
  const reg = new Registry(CONFIG, STATUS, COMMANDS);
  for (const n of [...reg.configNodes, ...reg.statusNodes]) t.ok(n.help.length > 5, `${n.path.join(' ')} has help`);
  for (const c of reg.commandDefs) {
    t.ok(c.help.length > 5 && c.role, `${c.path.join(' ')} has help and a role`);
    for (const [name, p] of Object.entries(c.params)) t.ok(p.help.length > 3, `${c.path.join(' ')} ${name} has help`);
  }
});

t.test('a bad declaration fails the build', async (t) => {
  const dup = [CONFIG[0]!, CONFIG[0]!];
  t.throws(() => new Registry(dup, STATUS, []), /duplicate declaration/);
  const badDefault = [{ ...CONFIG[1]!, default: 'Sideways' }];
  t.throws(() => new Registry(badDefault, STATUS, []), /default of Http Redirect Mode is outside its value space/);
});
