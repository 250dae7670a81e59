/**
 * A request without `Origin` is not from a browser and is allowed; a browser's is allowed when it
 * is in the list, the list holds `*`, or it is the gateway's own origin (the dashboard it serves).
 */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (!origin || allowed.includes('*') || allowed.includes(origin)) return true;
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}
