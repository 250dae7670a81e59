export { InMemoryStreamHistory } from './in-memory-stream-history.js';
export { JoinError, StreamJoiner, type JoinRequest, type JoinResult, type JoinTarget, type StreamJoinerOptions } from './stream-joiner.js';
export { parseStreamMessage, RedisStreamHistory, type StreamMessageHeader } from './redis-stream-history.js';
export {
  DEFAULT_HISTORY_SIZE,
  DEFAULT_HISTORY_TTL_SECONDS,
  isStreamPosition,
  MAX_REPLAY,
  StreamPublication,
  type LatestResult,
  type PublishResult,
  type RecoverResult,
  type StreamHistory,
  type StreamHistoryOptions,
  type StreamListener,
  type StreamPosition,
} from './stream-history.js';
