// `xPreferences outputmode xml`: replies as Cisco codec XML documents, one `<XmlDoc>` per reply:
//
//   <?xml version="1.0"?>
//   <XmlDoc resultId="7">
//     <Status>
//       <SystemUnit>
//         <Uptime>5321</Uptime>
//       </SystemUnit>
//     </Status>
//   </XmlDoc>
//
// Configuration gets are rooted at <Configuration>, command results at
// <CommandResponse><NameResult status="OK|Error|ParameterError">, errors carry <Reason> (and
// <XPath>); indexed nodes repeat their element with item="n". A success with nothing to show is an
// empty XmlDoc when tagged and nothing at all when not; feedback is the same document as a get,
// with resultId="". Like the JSON mode, nothing else goes on the channel (no `OK`).
import type { Reply } from '../../bus/reply.js';
import type { Feedback } from '../../bus/feedback.js';
import type { Field, Fields } from '../../../commands/define.js';
import type { StatusTree, StatusValue } from '../../services/interfaces.js';
import { indexOf } from '../../bus/statustree.js';
import { UNSAFE, hex4 } from './unsafe.js';

/**
 * Escapes text and attribute values. C0 controls other than tab/newline/CR are dropped and
 * noncharacters and lone surrogates become U+FFFD (XML 1.0 cannot carry them, not even as
 * references); the other unsafe characters (C1, bidi controls) go out as character references,
 * so a parser gets them back while a terminal showing the document sees plain text.
 */
export function esc(s: string): string {
  return s
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!)
    .replace(UNSAFE, (c) => {
      const code = c.charCodeAt(0);
      if (c === '\t' || c === '\n' || c === '\r') return c;
      if (code < 0x20 || code === 0x7f) return '';
      if (code === 0xfffe || code === 0xffff || (code >= 0xd800 && code <= 0xdfff)) return '\ufffd';
      return `&#x${hex4(c).toUpperCase()};`;
    });
}

/** An element name must be an XML name; ours are PascalCase words, but a status key could be odd. */
function tag(name: string): string {
  const t = name.replace(/[^A-Za-z0-9_.-]/g, '_');
  return /^[A-Za-z_]/.test(t) ? t : `_${t}`;
}

const pad = (n: number) => '  '.repeat(n);

function elements(t: StatusTree | Fields, depth: number, out: string[]): void {
  for (const [name, value] of Object.entries(t)) element(name, value as StatusValue | Field, depth, out, '');
}

function element(name: string, value: StatusValue | Field, depth: number, out: string[], attrs: string): void {
  const n = tag(name);
  if (typeof value === 'string' || typeof value === 'number') {
    out.push(`${pad(depth)}<${n}${attrs}>${esc(String(value))}</${n}>`);
  } else if (Array.isArray(value)) {
    (value as readonly unknown[]).forEach((item, i) => {
      if (typeof item === 'object' && item !== null) {
        element(name, item as StatusTree, depth, out, ` item="${indexOf(item, i)}"`);
      } else {
        element(name, String(item), depth, out, ` item="${i + 1}"`);
      }
    });
  } else {
    out.push(`${pad(depth)}<${n}${attrs}>`);
    elements(value as StatusTree, depth + 1, out);
    out.push(`${pad(depth)}</${n}>`);
  }
}

type Entries = Extract<Reply, { kind: 'config' }>['entries'];

interface CNode { children: Map<string, CNode>; value?: string; item?: string; name: string }

/** Flat configuration entries as nested elements; a numeric segment after a name is an item. */
function configElements(entries: Entries, depth: number, out: string[]): void {
  const root: CNode = { name: '', children: new Map() };
  for (const e of entries) {
    let cur = root;
    for (let i = 0; i < e.path.length; i++) {
      const name = e.path[i]!;
      const idx = i + 1 < e.path.length && /^\d+$/.test(e.path[i + 1]!) ? e.path[i + 1] : undefined;
      const key = idx === undefined ? name : `${name}\u0000${idx}`;
      let next = cur.children.get(key);
      if (!next) cur.children.set(key, (next = { name, children: new Map(), item: idx }));
      cur = next;
      if (idx !== undefined) i++;
    }
    cur.value = String(e.value);
  }
  const emit = (n: CNode, d: number) => {
    const t = tag(n.name);
    const attrs = n.item === undefined ? '' : ` item="${n.item}"`;
    if (n.value !== undefined && n.children.size === 0) {
      out.push(`${pad(d)}<${t}${attrs}>${esc(n.value)}</${t}>`);
      return;
    }
    out.push(`${pad(d)}<${t}${attrs}>`);
    for (const c of n.children.values()) emit(c, d + 1);
    out.push(`${pad(d)}</${t}>`);
  };
  for (const c of root.children.values()) emit(c, depth);
}

function doc(body: string[], resultId = ''): string {
  return ['<?xml version="1.0"?>', `<XmlDoc resultId="${esc(resultId)}">`, ...body, '</XmlDoc>'].join('\n') + '\n';
}

function commandResponse(name: string, status: string, inner: string[]): string[] {
  const n = tag(name);
  return ['  <CommandResponse>', `    <${n} status="${status}">`, ...inner, `    </${n}>`, '  </CommandResponse>'];
}

export function render(reply: Reply, resultId?: string): string {
  const body: string[] = [];
  switch (reply.kind) {
    case 'status':
      body.push('  <Status>');
      elements(reply.tree, 2, body);
      body.push('  </Status>');
      break;
    case 'config':
      body.push('  <Configuration>');
      configElements(reply.entries, 2, body);
      body.push('  </Configuration>');
      break;
    case 'result': {
      const inner: string[] = [];
      elements(reply.fields, 3, inner);
      body.push(...commandResponse(reply.name, reply.status, inner));
      break;
    }
    case 'ok':
      if (resultId === undefined) return '';
      break;
    case 'unrecognized':
      body.push(...commandResponse('Result', 'Error', ['      <Reason>Command not recognized.</Reason>']));
      break;
    case 'text': {
      const inner = reply.lines.map((l, i) => `      <Line item="${i + 1}">${esc(l)}</Line>`);
      if (!reply.ok) inner.unshift(`      <Reason>${esc(reply.lines.join('\n'))}</Reason>`);
      body.push(...commandResponse('Result', reply.ok ? 'OK' : 'Error', inner));
      break;
    }
  }
  return doc(body, resultId);
}

export function renderFeedback(f: Feedback): string {
  const body: string[] = [];
  switch (f.kind) {
    case 'status':
      body.push('  <Status>');
      elements(f.tree, 2, body);
      body.push('  </Status>');
      break;
    case 'config':
      body.push('  <Configuration>');
      configElements(f.entries, 2, body);
      body.push('  </Configuration>');
      break;
    case 'event': {
      const words = f.name.split(/[\s/]+/).filter(Boolean);
      body.push('  <Event>');
      const inner: string[] = [];
      elements(f.fields, 2 + words.length, inner);
      words.forEach((w, i) => body.push(`${pad(2 + i)}<${tag(w)}>`));
      body.push(...inner);
      for (let i = words.length - 1; i >= 0; i--) body.push(`${pad(2 + i)}</${tag(words[i]!)}>`);
      body.push('  </Event>');
      break;
    }
  }
  return doc(body);
}
