import { Module, type DynamicModule } from '@nestjs/common';
import { sensorTopic, type Location, type Sensor } from '#contracts';
import { WebSocketService } from '#realtime';
import { REDIS, type RedisConnection } from '#redis';
import { CatalogService } from './catalog/catalog.service.js';
import { LOCATION_REPOSITORY, LOCATIONS, SENSOR_REPOSITORY, SENSORS } from './catalog/catalog.tokens.js';
import { InMemoryEntityRepository, type EntityRepository } from './catalog/entity-repository.js';
import { LocationsController } from './locations/locations.controller.js';
import { MQTT_INGEST_OPTIONS, MqttIngestService, type MqttIngestOptions } from './mqtt/mqtt-ingest.service.js';
import { MQTT_TOPIC_PREFIX } from './mqtt/mqtt.tokens.js';
import { SensorIngestController } from './mqtt/sensor-ingest.controller.js';
import { ReadingIngestService } from './pipeline/reading-ingest.service.js';
import { ReadingsPipeline } from './pipeline/readings-pipeline.service.js';
import { InMemoryReadingHistory, READING_HISTORY, RedisReadingHistory } from './readings/reading-history.js';
import { RedisSeriesStore } from './series/redis-series.store.js';
import { InMemorySeriesStore, SERIES_STORE } from './series/series-store.js';
import { RedisEntityRepository } from './catalog/redis-entity.repository.js';
import { ReadingsController } from './readings/readings.controller.js';
import { SensorsController } from './sensors/sensors.controller.js';
import { DEVICE_CREDENTIAL_STORE } from './devices/device-credential.store.js';
import { DeviceCredentialsController } from './devices/device-credentials.controller.js';
import { DeviceCredentialsService } from './devices/device-credentials.service.js';
import { InMemoryDeviceCredentialStore } from './devices/in-memory-device-credential.store.js';
import { ReadingAdmission } from './pipeline/reading-admission.service.js';
import { resolveTelemetryOptions, TELEMETRY_OPTIONS, type ResolvedTelemetryOptions, type TelemetryModuleOptions } from './telemetry.options.js';

export interface TelemetryModuleConfig {
  pipeline?: TelemetryModuleOptions;
  mqtt: MqttIngestOptions;
}

/**
 * Sensors, locations, readings: MQTT ingestion (Nest microservice transport), the readings
 * pipeline (anomalies, forecasts) and the REST API. Needs `RealtimeModule`, `NotificationsModule`
 * and `RedisModule` (whose connection, when there is one, backs every store).
 */
@Module({})
export class TelemetryModule {
  static forRoot({ pipeline = {}, mqtt }: TelemetryModuleConfig): DynamicModule {
    return {
      module: TelemetryModule,
      controllers: [SensorsController, DeviceCredentialsController, LocationsController, ReadingsController, SensorIngestController],
      providers: [
        { provide: TELEMETRY_OPTIONS, useValue: resolveTelemetryOptions(pipeline) },
        { provide: MQTT_INGEST_OPTIONS, useValue: mqtt },
        { provide: MQTT_TOPIC_PREFIX, useValue: mqtt.topicPrefix },
        {
          provide: SENSOR_REPOSITORY,
          inject: [REDIS],
          useFactory: (redis: RedisConnection | null) => (redis ? new RedisEntityRepository<Sensor>(redis, 'sensors') : new InMemoryEntityRepository<Sensor>()),
        },
        {
          provide: LOCATION_REPOSITORY,
          inject: [REDIS],
          useFactory: (redis: RedisConnection | null) => (redis ? new RedisEntityRepository<Location>(redis, 'locations') : new InMemoryEntityRepository<Location>()),
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
        // Until the storage layer binds its database-backed store here.
        { provide: DEVICE_CREDENTIAL_STORE, useClass: InMemoryDeviceCredentialStore },
        {
          provide: LOCATIONS,
          inject: [LOCATION_REPOSITORY, WebSocketService],
          useFactory: (repository: EntityRepository<Location>, websocket: WebSocketService) =>
            new CatalogService<Location>({ entityType: 'location', topics: () => ['locations', 'general'] }, repository, websocket),
        },
        {
          provide: READING_HISTORY,
          inject: [TELEMETRY_OPTIONS, REDIS],
          useFactory: (options: ResolvedTelemetryOptions, redis: RedisConnection | null) =>
            redis ? new RedisReadingHistory(redis, options.historyPerSensor) : new InMemoryReadingHistory(options.historyPerSensor),
        },
        {
          provide: SERIES_STORE,
          inject: [TELEMETRY_OPTIONS, REDIS],
          useFactory: (options: ResolvedTelemetryOptions, redis: RedisConnection | null) =>
            redis ? new RedisSeriesStore(redis, options.anomalyWindow, options.predictionEvery) : new InMemorySeriesStore(options.anomalyWindow, options.predictionEvery),
        },
        ReadingAdmission,
        ReadingsPipeline,
        ReadingIngestService,
        MqttIngestService,
        DeviceCredentialsService,
      ],
      exports: [SENSORS, LOCATIONS, READING_HISTORY, ReadingIngestService, MqttIngestService, DeviceCredentialsService],
    };
  }
}
