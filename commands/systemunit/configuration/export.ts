import { str } from '../../../schema/types.js';
import { defineCommand, param } from '../../define.js';
import { formatLine } from './format.js';

export default defineCommand({
  path: ['SystemUnit', 'Configuration', 'Export'],
  help: 'Write the whole configuration to a file in /tmp (replayable xConfiguration lines, secrets included, mode 0600)',
  role: 'Admin',
  params: { File: param(str(1, 128), 'File name in /tmp (default /tmp/xway-config.txt)', { file: true }) },
  async run(args, { services }) {
    const entries = services.config.entries();
    const text = [
      `# xway configuration export, version ${services.system.version}`,
      ...entries.map((e) => formatLine(e.key, e.value)),
    ].join('\n') + '\n';
    const shown = services.uploads.write(args.File ?? 'xway-config.txt', text);
    return { File: shown, Count: entries.length };
  },
});
