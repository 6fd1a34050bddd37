// The XML and JSON output modes, checked against what Cisco's jsxapi itself makes of them:
// its streaming JSON parser and its rpc response functions (the library code, not a copy).
import t from 'tap';
import { createRequire } from 'node:module';
import { render as renderJson, renderFeedback as feedbackJson } from '../../src/cli/render/json.js';
import { render as renderXml, renderFeedback as feedbackXml } from '../../src/cli/render/xml.js';
import type { Reply } from '../../src/bus/reply.js';
import { ITEM_INDEX } from '../../src/bus/statustree.js';

const require = createRequire(import.meta.url);
const rpc = require('jsxapi/lib/xapi/rpc.js');
const { JSONParser } = require('jsxapi/lib/json-parser.js');
const exc = require('jsxapi/lib/xapi/exc.js');

/** Runs text through jsxapi's streaming parser, in small chunks as a socket would deliver it. */
function parseAll(text: string): unknown[] {
  const p = new JSONParser();
  const out: unknown[] = [];
  const errors: unknown[] = [];
  p.on('data', (d: unknown) => out.push(d));
  p.on('error', (e: unknown) => errors.push(e));
  for (let i = 0; i < text.length; i += 7) p.write(text.slice(i, i + 7));
  p.end();
  if (errors.length) throw errors[0];
  return out;
}

const statusReply: Reply = {
  kind: 'status',
  tree: {
    SystemUnit: { Product: 'xway', Software: { Version: '0.1.0' }, Uptime: 5321 },
    Alarm: [{ Id: 'a', Title: 'x' }, Object.defineProperty({ Id: 'b', Title: 'y <&>' }, ITEM_INDEX, { value: 3, enumerable: false })],
  },
};

t.test('status: {"Value"} leaves, ResultId last, indexed lists by id; jsxapi digs the leaf', async (t) => {
  const text = renderJson(statusReply, '7');
  t.equal(text.split('\n').length, 2, 'one line');
  t.ok(text.endsWith('}\n'));
  const [doc] = parseAll(text) as [Record<string, unknown>];
  t.same(Object.keys(doc), ['Status', 'ResultId']);
  t.same(doc, {
    Status: {
      SystemUnit: { Product: { Value: 'xway' }, Software: { Version: { Value: '0.1.0' } }, Uptime: { Value: '5321' } },
      Alarm: [{ id: '1', Id: { Value: 'a' }, Title: { Value: 'x' } }, { id: '3', Id: { Value: 'b' }, Title: { Value: 'y <&>' } }],
    },
    ResultId: '7',
  });
  t.equal(rpc.createGetResponse({ params: { Path: ['Status', 'SystemUnit', 'Uptime'] } }, doc), '5321');
  t.equal(rpc.createGetResponse({ params: { Path: ['Status', 'Alarm', 3, 'Title'] } }, doc), 'y <&>');
});

t.test('config: nested, indexes as arrays with id', async (t) => {
  const reply: Reply = {
    kind: 'config',
    entries: [
      { path: ['Http', 'Redirect', 'Mode'], value: 'Off', quoted: false },
      { path: ['Clustering', 'Peer', '1', 'Address'], value: '', quoted: true },
      { path: ['Clustering', 'Peer', '2', 'Address'], value: 'b.example', quoted: true },
      { path: ['Ssh', 'IdleTimeout'], value: 1800, quoted: false },
    ],
  };
  const [doc] = parseAll(renderJson(reply, 'c1')) as [Record<string, unknown>];
  t.same(doc, {
    Configuration: {
      Http: { Redirect: { Mode: { Value: 'Off' } } },
      Clustering: { Peer: [{ id: '1', Address: { Value: '' } }, { id: '2', Address: { Value: 'b.example' } }] },
      Ssh: { IdleTimeout: { Value: '1800' } },
    },
    ResultId: 'c1',
  });
  t.equal(rpc.createGetResponse({ params: { Path: ['Configuration', 'Clustering', 'Peer', 2, 'Address'] } }, doc), 'b.example');
});

