// Status aggregation: each top-level group has one provider; snapshots are built on demand.
import type { StatusService, StatusTree } from './interfaces.js';

export class Status implements StatusService {
  private readonly providers = new Map<string, () => StatusTree | readonly StatusTree[]>();
  private readonly listeners: ((path: readonly string[]) => void)[] = [];

  provide(group: string, provider: () => StatusTree | readonly StatusTree[]): void {
    if (this.providers.has(group)) throw new Error(`status group ${group} has a provider already`);
    this.providers.set(group, provider);
  }

  snapshot(): StatusTree {
    const out: StatusTree = {};
    for (const [group, p] of this.providers) out[group] = p();
    return out;
  }

  changed(path: readonly string[]): void {
    for (const l of this.listeners) l(path);
  }

  onChanged(listener: (path: readonly string[]) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }
}
