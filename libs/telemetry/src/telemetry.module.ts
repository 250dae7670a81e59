import { Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { sensorTopic, type Location, type Sensor } from '#contracts';
import { DATABASE_CONNECTION, type DatabaseConnection } from '#database';
import { MetricsService } from '#observability';
import { WebSocketService } from '#realtime';
import { REDIS, type RedisConnection } from '#redis';
import { CatalogService } from './catalog/catalog.service.js';
import { LOCATION_REPOSITORY, LOCATIONS, SENSOR_REPOSITORY, SENSORS } from './catalog/catalog.tokens.js';
import type { EntityRepository } from './catalog/entity-repository.js';
import { CachedEntityRepository } from './catalog/cached-entity.repository.js';
import { KyselyEntityRepository, LOCATIONS_TABLE, SENSORS_TABLE } from './catalog/kysely-entity.repository.js';
import { DEVICE_CREDENTIAL_STORE } from './devices/device-credential.store.js';
import { KyselyDeviceCredentialStore } from './devices/kysely-device-credential.store.js';
import { LocationsController } from './locations/locations.controller.js';
import { MQTT_INGEST_OPTIONS, MqttIngestService, type MqttIngestOptions } from './mqtt/mqtt-ingest.service.js';
import { MQTT_TOPIC_PREFIX } from './mqtt/mqtt.tokens.js';
import { SensorIngestController } from './mqtt/sensor-ingest.controller.js';
import { ReadingIngestService } from './pipeline/reading-ingest.service.js';
import { ReadingsPipeline } from './pipeline/readings-pipeline.service.js';
import { ReadingRetention } from './readings/reading-retention.js';
import { ReadingWriter } from './readings/reading-writer.js';
import { ReadingsRepository } from './readings/readings.repository.js';
import { SensorLatestController } from './readings/sensor-latest.controller.js';
import { RedisSeriesStore } from './series/redis-series.store.js';
import { InMemorySeriesStore, SERIES_STORE } from './series/series-store.js';
import { ReadingsController } from './readings/readings.controller.js';
import { SensorsController } from './sensors/sensors.controller.js';
import { DeviceCredentialsController } from './devices/device-credentials.controller.js';
import { DeviceCredentialsService } from './devices/device-credentials.service.js';
import { ReadingAdmission } from './pipeline/reading-admission.service.js';
import { resolveTelemetryOptions, TELEMETRY_OPTIONS, type ResolvedTelemetryOptions, type TelemetryModuleOptions } from './telemetry.options.js';

export interface TelemetryModuleConfig {
  pipeline?: TelemetryModuleOptions;
  mqtt: MqttIngestOptions;
}

/** A sensor changed on another instance is seen here after at most 2 s. */
const SENSOR_CACHE = { ttlMs: 2_000, maxEntries: 20_000 };

/** Starts retention once the app is up and stops it on shutdown. */
class ReadingRetentionLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(private readonly retention: ReadingRetention) {}

  onApplicationBootstrap(): void {
    this.retention.start();
  }

  onApplicationShutdown(): void {
    this.retention.stop();
  }
}

/**
 * Sensors, locations, readings: MQTT ingestion (Nest microservice transport), the readings
 * pipeline (anomalies, forecasts) and the REST API. Needs `RealtimeModule`, `EventEmitterModule` (it announces `reading.judged`),
 * `DatabaseModule` (sensors, locations, device credentials, every reading) and `RedisModule`
 * (whose connection, when there is one, holds the pipeline's per-series state).
 */
