// One error vocabulary: every layer throws the classes of src/errors.ts, `errorReply` is the one
// mapping to a reply (the three renderers then show it), and services state facts while the
// commands layer words the advice.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import {
  CommandError, ConfigurationRefused, DomainNotHosted, Internal, InvalidPath, ParameterError, PermissionDenied, Unavailable, XapiError,
} from '../../src/errors.js';
import { errorReply } from '../../src/bus/reply.js';
import { renderTerminal } from '../../src/cli/render/terminal.js';
import * as xml from '../../src/cli/render/xml.js';
import * as json from '../../src/cli/render/json.js';
import { advise } from '../../commands/advice.js';
import { findRoot } from '../../src/platform/version.js';
import { READER, testApp } from '../helpers/app.js';

t.test('errorReply: status from the class, Reason from the message, extra fields after', async (t) => {
  const cases: [XapiError | unknown, string, Record<string, string>][] = [
    [new ParameterError('Missing required parameter X'), 'ParameterError', { Reason: 'Missing required parameter X' }],
    [new DomainNotHosted('a.example.com'), 'ParameterError', { Reason: 'No hosted domain is named a.example.com' }],
    [new InvalidPath('/Status/Nope'), 'Error', { Reason: 'No match on address expression', XPath: '/Status/Nope' }],
    [new PermissionDenied('xCommand Security Acme Sign'), 'Error', { Reason: 'Permission denied: xCommand Security Acme Sign needs the Admin role' }],
    [new CommandError('A CSR is already in progress'), 'Error', { Reason: 'A CSR is already in progress' }],
    [new ConfigurationRefused(['one', 'two']), 'Error', { Reason: 'one; two' }],
    [new Unavailable('The CA cannot be reached'), 'Error', { Reason: 'The CA cannot be reached' }],
    [new Internal(), 'Error', { Reason: 'Internal error; see the log' }],
    [new TypeError('x is undefined'), 'Error', { Reason: 'Internal error; see the log' }],
  ];
  for (const [e, status, fields] of cases) {
    t.same(errorReply('XResult', e), { kind: 'result', name: 'XResult', status, fields }, String((e as Error).message));
  }
});

t.test('one reply, three output modes', async (t) => {
  const r = errorReply('StatusResult', new InvalidPath('/Status/Foo'));
  t.equal(renderTerminal(r), '*r StatusResult (status=Error):\n     Reason: "No match on address expression"\n     XPath: "/Status/Foo"\n*r/end\n\nERROR\n');
  t.match(xml.render(r, '7'), /<StatusResult status="Error">\s*<Reason>No match on address expression<\/Reason>\s*<XPath>\/Status\/Foo<\/XPath>/);
  t.same(JSON.parse(json.render(r, '7')), {
    CommandResponse: { StatusResult: { status: 'Error', Reason: { Value: 'No match on address expression' }, XPath: { Value: '/Status/Foo' } } }, ResultId: '7',
  });
});

t.test('advice: services name a remedy, commands word it, once', async (t) => {
  const e = new CommandError('No CSR is in progress').needs('CreateCsr');
  const advised = advise(e) as CommandError;
  t.type(advised, CommandError);
  t.equal(advised.message, 'No CSR is in progress: create one with xCommand Security Certificates CSR Create');
  t.equal(advised.remedy, undefined);
  t.equal(advise(advised), advised, 'never worded twice');
  t.equal(e.message, 'No CSR is in progress', 'the service error itself is untouched');
  const plain = new DomainNotHosted('x.example.com');
  t.equal(advise(plain), plain, 'no remedy, no advice');
});

t.test('through the shell: the same facts, with the advice where there is something to do', async (t) => {
  const app = testApp(t);
  let r = await app.run('xCommand Security Acme Sign\n', 'exec');
  t.equal(r.out, '*r SecurityAcmeSignResult (status=Error):\n     Reason: "No ACME account with LetsEncrypt: run xCommand Security Acme AcceptTerms first"\n*r/end\n\nERROR\n');
  r = await app.run('xCommand Security Acme Sign Domain: nope.example.com\n', 'exec');
  t.equal(r.out, '*r SecurityAcmeSignResult (status=ParameterError):\n     Reason: "No hosted domain is named nope.example.com: add it with xCommand Security Certificates Domain Add"\n*r/end\n\nERROR\n');
  r = await app.run('xCommand Security Certificates Domain Delete Name: nope.example.com\n', 'exec');
  t.equal(r.out, '*r SecurityCertificatesDomainDeleteResult (status=ParameterError):\n     Reason: "No hosted domain is named nope.example.com"\n*r/end\n\nERROR\n', 'the same class; deleting needs no advice');
  r = await app.run('xConfiguration Http Redirect Mode: On\n', 'exec', READER);
  t.equal(r.out, '*r ConfigurationResult (status=Error):\n     Reason: "Permission denied: Http Redirect Mode needs the Admin role"\n*r/end\n\nERROR\n');
  r = await app.run('xFeedback register /Status/Nope\n', 'exec');
  t.equal(r.out, '*r FeedbackResult (status=Error):\n     Reason: "No match on address expression"\n     XPath: "/Status/Nope"\n*r/end\n\nERROR\n');
});

t.test('no error thrown in services or stores names an xCommand', async (t) => {
  const root = findRoot();
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) walk(rel);
      else if (rel.endsWith('.ts')) {
        fs.readFileSync(path.join(root, rel), 'utf8').split('\n').forEach((line, i) => {
          if (/new (\w+Error|CommandError|Unavailable|DomainNotHosted)\(/.test(line) && /xCommand/.test(line)) offenders.push(`${rel}:${i + 1}`);
        });
      }
    }
  };
  walk('src/services');
  walk('src/stores');
  t.same(offenders, [], 'no thrown error names an xCommand');
});
