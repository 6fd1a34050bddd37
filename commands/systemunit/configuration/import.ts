import { str } from '../../../schema/types.js';
import { defineCommand, param } from '../../define.js';
import { ParameterError } from '../../../src/errors.js';
import { parseExportLine } from './format.js';

const MAX = 1024 * 1024;

export default defineCommand({
  path: ['SystemUnit', 'Configuration', 'Import'],
  help: 'Replace the whole configuration from an export (File: in /tmp, or pasted); keys not named return to their defaults',
  role: 'Admin',
  params: { File: param(str(1, 128), 'An export file in /tmp', { file: true }) },
  payload: { help: 'The exported lines', unless: ['File'], maxBytes: MAX },
  async run(args, { services, actor, payload }) {
    const file = args.File;
    const text = file !== undefined ? services.uploads.read(file, MAX).toString('utf8') : payload ?? '';
    const given = new Map<string, string>();
    text.split(/\r?\n/).forEach((line, i) => {
      const p = parseExportLine(line);
      if (!p) return;
      if ('error' in p) throw new ParameterError(`Line ${i + 1}: ${p.error}; nothing was changed`);
      given.set(p.key.toLowerCase(), p.value);
    });
    const entries = services.config.entries();
    const known = new Set(entries.map((e) => e.key.toLowerCase()));
    const unknown = [...given.keys()].filter((k) => !known.has(k));
    if (unknown.length) throw new ParameterError(`Unknown configuration ${unknown[0]}; nothing was changed`);
    // One transaction for all keys: the configuration becomes exactly the file, or stays as it was.
    const defaults = services.config.defaults();
    services.config.set(
      entries.map((e) => ({ key: e.key, value: given.get(e.key.toLowerCase()) ?? defaults.get(e.key)! })),
      actor,
    );
    return { Count: given.size };
  },
});
