import { Body, Controller, HttpCode, Logger, Post } from '@nestjs/common';
import { TokenService } from '#auth';
import { DevTokenDto } from './dev-token.dto.js';

const DEFAULT_EXPIRES_IN_SECONDS = 3600;

/** `POST /api/v1/auth/dev-token`: only mounted when `AUTH_DEV_TOKENS` is on (never in production). */
@Controller('auth')
export class DevTokenController {
  private readonly logger = new Logger(DevTokenController.name);

  constructor(private readonly tokens: TokenService) {}

  @Post('dev-token')
  @HttpCode(200)
  issue(@Body() body: DevTokenDto): { token: string } {
    const { expiresIn = DEFAULT_EXPIRES_IN_SECONDS, ...claims } = body;
    this.logger.log(`Dev token issued for user=${claims.sub} role=${claims.role ?? 'user'}`);
    return { token: this.tokens.sign(claims, expiresIn) };
  }
}
