// Feedback: sessions register address expressions (`/Status/SystemUnit`, `/Configuration/Http`,
// `/Event/...`); services announce changes; the hub hands each session what matches, and the
// session writes it between replies.
import type { Value } from '../../schema/types.js';
import type { Fields } from '../../commands/define.js';
import type { StatusTree } from '../services/interfaces.js';

export type Feedback =
  | { kind: 'status'; tree: StatusTree }
  | { kind: 'config'; entries: readonly { path: readonly string[]; value: Value; quoted: boolean }[] }
  | { kind: 'event'; name: string; fields: Fields };

export type Root = 'Status' | 'Configuration' | 'Event';

export interface Registration {
  readonly root: Root;
  /** Canonical path below the root (indexes as decimal strings). */
  readonly path: readonly string[];
  readonly expr: string;
}

export interface Subscriber {
  readonly registrations: Registration[];
  deliver(f: Feedback): void;
}

/** True when one path is a prefix of the other (a change there concerns the registration). */
export function overlaps(a: readonly string[], b: readonly string[]): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i]!.toLowerCase() !== b[i]!.toLowerCase()) return false;
  return true;
}

export const MAX_REGISTRATIONS = 50;

export class FeedbackHub {
  private readonly subscribers = new Set<Subscriber>();

  add(s: Subscriber): () => void {
    this.subscribers.add(s);
    return () => this.subscribers.delete(s);
  }

  /**
   * Each subscriber with at least one registration under `root` overlapping `path`, once, with the
   * paths of all those registrations: sibling registrations (`.../TrustedCA`, `.../Server`) under
   * a change made higher up each get their part, and the subscriber gets one feedback message.
   */
  *matches(root: Root, path: readonly string[]): Generator<{ sub: Subscriber; paths: readonly (readonly string[])[] }> {
    for (const sub of this.subscribers) {
      const paths = sub.registrations.filter((r) => r.root === root && overlaps(r.path, path)).map((r) => r.path);
      if (paths.length) yield { sub, paths };
    }
  }

  get size(): number {
    return this.subscribers.size;
  }
}
