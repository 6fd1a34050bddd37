// The owner of `SystemUnit`: the name is read where it is shown (xStatus SystemUnit Name, the
// first self-signed certificate); a committed change is announced to status feedback.
import type { ConfigOwner, StatusService } from '../interfaces.js';

export function systemUnitOwner(status: Pick<StatusService, 'changed'>): ConfigOwner {
  return {
    name: 'SystemUnit',
    subtrees: ['SystemUnit'],
    verify: () => [],
    apply: () => status.changed(['SystemUnit']),
  };
}
