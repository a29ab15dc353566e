import { parse } from 'yaml';
import { substitute, type FileTree } from '@converge/core';
import { AppSpecError, validateAppSpec, type AppSpec } from './app-spec.js';

/** Name of the optional template every spec file in the folder is merged over. */
export const APP_TEMPLATE_FILE = '_template.yaml';

const SPEC_FILE = /^[^_.][^/]*\.ya?ml$/;

/**
 * Reads every `*.yaml` spec file directly in `dir` (files starting with `_` or `.` are not
 * apps). With a `_template.yaml`, each spec is merged over the template after `${NAME}` (the
 * file's name) and the spec's `vars` are substituted into it — this is how one small file per
 * merge request becomes a full environment.
 *
 * @throws {AppSpecError} for the first invalid file; then no spec is returned at all.
 */
export async function readAppSpecs(files: FileTree, dir = ''): Promise<AppSpec[]> {
  return (await readAppSpecFiles(files, dir)).map((f) => f.spec);
}

/** {@link readAppSpecs}, each spec with the path of its file (for error positions). */
export async function readAppSpecFiles(files: FileTree, dir = ''): Promise<{ file: string; spec: AppSpec }[]> {
  const prefix = dir && !dir.endsWith('/') ? `${dir}/` : dir;
  const all = await files.list(dir || undefined);
  const inDir = all.filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes('/'));
  const templatePath = inDir.find((p) => p.slice(prefix.length) === APP_TEMPLATE_FILE);
  const template = templatePath ? await readYaml(files, templatePath) : undefined;

  const specs: { file: string; spec: AppSpec }[] = [];
  const names = new Map<string, string>();
  for (const path of inDir.filter((p) => SPEC_FILE.test(p.slice(prefix.length)))) {
    const base = path.slice(prefix.length).replace(/\.ya?ml$/, '');
    const own = await readYaml(files, path);
    const merged = template === undefined ? own : await applyTemplate(template, own, base, path);
    const spec = validateAppSpec(merged, path, base);
    const clash = names.get(spec.name);
    if (clash) throw new AppSpecError(`${path}: app ${spec.name} is already declared in ${clash}`, { file: path });
    names.set(spec.name, path);
    specs.push({ file: path, spec });
  }
  return specs;
}

async function readYaml(files: FileTree, path: string): Promise<unknown> {
  const text = new TextDecoder().decode(await files.read(path));
  try {
    return parse(text) ?? {};
  } catch (error) {
    const line = (error as { linePos?: { line: number }[] }).linePos?.[0]?.line;
    throw new AppSpecError(`${path}${line ? `:${line}` : ''}: ${(error as Error).message.split('\n')[0]}`, { file: path, ...(line && { line }) }, { cause: error });
  }
}

async function applyTemplate(template: unknown, own: unknown, name: string, path: string): Promise<unknown> {
  const vars = { NAME: name, ...((own as { vars?: Record<string, string> }).vars ?? {}) };
  // The template is not a Kubernetes object; wrap it so the substitute transform can walk it.
  const wrapper = { apiVersion: 'v1', kind: 'AppTemplate', metadata: { name }, spec: template };
  try {
    const [filled] = await substitute(vars)([wrapper], undefined as never);
    return deepMerge((filled as unknown as { spec: unknown }).spec, own);
  } catch (error) {
    throw new AppSpecError(`${path}: template ${APP_TEMPLATE_FILE}: ${(error as Error).message}`, { file: path }, { cause: error });
  }
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (!isMap(base) || !isMap(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = deepMerge(base[key], value);
  return out;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
