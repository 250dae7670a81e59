export { CatalogService } from './catalog/catalog.service.js';
export { LOCATIONS, SENSORS } from './catalog/catalog.tokens.js';
export { BrokerPortInUseError, EmbeddedBroker, MAX_PACKET_BYTES } from './mqtt/embedded-broker.js';
export { MqttIngestService, type MqttIngestOptions } from './mqtt/mqtt-ingest.service.js';
export { ReadingIngestService } from './pipeline/reading-ingest.service.js';
export { ReadingsPipeline } from './pipeline/readings-pipeline.service.js';
export { TelemetryModule, type TelemetryModuleConfig } from './telemetry.module.js';
export { DEVICE_CREDENTIAL_STORE, type DeviceCredentialStore } from './devices/device-credential.store.js';
export { DeviceCredentialsService } from './devices/device-credentials.service.js';
export { InMemoryDeviceCredentialStore } from './devices/in-memory-device-credential.store.js';
export { GATEWAY_USERNAME } from './mqtt/broker-access.js';
export { ReadingWriter, type ReadingWriterOptions } from './readings/reading-writer.js';
export {
  AGGREGATES,
  ReadingsRepository,
  type Aggregate,
  type BucketPoint,
  type BucketQuery,
  type LatestReadings,
  type RawQuery,
} from './readings/readings.repository.js';
export { READING_JUDGED, SENSOR_FORGOTTEN, type ReadingJudgedEvent, type SensorForgottenEvent } from './pipeline/pipeline.events.js';
export type { Verdict } from './anomalies/anomaly-detector.js';
