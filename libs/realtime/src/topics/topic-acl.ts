import { ErrorCode, parseTopic, TOPIC_ROLES, type ErrorBody, type Role, type Topic } from '#contracts';

export type TopicDecision = { ok: true; topic: Topic } | { ok: false; error: ErrorBody };

/**
 * Who may join which topic, for Socket.IO and plain WebSocket alike. User rooms are never
 * joinable by name: a socket is put in its own user's room at the handshake and nowhere else.
 */
export function authorizeTopic(topic: string, role: Role): TopicDecision {
  const parsed = parseTopic(topic);
  switch (parsed.kind) {
    case 'unknown':
      return { ok: false, error: { code: ErrorCode.UNKNOWN_TOPIC, message: `Unknown topic '${topic}'` } };
    case 'user':
      return { ok: false, error: { code: ErrorCode.FORBIDDEN, message: 'User rooms cannot be subscribed to' } };
    case 'sensor':
      return { ok: true, topic: parsed.topic };
    case 'static': {
      const allowed = TOPIC_ROLES[parsed.topic];
      if (allowed && !allowed.includes(role)) {
        return { ok: false, error: { code: ErrorCode.FORBIDDEN, message: `Topic '${topic}' needs role ${allowed.join(' or ')}` } };
      }
      return { ok: true, topic: parsed.topic };
    }
  }
}
