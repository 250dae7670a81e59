import { useCallback, useEffect, useRef, useState } from 'react';
import type { AlarmCounts, AlarmPayload, Page } from '#contracts';
import { useGateway } from './use-gateway.js';
import { useEvent, useTopic } from './use-topic.js';

type AlarmHandler = (alarm: AlarmPayload) => void;

/** Every `alarm:*` event of the `alarms` topic (subscribed while mounted); `onRecoveryFailed` when some may have been missed. */
export function useAlarmEvents(handler: AlarmHandler, onRecoveryFailed?: () => void): void {
  useTopic('alarms', 'alarm:created', handler, onRecoveryFailed ? { onRecoveryFailed } : {});
  useEvent('alarm:updated', handler);
  useEvent('alarm:acknowledged', handler);
  useEvent('alarm:cleared', handler);
}

/** Refetches at most this often, however fast alarms change (a stuck sensor repeats every reading). */
const COUNTS_REFRESH_MS = 500;

/** `GET alarms/counts`, kept current by the alarm events: for the header badge. */
export function useAlarmCounts(): AlarmCounts | null {
  const { api, hasConnected } = useGateway();
  const [counts, setCounts] = useState<AlarmCounts | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const refresh = useCallback((): void => {
    timer.current ??= setTimeout(() => {
      timer.current = null;
      api<AlarmCounts>('GET', 'alarms/counts').then(setCounts, () => undefined);
    }, COUNTS_REFRESH_MS);
  }, [api]);
  useEffect(() => {
    if (hasConnected) api<AlarmCounts>('GET', 'alarms/counts').then(setCounts, () => undefined);
  }, [api, hasConnected]);
  useEffect(() => () => clearTimeout(timer.current ?? undefined), []);
  useAlarmEvents(refresh, refresh);
  return counts;
}

/** The active alarms (the newest 200), kept current by the alarm events: for marking charts. */
export function useActiveAlarms(): Map<string, AlarmPayload> {
  const { api, hasConnected } = useGateway();
  const [alarms, setAlarms] = useState(new Map<string, AlarmPayload>());
  const load = useCallback((): void => {
    api<Page<AlarmPayload>>('GET', 'alarms?status=active&limit=200').then(
      (page) => setAlarms(new Map(page.items.map((alarm) => [alarm.id, alarm]))),
      () => undefined,
    );
  }, [api]);
  useEffect(() => {
    if (hasConnected) load();
  }, [hasConnected, load]);
  useAlarmEvents((alarm) => {
    setAlarms((previous) => {
      const next = new Map(previous);
      if (alarm.status === 'active') next.set(alarm.id, alarm);
      else next.delete(alarm.id);
      return next;
    });
  }, load);
  return alarms;
}
