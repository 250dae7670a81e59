import { Injectable } from '@nestjs/common';

/** This instance's map of user id to the ids of that user's connected sockets (one per device). */
@Injectable()
export class UserSocketsRegistry {
  private readonly socketsByUser = new Map<string, Set<string>>();

  add(userId: string, socketId: string): void {
    let sockets = this.socketsByUser.get(userId);
    if (!sockets) {
      sockets = new Set();
      this.socketsByUser.set(userId, sockets);
    }
    sockets.add(socketId);
  }

  remove(userId: string, socketId: string): void {
    const sockets = this.socketsByUser.get(userId);
    if (!sockets) return;
    sockets.delete(socketId);
    if (sockets.size === 0) this.socketsByUser.delete(userId);
  }

  socketCount(userId: string): number {
    return this.socketsByUser.get(userId)?.size ?? 0;
  }

  userIds(): string[] {
    return [...this.socketsByUser.keys()];
  }

  /** Distinct users with at least one socket here. */
  get userCount(): number {
    return this.socketsByUser.size;
  }
}
