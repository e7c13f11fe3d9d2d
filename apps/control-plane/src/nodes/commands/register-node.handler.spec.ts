import { DomainError, ipToInt, laneOf, streams } from '@meshgate/domain';
import type { EnrollmentKeyRecord } from '../../enrollment-keys/enrollment-keys.read-model';
import { KeyedMutex } from '../../common/keyed-mutex';
import { ConcurrencyError } from '../../event-store/concurrency.error';
import { ADDRESS_KEY } from '../../projections/node-identities.inline';
import { UniqueViolationError } from '../../storage/database.port';
import type { AppendRequest } from '../../event-store/event-store.port';
import { SystemClock } from '../../policies/clock';
import { RegistrationReservations } from '../registration-reservations';
import { RegisterNodeCommand } from './register-node.command';
import { RegisterNodeHandler } from './register-node.handler';

const TENANT = 'tenant-1';
const KEY_ID = 'key-1';
const PUBLIC_KEY = 'mO1cY5H6cL6pQ4Pj4n2wJm5Fbq7Qz4G1Xc0u8r9s3Ek=';

/**
 * Two replicas registering nodes with one reusable enrollment key race on the key's stream: the loser's append is
 * refused (ConcurrencyError). The handler must decide again on the key's new version, not answer 409 to an agent
 * that did nothing wrong.
 */
