import { ForgeError } from '../forge-error.js';

/** Reads a forge's JSON answer field by field; a missing or mistyped field is `FORGE_BAD_RESPONSE`. */
export class Shape {
  constructor(
    private readonly forge: string,
    private readonly operation: string,
  ) {}

  fail(what: string): never {
    throw new ForgeError('FORGE_BAD_RESPONSE', `${this.forge}: ${this.operation}: unexpected answer (${what})`, { data: { forge: this.forge, operation: this.operation } });
  }

  object(value: unknown, what: string): Record<string, unknown> {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) this.fail(`${what} is not an object`);
    return value as Record<string, unknown>;
  }

  array(value: unknown, what: string): unknown[] {
    if (!Array.isArray(value)) this.fail(`${what} is not a list`);
    return value;
  }

  string(value: unknown, what: string): string {
    if (typeof value !== 'string') this.fail(`${what} is not a string`);
    return value;
  }

  number(value: unknown, what: string): number {
    if (typeof value !== 'number' || !Number.isFinite(value)) this.fail(`${what} is not a number`);
    return value;
  }

  optionalString(value: unknown, what: string): string | undefined {
    return value === undefined || value === null || value === '' ? undefined : this.string(value, what);
  }
}
