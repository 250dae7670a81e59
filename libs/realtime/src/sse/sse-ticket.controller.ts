import { Controller, HttpCode, HttpStatus, Inject, Logger, Post, UseGuards } from '@nestjs/common';
import { ErrorCode, type SseTicketResponse } from '#contracts';
import { CurrentIdentity, HttpJwtGuard, type Identity } from '#auth';
import { ApiError } from '#http';
import { SSE_TICKETS, type SseTicketStore } from './sse-tickets.js';

/**
 * `POST /api/v1/events/ticket`: a browser's `EventSource` cannot send `Authorization`, and a JWT
 * in a URL ends up in logs and history; so it trades its bearer token for a single-use ticket
 * valid 60 s, which `GET /api/v1/events?ticket=` redeems.
 */
@Controller('events')
export class SseTicketController {
  private readonly logger = new Logger(SseTicketController.name);

  constructor(@Inject(SSE_TICKETS) private readonly tickets: SseTicketStore) {}

  @Post('ticket')
  @UseGuards(HttpJwtGuard)
  @HttpCode(HttpStatus.CREATED)
  async mint(@CurrentIdentity() identity: Identity): Promise<SseTicketResponse> {
    const minted = await this.tickets.mint(identity);
    if (!minted) {
      this.logger.log({ msg: 'ticket refused: cap reached', userId: identity.userId });
      throw new ApiError(ErrorCode.RATE_LIMITED, HttpStatus.TOO_MANY_REQUESTS);
    }
    return minted;
  }
}
