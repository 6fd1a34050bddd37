// Static test material, so in-process tests generate no keys at run time: an RSA-2048 key for the
// first self-signed server certificate (made once with `openssl genpkey`; a test key, never used
// anywhere else) and a short default CA list taken from Node's bundled roots.
import crypto from 'node:crypto';
import tls from 'node:tls';

const SERVER_KEY_PEM = `-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCeBVWj5jx6l7OR
MxiPa6aWbI87okSuF4q12643yCKt7zJytssKjHjMlfUIyMUGjqCvTQLqtDeOMSrc
OHOcZHxWsACKZ8LqUftnSRy9Yj20P1VV12/wXVdWmVw1yO324HtigommpKmqVEJR
IsNOwtLFJpMZsHOBeoFD43frWt3d4Zs6OIrhcNTcq2j3Ns+B1iFGyqgOFERWvyip
Mu6QKMnOHPXlM8oW1zOhLjWCRFJmcU9Zb0YT6iWZyncVtuGZeyHFxQOh+ee42mjN
sCPIl15rtKXKsI/9KC5MWuQa0G31Cofgzjp6oFnwsPs+tkm7Y7LAWNUtIaT3cu1x
Ibe5ATXTAgMBAAECggEAPICVYCokiNmxjowOQMd6YojRNId2HWP1H5krdL8jjA4T
9jkHt5O+IrLdvU3FpjOQ0V2+mqeCx+YKX4Qbu8r7kmNT6ao9xmK6S7sCDn7hWjSP
k0zn1pOef5E7bXpvpkEf7MFHO+866PTW6WLSfcL5WTPiSYk2SGJjwN8EiK/jV/LR
pfahb0v7cIFu7bfhatRAvDpq3M6dGtRvhedTWt05oELwBuIZxmrfan/j3/RFagp5
pVT3aMOuKoiOW18DeXRYZ2pq2yReM1YuHsWGevkcrLyYbbNH6mgVYfIw4mXNcKSS
8oefzVMS7CzrHk0Vogx/YLLoEEwtJGof/h/TZcwHLQKBgQDVfdUXoIeS0ZzyPuj/
1JJAaDLVYjYIN/f75iL/8lfLSRl5k4w3ihq/QPST9WJZ0JQDnOvJ2u+sru4F1N/N
qGWF0ZfCnwpJmA4J39c31fg1uIKc++qYWiAXMAIxGyVrwkyYxtZKSxNwgPViMPyK
LrYz4mU5MuoMcv1XjwYBqkH5ZQKBgQC9fAei1m0O9zrO+mLJIpGjqUoyu8TAIgGy
S7fERnLWdeiVngWxFG4AQAN0CieXsQI3RHzyv/581TmXDve/QM/OjJmpCcJPo94s
l3fvvjTqlHvhuEkQqTq/IZ19WBq0Wbl+vjQgzMyLvyN4FoCm6jIAz6KLbBOzI6cM
BIW1DSqa1wKBgQDPVAVGjbo7pd7yDpA+KpThgY+kVF0+vAPTGJryzsnd/J6Fx/mK
0k7JX25l5g7eREYKADGn9Tt/Ct7SwPmbgqcdPv9PnR3jfIxdoIkki2Ih4Y7On4Mi
85toiVIHmGJN9QJn9+mRerllL4eeFQ6br2N4natJ0h0je+R2TMo7gbnSVQKBgQCP
Z1HkJEIPZH5mbMrcjEQKx7F26fKCsnn0NSfT7Lk2o6+tpBWMqfiCSfATHyhNvlH9
/+BMW4+/bCQUteg8H1HmcTRN4Svk2BDqUIwdricgLdX/w1fQuzLRuiAV39r+CTXA
vTR4amaXkMXIOceOC4piYMIUoGvcVKw1BSsoFdnbqwKBgB6a0uOfhf3mwHg0pMkw
bpr7ThXDF7slwpEOiJ7wggipRC4LoHcnI8q3nNl6d0IIqwHff/zOZGnB/IbPd2K3
xzDIKaHFexPmh7bplWpGwSnwAzUugH3uL/BdD4UuaGJyqfqcDmVgJoY5jFMOkC/Y
31c3cOsPptzjfto1VBNbFVy8
-----END PRIVATE KEY-----
`;

/** The first-boot key source for buildApp: the same RSA-2048 key every time. */
export function staticKey(): crypto.KeyObject {
  return crypto.createPrivateKey(SERVER_KEY_PEM);
}

/**
 * Three real root certificates instead of Node's ~144: what the default list needs to be a list.
 * Roots valid for years yet, so seeding (which leaves out expired ones) keeps all three.
 */
const FEW = tls.rootCertificates.filter((p) => Date.parse(new crypto.X509Certificate(p).validTo) > Date.UTC(2030, 0, 1)).slice(0, 3);
export function fewDefaultCas(): readonly string[] {
  return FEW;
}
