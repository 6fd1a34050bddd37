// The BIND harness lives in bench/ (compiled with the project, so benchmarks use it too).
export * from '../../bench/bind.js';
