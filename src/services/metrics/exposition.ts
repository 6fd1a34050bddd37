// The Prometheus text exposition format, version 0.0.4: `# HELP` and `# TYPE` lines, then one
// sample per line. Pure: metric families in, text out.
// https://prometheus.io/docs/instrumenting/exposition_formats/

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  readonly labels?: Labels;
  readonly value: number;
}

export interface MetricFamily {
  /** `xway_<what>_<unit>`; counters end in `_total`. */
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter';
  /** May be empty: HELP and TYPE still tell a scraper the metric exists. */
  readonly samples: readonly Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** HELP text escapes backslash and newline; label values also the double quote. */
const escapeHelp = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (s: string) => escapeHelp(s).replace(/"/g, '\\"');

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Renders families in the order given. Throws on a name that is not a metric or label name (a bug here, not input). */
export function render(families: readonly MetricFamily[]): string {
  let out = '';
  for (const f of families) {
    if (!NAME.test(f.name)) throw new Error(`Invalid metric name ${f.name}`);
    out += `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`;
    for (const s of f.samples) {
      const pairs = Object.entries(s.labels ?? {}).map(([k, v]) => {
        if (!LABEL.test(k) || k.startsWith('__')) throw new Error(`Invalid label name ${k}`);
        return `${k}="${escapeLabel(v)}"`;
      });
      out += `${f.name}${pairs.length ? `{${pairs.join(',')}}` : ''} ${formatValue(s.value)}\n`;
    }
  }
  return out;
}
