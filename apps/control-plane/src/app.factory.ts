import 'reflect-metadata';
import { ConsoleLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module';
import { registerBodyGuard } from './common/body-guard';
import { answerUnknownRoutesFirst } from './common/unknown-route';
import { StrictValidationPipe } from './common/validation';
import { AppConfig } from './config/app-config';
import { MetricsService } from './metrics/metrics.service';

const LEVELS = { error: ['error'], warn: ['error', 'warn'], log: ['error', 'warn', 'log'], debug: ['error', 'warn', 'log', 'debug'] } as const;

/** Builds the control plane (used by main.ts, the e2e specs and the benchmark). Call `listen` to serve. */
export async function createApp(config: AppConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    // A client that stalls mid-request or goes idle must not hold its socket for ever. Node checks request deadlines
    // only every connectionsCheckingInterval (30 s by default): check often enough that the limit means what it says.
    requestTimeout: config.requestTimeoutMs,
    connectionTimeout: config.connectionTimeoutMs,
    // Advertised to clients (Keep-Alive: timeout=…): never longer than the idle timeout, or they reuse closed sockets.
    keepAliveTimeout: Math.min(72_000, config.connectionTimeoutMs),
    http: {
      headersTimeout: Math.min(60_000, config.requestTimeoutMs),
      connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(config.requestTimeoutMs / 4))),
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    logger: new ConsoleLogger({ json: true, logLevels: [...LEVELS[config.logLevel]] }),
  });
  app.useGlobalPipes(new StrictValidationPipe());
  app.enableShutdownHooks();

  const metrics = app.get(MetricsService);
  const fastify = app.getHttpAdapter().getInstance();
  // Policies may come as HuJSON (comments, trailing commas), which no JSON parser takes: hand the text to the domain.
  fastify.addContentTypeParser(['application/hujson', 'text/plain'], { parseAs: 'string', bodyLimit: config.bodyLimitBytes },
    (_request, body, done) => done(null, body));
  registerBodyGuard(fastify);
  answerUnknownRoutesFirst(fastify);
  fastify.addHook('onResponse', (request, reply, done) => {
    metrics.httpDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });

  const document = SwaggerModule.createDocument(app, new DocumentBuilder()
    .setTitle('MeshGate control plane')
    .setDescription('Zero-trust WireGuard mesh: nodes, policies, configs and the audit log.')
    .setVersion('1')
    .addBearerAuth()
    .build());
  SwaggerModule.setup('docs', app, document);
  return app;
}
