import { useAlarmCounts } from '../hooks/index.js';

/** Active alarms in the header (red while any is critical); opens the Alarms page. */
export function AlarmBadge() {
  const counts = useAlarmCounts();
  const active = counts?.active ?? 0;
  const critical = (counts?.bySeverity.critical ?? 0) > 0;
  return (
    <a
      href="#alarms"
      className={`alarm-badge${active > 0 ? ' raised' : ''}${critical ? ' critical' : ''}`}
      data-testid="alarm-badge"
      data-active={active}
      aria-label={`Alarms: ${active} active, ${counts?.unacknowledged ?? 0} unacknowledged`}
    >
      ⚠ <span className="count">{active}</span>
    </a>
  );
}
