// Error messages that used to mislead: each says what is expected, and changes nothing.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { testApp } from '../helpers/app.js';
import { makeCa, makeLeaf } from '../helpers/pki.js';

t.test('each refused request says what was expected and changes nothing', async (t) => {
  const app = testApp(t);
  const before = { time: app.services.config.get('Security Acme Scheduler Time'), count: app.services.trust!.count() };
  const run = (input: string, mode: 'exec' | 'shell' = 'exec') => app.run(input, mode).then((r) => r.out);

  let out = await run('xCommand Acmerevoke CertPath: "/etc/passwd"');
  t.match(out, /Reason: "Invalid CertPath \\"\/etc\/passwd\\": expected \/tmp\/<file> \(upload area\) or \/archive\/<serial>\.pem"/, 'Acmerevoke names both places');

  out = await run('xConfiguration Security Acme Scheduler Time: "2:30"');
  t.match(out, /Reason: "Invalid value 2:30 for Security Acme Scheduler Time: expected a time of day as HH:MM, 00:00 to 23:59"/);
  t.notMatch(out, /<S: 5, 5>/);

  out = await run('xConfiguration Clustering Peer 7 Address: "peer7.example.com"');
  t.match(out, /Reason: "No match on address expression: Clustering Peer takes an index from 1 to 6"\n {5}XPath: "\/Configuration\/Clustering\/Peer\/7\/Address"/);
  out = await run('xConfiguration Clustering Peer 0');
  t.match(out, /takes an index from 1 to 6/);

  // Pastes and files that are not what CA Add takes name the input, not a parameter never given.
  out = await run('xCommand Security Certificates CA Add\nhello\n.\n', 'shell');
  t.match(out, /\(status=ParameterError\):\n {5}Reason: "Line 1 is not part of a PEM block[^\n]*\n {5}Parameter: "the pasted PEM body"\n/);
  const leaf = await makeLeaf(await makeCa());
  out = await run(`xCommand Security Certificates CA Add\n${leaf.pem}.\n`, 'shell');
  t.match(out, /\(status=ParameterError\):\n {5}Reason: "[^\n]*\n {5}Parameter: "the pasted PEM body"\n/, 'a non-CA paste');
  fs.writeFileSync(path.join(app.paths.uploads, 'leaf.pem'), leaf.pem);
  out = await run('xCommand Security Certificates CA Add File: "/tmp/leaf.pem"');
  t.match(out, /Parameter: "File: \/tmp\/leaf\.pem"/);
  out = await run('xCommand Security Certificates Server Upload\ngarbage\n.\n', 'shell');
  t.match(out, /Parameter: "the pasted PEM body"/);

  out = await run('xFeedback register ?');
  t.match(out, /^xFeedback register <path> +Send changes under <path> between replies\n/);
  t.match(out, /\/Status\/<path>: \/Status\/SystemUnit, /);
  t.match(out, /\nOK\n$/);
  out = await run('xFeedback ?');
  t.match(out, /xFeedback deregisterall/);

  t.equal(app.services.config.get('Security Acme Scheduler Time'), before.time);
  t.equal(app.services.config.get('Clustering Peer 6 Address'), '');
  t.equal(app.services.trust!.count(), before.count);
});
