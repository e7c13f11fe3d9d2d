import { Injectable } from '@nestjs/common';
import {
  collectDefaultMetrics, Counter, CounterConfiguration, Gauge, GaugeConfiguration, Histogram, HistogramConfiguration, register,
} from 'prom-client';
import { NodesView } from '../projections/nodes.view';

/** The control plane's own metrics and the process's, on prom-client's default registry (served by MetricsListener). */
@Injectable()
export class MetricsService {
  readonly eventsAppended = counter({ name: 'meshgate_events_appended_total', help: 'Events appended to the log', labelNames: ['type'] });
  readonly appendBatchSize = histogram({ name: 'meshgate_append_batch_requests', help: 'Requests written per group commit', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256] });
  readonly heartbeats = counter({ name: 'meshgate_heartbeats_total', help: 'Heartbeats accepted' });
  readonly sseStreams = gauge({ name: 'meshgate_sse_streams_open', help: 'Open config streams' });
  readonly configVersions = counter({ name: 'meshgate_config_versions_published_total', help: 'Node config versions published' });
  readonly httpDuration = histogram({
    name: 'meshgate_http_request_duration_seconds', help: 'HTTP request duration', labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  });

  constructor(nodes: NodesView) {
    // Process metrics: registered once per process, so a second app in it (a restart in place, the e2e specs) does not
    // fail with "already registered".
    if (!register.getSingleMetric('process_cpu_user_seconds_total')) collectDefaultMetrics();
    register.removeSingleMetric('meshgate_nodes');
    new Gauge({
      name: 'meshgate_nodes', help: 'Nodes by status', labelNames: ['status'],
      collect() {
        for (const [status, count] of Object.entries(nodes.countByStatus())) this.set({ status }, count);
      },
    });
  }
}

/** Several app instances in one process (tests, a restart in place) share the default registry: reuse, don't re-register. */
function reuse<T>(name: string, create: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? create();
}
const counter = <L extends string>(c: CounterConfiguration<L>) => reuse(c.name, () => new Counter(c));
const gauge = <L extends string>(c: GaugeConfiguration<L>) => reuse(c.name, () => new Gauge(c));
const histogram = <L extends string>(c: HistogramConfiguration<L>) => reuse(c.name, () => new Histogram(c));
