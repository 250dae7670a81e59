export { AuthModule } from './auth.module.js';
export type { AuthModuleAsyncOptions, AuthModuleOptions, JwtOptions } from './auth.options.js';
export { CurrentIdentity, HttpJwtGuard, Roles } from './http-jwt.guard.js';
export type { Identity } from './identity.js';
export { bearerToken, socketIoToken } from './token-extraction.js';
export { TokenError, TokenService, type TokenClaims } from './token.service.js';
export { WsJwtGuard } from './ws-jwt.guard.js';
