import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { registerBodyGuard } from './common/body-guard';
import { answerUnknownRoutesFirst } from './common/unknown-route';
import { StrictValidationPipe } from './common/validation';
import { AppConfig } from './config/app-config';
import { serveConsole } from './console/console-site';
import { readTlsCredentials } from './config/tls-credentials';
import { reloadOnSighup, SHUTDOWN_SIGNALS } from './config/tls-reload';
import { logRequests } from './logging/request-log';
import { ROOT_LOGGER } from './logging/root-logger';
import { MetricsService } from './metrics/metrics.service';
import { openApiDocument } from './openapi/openapi-document';

/** Builds the control plane (used by main.ts, the e2e specs and the benchmark). Call `listen` to serve. */
export async function createApp(config: AppConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    ...(config.tls ? { https: readTlsCredentials(config.tls) } : {}),
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
    // Held until the pino logger (LoggingModule) exists, then written through it: one log schema from the first line.
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  app.useGlobalPipes(new StrictValidationPipe());
  app.enableShutdownHooks(SHUTDOWN_SIGNALS);
  reloadOnSighup(app, config.tls);

  const metrics = app.get(MetricsService);
  const fastify = app.getHttpAdapter().getInstance();
  // Policies may come as HuJSON (comments, trailing commas), which no JSON parser takes: hand the text to the domain.
  fastify.addContentTypeParser(['application/hujson', 'text/plain'], { parseAs: 'string', bodyLimit: config.bodyLimitBytes },
    (_request, body, done) => done(null, body));
  registerBodyGuard(fastify);
  logRequests(fastify, app.get(ROOT_LOGGER));
  answerUnknownRoutesFirst(fastify);
  fastify.addHook('onResponse', (request, reply, done) => {
    metrics.httpDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });

  if (config.docs) {
    // Built on the first request to /docs (openapi-document.ts), so starting the server does not wait for it.
    SwaggerModule.setup('docs', app, () => openApiDocument(app));
  }
  await serveConsole(app, config);
  return app;
}
