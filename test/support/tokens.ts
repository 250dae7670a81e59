import jwt from 'jsonwebtoken';

const base64url = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsigned token (`alg: none`), which must never be accepted. */
export function unsignedToken(claims: object): string {
  return `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ iat: Math.floor(Date.now() / 1000), ...claims })}.`;
}

/** Signs with any key and options, for tokens the gateway must refuse or accept. */
export function signWith(claims: object, key: jwt.Secret, options: jwt.SignOptions = {}): string {
  return jwt.sign(claims, key, { algorithm: 'HS256', ...options });
}
