import { AppSpecError, type AnyAppSpec } from '../app-spec.js';

/**
 * Checks that every `dependsOn` names a declared application and that there is no cycle.
 *
 * @throws {AppSpecError} naming the application at fault.
 */
export function checkDependencies(specs: readonly AnyAppSpec[]): void {
  const names = new Set(specs.map((s) => s.name));
  for (const spec of specs) {
    for (const dep of spec.dependsOn ?? []) {
      if (!names.has(dep)) throw new AppSpecError(`app ${spec.name} depends on ${dep}, which is not declared`, { file: spec.name });
    }
  }
  dependencyOrder(specs);
}

/** Specs sorted so every application comes after the ones it depends on. */
export function dependencyOrder<TSpec extends AnyAppSpec>(specs: readonly TSpec[]): TSpec[] {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const done = new Set<string>();
  const visiting = new Set<string>();
  const out: TSpec[] = [];
  const visit = (spec: TSpec, path: string[]) => {
    if (done.has(spec.name)) return;
    if (visiting.has(spec.name)) throw new AppSpecError(`dependency cycle: ${[...path, spec.name].join(' → ')}`, { file: spec.name });
    visiting.add(spec.name);
    for (const dep of spec.dependsOn ?? []) {
      const next = byName.get(dep);
      if (next) visit(next, [...path, spec.name]);
    }
    visiting.delete(spec.name);
    done.add(spec.name);
    out.push(spec);
  };
  for (const spec of specs) visit(spec, []);
  return out;
}
