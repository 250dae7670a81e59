import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const fromRoot = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));
/** The gateway `npm run dev:dashboard` talks to; same origin through the proxy, so no CORS. */
const gateway = process.env.GATEWAY_URL ?? 'http://localhost:3000';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // The shared packages are read from source: the dashboard always builds against the contract in the tree.
  resolve: {
    alias: {
      '#contracts': fromRoot('libs/contracts/src/index.ts'),
      '#client': fromRoot('libs/client/src/index.ts'),
    },
  },
  server: {
    port: 5173,
    proxy: {
      '/api': { target: gateway, ws: true },
      '/socket.io': { target: gateway, ws: true },
      '/ws': { target: gateway, ws: true },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1024,
  },
});
