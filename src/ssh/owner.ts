// The owner of `Ssh`: open sessions follow a committed Ssh IdleTimeout at once (their idle
// timers are re-armed with the new value), new sessions read it when they start.
import type { ConfigOwner, ConfigService } from '../services/interfaces.js';

export class SshSettings implements ConfigOwner {
  readonly name = 'Ssh';
  readonly subtrees = ['Ssh'];
  private readonly watchers = new Set<() => void>();

  constructor(private readonly config: Pick<ConfigService, 'value'>) {}

  /** Seconds of inactivity after which a session is closed; 0 never. */
  idleTimeoutSeconds(): number {
    return this.config.value('Ssh IdleTimeout');
  }

  /** Calls `fn` after every committed change under Ssh; returns its removal. */
  onChange(fn: () => void): () => void {
    this.watchers.add(fn);
    return () => void this.watchers.delete(fn);
  }

  verify(): string[] {
    return [];
  }

  apply(): void {
    for (const w of [...this.watchers]) w();
  }
}
