import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync, ValidationTypes } from 'class-validator';
import * as contracts from './index';

/** Every DTO the package exports, with the fields that may be left out (those with a condition on them). */
const dtos = Object.entries(contracts)
  .filter((entry): entry is [string, new () => object] => typeof entry[1] === 'function')
  .map(([name, target]) => {
    const metadata = getMetadataStorage().getTargetValidationMetadatas(target, '', true, false);
    const omittable = metadata.filter((m) => m.type === ValidationTypes.CONDITIONAL_VALIDATION).map((m) => m.propertyName);
    return { name, target, omittable, fields: new Set(metadata.map((m) => m.propertyName)) };
  })
  .filter((dto) => dto.fields.size > 0);

const errorsOn = (target: new () => object, plain: object) =>
  validateSync(plainToInstance(target, plain), { forbidUnknownValues: true }).map((e) => e.property);

describe('IsOmittable', () => {
  it('finds the DTOs', () => {
    expect(dtos.map((d) => d.name)).toEqual(expect.arrayContaining(['HeartbeatDto', 'PeerStatsDto', 'LoginDto', 'AuditQueryDto']));
  });

  it.each(dtos.flatMap((dto) => dto.omittable.map((field) => [`${dto.name}.${field}`, dto.target, field] as const)))(
    '%s may be absent, never null', (_label, target, field) => {
      expect(errorsOn(target, {})).not.toContain(field);
      expect(errorsOn(target, { [field]: null })).toContain(field);
    });

  it('refuses null where IsOptional would have skipped it', () => {
    class Probe { @contracts.IsOmittable() @contracts.IsTimestamp() at?: string }
    expect(errorsOn(Probe, { at: null })).toEqual(['at']);
    expect(errorsOn(Probe, { at: '2024-01-31' })).toEqual([]);
    expect(errorsOn(Probe, {})).toEqual([]);
  });
});
