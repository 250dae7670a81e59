import { describe, expect, it } from '@jest/globals';
import { ConnectionLimiter } from './connection-limiter.js';

describe('ConnectionLimiter', () => {
  it('caps the instance and frees a slot on release', () => {
    const limiter = new ConnectionLimiter(2, 0);
    expect(limiter.tryAdmit('a', '10.0.0.1')).toEqual({ ok: true });
    expect(limiter.tryAdmit('b', '10.0.0.2')).toEqual({ ok: true });
    expect(limiter.tryAdmit('c', '10.0.0.3')).toEqual({ ok: false, code: 'SERVER_FULL' });
    limiter.release('a');
    expect(limiter.tryAdmit('c', '10.0.0.3')).toEqual({ ok: true });
  });

  it('caps per address when set, and release is idempotent', () => {
    const limiter = new ConnectionLimiter(100, 1);
    expect(limiter.tryAdmit('a', 'x')).toEqual({ ok: true });
    expect(limiter.tryAdmit('b', 'x')).toEqual({ ok: false, code: 'TOO_MANY_CONNECTIONS' });
    limiter.release('a');
    limiter.release('a');
    limiter.release('never-admitted');
    expect(limiter.size).toBe(0);
    expect(limiter.tryAdmit('b', 'x')).toEqual({ ok: true });
    expect(limiter.tryAdmit('c', 'y')).toEqual({ ok: true });
  });
});
