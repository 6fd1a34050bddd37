// The algorithms offered, most preferred first. Only modern ones: no SHA-1 (kex, MACs, ssh-rsa
// signatures), no CBC, no NIST curves, no compression. ssh2 adds `kex-strict-s-v00@openssh.com`
// itself whenever an explicit list is given, so clients that support it get strict key exchange
// (the Terrapin countermeasure). ssh2 1.17 also appended `ssh-rsa` to any list holding rsa-sha2-*;
// patches/ssh2+1.17.0.patch makes it offer exactly the host key types listed here.
import type { Algorithms } from 'ssh2';

export const ALGORITHMS: Algorithms = {
  kex: [
    'curve25519-sha256',
    'curve25519-sha256@libssh.org',
    'diffie-hellman-group16-sha512',
    'diffie-hellman-group18-sha512',
    'diffie-hellman-group14-sha256',
  ],
  serverHostKey: ['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256'],
  cipher: [
    'chacha20-poly1305@openssh.com',
    'aes128-gcm@openssh.com',
    'aes256-gcm@openssh.com',
    'aes128-ctr',
    'aes192-ctr',
    'aes256-ctr',
  ],
  hmac: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512'],
  compress: ['none'],
};
