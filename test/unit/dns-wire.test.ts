// DNS messages and TSIG without a network: our UPDATE is byte for byte what nsupdate sent for the
// same change (captured from nsupdate 9.18 with a throwaway key), and the decoder survives any
// bytes with nothing worse than DnsFormatError.
import t from 'tap';
import fc from 'fast-check';
import { inspect } from 'node:util';
import { signMessage, TsigKey } from '../../src/services/acme/dns/tsig.js';
import {
  CLASS, DnsFormatError, OPCODE, TYPE, decodeMessage, encodeMessage, inZone, txtRdata, txtValue,
} from '../../src/services/acme/dns/wire.js';
import { challengeName } from '../../src/services/acme/dns/publisher.js';
import { ParameterError } from '../../src/errors.js';

// nsupdate -v -y hmac-sha256:acme-key:J89Y... with: zone example.test; update add
// _acme-challenge.w1.example.test. 60 TXT "valueone"; the same with "valuetwo"; update delete
// _acme-challenge.w1.example.test. TXT "valuethree"; send. Message ID 0x0bbc, time 0x6b0d3fc3.
const NSUPDATE = Buffer.from(
  '0bbc28000001000000030001076578616d706c65047465737400000600010f5f' +
  '61636d652d6368616c6c656e6765027731076578616d706c6504746573740000' +
  '1000010000003c00090876616c75656f6e65c01e001000010000003c00090876' +
  '616c756574776fc01e001000fe00000000000b0a76616c756574687265650861' +
  '636d652d6b65790000fa00ff00000000003d0b686d61632d7368613235360000' +
  '006b0d3fc3012c0020a23cd7b287f99fb03592604185111c9f4af999664c1026' +
  '803c29de2da8ef72d60bbc00000000', 'hex');
const SECRET = 'J89Yek97B63lzCklUGG789tSSPHjS94U6GkzegHhsEI=';
const NAME = '_acme-challenge.w1.example.test';

t.test('an UPDATE signed with hmac-sha256 is byte for byte what nsupdate sends', async (t) => {
  const key = new TsigKey('acme-key', 'hmac-sha256', SECRET);
  const message = encodeMessage({
    id: 0x0bbc, opcode: OPCODE.UPDATE,
    question: [{ name: 'example.test', type: TYPE.SOA, class: CLASS.IN }],
    authority: [
      { name: NAME, type: TYPE.TXT, class: CLASS.IN, ttl: 60, rdata: txtRdata('valueone') },
      { name: NAME, type: TYPE.TXT, class: CLASS.IN, ttl: 60, rdata: txtRdata('valuetwo') },
      { name: NAME, type: TYPE.TXT, class: CLASS.NONE, ttl: 0, rdata: txtRdata('valuethree') },
    ],
  });
  const signed = signMessage(message, key, 0x6b0d3fc3);
  t.equal(signed.bytes.toString('hex'), NSUPDATE.toString('hex'));
  t.equal(signed.mac.length, 32);

  const m = decodeMessage(NSUPDATE);
  t.equal(m.header.opcode, OPCODE.UPDATE);
  t.same(m.question, [{ name: 'example.test', type: TYPE.SOA, class: CLASS.IN }]);
  t.same(m.authority.map((r) => [r.name, r.class, r.ttl, r.data.kind === 'txt' ? txtValue(r.data.strings) : '']),
    [[NAME, CLASS.IN, 60, 'valueone'], [NAME, CLASS.IN, 60, 'valuetwo'], [NAME, CLASS.NONE, 0, 'valuethree']]);
  const tsig = m.additional[0]!;
  t.equal(tsig.type, TYPE.TSIG);
  t.ok(tsig.data.kind === 'tsig' && tsig.data.tsig.timeSigned === 0x6b0d3fc3 && tsig.data.tsig.fudge === 300 && tsig.data.tsig.originalId === 0x0bbc);

  const other = signMessage(message, new TsigKey('acme-key', 'hmac-sha256', 'AAAA' + SECRET.slice(4)), 0x6b0d3fc3);
  t.not(other.bytes.toString('hex'), NSUPDATE.toString('hex'), 'another secret, another MAC');
  const sha512 = signMessage(message, new TsigKey('acme-key', 'hmac-sha512', SECRET), 0x6b0d3fc3);
  t.equal(sha512.mac.length, 64);
});

t.test('keys: checked, and the secret never shows', async (t) => {
  const key = new TsigKey('acme-key', 'hmac-sha512', SECRET);
  t.notMatch(inspect(key), SECRET);
  t.notMatch(JSON.stringify({ key }), SECRET);
  t.notMatch(String(key), SECRET);
  t.throws(() => new TsigKey('acme-key', 'hmac-md5' as never, SECRET), ParameterError);
  t.throws(() => new TsigKey('acme key', 'hmac-sha256', SECRET), ParameterError);
  const bad = 'not base64 !' + SECRET;
  t.throws(() => new TsigKey('acme-key', 'hmac-sha256', bad), { message: 'The TSIG secret of key acme-key is not base64' });
});

t.test('names: TXT values split at 255 bytes, wildcards publish at the base name', async (t) => {
  const long = 'x'.repeat(300);
  const rdata = txtRdata(long);
  t.equal(rdata[0], 255);
  t.equal(rdata[256], 45);
  t.equal(rdata.length, 302);
  t.equal(challengeName('*.W1.Example.Test.'), '_acme-challenge.w1.example.test');
  t.equal(challengeName('w1.example.test'), '_acme-challenge.w1.example.test');
  t.ok(inZone('_acme-challenge.example.test', 'Example.Test.'));
  t.notOk(inZone('_acme-challenge.badexample.test', 'example.test'));
  t.throws(() => encodeMessage({ id: 1, opcode: 0, question: [{ name: 'a b.test', type: 1, class: 1 }] }), RangeError);
});

t.test('decoder: hostile bytes give DnsFormatError and nothing else', async (t) => {
  // A pointer to itself, a forward pointer, a label past the end, a truncated header.
  const header = '000181800001000000000000';
  for (const hex of [header + 'c00c00010001', header + 'c01000010001', header + '3f61', '0001']) {
    t.throws(() => decodeMessage(Buffer.from(hex, 'hex')), DnsFormatError, hex);
  }
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(NSUPDATE.length - 1), fc.nat(255), (bytes, at, value) => {
    for (const input of [Buffer.from(bytes), Buffer.from(NSUPDATE).fill(value, at, at + 1), NSUPDATE.subarray(0, at)]) {
      try { decodeMessage(input); } catch (e) { if (!(e instanceof DnsFormatError)) return false; }
    }
    return true;
  }), { numRuns: 3000 });
});
