import { Inject } from '@nestjs/common';
import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { diffPolicyVersions, DomainError, PolicyUpdated, policyText, RecordedEvent, streams, StructuralChange } from '@meshgate/domain';
import type { PolicyVersionsView, PolicyVersionSummaryView, PolicyVersionView } from '@meshgate/contracts';
import { EVENT_STORE, EventStore } from '../../event-store/event-store.port';
import { GetPolicyVersionsQuery } from './get-policy-versions.query';

/** The policy's versions, from its stream in the log (each PolicyUpdated is one version: the stream version). */
@QueryHandler(GetPolicyVersionsQuery)
export class GetPolicyVersionsHandler implements IQueryHandler<GetPolicyVersionsQuery, PolicyVersionsView | PolicyVersionView> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ tenantId, version }: GetPolicyVersionsQuery): Promise<PolicyVersionsView | PolicyVersionView> {
    const head = await this.store.head();
    const events = (await this.store.readStream(streams.policy(tenantId)))
      .filter((e): e is RecordedEvent<PolicyUpdated> => e.type === 'PolicyUpdated' && e.position <= head.position);
    const data = events.map((e) => e.data);
    if (version === undefined) {
      return { position: head.position, versions: events.map((e, i) => summaryOf(e, diffPolicyVersions(data[i - 1] ?? null, e.data).summary)) };
    }
    const i = events.findIndex((e) => e.data.version === version);
    if (i < 0) throw new DomainError('POLICY_VERSION_NOT_FOUND', 'NOT_FOUND', `v: the policy has no version ${version}`);
    const event = events[i];
    const diff = diffPolicyVersions(data[i - 1] ?? null, event.data);
    return {
      ...summaryOf(event, diff.summary),
      policy: event.data.policy as Record<string, unknown>,
      text: policyText(event.data),
      diff: { against: i > 0 ? data[i - 1].version : null, ...diff.summary, structural: diff.structural.map(asText), lines: diff.lines },
    };
  }
}

function summaryOf(event: RecordedEvent<PolicyUpdated>, diff: PolicyVersionSummaryView['diff']): PolicyVersionSummaryView {
  return { version: event.data.version, position: event.position, at: event.recordedAt, author: event.metadata.actor, diff };
}

/** A changed value as JSON text: any JSON value, typed for the wire. */
const asText = ({ before, after, ...change }: StructuralChange) => ({
  ...change, ...(before !== undefined ? { before: JSON.stringify(before) } : {}), ...(after !== undefined ? { after: JSON.stringify(after) } : {}),
});
