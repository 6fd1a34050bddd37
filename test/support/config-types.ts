// Type-level tests: `tsc -p .` (npm test's pretest, and every build) compiles this file, so a
// type that stops flowing from the schema fails the build. Nothing here runs.
import { literal, int, str, type ValueSpace } from '../../schema/types.js';
import type { ConfigKey, ConfigValue } from '../../schema/config.js';
import type { AcmeProvider, KeyType } from '../../schema/sets.js';
import type { ConfigService } from '../../src/services/interfaces.js';
import { defineCommand, param } from '../../commands/define.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
const same = <A, B>(proof: Equal<A, B>) => proof;

// Value spaces carry the type of what they accept.
export const onOff: ValueSpace<'On' | 'Off'> = literal('On', 'Off');
// @ts-expect-error a wider literal set is not a narrower one
export const onlyOn: ValueSpace<'On'> = literal('On', 'Off');
export const port: ValueSpace<number> = int(1, 65535);
// @ts-expect-error a string space holds no numbers
export const notPort: ValueSpace<number> = str(1, 5);

// The configuration: keys and value types derived from schema/config.ts.
same<ConfigValue<'Security Acme Provider'>, AcmeProvider>(true);
same<ConfigValue<'Security Acme KeyType'>, KeyType>(true);
same<ConfigValue<'Http Redirect Mode'>, 'On' | 'Off'>(true);
same<ConfigValue<'Ssh IdleTimeout'>, number>(true);
same<ConfigValue<'Clustering Peer 4 Address'>, string>(true);
export function reads(config: ConfigService): void {
  const provider: AcmeProvider = config.value('Security Acme Provider');
  const seconds: number = config.value('Ssh IdleTimeout');
  // @ts-expect-error a misspelled key does not compile
  config.value('Security Acme Providr');
  // @ts-expect-error an integer is not a string
  const name: number = config.value('SystemUnit Name');
  // @ts-expect-error nor is On/Off a boolean
  const on: boolean = config.value('Http Redirect Mode');
  void [provider, seconds, name, on];
}
// @ts-expect-error an indexed key needs its index
export const badKey: ConfigKey = 'Clustering Peer Address';

// Commands: handler arguments follow the parameter declarations.
export const probe = defineCommand({
  path: ['Type', 'Probe'],
  help: 'type test only',
  role: 'Admin',
  params: {
    Name: param(str(1, 10), 'required', { required: true }),
    Mode: param(literal('On', 'Off'), 'optional literal'),
    Tag: param(str(1, 10), 'repeatable', { multiple: true }),
    Count: param(int(1, 9), 'optional integer'),
  },
  async run(args) {
    same<typeof args.Name, string>(true);
    same<typeof args.Mode, 'On' | 'Off' | undefined>(true);
    same<typeof args.Tag, string[] | undefined>(true);
    same<typeof args.Count, number | undefined>(true);
    // @ts-expect-error an optional argument may be absent
    void args.Mode.length;
    // @ts-expect-error undeclared parameters do not exist
    void args.Other;
    return {};
  },
});
