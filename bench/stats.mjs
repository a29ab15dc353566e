// Measurement helpers shared by the benchmarks.

/** Mean, median, 95th percentile and minimum of a list of milliseconds. */
export const stats = (ms) => {
  const s = [...ms].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { mean, p50: s[Math.floor(s.length / 2)], p95: s[Math.min(s.length - 1, Math.floor(s.length * 0.95))], min: s[0] };
};

/** Milliseconds with one decimal. */
export const fmt = (x) => `${x.toFixed(1)} ms`;

/** Samples this process's RSS every 5 ms until stopped; `peak()` is the highest seen. */
export function rssSampler() {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  return { stop: () => clearInterval(timer), peak: () => peak };
}
