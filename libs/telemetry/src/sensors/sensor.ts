export type { Location, Sensor, Thresholds } from '#contracts';
