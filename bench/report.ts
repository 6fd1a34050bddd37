// What a benchmark reports: a figure, its unit, and how it compares with its target and with the
// named peer measured in the same run.
export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** e.g. '<= 0.3x sshd', '>= 5000/s'; informational. */
  readonly target?: string;
  /** The figure divided by the peer's, when there is one. */
  readonly ratio?: number;
  readonly peer?: string;
  /** Whether the target is met (undefined when there is no target). */
  readonly met?: boolean;
}

export type Bench = () => Promise<Figure[]>;

export function line(f: Figure): string {
  const v = Number.isInteger(f.value) ? String(f.value) : f.value.toFixed(f.value < 10 ? 3 : 1);
  const ratio = f.ratio !== undefined ? `  ratio ${f.ratio.toFixed(3)}x ${f.peer ?? ''}` : '';
  const target = f.target ? `  target ${f.target}${f.met === undefined ? '' : f.met ? ' (met)' : ' (NOT met)'}` : '';
  return `${f.name.padEnd(58)} ${v.padStart(10)} ${f.unit}${ratio}${target}`;
}
