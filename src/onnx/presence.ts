/**
 * proto2 presence: decoded messages carry defaults on their prototype, so `m.field !== undefined` is true
 * even when the field was absent on the wire. Presence is an own property.
 */
export function has<T extends object>(message: T | undefined | null, key: keyof T & string): boolean {
  return message !== undefined && message !== null && Object.prototype.hasOwnProperty.call(message, key);
}
