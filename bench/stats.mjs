// Measurement helpers shared by the benchmarks.
import { readFileSync } from 'node:fs';

/** Mean, median, 95th percentile and minimum of a list of milliseconds. */
export const stats = (ms) => {
  const s = [...ms].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { mean, p50: s[Math.floor(s.length / 2)], p95: s[Math.min(s.length - 1, Math.floor(s.length * 0.95))], min: s[0] };
};

/** Milliseconds with one decimal. */
export const fmt = (x) => `${x.toFixed(1)} ms`;

/** The resident memory of process `pid` in bytes from /proc (Linux); 0 without one. */
export function rssOf(pid) {
  if (pid === undefined) return 0;
  try {
    return Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/**
 * Samples this process's RSS every 5 ms until stopped, plus that of the process `childPid()`
 * names at the same moment (e.g. a wasm engine's process); `peak()` is the highest sum seen.
 */
export function rssSampler(childPid = () => undefined) {
  const sample = () => process.memoryUsage().rss + rssOf(childPid());
  let peak = sample();
  const timer = setInterval(() => (peak = Math.max(peak, sample())), 5);
  return { stop: () => clearInterval(timer), peak: () => peak };
}
