import type { RelayStats } from '../relay/relay-forwarder';
import { AgentMetrics } from './agent-metrics';

describe('AgentMetrics', () => {
  it('shows no relay series until a relay is attached, then its counters as of each scrape', async () => {
    const metrics = new AgentMetrics('test');
    expect(await metrics.text()).not.toContain('meshgate_agent_relay');

    let stats: RelayStats = { forwardedPackets: 3, forwardedBytes: 300, dropped: { unknownSource: 1, rateLimited: 0, noPeerYet: 2 }, forwards: 1 };
    metrics.attachRelay(() => stats);
    const text = await metrics.text();
    expect(text).toContain('meshgate_agent_relay_forwarded_bytes_total 300');
    expect(text).toContain('meshgate_agent_relay_forwarded_packets_total 3');
    expect(text).toContain('meshgate_agent_relay_dropped_packets_total{reason="unknownSource"} 1');
    expect(text).toContain('meshgate_agent_relay_dropped_packets_total{reason="noPeerYet"} 2');
    expect(text).toContain('meshgate_agent_relay_forwards 1');

    stats = { forwardedPackets: 5, forwardedBytes: 900, dropped: { unknownSource: 1, rateLimited: 4, noPeerYet: 2 }, forwards: 0 };
    const later = await metrics.text();
    expect(later).toContain('meshgate_agent_relay_forwarded_bytes_total 900');
    expect(later).toContain('meshgate_agent_relay_dropped_packets_total{reason="rateLimited"} 4');
    expect(later).toContain('meshgate_agent_relay_forwards 0');
  });
});
