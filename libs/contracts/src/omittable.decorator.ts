import { ValidateIf, ValidationOptions } from 'class-validator';

/**
 * The field may be left out; when it is there, every other rule on it applies, so `null` is refused like any other
 * wrong type. Use it instead of class-validator's `IsOptional`, which also skips `null`: `{"rxBytes": null}` got past
 * it into a NOT NULL column. Absent is the only way to say "not given" on this API.
 */
export const IsOmittable = (options?: ValidationOptions): PropertyDecorator =>
  ValidateIf((_object: object, value: unknown) => value !== undefined, options);
