// The xStatus tree, declared once: every leaf a service may report, with its value space and help.
// Providers in src/services fill in values; a test checks that what they report is declared here.
import { type ValueSpace, literal, int, str } from './types.js';

export interface StatusNode {
  readonly path: readonly string[];
  readonly type: ValueSpace;
  readonly help: string;
}

const text = () => str(0, 4096);
const count = () => int(0, 2 ** 31);

export const STATUS: readonly StatusNode[] = [
  { path: ['SystemUnit', 'Product'], type: text(), help: 'Product name' },
  { path: ['SystemUnit', 'Name'], type: text(), help: 'Configured system name' },
  { path: ['SystemUnit', 'Software', 'Version'], type: text(), help: 'Software version (with git commit)' },
  { path: ['SystemUnit', 'Software', 'ReleaseDate'], type: text(), help: 'Release date, YYYY-MM-DD' },
  { path: ['SystemUnit', 'Uptime'], type: count(), help: 'Seconds since the daemon started' },
  { path: ['Alarm', '#', 'Id'], type: text(), help: 'Stable alarm identifier' },
  { path: ['Alarm', '#', 'Title'], type: text(), help: 'What is wrong, in one sentence' },
  { path: ['Alarm', '#', 'Severity'], type: literal('Warning', 'Error', 'Critical'), help: 'Severity' },
  { path: ['Alarm', '#', 'State'], type: literal('Active'), help: 'State' },
  { path: ['Alarm', '#', 'Raised'], type: text(), help: 'When it was raised (ISO 8601, UTC)' },
];
