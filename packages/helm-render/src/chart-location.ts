/** Where a chart comes from, as parsed from `helmChart({ chart })`. */
export type ChartLocation =
  | { kind: 'artifact'; path: string }
  | { kind: 'repository'; repositoryUrl: string; name: string }
  | { kind: 'archive-url'; url: string }
  | { kind: 'oci'; reference: string };

/**
 * Parses the `chart` option: `oci://…` is an OCI reference, an `http(s)://…` URL ending in
 * `.tgz` a chart archive, any other URL `<repository URL>/<chart name>`, and anything else a
 * folder or `.tgz` in the artifact (`./` and trailing `/` ignored; `''` or `.` is its root).
 *
 * @example
 * ```ts
 * parseChartLocation('https://charts.example.com/stable/web');
 * // { kind: 'repository', repositoryUrl: 'https://charts.example.com/stable', name: 'web' }
 * ```
 */
export function parseChartLocation(chart: string): ChartLocation {
  if (chart.startsWith('oci://')) return { kind: 'oci', reference: chart.replace(/\/+$/, '') };
  if (/^https?:\/\//.test(chart)) {
    const url = new URL(chart);
    if (url.pathname.endsWith('.tgz')) return { kind: 'archive-url', url: chart };
    const trimmed = chart.replace(/\/+$/, '');
    const slash = trimmed.lastIndexOf('/');
    return { kind: 'repository', repositoryUrl: trimmed.slice(0, slash), name: trimmed.slice(slash + 1) };
  }
  const path = chart.replace(/\\/g, '/').replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  return { kind: 'artifact', path: path === '.' ? '' : path };
}
