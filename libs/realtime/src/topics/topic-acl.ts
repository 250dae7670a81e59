import { ErrorCode, ERROR_MESSAGES, parseTopic, TOPIC_ROLES, type ErrorBody, type Role, type Topic } from '#contracts';

export type TopicDecision = { ok: true; topic: Topic } | { ok: false; error: ErrorBody };

/** Refusals carry the code's fixed message, never the name the client sent. */
const refused = (code: typeof ErrorCode.UNKNOWN_TOPIC | typeof ErrorCode.FORBIDDEN): TopicDecision => ({
  ok: false,
  error: { code, message: ERROR_MESSAGES[code] },
});

/**
 * Who may join which topic, for Socket.IO and plain WebSocket alike. User rooms are never
 * joinable by name: a socket is put in its own user's room at the handshake and nowhere else.
 */
export function authorizeTopic(topic: string, role: Role): TopicDecision {
  const parsed = parseTopic(topic);
  switch (parsed.kind) {
    case 'unknown':
      return refused(ErrorCode.UNKNOWN_TOPIC);
    case 'user':
      return refused(ErrorCode.FORBIDDEN);
    case 'sensor':
      return { ok: true, topic: parsed.topic };
    case 'static': {
      const allowed = TOPIC_ROLES[parsed.topic];
      if (allowed && !allowed.includes(role)) return refused(ErrorCode.FORBIDDEN);
      return { ok: true, topic: parsed.topic };
    }
  }
}
