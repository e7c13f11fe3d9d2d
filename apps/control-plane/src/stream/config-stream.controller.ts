import { Controller, Get, Headers, HttpStatus, Inject, Param, Req, Res } from '@nestjs/common';
import { ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Counter } from 'prom-client';
import { ConfigPatch, NodeConfig, SSE_EVENT_CONFIG, SSE_EVENT_PATCH } from '@meshgate/contracts';
import { Allow } from '../auth/allow.decorator';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import { assertNodeAccess } from '../auth/node-access';
import { Principal } from '../auth/principal';
import { eventFrame, eventFrameBuffers, openEventStream } from '../common/event-stream';
import { RetryLaterException } from '../common/retry-later';
import { UUID_PARAM } from '../common/uuid-param';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { NodeConfigView } from '../projections/node-config.view';
import { NodesView } from '../projections/nodes.view';
import { ViewFeeder } from '../projections/view-feeder';
import { patchJsonPieces } from './patch-json';
import { StreamHub } from './stream-hub';
import { ApiEventStream } from '../openapi/api-answer.decorator';

const SSE_EVENTS = ['config', 'patch', 'ping'] as const;
type SseEvent = (typeof SSE_EVENTS)[number];

/**
 * The node's config feed. Written on the raw response rather than through Nest's @Sse(): the feed needs SSE comment
 * pings and must choose, per connection, whether to open with the full config (Last-Event-ID) — neither fits
 * MessageEvent.
 */
@ApiTags('nodes')
@Controller('api/v1/nodes')
export class ConfigStreamController {
  constructor(
    private readonly hub: StreamHub,
    private readonly nodes: NodesView,
    private readonly configs: NodeConfigView,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly views: ViewFeeder,
  ) {
    this.counted = Object.fromEntries(SSE_EVENTS.map((event) => [event, { messages: metrics.sseMessages.labels({ event }), bytes: metrics.sseBytes.labels({ event }) }])) as typeof this.counted;
  }

  /** The counters' children per event, bound once: a fan-out to 10,000 streams would hash their labels 20,000 times. */
  private readonly counted: Record<SseEvent, { messages: Counter.Internal; bytes: Counter.Internal }>;

  @Get(':id/config/stream')
  @Allow({ node: true })
  @ApiProduces('text/event-stream')
  @ApiEventStream()
  async stream(
    @Param('id', UUID_PARAM) id: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @CurrentPrincipal() p: Principal,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    assertNodeAccess(p, id, this.nodes);
    let sent = /^[0-9]{1,15}$/.test(lastEventId ?? '') ? Number(lastEventId) : -1;
    // The agent saw a version this replica has not applied yet (it streamed from another replica): catch up first,
    // or it would be sent an older config than the one it holds.
    if (sent > (this.configs.versionOf(id) ?? 0)) await this.views.catchUp();
    // Each stream holds a socket and a subscription for hours: a node needs one (a few while reconnecting), and the
    // server as many as it has nodes. Checked and subscribed in the same tick, so concurrent connects cannot overshoot.
    const retryAfter = this.config.heartbeatIntervalSeconds;
    if (this.hub.streamsOf(id) >= this.config.sseStreamsPerNode) {
      throw new RetryLaterException(HttpStatus.TOO_MANY_REQUESTS, `this node already has ${this.config.sseStreamsPerNode} open config streams`, retryAfter);
    }
    if (this.hub.streamCount >= this.config.sseStreamsTotal) {
      throw new RetryLaterException(HttpStatus.SERVICE_UNAVAILABLE, 'the control plane holds as many config streams as it may; retry later', retryAfter);
    }
    const stream = openEventStream(reply, request);
    this.metrics.sseStreams.inc();
    stream.onEnd(() => this.metrics.sseStreams.dec());
    const write = (event: SseEvent, frame: string | Buffer[]) => {
      // Encoded once: the write and the byte count would each scan the string (a 1.7 MB config, or 10,000 patches).
      const buffers = typeof frame === 'string' ? [Buffer.from(frame)] : frame;
      // A frame of several buffers goes in one go on the socket.
      const corked = buffers.length > 1;
      if (corked) stream.raw.cork();
      let bytes = 0;
      for (const buffer of buffers) {
        stream.raw.write(buffer);
        bytes += buffer.length;
      }
      if (corked) stream.raw.uncork();
      this.counted[event].messages.inc();
      this.counted[event].bytes.inc(bytes);
    };
    const sendFull = () => {
      const full: NodeConfig | undefined = this.configs.configOf(id);
      if (!full) return stream.end();
      write('config', eventFrame(SSE_EVENT_CONFIG, full.version, JSON.stringify(full)));
      sent = full.version;
    };
    // Subscribe and read the current version in the same tick: no commit can slip in between.
    const unsubscribe = this.hub.subscribe(id, {
      patch: (patch: ConfigPatch) => {
        if (patch.version <= sent) return;
        if (patch.baseVersion === sent) {
          write('patch', eventFrameBuffers(SSE_EVENT_PATCH, patch.version, patchJsonPieces(patch)));
          sent = patch.version;
        } else sendFull();
      },
      closed: () => stream.end(),
    });
    stream.onEnd(unsubscribe);
    if (sent !== this.configs.versionOf(id)) sendFull();
    else stream.raw.write(': up to date\n\n');
    stream.keepAlive(this.config.ssePingMs, () => write('ping', ': ping\n\n'));
  }
}
