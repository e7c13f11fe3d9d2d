import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { decideTenantSettings, evolveTenantSettings, initialTenantSettingsState, streams } from '@meshgate/domain';
import type { TenantSettingsView } from '@meshgate/contracts';
import { EVENT_STORE, EventStore } from '../../event-store/event-store.port';
import { loadAggregate } from '../../event-store/fold';
import { NodeConfigView } from '../../projections/node-config.view';
import { UpdateTenantSettingsCommand } from './update-tenant-settings.command';

/** The tenant's settings, on its stream: a change reaches every node's config (its key expiry) through the views. */
@CommandHandler(UpdateTenantSettingsCommand)
export class UpdateTenantSettingsHandler implements ICommandHandler<UpdateTenantSettingsCommand, TenantSettingsView> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore, private readonly configs: NodeConfigView) {}

  async execute({ tenantId, dto, actorRole, meta }: UpdateTenantSettingsCommand): Promise<TenantSettingsView> {
    const streamId = streams.tenant(tenantId);
    const { state, version } = await loadAggregate(this.store, streamId, evolveTenantSettings, initialTenantSettingsState);
    const events = decideTenantSettings({
      type: 'UpdateTenantSettings', tenantId, nodeKeyExpiryDays: dto.nodeKeyExpiryDays, domain: dto.domain, actorRole,
    }, state);
    if (events.length) await this.store.append({ tenantId, streams: [{ streamId, expectedVersion: version, events }], metadata: meta });
    const now = events.length ? events[0].data : state;
    // The default domain comes from the tenant's name, which the node-config view holds.
    return { nodeKeyExpiryDays: now.nodeKeyExpiryDays, domain: now.domain ?? this.configs.domainOf(tenantId) };
  }
}
