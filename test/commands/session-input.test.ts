// One request, one answer, whatever arrives: over-long lines, floods, hostile chunking.
import t from 'tap';
import { testApp, ADMIN } from '../helpers/app.js';
import { MAX_LINE } from '../../src/cli/parse.js';
import { INPUT_HIGH, INPUT_LOW } from '../../src/cli/session.js';

const errors = (out: string) => out.split('\n').filter((l) => l === 'ERROR').length;
/** The longest run of one repeated input character quoted back in the output. */
const longestRun = (out: string, c: string) => Math.max(0, ...(out.match(new RegExp(`${c}+`, 'g')) ?? []).map((m) => m.length));

/** Feeds `input` to a shell session in chunks of `chunk` bytes, as a network would. */
async function feedChunks(app: ReturnType<typeof testApp>, input: string, chunk: number) {
  let out = '';
  const s = app.newSession(ADMIN, 'shell', { write: (d) => void (out += d) });
  const buf = Buffer.from(input);
  for (let i = 0; i < buf.length; i += chunk) s.feed(buf.subarray(i, i + chunk));
  s.endInput();
  const code = await s.closed;
  s.dispose();
  return { out, code };
}

t.test('the tail of an over-long line is discarded, never run as a command', async (t) => {
  const app = testApp(t);
  for (const chunk of [32 * 1024, 8 * 1024, 1000, 70_000]) {
    const input = 'A'.repeat(65536) + 'xConfiguration SystemUnit Name: "tail"\nxStatus SystemUnit Product\n';
    const { out, code } = await feedChunks(app, input, chunk);
    t.equal(errors(out), 1, `exactly one ERROR (chunks of ${chunk})`);
    t.match(out, /Reason: "Line too long: at most 8192 characters"/);
    t.match(out, /Product: "xway"/, 'the next line is answered');
    t.not(app.services.config.get('SystemUnit Name'), 'tail', 'the tail did not run');
    t.equal(code, 1);
  }
});

t.test('a 300,000-character line gets one ERROR quoting no more than 80 characters of it', async (t) => {
  const app = testApp(t);
  for (const line of ['A'.repeat(300_000) + '"', 'xStatus ' + 'B'.repeat(300_000), '"' + 'C'.repeat(300_000)]) {
    const { out } = await feedChunks(app, `${line}\nxStatus SystemUnit Product\n`, 8192);
    t.equal(errors(out), 1, 'one ERROR');
    t.ok(longestRun(out, line.at(-1) === '"' ? 'A' : line[0] === '"' ? 'C' : 'B') <= 80, 'quotes at most 80 characters');
    t.match(out, /Product: "xway"/);
  }
  // Under the line limit, the errors that quote input shorten it.
  const cases = [
    'D'.repeat(8000) + '"',
    'xStatus ' + 'D'.repeat(8000),
    'xConfiguration SystemUnit Name: "' + 'D'.repeat(8000) + '"',
    'xConfiguration Http Redirect Mode: ' + 'D'.repeat(8000),
    'xCommand Ssh AuthorizedKey Delete ' + 'D'.repeat(8000) + ': 1',
    'xPreferences outputmode ' + 'D'.repeat(8000),
    'xFeedback register /Status/' + 'D'.repeat(8000),
    'xFeedback deregister /Status/' + 'D'.repeat(8000),
    'xst' + 'D'.repeat(8000),
  ];
  for (const c of cases) {
    t.ok(c.length <= MAX_LINE);
    const { out } = await feedChunks(app, c + '\n', 4096);
    t.ok(longestRun(out, "D") <= 80, `${c.slice(0, 40)}...: ${out.slice(0, 200)}`);
    t.ok(errors(out) === 1 || out === 'Command not recognized.\n', 'one answer');
  }
});

t.test('an over-long line inside a multiline payload refuses the payload once, at its end', async (t) => {
  const app = testApp(t);
  const input = `xCommand SystemUnit Configuration Import\n${'E'.repeat(100_000)}\nxConfiguration SystemUnit Name: "inner"\n.\nxStatus SystemUnit Product\n`;
  const { out } = await feedChunks(app, input, 16 * 1024);
  t.equal(errors(out), 1);
  t.match(out, /Reason: "Multiline input has a line longer than 8192 characters; nothing was changed"/);
  t.not(app.services.config.get('SystemUnit Name'), 'inner');
  t.match(out, /Product: "xway"/);
});

t.test('queued input is bounded: the carrier is told to stop reading, then to read again', async (t) => {
  const app = testApp(t);
  const flows: boolean[] = [];
  let out = '';
  const s = app.newSession(ADMIN, 'shell', { write: (d) => void (out += d), flow: (stop) => void flows.push(stop) });
  // Empty lines get no reply, so only flow control pushes back on a flood of them.
  const chunk = Buffer.alloc(32 * 1024, 0x0a);
  let fed = 0;
  while (flows.length === 0 && fed < 64 * 1024 * 1024) {
    s.feed(chunk);
    fed += chunk.length;
  }
  t.same(flows, [true], 'stopped');
  t.ok(fed <= INPUT_HIGH + chunk.length, `stopped after ${fed} bytes`);
  for (let i = 0; i < 10_000 && flows.length < 2; i++) await new Promise((r) => setImmediate(r));
  t.same(flows, [true, false], `reading again below ${INPUT_LOW} bytes`);
  s.feed('xStatus SystemUnit Product\n');
  s.endInput();
  t.equal(await s.closed, 0);
  t.equal(out, '*s SystemUnit: /\n     Product: "xway"\n*s/end\n\nOK\n', 'no reply to the empty lines, one to the request');
  s.dispose();
});
