import { Ajv, type ErrorObject, type Options, type SchemaObject, type ValidateFunction } from 'ajv';

/**
 * Up to this many JSON values (objects, arrays and scalars), a failing value gets ajv's full error
 * list. Past it only the first error is reported: with allErrors ajv makes one error object per
 * bad element, so a 4 MiB array of wrong items would cost seconds and hundreds of MiB to describe.
 */
export const FULL_ERROR_LIST_MAX_VALUES = 10_000;

export type BoundedResult<T> =
  | { ok: true; value: T }
  | {
      ok: false;
      errors: ErrorObject[];
      /** True when the value was too large for a full list and `errors` holds only the first. */
      truncated: boolean;
    };

export interface BoundedValidator<T> {
  (value: unknown): BoundedResult<T>;
}

/**
 * A schema validator whose error reporting cannot be made to cost more than the value is worth.
 * Valid input is checked once, stopping at nothing (allErrors off costs the same on success);
 * invalid input is re-checked with allErrors for the complete list only when it is small.
 */
export function compileBounded<T>(schema: SchemaObject, options: Omit<Options, 'allErrors'> = {}): BoundedValidator<T> {
  const firstError: ValidateFunction<T> = new Ajv({ ...options, allErrors: false }).compile<T>(schema);
  const everyError: ValidateFunction<T> = new Ajv({ ...options, allErrors: true }).compile<T>(schema);
  return (value: unknown): BoundedResult<T> => {
    if (firstError(value)) return { ok: true, value };
    if (valueCountExceeds(value, FULL_ERROR_LIST_MAX_VALUES)) {
      return { ok: false, errors: [...(firstError.errors ?? [])], truncated: true };
    }
    everyError(value);
    return { ok: false, errors: [...(everyError.errors ?? [])], truncated: false };
  };
}

/** Whether `value` holds more than `max` JSON values; stops counting as soon as it does. */
export function valueCountExceeds(value: unknown, max: number): boolean {
  const pending: unknown[] = [value];
  let count = 1;
  while (pending.length > 0) {
    const next = pending.pop();
    if (next === null || typeof next !== 'object') continue;
    const children = Array.isArray(next) ? next : Object.values(next);
    // Counted before they are queued, so a huge array is refused without copying it.
    count += children.length;
    if (count > max) return true;
    for (const child of children) pending.push(child);
  }
  return count > max;
}
