import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import type { Identity } from './identity.js';
import { TokenError, TokenService } from './token.service.js';

/**
 * Guards message handlers. The handshake (or `auth:refresh`) already verified the signature, so
 * per message only the verified identity's expiry is checked: the expiry timer may lag by a tick.
 */
@Injectable()
export class WsJwtGuard implements CanActivate {
  constructor(private readonly tokens: TokenService) {}

  canActivate(context: ExecutionContext): boolean {
    // Structural, so this lib needs nothing from the gateway: the handshake leaves the identity on `socket.data`.
    const socket = context.switchToWs().getClient<{ data: { identity?: Identity } }>();
    try {
      this.tokens.assertCurrent(socket.data.identity);
    } catch (error) {
      if (error instanceof TokenError) throw new WsException({ code: error.code, message: error.message });
      throw error;
    }
    return true;
  }
}
