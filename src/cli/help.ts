// `?`, `<path> ?` and `??`: generated from the declarations, never written by hand.
import type { ConfigNode } from '../../schema/config.js';
import type { StatusNode } from '../../schema/status.js';
import type { CommandDef } from '../../commands/define.js';
import type { Registry } from '../bus/registry.js';
import type { Reply } from '../bus/reply.js';
import { leaves, sorted, walk, type TreeNode } from '../bus/tree.js';
import type { HelpScope } from './parse.js';

export const TOP_HELP: readonly [string, string][] = [
  ['xStatus', 'Read status: xStatus [path], xStatus //Name'],
  ['xConfiguration', 'Read or set configuration: xConfiguration [path], xConfiguration <path>: <value>'],
  ['xCommand', 'Run a command: xCommand <path> [Name: value]...'],
  ['xFeedback', 'Subscribe to changes: xFeedback register|deregister <path>, deregisterall, list'],
  ['xPreferences', 'Session preferences: xPreferences outputmode <terminal/xml/json>'],
  ['echo', 'Echo typed characters: echo <on/off>'],
  ['help', 'This list; add ? after any path for its children, ?? for value spaces'],
  ['bye', 'End the session (also exit, quit)'],
];

const VERB: Record<Exclude<HelpScope, 'top'>, string> = { status: 'xStatus', config: 'xConfiguration', command: 'xCommand' };

function column(rows: [string, string][]): string[] {
  const w = Math.max(0, ...rows.map(([a]) => a.length)) + 2;
  return rows.map(([a, b]) => (b ? a.padEnd(w) + b : a));
}

function label<L>(n: TreeNode<L>): string {
  return n.indexRange ? `${n.name} [${n.indexRange.min}..${n.indexRange.max}]` : n.name;
}

function childRows<L>(n: TreeNode<L>, describe: (l: L) => string): [string, string][] {
  if (n.indexRange) return [[`[${n.indexRange.min}..${n.indexRange.max}]`, '']];
  return sorted(n).map((c) => [label(c), c.leaf ? describe(c.leaf) : '']);
}

function commandLines(def: CommandDef): string[] {
  const lines = [`*? xCommand ${def.path.join(' ')}`, `     ${def.help}`];
  for (const [name, p] of Object.entries(def.params)) {
    const flags = [p.required ? 'r' : '', p.multiple ? 'm' : ''].filter(Boolean).join(',');
    lines.push(`     ${name}${flags ? `(${flags})` : ''}: ${p.type.space}  ${p.help}`);
  }
  if (def.payload) lines.push(`     (multiline) ${def.payload.help}, ended by a line holding "."`);
  return lines;
}

/** `xFeedback ?` and `xFeedback register ?`: the operations and the paths they take. */
export function feedbackHelp(reg: Registry): Reply {
  const roots = (name: string, tree: TreeNode<unknown>) => `/${name}/<path>: ${sorted(tree).map((c) => `/${name}/${c.name}`).join(', ')}`;
  return {
    kind: 'text',
    ok: true,
    lines: [
      ...column([
        ['xFeedback register <path>', 'Send changes under <path> between replies'],
        ['xFeedback deregister <path>', 'Stop one registration'],
        ['xFeedback deregisterall', 'Stop every registration'],
        ['xFeedback list', 'The registrations held'],
      ]),
      'Paths (deeper paths and indexes as /Alarm/2 or /Alarm[2] narrow them):',
      `  ${roots('Status', reg.status as TreeNode<unknown>)}`,
      `  ${roots('Configuration', reg.config as TreeNode<unknown>)}`,
      '  /Event/<name>: /Event (every event), /Event/AcmeProgress',
    ],
  };
}

export function help(reg: Registry, scope: HelpScope, path: readonly string[], values: boolean): Reply {
  if (scope === 'top') {
    return { kind: 'text', ok: true, lines: column(TOP_HELP.map(([a, b]) => [a, b])) };
  }
  const verb = VERB[scope];
  if (scope === 'command') {
    const w = walk(reg.commands, path);
    if (!w.ok) return { kind: 'text', ok: false, lines: ['No match on address expression'] };
    if (w.node.leaf) return { kind: 'text', ok: true, lines: commandLines(w.node.leaf) };
    if (values) return { kind: 'text', ok: true, lines: leaves(w.node, path, false).flatMap(({ leaf }) => commandLines(leaf)) };
    return { kind: 'text', ok: true, lines: column(childRows(w.node, (d: CommandDef) => d.help)) };
  }
  const tree = (scope === 'status' ? reg.status : reg.config) as TreeNode<ConfigNode | StatusNode>;
  const w = walk(tree, path);
  if (!w.ok) return { kind: 'text', ok: false, lines: ['No match on address expression'] };
  const leafLine = (p: readonly string[], l: ConfigNode | StatusNode) => {
    const extra = 'default' in l ? `  (default ${l.type.quoted ? JSON.stringify(String(l.default)) : l.default})` : '';
    return [`*? ${verb} ${p.join(' ')}: ${l.type.space}${extra}`, `     ${l.help}`];
  };
  if (w.node.leaf) return { kind: 'text', ok: true, lines: leafLine(w.canonical, w.node.leaf) };
  if (values) return { kind: 'text', ok: true, lines: leaves(w.node, w.canonical, false).flatMap(({ path: p, leaf }) => leafLine(p, leaf)) };
  return { kind: 'text', ok: true, lines: column(childRows(w.node, (l) => l.type.space)) };
}
