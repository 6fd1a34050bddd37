// The Expressway terminal dialect, byte for byte (spec section 9). Lines end in "\n" here; the
// session turns them into CRLF on a pty.
import type { Reply } from '../../bus/reply.js';
import type { Feedback } from '../../bus/feedback.js';
import type { Field, Fields } from '../../../commands/define.js';
import type { StatusTree, StatusValue } from '../../services/interfaces.js';
import { indexOf } from '../../bus/statustree.js';
import { UNSAFE, escapeForTerminal } from './unsafe.js';

/** Quotes a string value; unsafe characters are escaped so one value is always one plain line. */
export function quote(s: string): string {
  return '"' + s.replace(/[\\"]/g, (c) => '\\' + c).replace(UNSAFE, escapeForTerminal) + '"';
}

/** Whole output: anything unsafe outside quotes (names, text lines) is escaped too; newlines stay. */
function safe(text: string): string {
  return text.replace(UNSAFE, (c) => (c === '\n' ? c : escapeForTerminal(c)));
}

const pad = (n: number) => ' '.repeat(n);

function statusLines(tree: StatusTree | Fields, indent: number, out: string[]): void {
  for (const [name, value] of Object.entries(tree)) valueLines(name, value as StatusValue | Field, indent, out);
}

function valueLines(name: string, value: StatusValue | Field, indent: number, out: string[]): void {
  if (typeof value === 'string') out.push(`${pad(indent)}${name}: ${quote(value)}`);
  else if (typeof value === 'number') out.push(`${pad(indent)}${name}: ${value}`);
  else if (Array.isArray(value)) {
    value.forEach((item: unknown, i: number) => {
      const n = typeof item === 'object' && item !== null ? indexOf(item, i) : i + 1;
      if (typeof item === 'object' && item !== null) {
        out.push(`${pad(indent)}${name} ${n}:`);
        statusLines(item as StatusTree, indent + 2, out);
      } else {
        valueLines(`${name} ${n}`, item as string, indent, out);
      }
    });
  } else {
    out.push(`${pad(indent)}${name}:`);
    statusLines(value as StatusTree, indent + 2, out);
  }
}

/** `*s Group: /` blocks, each closed by `*s/end`. */
export function statusBlocks(tree: StatusTree): string[] {
  const out: string[] = [];
  for (const [group, value] of Object.entries(tree)) {
    if (Array.isArray(value)) {
      value.forEach((item: StatusTree, i: number) => {
        out.push(`*s ${group} ${indexOf(item, i)}: /`);
        statusLines(item, 5, out);
        out.push('*s/end');
      });
    } else if (typeof value === 'object') {
      out.push(`*s ${group}: /`);
      statusLines(value as StatusTree, 5, out);
      out.push('*s/end');
    } else {
      out.push(`*s ${group}: ${typeof value === 'number' ? value : quote(value)}`);
      out.push('*s/end');
    }
  }
  return out;
}

export function configLines(entries: Extract<Reply, { kind: 'config' }>['entries']): string[] {
  return entries.map((e) => `*c xConfiguration ${e.path.join(' ')}: ${e.quoted ? quote(String(e.value)) : e.value}`);
}

export function renderTerminal(reply: Reply): string {
  let lines: string[];
  switch (reply.kind) {
    case 'status': {
      const blocks = statusBlocks(reply.tree);
      lines = [...(blocks.length ? blocks : ['*s/end']), '', 'OK'];
      break;
    }
    case 'config':
      lines = [...configLines(reply.entries), 'OK'];
      break;
    case 'result': {
      const body: string[] = [];
      statusLines(reply.fields, 5, body);
      lines = [`*r ${reply.name} (status=${reply.status}):`, ...body, '*r/end', '', reply.status === 'OK' ? 'OK' : 'ERROR'];
      break;
    }
    case 'ok':
      lines = ['OK'];
      break;
    case 'unrecognized':
      lines = ['Command not recognized.'];
      break;
    case 'text':
      lines = [...reply.lines, reply.ok ? 'OK' : 'ERROR'];
      break;
  }
  return safe(lines.join('\n') + '\n');
}

/** Feedback between replies: the same form as a get of the node, without OK. */
export function renderFeedbackTerminal(f: Feedback): string {
  let lines: string[];
  switch (f.kind) {
    case 'status':
      lines = statusBlocks(f.tree);
      break;
    case 'config':
      lines = configLines(f.entries);
      break;
    case 'event': {
      const body: string[] = [];
      statusLines(f.fields, 5, body);
      lines = [`*e ${f.name}:`, ...body, '*e/end'];
      break;
    }
  }
  return safe(lines.join('\n') + '\n');
}
