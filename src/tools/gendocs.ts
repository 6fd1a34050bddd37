// Generates docs/reference.md from the declarations (schema/ and commands/). `npm run docs`
// writes it; test/unit/docs.test.ts fails when the committed file is stale.
import path from 'node:path';
import { CONFIG } from '../../schema/config.js';
import { STATUS } from '../../schema/status.js';
import { COMMANDS } from '../../commands/index.js';
import { Registry } from '../bus/registry.js';
import { leaves } from '../bus/tree.js';
import { findRoot } from '../platform/version.js';
import { atomicWrite } from '../platform/files.js';

const cell = (s: string) => s.replace(/\|/g, '\\|');

function shownPath(p: readonly string[]): string {
  return p.map((s) => (s === '#' ? 'n' : s)).join(' ');
}

export function referenceMarkdown(reg: Registry): string {
  const out: string[] = [];
  out.push('# xway command reference', '');
  out.push('Generated from schema/ and commands/ by `npm run docs`; do not edit by hand.', '');
  out.push('Value spaces: `<A/B>` one of the words (any case), `<min..max>` an integer, `<S: min, max>` a string of that many characters.', '');
  out.push('## xConfiguration', '', '| Path | Value space | Default | Role | Description |', '|---|---|---|---|---|');
  for (const { leaf } of leaves(reg.config, [], false)) {
    const idx = leaf.index ? ` (n: ${leaf.index.min}..${leaf.index.max})` : '';
    const dflt = leaf.secret ? '(secret)' : leaf.type.quoted ? JSON.stringify(String(leaf.default)) : String(leaf.default);
    out.push(`| ${cell(shownPath(leaf.path))}${idx} | \`${leaf.type.space}\` | ${cell(dflt)} | ${leaf.role} | ${cell(leaf.help)} |`);
  }
  out.push('', '## xStatus', '', '| Path | Value space | Description |', '|---|---|---|');
  for (const n of reg.statusNodes) out.push(`| ${cell(shownPath(n.path))} | \`${n.type.space}\` | ${cell(n.help)} |`);
  out.push('', '## xCommand', '');
  for (const { leaf: c } of leaves(reg.commands, [], false)) {
    out.push(`### xCommand ${c.path.join(' ')}`, '', `${c.help}. Role: ${c.role}.`, '');
    const params = Object.entries(c.params);
    if (params.length) {
      out.push('| Parameter | Value space | Required | Description |', '|---|---|---|---|');
      for (const [name, p] of params) {
        out.push(`| ${name}${p.multiple ? ' (repeatable)' : ''} | \`${p.type.space}\` | ${p.required ? 'yes' : 'no'} | ${cell(p.help)} |`);
      }
      out.push('');
    }
    if (c.payload) {
      const unless = c.payload.unless?.length ? ` (unless ${c.payload.unless.join(' or ')} is given)` : '';
      out.push(`Multiline input${unless}: ${c.payload.help}; end it with a line holding \`.\` alone (at most ${c.payload.maxBytes} bytes).`, '');
    }
  }
  return out.join('\n') + '\n';
}

export const REFERENCE_FILE = 'docs/reference.md';

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const file = path.join(findRoot(), REFERENCE_FILE);
  atomicWrite(file, referenceMarkdown(new Registry(CONFIG, STATUS, COMMANDS)), { mode: 0o644 });
  process.stdout.write(`wrote ${file}\n`);
}
