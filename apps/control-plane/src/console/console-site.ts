import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';
import { CONSOLE_PAGES } from '@meshgate/contracts';
import type { AppConfig } from '../config/app-config';

/**
 * The console is scripts and styles from this origin only: no inline script or style, no framing, nothing fetched
 * from elsewhere. (Swagger UI at /docs needs inline code, so the policy is set here, on the console's answers only.)
 */
const CONSOLE_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

/**
 * Serves the built web console (`npm run build` puts it in dist/apps/console): its assets under /assets/, and its
 * index.html at each of the console's pages (client routes), so a reload or a shared link opens the right page.
 * Other paths are untouched: /api, /docs and /health keep their routes, and an unknown path is still the API's 404.
 * Without a build there is no console (logged once), and `/` is a 404 like any unknown path.
 */
export async function serveConsole(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  const indexFile = join(config.consoleDir, 'index.html');
  if (!existsSync(indexFile)) {
    new Logger('Console').warn(`no web console at ${config.consoleDir} (run npm run build): / is not served`);
    return;
  }
  // The page says whether single sign-on is configured, so the login form shows its link only then.
  const index = readFileSync(indexFile, 'utf8')
    .replace('<meta name="meshgate-sso" content="">', `<meta name="meshgate-sso" content="${config.oidc ? 'on' : ''}">`);
  await app.register(fastifyStatic, {
    root: join(config.consoleDir, 'assets'),
    prefix: '/assets/',
    index: false,
    dotfiles: 'deny',
    // Another part of the app may serve files too: only one registration may decorate the reply.
    decorateReply: false,
    // Revalidated each time (ETag, Last-Modified): the file names do not change between builds.
    cacheControl: false,
    setHeaders: (res) => {
      for (const [name, value] of Object.entries(CONSOLE_HEADERS)) res.setHeader(name, value);
      res.setHeader('cache-control', 'no-cache');
    },
  });
  const fastify = app.getHttpAdapter().getInstance();
  const page = (_request: unknown, reply: FastifyReply) => reply.headers(CONSOLE_HEADERS).header('cache-control', 'no-cache')
    .type('text/html; charset=utf-8').send(index);
  for (const path of Object.values(CONSOLE_PAGES)) fastify.get(path, page);
}
