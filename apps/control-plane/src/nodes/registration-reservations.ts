import { Injectable } from '@nestjs/common';
import { ipToInt, type TenantNodeIndex } from '@meshgate/domain';

interface Reservation { name: string; publicKey: string; address: string }

/**
 * Names, keys and addresses of registrations decided in this replica but not yet in the nodes view (their append is
 * in flight). Registration decides under the tenant lock against the view plus these, then appends without the
 * lock, so a burst of registrations shares group commits instead of waiting one commit each. The node-identities
 * unique indexes stay the guarantee (another replica's registrations are not here: a lost race is a retry or a 409).
 */
@Injectable()
export class RegistrationReservations {
  private readonly byTenant = new Map<string, Set<Reservation>>();

  /** The tenant's index as the view has it, with the reservations in flight on top. */
  index(tenantId: string, view: TenantNodeIndex): TenantNodeIndex {
    const held = this.byTenant.get(tenantId);
    if (!held || held.size === 0) return view;
    let last = view.lastAllocatedAddress;
    for (const r of held) if (last === null || ipToInt(r.address) > ipToInt(last)) last = r.address;
    return {
      publicKeyTaken: (key) => view.publicKeyTaken(key) || [...held].some((r) => r.publicKey === key),
      nameTaken: (name) => view.nameTaken(name) || [...held].some((r) => r.name === name),
      lastAllocatedAddress: last,
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
}
