/** Removes user info from a URL: `https://u:p@host/x` → `https://host/x`. Non-URLs pass through. */
export function stripCredentials(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}

/** Splits credentials out of a URL. */
export function splitCredentials(url: string): { url: string; username?: string; password?: string } {
  try {
    const u = new URL(url);
    const username = u.username ? decodeURIComponent(u.username) : undefined;
    const password = u.password ? decodeURIComponent(u.password) : undefined;
    return { url: stripCredentials(url), ...(username && { username }), ...(password && { password }) };
  } catch {
    return { url };
  }
}

/**
 * Returns a function that masks every given secret (and its URL-encoded and base64 forms) in a
 * text, so messages built from server responses or library errors cannot leak credentials.
 */
export function redactor(secrets: readonly (string | undefined)[]): (text: string) => string {
  const forms = new Set<string>();
  for (const s of secrets) {
    if (!s || s.length < 3) continue;
    forms.add(s);
    forms.add(encodeURIComponent(s));
  }
  const list = [...forms].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text.replace(/(\w+:\/\/)[^/\s@]+@/g, '$1');
    out = out.replace(/(authorization:\s*(?:basic|bearer)\s+)[^\s"',]+/gi, '$1***');
    for (const f of list) out = out.split(f).join('***');
    return out;
  };
}