@Module({})
export class TelemetryModule {
  static forRoot({ pipeline = {}, mqtt }: TelemetryModuleConfig): DynamicModule {
    return {
      module: TelemetryModule,
      controllers: [SensorsController, SensorLatestController, DeviceCredentialsController, LocationsController, ReadingsController, SensorIngestController],
      providers: [
        { provide: TELEMETRY_OPTIONS, useValue: resolveTelemetryOptions(pipeline) },
        { provide: MQTT_INGEST_OPTIONS, useValue: mqtt },
        { provide: MQTT_TOPIC_PREFIX, useValue: mqtt.topicPrefix },
        {
          provide: SENSOR_REPOSITORY,
          inject: [DATABASE_CONNECTION],
          // Cached: the pipeline reads its sensor on every reading.
          useFactory: (database: DatabaseConnection) =>
            new CachedEntityRepository<Sensor>(new KyselyEntityRepository<Sensor>(database.db, SENSORS_TABLE), SENSOR_CACHE),
        },
        {
          provide: LOCATION_REPOSITORY,
          inject: [DATABASE_CONNECTION],
          useFactory: (database: DatabaseConnection) => new KyselyEntityRepository<Location>(database.db, LOCATIONS_TABLE),
        },
        {
          provide: DEVICE_CREDENTIAL_STORE,
          inject: [DATABASE_CONNECTION],
          useFactory: (database: DatabaseConnection) => new KyselyDeviceCredentialStore(database.db),
        },
        {
          provide: SENSORS,
          inject: [SENSOR_REPOSITORY, WebSocketService, TELEMETRY_OPTIONS],
          useFactory: (repository: EntityRepository<Sensor>, websocket: WebSocketService, options: ResolvedTelemetryOptions) =>
            new CatalogService<Sensor>(
              { entityType: 'sensor', topics: (sensor) => ['sensors', 'general', sensorTopic(sensor.id)], maxEntities: options.maxSensors },
              repository,
              websocket,
            ),
        },
        {
          provide: LOCATIONS,
          inject: [LOCATION_REPOSITORY, WebSocketService],
          useFactory: (repository: EntityRepository<Location>, websocket: WebSocketService) =>
            new CatalogService<Location>({ entityType: 'location', topics: () => ['locations', 'general'] }, repository, websocket),
        },
        {
          provide: ReadingsRepository,
          inject: [DATABASE_CONNECTION],
          useFactory: (database: DatabaseConnection) => new ReadingsRepository(database.db, database.dialect),
        },
        {
          provide: ReadingWriter,
          inject: [TELEMETRY_OPTIONS, ReadingsRepository, MetricsService, DATABASE_CONNECTION],
          useFactory: (options: ResolvedTelemetryOptions, repository: ReadingsRepository, metrics: MetricsService, database: DatabaseConnection) => {
            const writer = new ReadingWriter(
              repository,
              { flushMs: options.readingsFlushMs, batchSize: options.readingsBatchSize, maxQueue: options.readingsMaxQueue },
              metrics,
              () =>
                database.ping().then(
                  () => true,
                  () => false,
                ),
            );
            // The last flush runs after HTTP and MQTT have stopped, and before the database closes.
            database.beforeClose(() => writer.close());
            return writer;
          },
        },
        {
          provide: ReadingRetention,
          inject: [TELEMETRY_OPTIONS, ReadingsRepository],
          useFactory: (options: ResolvedTelemetryOptions, repository: ReadingsRepository) => new ReadingRetention(repository, options.readingsRetentionDays),
        },
        {
          provide: ReadingRetentionLifecycle,
          inject: [ReadingRetention],
          useFactory: (retention: ReadingRetention) => new ReadingRetentionLifecycle(retention),
        },
        {
          provide: SERIES_STORE,
          inject: [TELEMETRY_OPTIONS, REDIS],
          useFactory: (options: ResolvedTelemetryOptions, redis: RedisConnection | null) =>
            redis
              ? new RedisSeriesStore(redis, options.anomalyWindow, options.predictionEvery)
              : new InMemorySeriesStore(options.anomalyWindow, options.predictionEvery),
        },
        ReadingAdmission,
        ReadingsPipeline,
        ReadingIngestService,
        MqttIngestService,
        DeviceCredentialsService,
      ],
      exports: [
        SENSORS,
        LOCATIONS,
        DEVICE_CREDENTIAL_STORE,
        ReadingsRepository,
        ReadingWriter,
        ReadingIngestService,
        MqttIngestService,
        DeviceCredentialsService,
      ],
    };
  }
}
