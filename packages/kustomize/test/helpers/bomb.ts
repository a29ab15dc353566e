/**
 * A kustomization whose output doubles at each level: level N includes two folders, each
 * naming level N-1's objects with its own suffix. `levels` levels make 2^levels copies of
 * the base ConfigMap (whose payload is `payloadBytes` long) — an output bomb from a few
 * hundred bytes of kustomization.
 */
export function bombFiles(levels: number, payloadBytes = 200): Record<string, string> {
  const files: Record<string, string> = {
    'l0/kustomization.yaml': 'resources:\n- cm.yaml\n',
    'l0/cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  payload: ${'x'.repeat(payloadBytes)}\n`,
  };
  for (let i = 1; i <= levels; i++) {
    files[`l${i}/kustomization.yaml`] = 'resources:\n- a\n- b\n';
    for (const side of ['a', 'b']) files[`l${i}/${side}/kustomization.yaml`] = `nameSuffix: -${side}\nresources:\n- ../../l${i - 1}\n`;
  }
  return files;
}
