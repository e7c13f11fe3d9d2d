import { packColumns } from '../storage/column-page';
import { decodeLogPage, decodeStoredValues, isoTime, LogDetails, StoredValues } from './event-codec';

describe('isoTime', () => {
  it('spells every instant as Date#toISOString does', () => {
    const instants = [0, 1, 999, 1000, 59_999, 86_399_999, 86_400_000, 951_782_400_000 /* 2000-02-29 */, Date.UTC(2026, 11, 31, 23, 59, 59, 999),
      253_402_300_799_999, 253_402_300_800_000, -1, -86_400_001, 1.5];
    let seed = 42;
    for (let i = 0; i < 2000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      instants.push(Math.floor((seed / 2_147_483_648) * 4_102_444_800_000));
    }
    for (const ms of instants) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });
});

describe('decodeLogPage', () => {
  const streams = new Map([[3, { streamId: 'node-n1', tenantId: 't1' }], [4, { streamId: 'policy-t2', tenantId: 't2' }]]);
  const streamOf = (ref: number) => streams.get(ref)!;

  it("restores a compact heartbeat's tenant, type, empty data and metadata from its stream", () => {
    const page = packColumns([[7, 3, 9, 1_700_000_000_000]]);
    expect(decodeLogPage(page, [], streamOf)).toEqual([{
      position: 7, tenantId: 't1', streamId: 'node-n1', streamVersion: 9, type: 'NodeSeen', data: {},
      metadata: { actor: { kind: 'node', id: 'n1' } }, recordedAt: '2023-11-14T22:13:20.000Z',
    }]);
  });

  it('takes every event marked by a negative version from its details, in position order', () => {
    const page = packColumns([[8, 4, -1, 1_700_000_000_001], [9, 3, 10, 1_700_000_000_002], [10, 3, -11, 1_700_000_000_003]]);
    const details: LogDetails[] = [
      [8, 't2', 'PolicyUpdated', '{"version":2}', '{"actor":{"kind":"user","id":"u1"}}'],
      [10, 't1', 'NodeHeartbeatRecorded', '{"rxBytes":5}', ''],
    ];
    expect(decodeLogPage(page, details, streamOf)).toEqual([
      { position: 8, tenantId: 't2', streamId: 'policy-t2', streamVersion: 1, type: 'PolicyUpdated', data: { version: 2 },
        metadata: { actor: { kind: 'user', id: 'u1' } }, recordedAt: '2023-11-14T22:13:20.001Z' },
      { position: 9, tenantId: 't1', streamId: 'node-n1', streamVersion: 10, type: 'NodeSeen', data: {},
        metadata: { actor: { kind: 'node', id: 'n1' } }, recordedAt: '2023-11-14T22:13:20.002Z' },
      { position: 10, tenantId: 't1', streamId: 'node-n1', streamVersion: 11, type: 'NodeHeartbeatRecorded', data: { rxBytes: 5 },
        metadata: { actor: { kind: 'node', id: 'n1' } }, recordedAt: '2023-11-14T22:13:20.003Z' },
    ]);
  });

  it('refuses details that are not those of the page', () => {
    const page = packColumns([[8, 4, -1, 1_700_000_000_001]]);
    expect(() => decodeLogPage(page, [[9, 't2', 'PolicyUpdated', '{}', '']], streamOf)).toThrow('position 8');
    expect(() => decodeLogPage(page, [], streamOf)).toThrow('position 8');
  });
});

describe('decodeStoredValues', () => {
  it('takes an event as stored, "the stream\'s own node" for an empty metadata', () => {
    const row: StoredValues = [8, 't2', 3, 10, 'NodeSeen', '{}', '', 1_700_000_000_001];
    expect(decodeStoredValues(row, { streamId: 'node-n1', tenantId: 't1' })).toEqual({
      position: 8, tenantId: 't2', streamId: 'node-n1', streamVersion: 10, type: 'NodeSeen', data: {},
      metadata: { actor: { kind: 'node', id: 'n1' } }, recordedAt: '2023-11-14T22:13:20.001Z',
    });
  });
});
