import { fieldAt } from './object-fields.js';

/** The fields Converge reads from an entry of `status.conditions`. */
export interface Condition {
  type: string;
  /** `True`, `False` or `Unknown`. */
  status: string;
  reason: string;
  message: string;
}

/**
 * The object's `status.conditions`, in order, with missing strings as `''`. Entries that are
 * not objects or have no `type` are skipped rather than failing the whole computation.
 */
export function conditionsOf(obj: unknown): Condition[] {
  const raw = fieldAt(obj, 'status.conditions');
  if (!Array.isArray(raw)) return [];
  const out: Condition[] = [];
  for (const c of raw) {
    if (c === null || typeof c !== 'object') continue;
    const r = c as Record<string, unknown>;
    if (typeof r['type'] !== 'string') continue;
    out.push({
      type: r['type'],
      status: typeof r['status'] === 'string' ? r['status'] : '',
      reason: typeof r['reason'] === 'string' ? r['reason'] : '',
      message: typeof r['message'] === 'string' ? r['message'] : '',
    });
  }
  return out;
}

/** The first condition of `type` whose status is `status`, if any. */
export function findCondition(conditions: readonly Condition[], type: string, status: string): Condition | undefined {
  return conditions.find((c) => c.type === type && c.status === status);
}
