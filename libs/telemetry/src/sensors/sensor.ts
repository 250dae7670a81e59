import type { Entity } from '../catalog/entity-repository.js';

export interface Thresholds {
  min?: number;
  max?: number;
}

export interface Sensor extends Entity {
  name: string;
  type: string;
  model?: string;
  unit?: string;
  locationId?: string;
  /** Notified of this sensor's anomalies. */
  ownerId?: string;
  thresholds?: Thresholds;
}

export interface Location extends Entity {
  name: string;
  description?: string;
  latitude?: number;
  longitude?: number;
}
