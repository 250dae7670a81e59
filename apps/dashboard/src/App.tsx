import { useCallback, useEffect, useState } from 'react';
import { AdminStats } from './components/AdminStats.js';
import { AlarmBadge } from './components/AlarmBadge.js';
import { AlarmsPage } from './components/AlarmsPage.js';
import { AnomalyFeed } from './components/AnomalyFeed.js';
import { ConnectionBadge } from './components/ConnectionBadge.js';
import { LoginPanel } from './components/LoginPanel.js';
import { NotificationBell } from './components/NotificationBell.js';
import { SensorCharts } from './components/SensorCharts.js';
import { SensorsTable } from './components/SensorsTable.js';
import { GatewayProvider } from './hooks/index.js';
import { devSession, loadSession, saveSession, type Session } from './session.js';

const ORIGIN = window.location.origin;
const PAGES = { live: 'Live', alarms: 'Alarms', sensors: 'Sensors', admin: 'Admin' } as const;
type Page = keyof typeof PAGES;

function pageFromHash(): Page {
  const page = window.location.hash.slice(1);
  return page in PAGES ? (page as Page) : 'live';
}

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const [page, setPage] = useState<Page>(pageFromHash);

  useEffect(() => {
    const onHash = (): void => setPage(pageFromHash());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const signIn = (next: Session | null): void => {
    saveSession(next);
    setSession(next);
  };
  // A dev session can mint its next token; the refreshed token is kept for a page reload.
  const dev = session?.dev;
  const getToken = useCallback(async (): Promise<string> => {
    const next = await devSession(ORIGIN, dev!.sub, dev!.role);
    saveSession(next);
    return next.token;
  }, [dev?.sub, dev?.role]);

  if (!session) return <LoginPanel origin={ORIGIN} onSignIn={signIn} />;

  return (
    <GatewayProvider url={ORIGIN} token={session.token} getToken={dev ? getToken : undefined}>
      <header className="topbar">
        <h1>Realtime gateway</h1>
        <nav>
          {(Object.keys(PAGES) as Page[]).map((name) => (
            <a key={name} href={`#${name}`} className={name === page ? 'active' : undefined}>
              {PAGES[name]}
            </a>
          ))}
        </nav>
        <ConnectionBadge />
        <AlarmBadge />
        <NotificationBell />
        <button type="button" className="link" onClick={() => signIn(null)}>
          Sign out
        </button>
      </header>
      <main>
        {page === 'live' && (
          <div className="live">
            <SensorCharts />
            <AnomalyFeed />
          </div>
        )}
        {page === 'alarms' && <AlarmsPage />}
        {page === 'sensors' && <SensorsTable />}
        {page === 'admin' && <AdminStats />}
      </main>
    </GatewayProvider>
  );
}
