// `xPreferences outputmode json`: replies in the Cisco codec's JSON form, the one Cisco's npm
// `jsxapi` (lib/backend/tsh.js, lib/xapi/rpc.js) parses over SSH. One document per reply, on one
// line, ended by "\n"; nothing else goes on the channel (no `OK`). Shapes:
//
//   status    {"Status":{"SystemUnit":{"Uptime":{"Value":"5321"}}},"ResultId":"7"}
//   config    {"Configuration":{"Http":{"Redirect":{"Mode":{"Value":"Off"}}}},"ResultId":"7"}
//   command   {"CommandResponse":{"SecurityAcmeDeployResult":{"status":"OK","NotAfter":{"Value":"..."}}},"ResultId":"7"}
//   error     {"CommandResponse":{"<Name>Result":{"status":"Error","Reason":{"Value":"..."},"XPath":{"Value":"..."}}},"ResultId":"7"}
//             (status "ParameterError" for bad parameters; jsxapi throws InvalidPathError when
//             XPath is present, ParameterError for ParameterError, XAPIError(Reason) otherwise)
//   ok        {"ResultId":"7"}   (a configuration set, echo, a feedback registration);
//             nothing at all when the request was not tagged
//   unknown   {"CommandResponse":{"Result":{"status":"Error","Reason":{"Value":"Command not recognized."}}},"ResultId":"7"}
//   text      {"CommandResponse":{"Result":{"status":"OK","Line":[{"id":"1","Value":"..."}]}},"ResultId":"7"}
//             (help and listings; status "Error" with a Reason when the text is an error)
//   feedback  the same document as a get of the node, without ResultId:
//             {"Status":{...}}, {"Configuration":{...}}, {"Event":{"Security":{"Acme":{...}}}}
//             (jsxapi tells feedback from replies by the absence of ResultId)
//
// Every leaf is {"Value":"<text>"}; numbers are sent as their decimal text, as the codec does.
// Indexed nodes (`Alarm 2`, `Clustering Peer 2`) are arrays of objects carrying "id":"<n>";
// jsxapi finds `Status/Alarm[2]/Id` by that id.
import type { Reply } from '../../bus/reply.js';
import type { Feedback } from '../../bus/feedback.js';
import type { Field, Fields } from '../../../commands/define.js';
import type { StatusTree, StatusValue } from '../../services/interfaces.js';
import { indexOf } from '../../bus/statustree.js';
import { LONE_SURROGATE, UNSAFE, hex4 } from './unsafe.js';

type Json = string | { [k: string]: Json } | Json[];

const leaf = (v: string | number): Json => ({ Value: String(v) });

/** A status subtree or a result's fields, as Cisco JSON. */
function tree(t: StatusTree | Fields): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  for (const [name, value] of Object.entries(t)) out[name] = node(value as StatusValue | Field);
  return out;
}

function node(value: StatusValue | Field): Json {
  if (typeof value === 'string' || typeof value === 'number') return leaf(value);
  if (Array.isArray(value)) {
    return (value as readonly unknown[]).map((item, i): Json => {
      if (typeof item === 'object' && item !== null) return { id: String(indexOf(item, i)), ...tree(item as StatusTree) };
      return { id: String(i + 1), Value: String(item) };
    });
  }
  return tree(value as StatusTree);
}

type Entries = Extract<Reply, { kind: 'config' }>['entries'];

/** Flat `path: value` entries as a nested object; a numeric segment after a name is an index. */
export function configTree(entries: Entries): { [k: string]: Json } {
  const root: { [k: string]: Json } = {};
  for (const e of entries) {
    let cur = root;
    const p = e.path;
    for (let i = 0; i < p.length; i++) {
      const name = p[i]!;
      const last = i === p.length - 1;
      const idx = !last && /^\d+$/.test(p[i + 1]!) ? p[i + 1]! : undefined;
      if (idx !== undefined) {
        const list = (cur[name] ??= []) as { [k: string]: Json }[];
        let item = list.find((x) => x.id === idx);
        if (!item) list.push((item = { id: idx }));
        if (i + 1 === p.length - 1) {
          item.Value = String(e.value);
          break;
        }
        cur = item;
        i++;
      } else if (last) {
        cur[name] = leaf(e.value);
      } else {
        cur = (cur[name] ??= {}) as { [k: string]: Json };
      }
    }
  }
  return root;
}

function doc(body: { [k: string]: Json }, resultId?: string): string {
  if (resultId !== undefined) body.ResultId = resultId;
  // JSON.stringify leaves C1 controls, bidi overrides and the like raw; as \u escapes a parser
  // gets the same string and a terminal showing the line sees plain text. Lone surrogates, which
  // no text can hold, become U+FFFD.
  const text = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'string' ? v.replace(LONE_SURROGATE, '\ufffd') : v));
  return text.replace(UNSAFE, (c) => '\\u' + hex4(c)) + '\n';
}

function commandResponse(name: string, status: string, fields: { [k: string]: Json }, resultId?: string): string {
  return doc({ CommandResponse: { [name]: { status, ...fields } } }, resultId);
}

export function render(reply: Reply, resultId?: string): string {
  switch (reply.kind) {
    case 'status':
      return doc({ Status: tree(reply.tree) }, resultId);
    case 'config':
      return doc({ Configuration: configTree(reply.entries) }, resultId);
    case 'result':
      return commandResponse(reply.name, reply.status, tree(reply.fields), resultId);
    case 'ok':
      return resultId === undefined ? '' : doc({}, resultId);
    case 'unrecognized':
      return commandResponse('Result', 'Error', { Reason: leaf('Command not recognized.') }, resultId);
    case 'text': {
      const lines: Json = reply.lines.map((l, i) => ({ id: String(i + 1), Value: l }));
      const fields: { [k: string]: Json } = reply.ok ? { Line: lines } : { Reason: leaf(reply.lines.join('\n')), Line: lines };
      return commandResponse('Result', reply.ok ? 'OK' : 'Error', fields, resultId);
    }
  }
}

/** `Security Acme Sign` or `SecurityAcmeSign`: nested by words so jsxapi's `event.on()` paths match. */
function eventTree(name: string, fields: Fields): { [k: string]: Json } {
  const words = name.split(/[\s/]+/).filter(Boolean);
  let body: { [k: string]: Json } = tree(fields);
  for (let i = words.length - 1; i >= 0; i--) body = { [words[i]!]: body };
  return body;
}

export function renderFeedback(f: Feedback): string {
  switch (f.kind) {
    case 'status':
      return doc({ Status: tree(f.tree) });
    case 'config':
      return doc({ Configuration: configTree(f.entries) });
    case 'event':
      return doc({ Event: eventTree(f.name, f.fields) });
  }
}
