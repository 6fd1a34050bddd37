// Which hosted domain serves a server name sent in SNI. Pure. The exact name comes first; then the
// wildcard one label deep (RFC 6125 section 6.4.3: `*.example.com` serves `a.example.com`, never
// `example.com` nor `a.b.example.com`); last, a wildcard domain whose certificate also names its
// base (`*.example.com` ordered with `example.com`, or uploaded so) serves that base name.

/**
 * The hosted name (`a.example.com` or `*.example.com`) that serves `servername` (lower case, no
 * final dot), or undefined for the server certificate. `hosted` says whether a name is hosted with
 * a certificate; `namesBase` whether a hosted wildcard's certificate also covers its base name.
 */
export function sniMatch(servername: string, hosted: (name: string) => boolean, namesBase: (wildcard: string) => boolean): string | undefined {
  if (servername === '' || servername.includes('*')) return undefined;
  if (hosted(servername)) return servername;
  const dot = servername.indexOf('.');
  if (dot > 0) {
    const wildcard = `*${servername.slice(dot)}`;
    if (hosted(wildcard)) return wildcard;
  }
  const above = `*.${servername}`;
  return hosted(above) && namesBase(above) ? above : undefined;
}
