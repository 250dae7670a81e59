/**
 * `node dist/bench/jwt-verify.js`: the cost of verifying one HS256 token with a string secret (what
 * jsonwebtoken and @nestjs/jwt do by default) against a prebuilt KeyObject, and through TokenService
 * (JwtService with AuthModule's prebuilt keys, plus the claims mapped to an identity): the last two
 * should cost about the same.
 */
import { createSecretKey } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import jwt from 'jsonwebtoken';
import { jwtModuleOptions, TokenService } from '#auth';

const secret = 'bench-secret-bench-secret-bench-secret';
const key = createSecretKey(Buffer.from(secret, 'utf8'));
const token = jwt.sign({ sub: 'user' }, secret, { algorithm: 'HS256', expiresIn: 3600 });
const tokens = new TokenService(new JwtService(jwtModuleOptions({ secret })));

function microsecondsPerVerify(verify: () => void, count: number): number {
  for (let i = 0; i < 500; i++) verify();
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) verify();
  return Number(process.hrtime.bigint() - started) / 1000 / count;
}

const runs = Array.from({ length: 5 }, () => ({
  string: microsecondsPerVerify(() => jwt.verify(token, secret, { algorithms: ['HS256'] }), 2000),
  keyObject: microsecondsPerVerify(() => jwt.verify(token, key, { algorithms: ['HS256'] }), 2000),
  tokenService: microsecondsPerVerify(() => tokens.verify(token), 2000),
}));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const string = median(runs.map((r) => r.string));
const keyObject = median(runs.map((r) => r.keyObject));
const tokenService = median(runs.map((r) => r.tokenService));
const round = (x: number) => Math.round(x * 10) / 10;
console.log(
  JSON.stringify({
    stringSecretMicroseconds: round(string),
    keyObjectMicroseconds: round(keyObject),
    tokenServiceMicroseconds: round(tokenService),
    speedup: round(string / keyObject),
    tokenServiceSpeedup: round(string / tokenService),
  }),
);
