// The owner of `Http`: the HTTP listener follows Http Redirect Mode as soon as it is committed.
import type { ConfigOwner, TlsService } from '../interfaces.js';

export function httpOwner(web: Pick<TlsService, 'setRedirect'>): ConfigOwner {
  return {
    name: 'Http',
    subtrees: ['Http'],
    verify: () => [],
    apply: ({ next }) => web.setRedirect(next.value('Http Redirect Mode') === 'On'),
  };
}
