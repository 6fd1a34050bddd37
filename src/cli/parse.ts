// Turns one request line into a Request for the bus (or a reply for a malformed line), using
// the declarations in the Registry. Pure: no I/O, no state, the same line always parses the same.
import type { ConfigNode } from '../../schema/config.js';
import type { StatusNode } from '../../schema/status.js';
import type { Value } from '../../schema/types.js';
import type { Args, CommandDef } from '../../commands/define.js';
import { Registry, resultName } from '../bus/registry.js';
import { walk, search, type TreeNode, type Walk } from '../bus/tree.js';
import { errorReply, type Reply } from '../bus/reply.js';
import { CommandError, InvalidPath, ParameterError, type XapiError } from '../errors.js';
import { excerpt, tokenize, TokenizeError, type Token } from './tokenize.js';
import { feedbackHelp } from './help.js';

export type OutputMode = 'terminal' | 'xml' | 'json';

export type HelpScope = 'top' | 'status' | 'config' | 'command';

export type Request =
  | { kind: 'empty' }
  | { kind: 'status'; path: string[]; search?: string }
  | { kind: 'config-get'; path: string[]; search?: string }
  | { kind: 'config-set'; key: string; node: ConfigNode; value: Value; raw: string }
  | { kind: 'command'; def: CommandDef; args: Args; needsPayload: boolean }
  | { kind: 'feedback'; op: 'register' | 'deregister' | 'deregisterall' | 'list'; expr?: string }
  | { kind: 'preferences'; outputMode: OutputMode }
  | { kind: 'echo'; on: boolean }
  | { kind: 'help'; scope: HelpScope; path: string[]; values: boolean }
  | { kind: 'bye' }
  | { kind: 'reply'; reply: Reply };

export interface ParsedLine {
  request: Request;
  resultId?: string;
}

/** The first words of a line; unique prefixes are accepted. */
export const VERBS = ['xStatus', 'xConfiguration', 'xCommand', 'xFeedback', 'xPreferences', 'echo', 'help', 'bye', 'exit', 'quit'] as const;
type Verb = (typeof VERBS)[number];

export const MAX_LINE = 8192;

/** A line the grammar refuses: answered at once, through the same mapping as every other error. */
const refuse = (name: string, e: XapiError): Request => ({ kind: 'reply', reply: errorReply(name, e) });
const err = (name: string, reason: string) => refuse(name, new CommandError(reason));
const paramErr = (name: string, reason: string) => refuse(name, new ParameterError(reason));
const noMatch = (name: string, xpath: string, w?: Walk<unknown>) => {
  // A number out of an indexed node's range: say the range (`Clustering Peer` is 1 to 6).
  const range = w && !w.ok && w.range ? `${w.canonical.join(' ')} takes an index from ${w.range.min} to ${w.range.max}` : undefined;
  return refuse(name, new InvalidPath(excerpt(xpath), range));
};

function matchVerb(word: string): Verb | { ambiguous: string[] } | undefined {
  const lower = word.toLowerCase();
  const exact = VERBS.find((v) => v.toLowerCase() === lower);
  if (exact) return exact;
  // Single letters are too short to mean a verb ("x" would be every x-command).
  const hits = VERBS.filter((v) => v.toLowerCase().startsWith(lower) && lower.length >= 2);
  if (hits.length === 1) return hits[0];
  if (hits.length > 1) return { ambiguous: [...hits] };
  return undefined;
}

function wordsOf(tokens: Token[]): string[] | undefined {
  const out: string[] = [];
  for (const t of tokens) {
    if (t.kind !== 'word' || t.quoted) return undefined;
    out.push(t.text);
  }
  return out;
}

/** The answer to a line over MAX_LINE characters (the session gives it once per such line). */
export const lineTooLong = (): Request => err('CommandResult', `Line too long: at most ${MAX_LINE} characters`);

export function parseLine(line: string, reg: Registry): ParsedLine {
  if (line.length > MAX_LINE) return { request: lineTooLong() };
  let tk;
  try {
    tk = tokenize(line);
  } catch (e) {
    return { request: err('CommandResult', (e as TokenizeError).message) };
  }
  const { tokens, resultId } = tk;
  return { request: parseTokens(tokens, reg), resultId };
}

