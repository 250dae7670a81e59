export const SENSORS = Symbol('SENSORS');
export const LOCATIONS = Symbol('LOCATIONS');
export const SENSOR_REPOSITORY = Symbol('SENSOR_REPOSITORY');
export const LOCATION_REPOSITORY = Symbol('LOCATION_REPOSITORY');
