import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, register } from 'prom-client';
import { NodesProjection } from '../projections/nodes.projection';

/** The control plane's own metrics, on prom-client's default registry (served at /metrics). */
@Injectable()
export class MetricsService {
  readonly eventsAppended = metric(() => new Counter({ name: 'meshgate_events_appended_total', help: 'Events appended to the log', labelNames: ['type'] }));
  readonly appendBatchSize = metric(() => new Histogram({ name: 'meshgate_append_batch_requests', help: 'Requests written per group commit', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256] }));
  readonly heartbeats = metric(() => new Counter({ name: 'meshgate_heartbeats_total', help: 'Heartbeats accepted' }));
  readonly sseStreams = metric(() => new Gauge({ name: 'meshgate_sse_streams_open', help: 'Open config streams' }));
  readonly configVersions = metric(() => new Counter({ name: 'meshgate_config_versions_published_total', help: 'Node config versions published' }));
  readonly httpDuration = metric(() => new Histogram({
    name: 'meshgate_http_request_duration_seconds', help: 'HTTP request duration', labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  }));

  constructor(nodes: NodesProjection) {
    register.removeSingleMetric('meshgate_nodes');
    new Gauge({
      name: 'meshgate_nodes', help: 'Nodes by status', labelNames: ['status'],
      collect() {
        for (const [status, count] of Object.entries(nodes.countByStatus())) this.set({ status }, count);
      },
    });
  }
}

/** Several app instances in one process (tests) share the default registry: reuse a metric rather than throw. */
function metric<T>(create: () => T): T {
  try {
    return create();
  } catch {
    const name = /name: '([a-z_]+)'/.exec(create.toString())?.[1];
    const existing = name ? register.getSingleMetric(name) : undefined;
    if (!existing) throw new Error('metric registration failed');
    return existing as T;
  }
}
