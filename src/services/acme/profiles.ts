// Certificate profiles (draft-ietf-acme-profiles): the directory's `meta.profiles` maps each
// profile name to a description; a new order names one in its `profile` field, or none for the
// CA's default. Pure: the directory object in, the offered profiles or one clear sentence out.
import { CommandError } from '../../errors.js';
import { oneLine } from './reasons.js';

/** The profiles a directory offers, name → description, sorted by name; empty when none. */
export function profilesOf(directory: unknown): Record<string, string> {
  const meta = typeof directory === 'object' && directory !== null ? (directory as { meta?: unknown }).meta : undefined;
  const profiles = typeof meta === 'object' && meta !== null ? (meta as { profiles?: unknown }).profiles : undefined;
  if (typeof profiles !== 'object' || profiles === null || Array.isArray(profiles)) return {};
  const out: Record<string, string> = {};
  for (const name of Object.keys(profiles).sort()) {
    const d = (profiles as Record<string, unknown>)[name];
    // The description is shown in xStatus: one line, bounded.
    out[name] = typeof d === 'string' ? oneLine(d, 200) : '';
  }
  return out;
}

/**
 * The `profile` field for a new order: undefined for "" (the CA's default), the name when the
 * directory offers it (in the CA's spelling). CommandError, one sentence naming the profiles offered, otherwise.
 */
export function orderProfile(configured: string, directory: unknown): string | undefined {
  if (configured === '') return undefined;
  const offered = Object.keys(profilesOf(directory));
  // Typed by an admin: matched without case, sent as the CA spells it.
  const match = offered.find((n) => n.toLowerCase() === configured.toLowerCase());
  if (match !== undefined) return match;
  if (offered.length === 0) {
    throw new CommandError(`The CA offers no certificate profiles, so profile "${configured}" cannot be requested: set Security Acme Profile to "" for the CA's default`);
  }
  throw new CommandError(`The CA does not offer profile "${configured}": it offers ${offered.map((n) => `"${n}"`).join(', ')}`);
}
