import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';

const logger = new Logger('Dashboard');

/**
 * Serves the built dashboard at `/`, same origin as the API and the sockets (so it needs no CORS).
 * Only files that exist are served: `/api/v1/...`, `/socket.io/` and `/ws` are untouched.
 */
export function serveDashboard(app: NestExpressApplication, dir: string | null): void {
  if (dir === null) return;
  const root = resolve(dir);
  if (!existsSync(resolve(root, 'index.html'))) {
    logger.log(`No dashboard at ${root} (npm run build makes it); not serving one`);
    return;
  }
  app.useStaticAssets(root, {
    index: 'index.html',
    // Vite puts a content hash in every asset name: cache those for good, never the page itself.
    setHeaders: (response, path) => response.setHeader('Cache-Control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'),
  });
  logger.log(`Dashboard served at / from ${root}`);
}
