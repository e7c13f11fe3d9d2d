import { decodeEventValues, EventValues, isoTime } from './event-codec';

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

describe('decodeEventValues', () => {
  const stream = { streamId: 'node-n1', tenantId: 't1' };

  it("restores a compact heartbeat's tenant, type, empty data and metadata from its stream", () => {
    const row: EventValues = [7, null, 3, 9, null, null, null, 1_700_000_000_000];
    expect(decodeEventValues(row, stream)).toEqual({
      position: 7, tenantId: 't1', streamId: 'node-n1', streamVersion: 9, type: 'NodeSeen', data: {},
      metadata: { actor: { kind: 'node', id: 'n1' } }, recordedAt: '2023-11-14T22:13:20.000Z',
    });
  });

  it('takes every other event as stored', () => {
    const row: EventValues = [8, 't2', 3, 10, 'NodeTagsChanged', '{"nodeId":"n1","tags":["tag:a"]}', '{"actor":{"kind":"user","id":"u1"}}', 1_700_000_000_001];
    expect(decodeEventValues(row, stream)).toMatchObject({
      tenantId: 't2', data: { nodeId: 'n1', tags: ['tag:a'] }, metadata: { actor: { kind: 'user', id: 'u1' } }, recordedAt: '2023-11-14T22:13:20.001Z',
    });
  });
});
