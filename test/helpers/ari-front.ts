// The ARI/profiles front for Pebble lives in bench/ (compiled with the project, so the
// mass-revocation benchmark can use it too).
export * from '../../bench/acme-ari-front.js';
