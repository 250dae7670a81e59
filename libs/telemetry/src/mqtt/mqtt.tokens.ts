/** Prefix of the sensor topics this gateway subscribes to (`''` or e.g. `site-a/`). */
export const MQTT_TOPIC_PREFIX = Symbol('MQTT_TOPIC_PREFIX');
