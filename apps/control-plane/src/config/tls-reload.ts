import { Logger, ShutdownSignal } from '@nestjs/common';
import type { Server } from 'node:https';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { readTlsCredentials, TlsFiles } from './tls-credentials';

/** Nest's shutdown signals but SIGHUP, which means "reload" (systemctl reload), as for most daemons. */
export const SHUTDOWN_SIGNALS = Object.values(ShutdownSignal).filter((signal) => signal !== ShutdownSignal.SIGHUP);

/**
 * On SIGHUP, rereads the certificate and key and gives them to the listening server: new connections get the new
 * certificate, open ones (config streams) keep theirs, and the listener is never closed. A bad pair is refused and
 * logged; the current certificate stays in use. Without TLS there is nothing to reload, and SIGHUP is only logged
 * (it must not stop the server, as Node's default action would).
 */
export function reloadOnSighup(app: NestFastifyApplication, files: TlsFiles | null): void {
  const logger = new Logger('Tls');
  const server = app.getHttpServer() as unknown as Server;
  const reload = () => {
    if (files === null) return logger.log('SIGHUP: nothing to reload (TLS_CERT_FILE is not set)');
    try {
      server.setSecureContext(readTlsCredentials(files));
      logger.log(`TLS certificate reloaded from ${files.certFile}`);
    } catch (error) {
      logger.error(`TLS certificate not reloaded, the current one stays in use: ${(error as Error).message}`);
    }
  };
  process.on('SIGHUP', reload);
  app.getHttpAdapter().getInstance().addHook('onClose', (_instance, done) => {
    process.off('SIGHUP', reload);
    done();
  });
}
