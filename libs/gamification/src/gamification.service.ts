import { Injectable } from '@nestjs/common';
import type { LeaderboardEntry } from '#contracts';
import { WebSocketService } from '#realtime';

/** XP totals at which an achievement unlocks. */
const MILESTONES = [100, 1_000, 10_000] as const;
const LEADERBOARD_SIZE = 10;

/**
 * An example of a domain module that emits through `WebSocketService`: it keeps XP in memory and
 * sends `xp:gained`, `achievement:unlocked` and `rank:updated` to every device of the user, and
 * `leaderboard:updated` to everyone. A real one would keep its state in its own store.
 */
@Injectable()
export class GamificationService {
  private readonly xpByUser = new Map<string, number>();

  constructor(private readonly websocket: WebSocketService) {}

  awardXp(userId: string, amount: number, source: string): { totalXp: number; rank: number } {
    const oldRank = this.rankOf(userId);
    const before = this.xpByUser.get(userId) ?? 0;
    const totalXp = before + amount;
    this.xpByUser.set(userId, totalXp);

    this.websocket.emitXpGained(userId, { amount, source, totalXp });
    for (const milestone of MILESTONES.filter((m) => before < m && totalXp >= m)) {
      this.websocket.emitAchievementUnlocked(userId, {
        achievementId: `xp-${milestone}`,
        name: `${milestone} XP`,
        description: `Reached ${milestone} XP`,
        unlockedAt: new Date().toISOString(),
      });
    }
    const rank = this.rankOf(userId);
    if (rank !== oldRank) this.websocket.emitRankUpdated(userId, { oldRank, newRank: rank });
    this.websocket.broadcastLeaderboardUpdate({ leaderboard: this.leaderboard() });
    return { totalXp, rank };
  }

  leaderboard(): LeaderboardEntry[] {
    return this.ranked().slice(0, LEADERBOARD_SIZE);
  }

  /** 1-based; users without XP rank after everyone who has some. */
  private rankOf(userId: string): number {
    const index = this.ranked().findIndex((entry) => entry.userId === userId);
    return index === -1 ? this.xpByUser.size + 1 : index + 1;
  }

  private ranked(): LeaderboardEntry[] {
    return [...this.xpByUser].sort(([a, xpA], [b, xpB]) => xpB - xpA || a.localeCompare(b)).map(([userId, xp], index) => ({ userId, xp, rank: index + 1 }));
  }
}
