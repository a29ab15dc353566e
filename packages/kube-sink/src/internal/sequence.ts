let last = 0;

/**
 * A number larger than every one handed out before in this process. Orders what a sink
 * learned about an object (a write's answer) against when a watch cache started a LIST: a
 * LIST sent later reflects that write, without comparing resourceVersions (which the API
 * treats as opaque).
 */
export function nextSequence(): number {
  return ++last;
}
