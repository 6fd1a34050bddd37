// Completion and the parser's refusals, as pure functions over the real declarations.
import t from 'tap';
import { CONFIG } from '../../schema/config.js';
import { STATUS } from '../../schema/status.js';
import { COMMANDS } from '../../commands/index.js';
import { Registry } from '../../src/bus/registry.js';
import { complete } from '../../src/cli/complete.js';
import { parseLine, MAX_LINE } from '../../src/cli/parse.js';
import { testApp } from '../helpers/app.js';

const reg = new Registry(CONFIG, STATUS, COMMANDS);

t.test('Tab completes verbs, paths, leaf colons, parameter names, literal values and /tmp files', async (t) => {
  t.same(complete(reg, 'xst'), { candidates: ['xStatus'], replacement: 'xStatus ' });
  t.same(complete(reg, 'x').candidates, ['xStatus', 'xConfiguration', 'xCommand', 'xFeedback', 'xPreferences']);
  t.equal(complete(reg, 'xConfiguration Http Red').replacement, 'xConfiguration Http Redirect ');
  t.equal(complete(reg, 'xConfiguration Http Redirect M').replacement, 'xConfiguration Http Redirect Mode: ', 'a leaf completes with its colon');
  t.same(complete(reg, 'xConfiguration Http Redirect Mode: ').candidates, ['On', 'Off']);
  t.equal(complete(reg, 'xConfiguration Http Redirect Mode: of').replacement, 'xConfiguration Http Redirect Mode: Off ');
  t.same(complete(reg, 'xConfiguration Clustering Peer ').candidates, ['1', '2', '3', '4', '5', '6'], 'indexes in range');
  t.equal(complete(reg, 'xCommand SystemUnit Bo').replacement, 'xCommand SystemUnit Boot ');
  t.same(complete(reg, 'xCommand Ssh AuthorizedKey Delete ').candidates, ['Fingerprint:', 'User:']);
  t.same(complete(reg, 'xCommand Ssh AuthorizedKey Delete User: admin ').candidates, ['Fingerprint:'], 'a given parameter is not offered again');
  t.same(complete(reg, 'xCommand Ssh AuthorizedKey Delete Fingerprint: a ').candidates, ['Fingerprint:', 'User:'], 'a repeatable one is');
  t.same(complete(reg, 'xCommand Acmerevoke CertPath: ', () => ['old.pem', 'other.pem']).candidates, ['/tmp/old.pem', '/tmp/other.pem']);
  t.equal(complete(reg, 'xCommand Acmerevoke CertPath: /tmp/ol', () => ['old.pem', 'other.pem']).replacement, 'xCommand Acmerevoke CertPath: /tmp/old.pem ');
  t.same(complete(reg, 'xPreferences outputmode ').candidates, ['terminal', 'xml', 'json']);
  t.same(complete(reg, 'xStatus Nonsense ').candidates, [], 'nothing after a wrong word');
  t.same(complete(reg, 'xyzzy').candidates, []);
});

t.test('over-long lines, binary garbage and stray quotes get one error each and change nothing', async (t) => {
  const long = parseLine('xStatus ' + 'a'.repeat(MAX_LINE), reg).request;
  t.match(long, { kind: 'reply', reply: { status: 'Error', fields: { Reason: `Line too long: at most ${MAX_LINE} characters` } } });
  t.match(parseLine('xConfiguration SystemUnit Name: "unterminated', reg).request, { reply: { fields: { Reason: 'Unterminated quoted string' } } });
  t.match(parseLine('xStatus SystemUnit | resultId=', reg).request, { reply: { fields: { Reason: /Invalid request suffix/ } } });
  t.match(parseLine('xConfiguration SystemUnit Name: "a\u0001b"', reg).request, { reply: { fields: { Reason: /control characters are not allowed/ } } });
  const app = testApp(t, { storage: 'memory' });
  const before = JSON.stringify(app.services.config.entries());
  const garbage = Buffer.from([0xff, 0xfe, 0x00, 0x1b, 0x5b, 0x41, 0x0a, 0x80, 0x81, 0x0d, 0x0a]).toString('latin1');
  const r = await app.run(garbage + 'xStatus SystemUnit Product\n', 'shell');
  t.equal((r.out.match(/Command not recognized\./g) ?? []).length, 2, 'each garbage line answered once');
  t.match(r.out, /\*s SystemUnit: \/\n     Product: "xway"\n\*s\/end\n\nOK\n$/, 'and the session goes on');
  t.equal(JSON.stringify(app.services.config.entries()), before);
});