t.test('command results and errors as jsxapi understands them', async (t) => {
  const ok: Reply = { kind: 'result', name: 'SecurityAcmeDeployResult', status: 'OK', fields: { SerialNumber: '04F1', Names: ['a', 'b'], Certificate: [{ Subject: 'CN=x' }] } };
  const [okDoc] = parseAll(renderJson(ok, '1')) as [Record<string, unknown>];
  t.same(rpc.createCommandResponse(okDoc), {
    status: 'OK', SerialNumber: '04F1', Names: ['a', 'b'], Certificate: [{ id: '1', Subject: 'CN=x' }],
  });

  const bad: Reply = { kind: 'result', name: 'AcmerevokeResult', status: 'ParameterError', fields: { Reason: 'Missing required parameter CertPath <S: 1, 1024>' } };
  const [badDoc] = parseAll(renderJson(bad, '2')) as [Record<string, unknown>];
  t.throws(() => rpc.createCommandResponse(badDoc), { code: exc.PARAMETER_ERROR });

  const err: Reply = { kind: 'result', name: 'SecurityAcmeSignResult', status: 'Error', fields: { Reason: 'No CSR in progress' } };
  const [errDoc] = parseAll(renderJson(err, '3')) as [Record<string, unknown>];
  t.throws(() => rpc.createCommandResponse(errDoc), { message: 'No CSR in progress' });

  const path: Reply = { kind: 'result', name: 'StatusResult', status: 'Error', fields: { Reason: 'No match on address expression', XPath: 'Status/Foo' } };
  const [pathDoc] = parseAll(renderJson(path, '4')) as [Record<string, unknown>];
  t.throws(() => rpc.createGetResponse({ params: { Path: ['Status', 'Foo'] } }, pathDoc), { code: exc.INVALID_PATH, data: { xpath: 'Status/Foo' } });

  const [unk] = parseAll(renderJson({ kind: 'unrecognized' }, '5')) as [Record<string, unknown>];
  t.throws(() => rpc.createCommandResponse(unk), { message: 'Command not recognized.' });
});

t.test('ok: {"ResultId"} when tagged (jsxapi takes it as a successful set), nothing when not', async (t) => {
  t.equal(renderJson({ kind: 'ok' }), '');
  const [doc] = parseAll(renderJson({ kind: 'ok' }, '9')) as [Record<string, unknown>];
  t.same(doc, { ResultId: '9' });
  t.equal(rpc.createSetResponse({ params: { Path: ['Configuration', 'Http', 'Redirect', 'Mode'] } }, doc), null);
  const set: Reply = { kind: 'result', name: 'ConfigurationResult', status: 'Error', fields: { Reason: 'Invalid value Sideways for Http Redirect Mode: expected <On/Off>' } };
  const [setDoc] = parseAll(renderJson(set, '10')) as [Record<string, unknown>];
  t.throws(() => rpc.createSetResponse({ params: { Path: ['Configuration', 'Http', 'Redirect', 'Mode'] } }, setDoc), {
    message: 'Invalid value Sideways for Http Redirect Mode: expected <On/Off>',
  });
});

t.test('text replies and feedback documents', async (t) => {
  const [text] = parseAll(renderJson({ kind: 'text', ok: true, lines: ['xStatus', 'xConfiguration'] }, 'h')) as [Record<string, unknown>];
  t.same(rpc.createCommandResponse(text), { status: 'OK', Line: ['xStatus', 'xConfiguration'] });
  const [textErr] = parseAll(renderJson({ kind: 'text', ok: false, lines: ['Ambiguous: xC matches xConfiguration, xCommand'] }, 'h2')) as [Record<string, unknown>];
  t.throws(() => rpc.createCommandResponse(textErr), { message: 'Ambiguous: xC matches xConfiguration, xCommand' });

  const docs = parseAll(
    feedbackJson({ kind: 'status', tree: { Security: { Acme: { Status: 'Signing' } } } }) +
      feedbackJson({ kind: 'config', entries: [{ path: ['Http', 'Redirect', 'Mode'], value: 'On', quoted: false }] }) +
      feedbackJson({ kind: 'event', name: 'Security Acme Sign', fields: { Status: 'Succeeded', Names: ['a.example'] } }),
  ) as Record<string, unknown>[];
  t.equal(docs.length, 3);
  for (const d of docs) t.notOk('ResultId' in d, 'feedback carries no ResultId');
  t.same(rpc.parseFeedbackResponse(docs[0]), { Status: { Security: { Acme: { Status: 'Signing' } } } });
  t.same(rpc.parseFeedbackResponse(docs[1]), { Configuration: { Http: { Redirect: { Mode: 'On' } } } });
  t.same(rpc.parseFeedbackResponse(docs[2]), { Event: { Security: { Acme: { Sign: { Status: 'Succeeded', Names: ['a.example'] } } } } });
});

