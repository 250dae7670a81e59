import { Injectable } from '@nestjs/common';

export type CheckStatus = 'up' | 'down' | 'disabled';
export interface CheckResult {
  status: CheckStatus;
  detail?: string;
}

/**
 * Dependencies register a check here (`mqtt`, `redis`, `database`); `/health` reports each one and answers
 * 503 when a configured dependency is down. An unregistered check reads as `disabled`.
 */
@Injectable()
export class HealthService {
  private readonly checks = new Map<string, () => CheckResult | Promise<CheckResult>>([
    ['mqtt', () => ({ status: 'disabled' })],
    ['redis', () => ({ status: 'disabled', detail: 'REDIS_URL unset: single instance' })],
    ['database', () => ({ status: 'disabled' })],
  ]);

  register(name: string, check: () => CheckResult | Promise<CheckResult>): void {
    this.checks.set(name, check);
  }

  async report(): Promise<{ status: 'ok' | 'degraded'; checks: Record<string, CheckResult> }> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, check]): Promise<[string, CheckResult]> => {
        try {
          return [name, await check()];
        } catch (error) {
          return [name, { status: 'down', detail: (error as Error).message }];
        }
      }),
    );
    const checks = Object.fromEntries(entries);
    return { status: entries.some(([, result]) => result.status === 'down') ? 'degraded' : 'ok', checks };
  }
}