function parseTokens(tokens: Token[], reg: Registry): Request {
  if (tokens.length === 0) return { kind: 'empty' };
  const first = tokens[0]!;
  if (first.kind !== 'word' || first.quoted) return { kind: 'reply', reply: { kind: 'unrecognized' } };
  if (first.text === '?' || first.text === '??') {
    return tokens.length === 1 ? { kind: 'help', scope: 'top', path: [], values: first.text === '??' } : { kind: 'reply', reply: { kind: 'unrecognized' } };
  }
  const verb = matchVerb(first.text);
  if (verb === undefined) return { kind: 'reply', reply: { kind: 'unrecognized' } };
  if (typeof verb === 'object') {
    return err('CommandResult', `Ambiguous command ${excerpt(first.text)}: could be ${verb.ambiguous.join(', ')}`);
  }
  const rest = tokens.slice(1);
  switch (verb) {
    case 'xStatus':
      return parseGet(rest, reg.status, 'status', 'StatusResult', '/Status');
    case 'xConfiguration':
      return parseConfig(rest, reg);
    case 'xCommand':
      return parseCommand(rest, reg);
    case 'xFeedback':
      return parseFeedback(rest, reg);
    case 'xPreferences':
      return parsePreferences(rest);
    case 'echo': {
      const w = wordsOf(rest);
      if (w?.length === 1 && /^(on|off)$/i.test(w[0]!)) return { kind: 'echo', on: w[0]!.toLowerCase() === 'on' };
      return paramErr('EchoResult', 'Usage: echo <on/off>');
    }
    case 'help':
      return rest.length === 0 ? { kind: 'help', scope: 'top', path: [], values: false } : paramErr('HelpResult', 'Usage: help, or <command> ?');
    case 'bye':
    case 'exit':
    case 'quit':
      return { kind: 'bye' };
  }
}

/** A trailing `?` or `??` asks for help on what precedes it. */
function helpSuffix(words: string[]): { words: string[]; values: boolean } | undefined {
  const last = words[words.length - 1];
  if (last === '?' || last === '??') return { words: words.slice(0, -1), values: last === '??' };
  return undefined;
}

function parseGet<L>(rest: Token[], tree: TreeNode<L>, scope: 'status' | 'config', name: string, root: string): Request {
  const words = wordsOf(rest);
  if (!words) return paramErr(name, 'Unexpected parameter or quoted value in a path');
  const help = helpSuffix(words);
  if (help) {
    const w = walk(tree, help.words);
    if (!w.ok) return noMatch(name, `${root}/${help.words.join('/')}`, w);
    return { kind: 'help', scope, path: w.canonical, values: help.values };
  }
  if (words.length === 1 && words[0]!.startsWith('//')) {
    const term = words[0]!.slice(2);
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(term) || search(tree, term).length === 0) return noMatch(name, `${root}/${words[0]}`);
    return scope === 'status' ? { kind: 'status', path: [], search: term } : { kind: 'config-get', path: [], search: term };
  }
  const w = walk(tree, words);
  if (!w.ok) return noMatch(name, `${root}/${words.join('/')}`, w);
  return scope === 'status' ? { kind: 'status', path: w.canonical } : { kind: 'config-get', path: w.canonical };
}

function parseConfig(rest: Token[], reg: Registry): Request {
  const setAt = rest.findIndex((t) => t.kind === 'param');
  if (setAt < 0) return parseGet(rest, reg.config, 'config', 'ConfigurationResult', '/Configuration');
  const last = rest[setAt]!;
  if (last.kind !== 'param' || setAt !== rest.length - 1) {
    return err('ConfigurationResult', 'Expected: xConfiguration <path>: <value>');
  }
  const before = wordsOf(rest.slice(0, setAt));
  if (!before) return err('ConfigurationResult', 'Expected: xConfiguration <path>: <value>');
  const words = [...before, last.name];
  const w = walk(reg.config, words);
  if (!w.ok || !w.node.leaf) return noMatch('ConfigurationResult', `/Configuration/${words.join('/')}`, w);
  const key = w.canonical.join(' ');
  const node = w.node.leaf;
  if (last.value === undefined) {
    return err('ConfigurationResult', `Missing value for ${key}: expected ${node.type.space}`);
  }
  if (last.value === '?' && !last.quoted) return { kind: 'help', scope: 'config', path: w.canonical, values: true };
  const parsed = node.type.parse(last.value);
  if (!parsed.ok) {
    const shown = node.secret ? '(hidden)' : excerpt(last.value);
    return err('ConfigurationResult', `Invalid value ${shown} for ${key}: ${parsed.reason}`);
  }
  return { kind: 'config-set', key, node, value: parsed.value, raw: last.value };
}

