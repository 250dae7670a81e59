/**
 * The reference peer: a bare socket.io server doing the slice of the contract the scenarios use,
 * written the way a competent user would without a framework. JWT (HS256, prebuilt KeyObject) in
 * `io.use`, user rooms, `subscribe` with an ack, MQTT `sensors/+/+` -> `io.to([...]).emit`, and
 * `POST /notify` for per-user notifications (`notification:new` then `notification:unread_count`).
 * With REDIS_URL, the cluster slice: the sharded Redis adapter (as the gateway uses on Redis 7) and
 * an MQTT shared subscription, so each reading is handled by one instance and reaches every socket.
 * Env (the gateway's names, so one environment serves every target): PORT, MQTT_URL, JWT_SECRET,
 * MQTT_TOPIC_PREFIX, REDIS_URL, REDIS_KEY_PREFIX, MQTT_SHARE_GROUP.
 */
import { createSecretKey, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import jwt from 'jsonwebtoken';
import mqtt from 'mqtt';
import { createClient } from 'redis';
import { Server } from 'socket.io';
import { createShardedAdapter } from '@socket.io/redis-adapter';

const port = Number(process.env['PORT'] ?? 4000);
const prefix = process.env['MQTT_TOPIC_PREFIX'] ?? '';
const key = createSecretKey(Buffer.from(process.env['JWT_SECRET'] ?? 'dev', 'utf8'));
const unread = new Map<string, number>();

const http = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/notify') return res.writeHead(404).end();
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk));
  req.on('end', () => {
    const { userIds, title, message } = JSON.parse(body) as { userIds: string[]; title: string; message: string };
    const timestamp = new Date().toISOString();
    // The contract's slice: the notification, then the user's new unread count.
    for (const userId of userIds) {
      const unreadCount = (unread.get(userId) ?? 0) + 1;
      unread.set(userId, unreadCount);
      io.to(`user:${userId}`).emit('notification:new', { notification: { id: randomUUID(), title, message, createdAt: timestamp, read: false }, timestamp });
      io.to(`user:${userId}`).emit('notification:unread_count', { unreadCount });
    }
    res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
  });
});

const io = new Server(http, { transports: ['websocket', 'polling'], serveClient: false });
const redisUrl = process.env['REDIS_URL'];
if (redisUrl) {
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createShardedAdapter(pub, sub, { channelPrefix: `${process.env['REDIS_KEY_PREFIX'] ?? 'peer:'}socket.io` }));
}
io.use((socket, next) => {
  try {
    const claims = jwt.verify(String(socket.handshake.auth['token']), key, { algorithms: ['HS256'] }) as { sub: string };
    socket.data.userId = claims.sub;
    next();
  } catch {
    next(Object.assign(new Error('Unauthorized'), { data: { code: 'TOKEN_INVALID' } }));
  }
});
io.on('connection', (socket) => {
  void socket.join(`user:${socket.data.userId as string}`);
  socket.emit('authenticated', { success: true, userId: socket.data.userId, role: 'user' });
  socket.on('subscribe', ({ topic }: { topic: string }, ack?: (reply: unknown) => void) => {
    void socket.join(topic);
    ack?.({ ok: true, topic });
  });
});

const client = mqtt.connect(process.env['MQTT_URL'] ?? 'mqtt://127.0.0.1:1883', { protocolVersion: 4, clientId: `peer-socketio-${process.pid}` });
const shareGroup = process.env['MQTT_SHARE_GROUP'];
client.on('connect', () => client.subscribe(`${shareGroup ? `$share/${shareGroup}/` : ''}${prefix}sensors/+/+`, { qos: 1 }));
client.on('message', (topic, payload) => {
  const [, sensorId, metric] = topic.slice(prefix.length).split('/');
  const text = payload.toString();
  const body = text.startsWith('{') ? (JSON.parse(text) as { value: number; ts?: number }) : { value: Number(text) };
  io.to(['readings', `sensor:${sensorId}`]).emit('reading:new', { sensorId, metric, value: body.value, ts: body.ts ?? Date.now() });
});

http.listen(port, '127.0.0.1', () => console.log(`socket.io peer listening on ${port}`));
process.on('SIGTERM', () => process.exit(0));
