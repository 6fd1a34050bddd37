// The owner of `Metrics`: the rule across Mode and Token, checked before a commit, and the
// /metrics endpoint following a committed change at once.
import type { ConfigOwner, ConfigView, Problem } from '../interfaces.js';

/** Pure: metrics are never served without a token (an open /metrics tells anyone what expires when). */
export function verifyMetrics(next: ConfigView): Problem[] {
  if (next.value('Metrics Mode') === 'On' && next.value('Metrics Token') === '') {
    return ['Metrics Mode On needs Metrics Token: set the token before turning metrics on, and turn them off before clearing it'];
  }
  return [];
}

export function metricsOwner(endpoint: { follow(config: ConfigView): void }): ConfigOwner {
  return {
    name: 'Metrics',
    subtrees: ['Metrics'],
    verify: verifyMetrics,
    apply: ({ next }) => endpoint.follow(next),
  };
}
