import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, type INestApplication, type OnApplicationShutdown } from '@nestjs/common';
import { redactUrl, withoutUndefined, type Sensor } from '#contracts';
import { MetricsService } from '#observability';
import type { CatalogService } from '../catalog/catalog.service.js';
import { SENSORS } from '../catalog/catalog.tokens.js';
import { DEMO_SENSOR, DemoFeed } from '../demo/demo-feed.service.js';
import { DEVICE_CREDENTIAL_STORE, type DeviceCredentialStore } from '../devices/device-credential.store.js';
import { BrokerAccess, GATEWAY_USERNAME } from './broker-access.js';
import { EmbeddedBroker } from './embedded-broker.js';
import { SensorMqttServer } from './sensor-mqtt.server.js';

export interface MqttIngestOptions {
  /** External broker; unset: an embedded broker on `brokerPort`. */
  url?: string;
  brokerPort: number;
  /** Where the embedded broker listens. @default '127.0.0.1' */
  brokerHost?: string;
  /** Devices without credentials on the embedded broker. @default false */
  allowAnonymous?: boolean;
  /** The gateway's login and trusted CA (PEM) on an external broker. */
  username?: string;
  password?: string;
  ca?: string;
  /** Messages per second per sensor; the excess is dropped (`rate_limited`). @default 100 */
  deviceRateLimit?: number;
  /** Unique per instance and stable across its restarts: the broker keeps its QoS 1 session. */
  clientId: string;
  shareGroup?: string;
  topicPrefix: string;
  demoFeed: boolean;
}

export const MQTT_INGEST_OPTIONS = Symbol('MQTT_INGEST_OPTIONS');

/** How long start-up waits for the broker before serving HTTP anyway (with `/health` reporting mqtt down). */
const CONNECT_WAIT_MS = 5_000;

export type MqttState = 'connecting' | 'connected' | 'disconnected';

/**
 * MQTT ingestion through Nest's microservice transport (a hybrid app): starts the embedded broker
 * when no `MQTT_URL` is given, connects the transport with a persistent QoS 1 session, runs the
 * demo feed, and on shutdown closes the broker after the transport has left it.
 */
@Injectable()
export class MqttIngestService implements OnApplicationShutdown {
  private readonly logger = new Logger(MqttIngestService.name);
  private broker: EmbeddedBroker | null = null;
  private demo: DemoFeed | null = null;
  private connected: Promise<void> | null = null;
  state: MqttState = 'connecting';
  brokerUrl = '';

  constructor(
    @Inject(MQTT_INGEST_OPTIONS) private readonly options: MqttIngestOptions,
    @Inject(DEVICE_CREDENTIAL_STORE) private readonly credentials: DeviceCredentialStore,
    private readonly metrics: MetricsService,
    @Inject(SENSORS) private readonly sensors: CatalogService<Sensor>,
  ) {}

  /** Call once, after the app is created and before it listens. */
  async connect(app: INestApplication): Promise<void> {
    const { url, brokerPort, brokerHost, allowAnonymous = false, clientId, shareGroup, topicPrefix } = this.options;
    let login: { username?: string; password?: string; ca?: string };
    if (url) {
      login = { username: this.options.username, password: this.options.password, ca: this.options.ca };
    } else {
      // Known only to this process: no outside client can log in as the gateway and take its session.
      const secret = randomBytes(32).toString('base64url');
      const access = new BrokerAccess({ topicPrefix, allowAnonymous, gatewayClientId: clientId, gatewaySecret: secret }, this.credentials);
      this.broker = await EmbeddedBroker.start({
        port: brokerPort,
        host: brokerHost,
        access,
        onRefusal: (reason) => this.metrics.mqttRejected.inc({ reason }),
      });
      login = { username: GATEWAY_USERNAME, password: secret };
      if (allowAnonymous) this.logger.warn('MQTT_ALLOW_ANONYMOUS: devices without credentials may publish to any sensor');
    }
    this.brokerUrl = url ?? this.broker!.url;
    const server = new SensorMqttServer({
      url: this.brokerUrl,
      clientId,
      ...withoutUndefined(login),
      // Alone, a persistent session keeps QoS 1 readings for us while we restart. In a share
      // group it would do harm: the broker keeps handing a dead member its share, held until that
      // member returns. Clean sessions let the live members take the whole stream at once.
      clean: shareGroup !== undefined,
      protocolVersion: 4,
      subscribeOptions: { qos: 1 },
      reconnectPeriod: 1_000,
      connectTimeout: 5_000,
      shareGroup,
      topicPrefix,
    });
    server.status.subscribe((status) => {
      const previous = this.state;
      this.state = status === 'connected' ? 'connected' : status === 'reconnecting' ? 'connecting' : 'disconnected';
      if (previous !== this.state) this.logger.log(`MQTT ${this.state} (${redactUrl(this.brokerUrl)})`);
    });
    // mqtt.js leaves Nagle on: each QoS 1 PUBACK would wait up to ~40 ms, and with the broker's
    // window of in-flight messages that caps ingestion at a few hundred readings/s.
    server.on('connect', () => server.unwrap<{ stream: { setNoDelay?: (on: boolean) => void } }>().stream.setNoDelay?.(true));
    // Subscribed, not merely connected: a reading published after this is delivered.
    this.connected = new Promise<void>((resolve) => server.on('packetreceive', (packet: { cmd: string }) => packet.cmd === 'suback' && resolve()));
    app.connectMicroservice({ strategy: server }, { inheritAppConfig: false });
    const started = app.startAllMicroservices().catch((error: Error) => this.logger.error(`MQTT transport failed: ${error.message}`));
    const timedOut = await Promise.race([started.then(() => false), delay(CONNECT_WAIT_MS).then(() => true)]);
    if (timedOut)
      this.logger.error(`MQTT broker ${redactUrl(this.brokerUrl)} is not reachable; serving anyway and retrying (GET /api/v1/health reports mqtt down)`);
    if (this.options.demoFeed) {
      await this.registerDemoSensor();
      this.demo = new DemoFeed(this.brokerUrl, topicPrefix, withoutUndefined(login));
      this.demo.start();
    }
  }

  /** Without auto-registration (production rules) the demo sensor must exist for its readings to be admitted. */
  private async registerDemoSensor(): Promise<void> {
    try {
      if (!(await this.sensors.find(DEMO_SENSOR)))
        await this.sensors.create({ id: DEMO_SENSOR, name: 'Demo sensor', type: 'temperature', unit: 'C' }, { source: 'demo-feed' });
    } catch (error) {
      this.logger.warn(`Could not register the demo sensor ${DEMO_SENSOR}: ${(error as Error).message}`);
    }
  }

  /** Resolves once the transport is connected and subscribed. */
  whenConnected(): Promise<void> {
    return this.connected ?? Promise.reject(new Error('MQTT ingestion was not started'));
  }

  /** Closes the embedded broker's connections of `sensorId` (its credentials changed); 0 with an external broker. */
  disconnectDevice(sensorId: string): number {
    return this.broker?.disconnectDevice(sensorId) ?? 0;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.demo?.stop();
    await this.broker?.close();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
