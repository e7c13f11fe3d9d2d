import { Injectable } from '@nestjs/common';
import {
  collectDefaultMetrics, Counter, CounterConfiguration, Gauge, GaugeConfiguration, Histogram, HistogramConfiguration, register,
} from 'prom-client';
import { VERSION } from '../config/version';
import { NodesView } from '../projections/nodes.view';

/** The control plane's own metrics and the process's, on prom-client's default registry (served by MetricsListener). */
@Injectable()
export class MetricsService {
  readonly eventsAppended = counter({ name: 'meshgate_events_appended_total', help: 'Events appended to the log', labelNames: ['type'] });
  readonly appendBatchSize = histogram({ name: 'meshgate_append_batch_requests', help: 'Requests written per group commit', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256] });
  readonly heartbeats = counter({ name: 'meshgate_heartbeats_total', help: 'Heartbeats accepted' });
  readonly sseStreams = gauge({ name: 'meshgate_sse_streams_open', help: 'Open config streams' });
  readonly sseMessages = counter({ name: 'meshgate_sse_messages_sent_total', help: 'Messages written on config streams, by SSE event (config, patch, ping)', labelNames: ['event'] });
  readonly sseBytes = counter({ name: 'meshgate_sse_sent_bytes_total', help: 'Bytes written on config streams, by SSE event (config, patch, ping)', labelNames: ['event'] });
  readonly configPropagation = histogram({
    name: 'meshgate_config_propagation_seconds', help: 'From the commit of a change to its config patches being written on this replica\'s streams',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  });
  readonly securityEvents = counter({ name: 'meshgate_security_events_total', help: 'Security events logged at warn, by event (auth.login_failed, auth.token_refused, ...)', labelNames: ['event'] });
  readonly httpDuration = histogram({
    name: 'meshgate_http_request_duration_seconds', help: 'HTTP request duration', labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  });

  constructor(nodes: NodesView) {
    // Process metrics: registered once per process, so a second app in it (a restart in place, the e2e specs) does not
    // fail with "already registered".
    if (!register.getSingleMetric('process_cpu_user_seconds_total')) {
      collectDefaultMetrics();
      // Gauges named like counters, which `promtool check metrics` refuses; their by-type gauges (nodejs_active_handles
      // and the like) hold the same counts.
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) register.removeSingleMetric(name);
    }
    for (const name of ['meshgate_nodes', 'meshgate_tenant_nodes', 'meshgate_build_info']) register.removeSingleMetric(name);
    new Gauge({
      name: 'meshgate_nodes', help: 'Nodes by status', labelNames: ['status'],
      collect() {
        for (const [status, count] of Object.entries(nodes.countByStatus())) this.set({ status }, count);
      },
    });
    new Gauge({
      name: 'meshgate_tenant_nodes', help: 'Nodes not removed, by tenant id and status', labelNames: ['tenant', 'status'],
      collect() {
        // Reset first: a tenant whose last node went is dropped rather than frozen at its last count.
        this.reset();
        for (const [tenant, counts] of nodes.countByTenant()) {
          for (const [status, count] of Object.entries(counts)) this.set({ tenant, status }, count);
        }
      },
    });
    new Gauge({ name: 'meshgate_build_info', help: 'Always 1: the version running, and its Node.js', labelNames: ['version', 'nodejs'] })
      .set({ version: VERSION, nodejs: process.versions.node }, 1);
  }
}

/** Several app instances in one process (tests, a restart in place) share the default registry: reuse, don't re-register. */
function reuse<T>(name: string, create: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? create();
}
const counter = <L extends string>(c: CounterConfiguration<L>) => reuse(c.name, () => new Counter(c));
const gauge = <L extends string>(c: GaugeConfiguration<L>) => reuse(c.name, () => new Gauge(c));
const histogram = <L extends string>(c: HistogramConfiguration<L>) => reuse(c.name, () => new Histogram(c));
