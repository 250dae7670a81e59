export { GatewayProvider, type ConnectionStatus, type GatewayProviderProps, type GatewayState } from './gateway-context.js';
export { useGateway } from './use-gateway.js';
export { useEvent, useRecovery, useTopic, type TopicOptions, type TopicState } from './use-topic.js';
export { useNotifications, type NotificationsState } from './use-notifications.js';
export { ApiError, createApi, fetchDevToken, type Api } from './api.js';
export { createTopicLeases, type TopicLease, type TopicLeases } from './topic-leases.js';
export { useActiveAlarms, useAlarmCounts, useAlarmEvents } from './use-alarms.js';