function parseCommand(rest: Token[], reg: Registry): Request {
  // Path words run until the first parameter, quoted value, or the command leaf.
  const pathWords: string[] = [];
  for (const t of rest) {
    if (t.kind !== 'word' || t.quoted) break;
    pathWords.push(t.text);
  }
  const help = helpSuffix(pathWords);
  if (help && pathWords.length === rest.length) {
    const w = walk(reg.commands, help.words);
    if (!w.ok) return noMatch('CommandResult', `/Command/${help.words.join('/')}`);
    return { kind: 'help', scope: 'command', path: w.canonical, values: help.values };
  }
  const w = walk(reg.commands, pathWords, true);
  if (!w.ok) {
    // An unknown word after a command name is an argument problem, reported as such below.
    return noMatch('CommandResult', `/Command/${pathWords.join('/')}`);
  }
  const def = w.node.leaf;
  if (!def) {
    if (w.consumed < rest.length) return noMatch('CommandResult', `/Command/${pathWords.join('/')}`);
    return err('CommandResult', `Incomplete command: ${['xCommand', ...w.canonical].join(' ')} needs one of: ${[...w.node.children.values()].map((c) => c.name).join(', ')}`);
  }
  const name = resultName(def.path);
  const argTokens = rest.slice(w.consumed);
  if (argTokens.length === 1 && argTokens[0]!.kind === 'word' && !argTokens[0]!.quoted && (argTokens[0]!.text === '?' || argTokens[0]!.text === '??')) {
    return { kind: 'help', scope: 'command', path: w.canonical, values: true };
  }
  const args: Args = {};
  const names = Object.keys(def.params);
  const positional = names.slice();
  const matchParam = (typed: string): string | undefined => {
    const lower = typed.toLowerCase();
    return names.find((n) => n.toLowerCase() === lower);
  };
  for (const t of argTokens) {
    let pname: string | undefined;
    let value: string | undefined;
    if (t.kind === 'param') {
      pname = matchParam(t.name);
      if (!pname) return paramErr(name, `Unknown parameter ${excerpt(t.name)}: expected one of ${names.join(', ') || '(none)'}`);
      value = t.value;
      if (value === undefined) return paramErr(name, `Missing value for ${pname} ${def.params[pname]!.type.space}`);
    } else {
      // Positional values fill the parameters not yet given, in declared order.
      pname = positional.find((n) => args[n] === undefined);
      if (!pname) return paramErr(name, `Unexpected value ${excerpt(t.text)}`);
      value = t.text;
    }
    const p = def.params[pname]!;
    const parsed = p.type.parse(value);
    if (!parsed.ok) return paramErr(name, `Invalid value ${p.secret ? '(hidden)' : excerpt(value)} for ${pname}: ${parsed.reason}`);
    const prev = args[pname];
    if (prev !== undefined && !p.multiple) return paramErr(name, `Parameter ${pname} given more than once`);
    if (p.multiple) {
      const list = (prev as Value[] | undefined) ?? [];
      if (list.length >= 1000) return paramErr(name, `Parameter ${pname} repeated more than 1000 times`);
      args[pname] = [...list, parsed.value];
    } else {
      args[pname] = parsed.value;
    }
  }
  for (const n of names) {
    const p = def.params[n]!;
    if (p.required && args[n] === undefined) return paramErr(name, `Missing required parameter ${n} ${p.type.space}`);
  }
  const needsPayload = !!def.payload && !(def.payload.unless ?? []).some((u) => args[u] !== undefined);
  return { kind: 'command', def, args, needsPayload };
}

function parseFeedback(rest: Token[], reg: Registry): Request {
  const words = wordsOf(rest);
  // `xFeedback ?`, `xFeedback register ?`: help, not "No match".
  if (words?.length && (words[words.length - 1] === '?' || words[words.length - 1] === '??') && words.length <= 2) {
    return { kind: 'reply', reply: feedbackHelp(reg) };
  }
  const op = words?.[0]?.toLowerCase();
  const usage = 'Usage: xFeedback register <path> | deregister <path> | deregisterall | list';
  if (!words || !op) return paramErr('FeedbackResult', usage);
  const ops = ['register', 'deregister', 'deregisterall', 'list'] as const;
  const hit = ops.find((o) => o === op);
  if (!hit) return paramErr('FeedbackResult', usage);
  if (hit === 'register' || hit === 'deregister') {
    if (words.length < 2) return paramErr('FeedbackResult', `Missing path: xFeedback ${hit} <path>`);
    // Feedback paths are written `/Status/SystemUnit` or as words `Status SystemUnit`.
    const expr = words.length === 2 ? words[1]! : '/' + words.slice(1).join('/');
    return { kind: 'feedback', op: hit, expr };
  }
  if (words.length !== 1) return paramErr('FeedbackResult', usage);
  return { kind: 'feedback', op: hit };
}

function parsePreferences(rest: Token[]): Request {
  const words = wordsOf(rest);
  const usage = 'Usage: xPreferences outputmode <terminal/xml/json>';
  if (!words || words.length !== 2 || !'outputmode'.startsWith(words[0]!.toLowerCase())) return paramErr('PreferencesResult', usage);
  const mode = (['terminal', 'xml', 'json'] as const).find((m) => m === words[1]!.toLowerCase());
  if (!mode) return paramErr('PreferencesResult', `Invalid value ${excerpt(words[1]!)} for outputmode: expected <terminal/xml/json>`);
  return { kind: 'preferences', outputMode: mode };
}

export type { StatusNode };
