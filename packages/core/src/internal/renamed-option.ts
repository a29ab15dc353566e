import { InvalidOptionsError } from '../errors.js';

/**
 * The value of an option given under its name or under the older name kept working as a
 * deprecated alias (0.x keeps the names DESIGN.md lists).
 *
 * @throws {@link InvalidOptionsError} when both are given with different values: which one
 *   was meant cannot be guessed.
 */
export function renamedOption(owner: string, name: string, value: number | undefined, alias: string, aliasValue: number | undefined): number | undefined {
  if (value !== undefined && aliasValue !== undefined && value !== aliasValue) {
    throw new InvalidOptionsError(`${owner}: ${name} (${value}) and ${alias} (${aliasValue}), its deprecated name, disagree; give only ${name}`, { option: name });
  }
  return value ?? aliasValue;
}