t.test('XML documents in the codec form', async (t) => {
  t.equal(
    renderXml(statusReply, '7'),
    [
      '<?xml version="1.0"?>',
      '<XmlDoc resultId="7">',
      '  <Status>',
      '    <SystemUnit>',
      '      <Product>xway</Product>',
      '      <Software>',
      '        <Version>0.1.0</Version>',
      '      </Software>',
      '      <Uptime>5321</Uptime>',
      '    </SystemUnit>',
      '    <Alarm item="1">',
      '      <Id>a</Id>',
      '      <Title>x</Title>',
      '    </Alarm>',
      '    <Alarm item="3">',
      '      <Id>b</Id>',
      '      <Title>y &lt;&amp;&gt;</Title>',
      '    </Alarm>',
      '  </Status>',
      '</XmlDoc>',
      '',
    ].join('\n'),
  );
  t.equal(
    renderXml({ kind: 'config', entries: [{ path: ['Clustering', 'Peer', '2', 'Address'], value: 'b"x', quoted: true }] }),
    '<?xml version="1.0"?>\n<XmlDoc resultId="">\n  <Configuration>\n    <Clustering>\n      <Peer item="2">\n        <Address>b&quot;x</Address>\n      </Peer>\n    </Clustering>\n  </Configuration>\n</XmlDoc>\n',
  );
  t.equal(
    renderXml({ kind: 'result', name: 'AcmerevokeResult', status: 'ParameterError', fields: { Reason: 'Missing CertPath' } }, 'r"1'),
    '<?xml version="1.0"?>\n<XmlDoc resultId="r&quot;1">\n  <CommandResponse>\n    <AcmerevokeResult status="ParameterError">\n      <Reason>Missing CertPath</Reason>\n    </AcmerevokeResult>\n  </CommandResponse>\n</XmlDoc>\n',
  );
  t.equal(renderXml({ kind: 'ok' }), '');
  t.equal(renderXml({ kind: 'ok' }, '3'), '<?xml version="1.0"?>\n<XmlDoc resultId="3">\n</XmlDoc>\n');
  t.match(renderXml({ kind: 'unrecognized' }), /<Result status="Error">\n {6}<Reason>Command not recognized\.<\/Reason>/);
  t.match(renderXml({ kind: 'text', ok: false, lines: ['bad'] }), /<Reason>bad<\/Reason>\n {6}<Line item="1">bad<\/Line>/);
  t.equal(
    feedbackXml({ kind: 'event', name: 'Security Acme Sign', fields: { Status: 'Failed' } }),
    '<?xml version="1.0"?>\n<XmlDoc resultId="">\n  <Event>\n    <Security>\n      <Acme>\n        <Sign>\n          <Status>Failed</Status>\n        </Sign>\n      </Acme>\n    </Security>\n  </Event>\n</XmlDoc>\n',
  );
  t.match(feedbackXml({ kind: 'status', tree: { SystemUnit: { Uptime: 3 } } }), /<Status>\n {4}<SystemUnit>\n {6}<Uptime>3<\/Uptime>/);
  t.match(feedbackXml({ kind: 'config', entries: [{ path: ['Http', 'Redirect', 'Mode'], value: 'On', quoted: false }] }), /<Mode>On<\/Mode>/);
  t.notMatch(renderXml({ kind: 'result', name: 'XResult', status: 'OK', fields: { 'Bad Name': 'a\x01b' } }), /\x01|<Bad Name>/, 'names and control characters are made safe');
});

t.test('property: any status tree survives jsxapi parsing (values as text, indexes by id)', async (t) => {
  const fc = (await import('fast-check')).default;
  const name = fc.stringMatching(/^[A-Z][A-Za-z0-9]{0,8}$/);
  const leafValue = fc.oneof(fc.string({ maxLength: 20 }), fc.integer({ min: -1e6, max: 1e6 }), fc.constantFrom('{"x":1}\n', '\u2028', '</Value>', '"\\'));
  const tree = fc.letrec((tie) => ({
    node: fc.dictionary(name, fc.oneof({ depthSize: 'small' }, leafValue, tie('node'), fc.array(tie('node'), { maxLength: 3 })), { maxKeys: 4 }),
  })).node as import('fast-check').Arbitrary<Record<string, unknown>>;
  // What jsxapi should hand its user: numbers as text, arrays of objects with their 1-based id.
  const expected = (v: unknown): unknown => {
    if (typeof v === 'number') return String(v);
    if (typeof v === 'string') return v;
    if (Array.isArray(v)) return v.map((item, i) => ({ id: String(i + 1), ...(expected(item) as object) }));
    return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, expected(x)]));
  };
  fc.assert(
    fc.property(tree, (tr) => {
      const text = renderJson({ kind: 'status', tree: tr as never }, 'p');
      const [doc] = parseAll(text) as [Record<string, unknown>];
      const got = rpc.collapse(doc) as { Status: unknown; ResultId: string };
      return text.split('\n').length === 2 && got.ResultId === 'p' && JSON.stringify(got.Status) === JSON.stringify(expected(tr));
    }),
    { numRuns: 300 },
  );
  t.pass('300 random trees');
});
