// The fixed layout of the data directory. Storage keys (certs/, trust/, acme/, uploads/) are
// built in src/stores/keys.ts; the few paths outside the storage (database, host keys, logs,
// the first-boot password) are named here.
import path from 'node:path';

const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** A plain, short name of safe characters: no `..`, separators, NUL, leading dot. */
export function isSafeName(name: string): boolean {
  return SAFE_NAME.test(name) && !name.includes('..');
}

export class DataPaths {
  constructor(readonly root: string) {}
  get database(): string { return path.join(this.root, 'xway.db'); }
  get hostKeys(): string { return path.join(this.root, 'ssh'); }
  /** The admin's upload area, shown as /tmp in the shell and over SFTP (which works on the files). */
  get uploads(): string { return path.join(this.root, 'uploads'); }
  get logs(): string { return path.join(this.root, 'logs'); }
  /** The etcd member's data directory (a clustered peer only). */
  get etcd(): string { return path.join(this.root, 'etcd'); }
  /** The certificate, key and CA bundle the etcd member and client use (written at Join). */
  get clusterTls(): string { return path.join(this.root, 'cluster-tls'); }
  get adminPasswordFile(): string { return path.join(this.root, 'admin-password'); }
}
