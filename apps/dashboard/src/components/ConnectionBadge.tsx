import { useGateway } from '../hooks/index.js';

export function ConnectionBadge() {
  const { status, transport, identity, error } = useGateway();
  return (
    <div className={`connection ${status}`} data-testid="connection" data-status={status} title={error ?? undefined}>
      <span className="dot" />
      {status}
      {transport && <span className="transport"> via {transport}</span>}
      {identity && (
        <span className="who">
          {' '}
          as {identity.userId} ({identity.role})
        </span>
      )}
      {status !== 'connected' && error && <span className="why"> — {error}</span>}
    </div>
  );
}
