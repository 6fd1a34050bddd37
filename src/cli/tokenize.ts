// Splits one request line into words and `Name: value` parameters, and peels off the
// `| resultId="tag"` suffix. Pure; knows nothing of the schema.

export type Token =
  | { kind: 'word'; text: string; quoted: boolean }
  | { kind: 'param'; name: string; value: string | undefined; quoted: boolean };

export interface Tokenized {
  tokens: Token[];
  resultId?: string;
}

export class TokenizeError extends Error {}

/** Input quoted in an error, shortened so that a reply never echoes a long line back. */
export function excerpt(text: string, max = 80): string {
  if (text.length <= max) return text;
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 20).join('')}... (${chars.length} characters)`;
}

const NAME = /^[A-Za-z][A-Za-z0-9]*$/;

/** Reads a double-quoted string starting at `i` (on the quote); returns the text and the index after it. */
function readQuoted(line: string, i: number): { text: string; end: number } {
  let out = '';
  for (let j = i + 1; j < line.length; j++) {
    const c = line[j]!;
    if (c === '\\' && (line[j + 1] === '"' || line[j + 1] === '\\')) {
      out += line[j + 1];
      j++;
    } else if (c === '"') {
      return { text: out, end: j + 1 };
    } else {
      out += c;
    }
  }
  throw new TokenizeError('Unterminated quoted string');
}

/** Finds an unquoted `|` (the start of the resultId suffix), or -1. */
function findPipe(line: string): number {
  let inQuote = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (inQuote && c === '\\') i++;
    else if (c === '"') inQuote = !inQuote;
    else if (!inQuote && c === '|') return i;
  }
  return -1;
}

function parseResultId(suffix: string): string {
  const m = /^\s*resultId\s*=\s*(?:"((?:[^"\\]|\\.)*)"|(\S+))\s*$/i.exec(suffix);
  if (!m) throw new TokenizeError('Invalid request suffix: expected | resultId="tag"');
  const tag = m[1] !== undefined ? m[1].replace(/\\(["\\])/g, '$1') : m[2]!;
  if (tag.length > 64) throw new TokenizeError('resultId is longer than 64 characters');
  return tag;
}

export function tokenize(line: string): Tokenized {
  let body = line;
  let resultId: string | undefined;
  const pipe = findPipe(line);
  if (pipe >= 0) {
    resultId = parseResultId(line.slice(pipe + 1));
    body = line.slice(0, pipe);
  }
  const tokens: Token[] = [];
  let pendingName: string | undefined;
  let i = 0;
  const push = (text: string, quoted: boolean) => {
    if (pendingName !== undefined) {
      tokens.push({ kind: 'param', name: pendingName, value: text, quoted });
      pendingName = undefined;
      return;
    }
    if (!quoted) {
      const colon = text.indexOf(':');
      if (colon > 0 && NAME.test(text.slice(0, colon)) && !text.slice(colon + 1).startsWith('//')) {
        const rest = text.slice(colon + 1);
        if (rest === '') pendingName = text.slice(0, colon);
        else tokens.push({ kind: 'param', name: text.slice(0, colon), value: rest, quoted: false });
        return;
      }
    }
    tokens.push({ kind: 'word', text, quoted });
  };
  while (i < body.length) {
    const c = body[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '"') {
      const q = readQuoted(body, i);
      push(q.text, true);
      i = q.end;
      continue;
    }
    // A bare word; `Name:"quoted value"` is one parameter.
    let j = i;
    while (j < body.length && body[j] !== ' ' && body[j] !== '\t' && body[j] !== '"') j++;
    const word = body.slice(i, j);
    if (body[j] === '"' && word.endsWith(':') && NAME.test(word.slice(0, -1)) && pendingName === undefined) {
      const q = readQuoted(body, j);
      tokens.push({ kind: 'param', name: word.slice(0, -1), value: q.text, quoted: true });
      i = q.end;
      continue;
    }
    if (body[j] === '"') throw new TokenizeError(`Unexpected quote after ${excerpt(word)}`);
    push(word, false);
    i = j;
  }
  if (pendingName !== undefined) tokens.push({ kind: 'param', name: pendingName, value: undefined, quoted: false });
  return { tokens, resultId };
}
