/**
 * `node dist/bench/jwt-verify.js`: the cost of verifying one HS256 token with a string secret (what
 * jsonwebtoken and @nestjs/jwt do by default) against a prebuilt KeyObject (what TokenService does).
 */
import { createSecretKey } from 'node:crypto';
import jwt from 'jsonwebtoken';

const secret = 'bench-secret-bench-secret-bench-secret';
const key = createSecretKey(Buffer.from(secret, 'utf8'));
const token = jwt.sign({ sub: 'user' }, secret, { algorithm: 'HS256', expiresIn: 3600 });

function microsecondsPerVerify(verify: () => void, count: number): number {
  for (let i = 0; i < 500; i++) verify();
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) verify();
  return Number(process.hrtime.bigint() - started) / 1000 / count;
}

const runs = Array.from({ length: 5 }, () => ({
  string: microsecondsPerVerify(() => jwt.verify(token, secret, { algorithms: ['HS256'] }), 2000),
  keyObject: microsecondsPerVerify(() => jwt.verify(token, key, { algorithms: ['HS256'] }), 2000),
}));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const string = median(runs.map((r) => r.string));
const keyObject = median(runs.map((r) => r.keyObject));
console.log(JSON.stringify({ stringSecretMicroseconds: Math.round(string), keyObjectMicroseconds: Math.round(keyObject), speedup: Math.round((string / keyObject) * 10) / 10 }));
