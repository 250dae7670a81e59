export { CatalogService } from './catalog/catalog.service.js';
export { LOCATIONS, SENSORS } from './catalog/catalog.tokens.js';
export { BrokerPortInUseError, EmbeddedBroker } from './mqtt/embedded-broker.js';
export { MqttIngestService, type MqttIngestOptions } from './mqtt/mqtt-ingest.service.js';
export { ReadingIngestService } from './pipeline/reading-ingest.service.js';
export { ReadingsPipeline } from './pipeline/readings-pipeline.service.js';
export { TelemetryModule, type TelemetryModuleConfig } from './telemetry.module.js';
