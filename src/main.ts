import { Logger } from '@nestjs/common';
import { createGateway } from './bootstrap.js';
import { loadConfig } from './config/app-config.js';

const SHUTDOWN_DEADLINE_MS = 10_000;

async function main(): Promise<void> {
  const loaded = loadConfig(process.env);
  if (!loaded.ok) {
    for (const line of loaded.errors) console.error(`Invalid environment: ${line}`);
    process.exit(1);
  }
  const { config } = loaded;
  const logger = new Logger('Main');
  // Some libraries (the Redis adapter among them) let a failed promise go unhandled when Redis
  // drops mid-request; that must cost the request, not the process and every socket on it.
  process.on('unhandledRejection', (reason) =>
    logger.error(`Unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`),
  );
  let app;
  try {
    app = await createGateway(config);
  } catch (error) {
    // Start-up dependencies (broker port, Redis) fail with one readable line, not a stack trace.
    console.error((error as Error).message);
    process.exit(1);
  }
  try {
    await app.listen(config.port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      console.error(`Port ${config.port} is already in use: set PORT to a free port`);
      process.exit(1);
    }
    throw error;
  }
  logger.log(`Gateway listening on ${await app.getUrl()} (Socket.IO path ${config.realtime.path})`);
  if (!config.redisUrl)
    logger.log(`Single instance (REDIS_URL unset); data kept in ${config.database.url ? 'PostgreSQL' : `the embedded database in ${config.database.dataDir}`}`);

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: draining connections`);
    setTimeout(() => {
      logger.error(`Shutdown did not finish within ${SHUTDOWN_DEADLINE_MS / 1000} s; exiting`);
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    await app.close();
    logger.log('Shutdown complete');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(`Gateway failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
