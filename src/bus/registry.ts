// The declarations, as trees: xConfiguration and xStatus from schema/, xCommand from commands/.
// Built once at start; a bad declaration (duplicate path, leaf over group, bad default) throws,
// so a broken schema never boots and the schema test fails.
import type { ConfigNode } from '../../schema/config.js';
import type { StatusNode } from '../../schema/status.js';
import type { CommandDef } from '../../commands/define.js';
import { buildTree, leaves, type TreeNode } from './tree.js';

export class Registry {
  readonly config: TreeNode<ConfigNode>;
  readonly status: TreeNode<StatusNode>;
  readonly commands: TreeNode<CommandDef>;
  /** Every configuration key (indexes expanded) → its declaration, keyed in lower case. */
  private readonly configKeys = new Map<string, { key: string; node: ConfigNode }>();

  constructor(
    readonly configNodes: readonly ConfigNode[],
    readonly statusNodes: readonly StatusNode[],
    readonly commandDefs: readonly CommandDef[],
  ) {
    this.config = buildTree(configNodes);
    this.status = buildTree(statusNodes);
    this.commands = buildTree(commandDefs);
    for (const { path, leaf } of leaves(this.config, [])) {
      const key = path.join(' ');
      const d = leaf.type.parse(String(leaf.default));
      if (!d.ok) throw new Error(`default of ${key} is outside its value space: ${d.reason}`);
      this.configKeys.set(key.toLowerCase(), { key, node: leaf });
    }
    for (const c of commandDefs) {
      for (const name of Object.keys(c.params)) {
        if (!/^[A-Z][A-Za-z0-9]*$/.test(name)) throw new Error(`parameter ${name} of ${c.path.join(' ')} is not PascalCase`);
      }
      if (c.payload?.unless?.some((u) => !(u in c.params))) throw new Error(`payload of ${c.path.join(' ')} names an unknown parameter`);
      for (const [name, p] of Object.entries(c.params)) {
        if (/(File|Path)$/.test(name) && !p.file) throw new Error(`parameter ${name} of ${c.path.join(' ')} names a file but is not declared as one`);
        if (p.file && c.role !== 'Admin') throw new Error(`${c.path.join(' ')} takes a file (${name}) so it must need the Admin role`);
      }
    }
  }

  /** All configuration keys in schema order, with their declarations. */
  allConfig(): { key: string; node: ConfigNode }[] {
    return [...this.configKeys.values()];
  }

  configByKey(key: string): { key: string; node: ConfigNode } | undefined {
    return this.configKeys.get(key.toLowerCase());
  }
}

/** `Security Acme Deploy` → `SecurityAcmeDeployResult`. */
export function resultName(path: readonly string[]): string {
  return path.join('') + 'Result';
}
