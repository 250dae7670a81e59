/** Roles a token may carry; anything else is read as `user`. */
export const ROLES = ['admin', 'service', 'user'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
