import { Injectable } from '@nestjs/common';
import { ADDRESS_LANES, highestAddress, laneOf, type TenantNodeIndex } from '@meshgate/domain';
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';

interface Reservation { name: string; publicKey: string; address: string }

/** How long after its last lost address race a replica keeps allocating in its own lane. */
const CONTENDED_MS = 10_000;

/**
 * Names, keys and addresses of registrations decided in this replica but not yet in the nodes view (their append is
 * in flight). Registration decides under the tenant lock against the view plus these, then appends without the
 * lock, so a burst of registrations shares group commits instead of waiting one commit each. The node-identities
 * unique indexes stay the guarantee (another replica's registrations are not here: a lost race is a retry or a 409).
 *
 * Replicas registering into one tenant at once would all take the tenant's next address, and all but one lose the
 * race on every round. A replica that lost one allocates in an address lane of its own (ipam's lanes) until it has
 * lost none for CONTENDED_MS.
 */
@Injectable()
export class RegistrationReservations {
  private readonly byTenant = new Map<string, Set<Reservation>>();
  private readonly contended = new Map<string, { lane: number; until: number }>();

  /**
   * The tenant's index as the view has it, with the reservations in flight on top, and this replica's address lane
   * while it races others (`lastInLane` answers the view's highest address in a lane).
   */
  index(tenantId: string, view: TenantNodeIndex, lastInLane: (lane: number) => string | null): TenantNodeIndex {
    const held = [...(this.byTenant.get(tenantId) ?? [])];
    const lane = this.currentLane(tenantId);
    if (held.length === 0 && lane === undefined) return view;
    const addresses = held.map((r) => r.address);
    return {
      publicKeyTaken: (key) => view.publicKeyTaken(key) || held.some((r) => r.publicKey === key),
      nameTaken: (name) => view.nameTaken(name) || held.some((r) => r.name === name),
      lastAllocatedAddress: highestAddress([view.lastAllocatedAddress, ...addresses]),
      ...(lane === undefined ? {} : {
        addressLane: { lane, lastAllocated: highestAddress([lastInLane(lane), ...addresses.filter((a) => laneOf(a) === lane)]) },
      }),
    };
  }

  /** Holds the registration's identities until `release` (call it once its append settled). */
  reserve(tenantId: string, reservation: Reservation): () => void {
    let held = this.byTenant.get(tenantId);
    if (!held) this.byTenant.set(tenantId, (held = new Set()));
    held.add(reservation);
    return () => {
      held!.delete(reservation);
      if (held!.size === 0) this.byTenant.delete(tenantId);
    };
  }

  /**
   * Another replica committed this address first. Lost outside this replica's lane (decided before it had one, or in
   * a lane it since left), it keeps its lane; lost inside, another replica allocates there too. Then it draws any
   * lane but the one it lost in.
   */
  lostAddress(tenantId: string, address: string): void {
    const lost = laneOf(address);
    let lane = this.currentLane(tenantId);
    if (lane === undefined || lane === lost) {
      lane = randomInt(ADDRESS_LANES - 1);
      if (lane >= lost) lane++;
    }
    this.contended.set(tenantId, { lane, until: performance.now() + CONTENDED_MS });
  }

  private currentLane(tenantId: string): number | undefined {
    const contended = this.contended.get(tenantId);
    if (contended === undefined) return undefined;
    if (performance.now() < contended.until) return contended.lane;
    this.contended.delete(tenantId);
    return undefined;
  }
}
