// Wildcard SNI domains, the pure parts: which names are domains (and the one sentence for each
// refusal), how a wildcard is kept in the storage, and which hosted domain serves an SNI name.
import t from 'tap';
import { domainNameProblem } from '../../schema/types.js';
import { domainOfStoredName, isSafeName, key, storedDomainName } from '../../src/stores/keys.js';
import { sniMatch } from '../../src/services/tls/sni-match.js';
import { domainName, isDomainName, reachingName } from '../../src/services/certs/domain-name.js';
import { domainOrderNames } from '../../src/services/acme/target.js';

t.test('domain names: FQDNs and *.<FQDN>; every refusal one sentence naming the input', async (t) => {
  for (const ok of ['example.com', 'a.example.com', '*.example.com', '*.a.b.example.com', '*.EXAMPLE.com', '*.example.com.']) {
    t.equal(domainNameProblem(ok), undefined, ok);
  }
  const refusals: [string, RegExp][] = [
    ['*.*.example.com', /^Invalid Name "\*\.\*\.example\.com": only the first label may be a wildcard$/],
    ['*.a.*.example.com', /only the first label may be a wildcard$/],
    ['a*.example.com', /^Invalid Name "a\*\.example\.com": a wildcard must be the whole first label, as in \*\.example\.com$/],
    ['*a.example.com', /a wildcard must be the whole first label/],
    ['a.*.example.com', /a wildcard must be the whole first label/],
    ['*', /a wildcard must be the whole first label/],
    ['*.com', /^Invalid Name "\*\.com": a wildcard needs at least two labels after \*\.$/],
    ['*.com.', /a wildcard needs at least two labels after/],
    ['*.', /a wildcard needs at least two labels after/],
    ['*.-x.example.com', /^Invalid Name "\*\.-x\.example\.com": expected \*\. followed by a valid FQDN$/],
    ['*.1.2', /expected \*\. followed by a valid FQDN/],
    // A 253-character base is an FQDN; with `*.` the name is longer than DNS allows.
    [`*.${'a'.repeat(62)}.${'b'.repeat(62)}.${'c'.repeat(62)}.${'d'.repeat(62)}.c`, /expected \*\. followed by a valid FQDN/],
    ['*./../etc', /expected \*\. followed by a valid FQDN/],
    ['_wildcard.example.com', /^Invalid Name "_wildcard\.example\.com": expected a valid FQDN$/],
    ['../etc', /expected a valid FQDN/],
  ];
  for (const [input, re] of refusals) {
    const p = domainNameProblem(input);
    t.match(p, re, input);
    t.notMatch(p ?? '', /\n/, 'one line');
  }
  t.equal(domainName('*.Example.COM.'), '*.example.com', 'lower case, no final dot');
  t.throws(() => domainName('*.com'), { name: 'ParameterError', message: /at least two labels/ });
  t.ok(isDomainName('*.example.com'));
  t.notOk(isDomainName('*.Example.com'), 'stored names are lower case');
  t.notOk(isDomainName('*.com'));
  t.notOk(isDomainName('example.com.'));
});

t.test('storage: a wildcard is kept as _wildcard.<base>, plain names unchanged, keys as strict as before', async (t) => {
  t.equal(storedDomainName('*.example.com'), '_wildcard.example.com');
  t.equal(storedDomainName('a.example.com'), 'a.example.com', 'data written earlier keeps its name');
  t.equal(domainOfStoredName('_wildcard.example.com'), '*.example.com');
  t.equal(domainOfStoredName('a.example.com'), 'a.example.com');
  for (const n of ['*.example.com', 'example.com', '*.a-b.example.com']) t.equal(domainOfStoredName(storedDomainName(n)), n, `${n} round trip`);
  // No hosted name is stored with a leading `_`: the two forms never meet.
  t.ok(domainNameProblem('_wildcard.example.com'), 'the stored form is not a domain name');
  t.ok(isSafeName(storedDomainName('*.example.com')));
  // `*` itself and anything hostile after the prefix stay refused by the key builder.
  t.notOk(isSafeName('*.example.com'));
  t.throws(() => key(undefined, storedDomainName('*./../x'), 'domain'), { name: 'ParameterError' });
  t.throws(() => key(undefined, storedDomainName('*.a/b'), 'domain'), { name: 'ParameterError' });
});

t.test('SNI: exact name first, then the wildcard one label deep (RFC 6125 6.4.3), then a wildcard naming its base', async (t) => {
  const hosted = new Set(['*.example.com', 'exact.example.com', '*.b.example.com', '*.base.example']);
  const namesBase = new Set(['*.base.example']);
  const match = (s: string) => sniMatch(s, (n) => hosted.has(n), (w) => namesBase.has(w));
  t.equal(match('a.example.com'), '*.example.com');
  t.equal(match('exact.example.com'), 'exact.example.com', 'the exact name wins over the wildcard');
  t.equal(match('example.com'), undefined, 'the wildcard does not cover its base');
  t.equal(match('x.a.example.com'), undefined, 'nor two labels deep');
  t.equal(match('x.b.example.com'), '*.b.example.com', 'a deeper wildcard serves its own label');
  t.equal(match('b.example.com'), '*.example.com', 'the base of *.b.example.com is one label under *.example.com');
  t.equal(match('base.example'), '*.base.example', 'a wildcard whose certificate names its base serves it');
  t.equal(match('w.base.example'), '*.base.example');
  t.equal(match('other.org'), undefined);
  t.equal(match('*.example.com'), undefined, 'a wildcard sent as SNI matches nothing');
  t.equal(match(''), undefined);
  t.equal(match('com'), undefined);
});

t.test('the name a deploy probe sends, and what a wildcard order names', async (t) => {
  t.equal(reachingName('a.example.com', new Set()), 'a.example.com');
  t.equal(reachingName('*.example.com', new Set(['*.example.com'])), 'xway-probe.example.com');
  t.equal(reachingName('*.example.com', new Set(['xway-probe.example.com', 'xway-probe-1.example.com'])), 'xway-probe-2.example.com', 'never a name hosted exactly');
  t.same(domainOrderNames('*.example.com', false), ['*.example.com']);
  t.same(domainOrderNames('*.example.com', true), ['*.example.com', 'example.com']);
  t.same(domainOrderNames('a.example.com', true), ['a.example.com'], 'a plain domain names itself only');
});
