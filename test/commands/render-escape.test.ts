// Text from certificates reaches every output mode escaped: well-formed XML (checked with expat),
// JSON that jsxapi's parser reads back to the same string, and terminal text without a byte a
// terminal would act on (C1 CSI, bidi overrides, separators).
import t from 'tap';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { render as renderJson, renderFeedback as feedbackJson } from '../../src/cli/render/json.js';
import { render as renderXml, renderFeedback as feedbackXml } from '../../src/cli/render/xml.js';
import { renderTerminal, renderFeedbackTerminal } from '../../src/cli/render/terminal.js';
import { testApp } from '../helpers/app.js';
import { makeCa } from '../helpers/pki.js';

const require = createRequire(import.meta.url);
const { JSONParser } = require('jsxapi/lib/json-parser.js');

/** What must never go out raw (written out here, not taken from the code under test). */
const RAW = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const HOSTILE = 'CN \u202Egpj.exe\u202C \u009B31m red \u001b[2J \uFFFF \uFFFE \u2028 \u0085 \u200F \u2066x\u2069 \uD800 ok \u{1F680}';

function parseJson(text: string): unknown[] {
  const p = new JSONParser();
  const out: unknown[] = [];
  const errors: unknown[] = [];
  p.on('data', (d: unknown) => out.push(d));
  p.on('error', (e: unknown) => errors.push(e));
  p.write(text);
  p.end();
  if (errors.length) throw errors[0];
  return out;
}

/** Parses every XmlDoc with Python's expat (strict XML 1.0); returns each <Subject>'s text. */
function parseXml(text: string): { ok: boolean; subjects: string[]; err: string } {
  const docs = text.split(/(?=<\?xml )/).filter((d) => d.trim());
  const py = [
    'import sys, json, xml.etree.ElementTree as E',
    'out = []',
    'for d in json.load(sys.stdin):',
    '    out += [e.text or "" for e in E.fromstring(d.encode("utf-8")).iter("Subject")]',
    'print(json.dumps(out))',
  ].join('\n');
  const r = spawnSync('/usr/bin/python3', ['-c', py], { input: JSON.stringify(docs), encoding: 'utf8', timeout: 20_000 });
  return { ok: r.status === 0, subjects: r.status === 0 ? JSON.parse(r.stdout) : [], err: r.stderr };
}

t.test('every renderer escapes unsafe characters; parsers get the text back', async (t) => {
  const fields = { Subject: HOSTILE };
  const replies = [
    { kind: 'result', name: 'XResult', status: 'OK', fields } as const,
    { kind: 'status', tree: { Security: { Certificates: { Server: { Subject: HOSTILE } } } } } as const,
    { kind: 'text', ok: true, lines: [HOSTILE] } as const,
  ];
  for (const r of replies) {
    const term = renderTerminal(r);
    t.notMatch(term, RAW, `terminal ${r.kind}: nothing raw`);
    t.match(term, /\\u202e/, 'the override is shown as an escape');
    t.match(term, /\\x9b/, 'the C1 CSI is shown as an escape');
  }
  const fb = { kind: 'status', tree: { Security: { Certificates: { Server: { Subject: HOSTILE } } } } } as const;
  t.notMatch(renderFeedbackTerminal(fb), RAW);
  t.notMatch(renderFeedbackTerminal({ kind: 'event', name: 'X', fields }), RAW);

  const json = renderJson(replies[0], '1') + feedbackJson(fb);
  t.notMatch(json, RAW, 'JSON: nothing raw on the wire');
  const [a, b] = parseJson(json) as [{ CommandResponse: { XResult: { Subject: { Value: string } } } }, { Status: { Security: { Certificates: { Server: { Subject: { Value: string } } } } } }];
  const sent = HOSTILE.replace('\uD800', '\uFFFD'); // a lone surrogate is no text: U+FFFD
  t.equal(a.CommandResponse.XResult.Subject.Value, sent, 'jsxapi reads back the exact text');
  t.equal(b.Status.Security.Certificates.Server.Subject.Value, sent);

  const xml = renderXml(replies[0], '1') + feedbackXml(fb) + renderXml(replies[1]);
  t.notMatch(xml, RAW, 'XML: nothing raw on the wire');
  const parsed = parseXml(xml);
  t.ok(parsed.ok, `well-formed XML ${parsed.err}`);
  // Characters XML 1.0 cannot carry at all become U+FFFD, control bytes go; the rest comes back.
  const expected = HOSTILE.replace(/[\uFFFF\uFFFE\uD800]/g, '\uFFFD').replace(/\u001b/g, '');
  t.same(parsed.subjects, [expected, expected, expected]);
});

t.test('a CA with a hostile subject: CA List in terminal, xml and json modes', async (t) => {
  const app = testApp(t);
  const ca = await makeCa({ cn: 'Evil \u202Etxt.exe \u009B31m \uFFFF CA' });
  const add = await app.run(`xCommand Security Certificates CA Add\n${ca.pem}.\n`, 'shell');
  t.match(add.out, /CAAddResult \(status=OK\)/);
  const term = await app.run('xCommand Security Certificates CA List\n', 'exec');
  t.match(term.out, /Evil \\u202etxt\.exe \\x9b31m \\uffff CA/);
  t.notMatch(term.out, RAW);
  const xml = await app.run('xPreferences outputmode xml\nxCommand Security Certificates CA List\n', 'exec');
  t.notMatch(xml.out, RAW);
  const parsed = parseXml(xml.out);
  t.ok(parsed.ok, `well-formed ${parsed.err}`);
  t.ok(parsed.subjects.some((s) => s.includes('Evil \u202Etxt.exe \u009B31m \uFFFD CA')), 'the subject, as XML can carry it');
  const json = await app.run('xPreferences outputmode json\nxCommand Security Certificates CA List\n', 'exec');
  t.notMatch(json.out, RAW);
  const docs = parseJson(json.out) as { CommandResponse?: { SecurityCertificatesCAListResult?: { Certificate: { Subject: { Value: string } }[] } } }[];
  const subjects = docs.flatMap((d) => d.CommandResponse?.SecurityCertificatesCAListResult?.Certificate.map((c) => c.Subject.Value) ?? []);
  t.ok(subjects.some((s) => s.includes('Evil \u202Etxt.exe \u009B31m \uFFFF CA')), 'jsxapi reads the exact subject');
});
