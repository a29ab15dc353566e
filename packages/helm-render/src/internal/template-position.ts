import type { FilePosition } from '@converge/core';

// "parse error at (chart/templates/a.yaml:12): …", "execution error at (chart/templates/a.yaml:5:14): …",
// or the multi-line form whose lines start with "chart/templates/a.yaml:5:14".
const LOCATION = /(?:^|[\s(<])((?:[^\s():<>]+\/)+[^\s():<>]+):(\d+)(?::(\d+))?(?=[)>\s:]|$)/m;

/**
 * The template file and line in a Helm error message, as Helm reports them
 * (`mychart/templates/deployment.yaml`, 1-based line and column), or `undefined`.
 */
export function templatePosition(message: string): FilePosition | undefined {
  // "YAML parse error on chart/templates/a.yaml: error converting YAML to JSON: yaml: line 6: …"
  const yaml = /YAML parse error on (\S+?): .*?\bline (\d+)/.exec(message);
  if (yaml?.[1] && yaml[2]) return { file: yaml[1], line: Number(yaml[2]) };
  const m = LOCATION.exec(message);
  if (!m?.[1] || !m[2]) return undefined;
  const position: FilePosition = { file: m[1], line: Number(m[2]) };
  if (m[3]) position.column = Number(m[3]);
  return position;
}