describe('RegisterNodeHandler, losing a race for the enrollment key to another replica', () => {
  function setup(keyVersions: Array<{ version: number; reusable: boolean; used: boolean }>, failFirst: number, commit: Promise<void> = Promise.resolve()) {
    const appends: AppendRequest[] = [];
    let failures = failFirst;
    const store = {
      append: jest.fn(async (request: AppendRequest) => {
        appends.push(request);
        await commit;
        if (failures-- > 0) throw new ConcurrencyError(streams.enrollmentKey(KEY_ID), request.streams[1].expectedVersion, request.streams[1].expectedVersion + 1);
        return [];
      }),
    };
    let reads = 0;
    const keys = {
      find: jest.fn(async (): Promise<EnrollmentKeyRecord> => {
        const k = keyVersions[Math.min(reads++, keyVersions.length - 1)];
        return {
          id: KEY_ID, tenantId: TENANT, secretHash: 'x', createdAt: '2026-01-01T00:00:00.000Z', uses: k.version - 1, version: k.version,
          state: { exists: true, keyId: KEY_ID, reusable: k.reusable, expiresAt: null, used: k.used, revoked: false, tags: [] },
        };
      }),
    };
    const nodes = { tenantIndex: () => ({ publicKeyTaken: () => false, nameTaken: () => false, lastAllocatedAddress: null }) };
    const views = { catchUp: jest.fn(async () => undefined) };
    const configs = { tagOwnershipOf: () => ({ owns: () => false }) };
    const reservations = new RegistrationReservations();
    const handler = new RegisterNodeHandler(store as never, nodes as never, keys as never, new KeyedMutex(), views as never, configs as never, reservations, new SystemClock());
    const command = new RegisterNodeCommand(
      { name: 'n1', publicKey: PUBLIC_KEY } as never,
      { kind: 'enrollment', keyId: KEY_ID, tenantId: TENANT },
      { actor: { kind: 'system', id: `enrollment-key:${KEY_ID}` } },
    );
    return { handler, command, appends, views, reservations };
  }

  it('catches up and registers on the key\'s new version', async () => {
    const { handler, command, appends, views } = setup([{ version: 1, reusable: true, used: false }, { version: 2, reusable: true, used: true }], 1);
    const registered = await handler.execute(command);
    expect(registered.name).toBe('n1');
    expect(views.catchUp).toHaveBeenCalledTimes(1);
    expect(appends.map((a) => a.streams.find((s) => s.streamId === streams.enrollmentKey(KEY_ID))!.expectedVersion)).toEqual([1, 2]);
  });

  it('refuses a single-use key the other replica used meanwhile (a refusal, not a 409)', async () => {
    const { handler, command } = setup([{ version: 1, reusable: false, used: false }, { version: 2, reusable: false, used: true }], 1);
    await expect(handler.execute(command)).rejects.toBeInstanceOf(DomainError);
  });

  it('gives up with the 409 when it keeps losing, holding no reservation afterwards', async () => {
    const { handler, command, appends, reservations } = setup([{ version: 1, reusable: true, used: false }], 100);
    await expect(handler.execute(command)).rejects.toBeInstanceOf(ConcurrencyError);
    expect(appends.length).toBeGreaterThan(1);
    const view = { publicKeyTaken: () => false, nameTaken: () => false, lastAllocatedAddress: null };
    expect(reservations.index(TENANT, view, () => null)).toBe(view);
  });

  it('checks a reusable key\'s version without writing its stream, and records the use with the node', async () => {
    const { handler, command, appends } = setup([{ version: 3, reusable: true, used: true }], 0);
    await handler.execute(command);
    const [node, key] = appends[0].streams;
    expect(key).toEqual({ streamId: streams.enrollmentKey(KEY_ID), expectedVersion: 3, events: [] });
    expect(node.events.map((e) => e.type)).toEqual(['NodeRegistered', 'EnrollmentKeyUsed']);
  });

  it('decides concurrent registrations against the ones in flight: distinct addresses, and a name taken by one is refused', async () => {
    let commit!: () => void;
    const { handler, command, appends } = setup([{ version: 1, reusable: true, used: false }], 0, new Promise((resolve) => (commit = resolve)));
    const other = new RegisterNodeCommand({ name: 'n2', publicKey: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=' } as never, command.principal, command.meta);
    const same = new RegisterNodeCommand({ name: 'n1', publicKey: 'ghs5b11DXvE9W5sllR4ZfkzolKEjHz/vaeRKrq0nqCA=' } as never, command.principal, command.meta);
    // All three are decided while the first two appends are still in flight (the commit is held back).
    const running = Promise.allSettled([handler.execute(command), handler.execute(other), handler.execute(same)]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    commit();
    const results = await running;
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect(((results[2] as PromiseRejectedResult).reason as DomainError).code).toBe('NODE_NAME_TAKEN');
    const addresses = results.slice(0, 2).map((r) => (r as PromiseFulfilledResult<{ address: string }>).value.address);
    expect(new Set(addresses).size).toBe(2);
    expect(appends).toHaveLength(2);
  });
});

/**
 * Replicas registering into one tenant at once all take the tenant's next address; every round one wins and the
 * others lose. A replica that lost one moves to an address lane of its own, where the others do not allocate.
 */
describe('RegisterNodeHandler, losing an address to another replica', () => {
  const keys = ['mO1cY5H6cL6pQ4Pj4n2wJm5Fbq7Qz4G1Xc0u8r9s3Ek=', 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=', 'ghs5b11DXvE9W5sllR4ZfkzolKEjHz/vaeRKrq0nqCA='];
  function setup(takenElsewhere: Set<string>) {
    // The view holds the tenant's nodes up to 100.64.0.5, and learns each committed one.
    const committed = ['100.64.0.1', '100.64.0.2', '100.64.0.3', '100.64.0.4', '100.64.0.5'];
    const addresses: string[] = [];
    const store = {
      append: jest.fn(async (request: AppendRequest) => {
        const address = (request.streams[0].events[0].data as { address: string }).address;
        addresses.push(address);
        if (takenElsewhere.has(address)) throw new UniqueViolationError(ADDRESS_KEY);
        committed.push(address);
        return [];
      }),
    };
    const highest = (of: string[]) => (of.length ? of.reduce((a, b) => (ipToInt(b) > ipToInt(a) ? b : a)) : null);
    const nodes = {
      tenantIndex: () => ({ publicKeyTaken: () => false, nameTaken: () => false, lastAllocatedAddress: highest(committed) }),
      lastAddressInLane: (_tenant: string, lane: number) => highest(committed.filter((a) => laneOf(a) === lane)),
    };
    const configs = { tagOwnershipOf: () => ({ owns: () => false }) };
    const handler = new RegisterNodeHandler(store as never, nodes as never, {} as never, new KeyedMutex(), { catchUp: async () => undefined } as never,
      configs as never, new RegistrationReservations(), new SystemClock());
    const register = (i: number) => handler.execute(new RegisterNodeCommand(
      { name: `n${i}`, publicKey: keys[i] } as never, { kind: 'user', userId: 'u1', tenantId: TENANT, role: 'admin' } as never, { actor: { kind: 'user', id: 'u1' } },
    ));
    return { register, addresses };
  }

  it('decides again in a lane of its own, and stays there for the registrations after', async () => {
    const { register, addresses } = setup(new Set(['100.64.0.6']));
    const first = await register(0);
    const second = await register(1);
    expect(addresses[0]).toBe('100.64.0.6');
    const lane = laneOf(first.address);
    expect(lane).not.toBe(0);
    expect([first.address, second.address]).toEqual([`100.64.${lane}.1`, `100.64.${lane}.2`]);
  });

  it('draws another lane when it loses inside its own, as when another replica drew the same one', async () => {
    const taken = new Set(['100.64.0.6']);
    const { register, addresses } = setup(taken);
    const first = await register(0);
    const lane = laneOf(first.address);
    taken.add(`100.64.${lane}.2`);
    const second = await register(1);
    // Drawing lane 0 (100.64.0.6 is taken) or its old lane again only loses once more: it ends in a third lane.
    expect(addresses[2]).toBe(`100.64.${lane}.2`);
    expect([0, lane]).not.toContain(laneOf(second.address));
    expect(second.address).toBe(`100.64.${laneOf(second.address)}.1`);
  });
});
