// The Pebble harness lives in bench/ (compiled with the project, so benchmarks use it too).
export * from '../../bench/acme-pebble.js';
