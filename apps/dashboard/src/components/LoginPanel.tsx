import { useState, type FormEvent } from 'react';
import { ROLES, type Role } from '#contracts';
import { devSession, type Session } from '../session.js';

/** Dev mode mints a token from `/api/v1/auth/dev-token`; otherwise paste a JWT from your identity provider. */
export function LoginPanel({ origin, onSignIn }: { origin: string; onSignIn: (session: Session) => void }) {
  const [sub, setSub] = useState('demo-user');
  const [role, setRole] = useState<Role>('admin');
  const [pasted, setPasted] = useState('');
  const [error, setError] = useState<string | null>(null);

  const signInDev = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setError(null);
    try {
      onSignIn(await devSession(origin, sub.trim(), role));
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  const signInPasted = (event: FormEvent): void => {
    event.preventDefault();
    const token = pasted.trim();
    if (token.split('.').length !== 3) return setError('That is not a JWT (three dot-separated parts)');
    onSignIn({ token });
  };

  return (
    <div className="login">
      <h1>Realtime gateway</h1>
      <form onSubmit={(event) => void signInDev(event)} aria-label="Dev sign-in">
        <h2>Dev sign-in</h2>
        <label>
          User id <input name="sub" value={sub} onChange={(event) => setSub(event.target.value)} required pattern="[A-Za-z0-9_.\-]{1,64}" />
        </label>
        <label>
          Role{' '}
          <select name="role" value={role} onChange={(event) => setRole(event.target.value as Role)}>
            {ROLES.map((name) => (
              <option key={name}>{name}</option>
            ))}
          </select>
        </label>
        <button type="submit">Get a dev token</button>
      </form>
      <form onSubmit={signInPasted} aria-label="Token sign-in">
        <h2>Or paste a JWT</h2>
        <textarea name="token" value={pasted} onChange={(event) => setPasted(event.target.value)} rows={3} placeholder="eyJhbGciOi..." />
        <button type="submit">Use this token</button>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
