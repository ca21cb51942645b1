// Images a simulated user sends: kept in memory, bounded in count and size, served back under
// /emulator/media/ so the notification can carry a URL the way Meta's CDN links do.
import { randomBytes } from 'node:crypto';

export const MEDIA_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;
export type MediaType = (typeof MEDIA_TYPES)[number];
export const MAX_MEDIA_BYTES = 2 * 1024 * 1024;

export interface StoredMedia {
  type: MediaType;
  bytes: Buffer;
}

export interface MediaStore {
  /** Stores the bytes and returns the key to serve them under. */
  put(type: MediaType, bytes: Buffer): string;
  get(key: string): StoredMedia | undefined;
}

export function isMediaType(value: string): value is MediaType {
  return (MEDIA_TYPES as readonly string[]).includes(value);
}

export function createMediaStore(limit = 30): MediaStore {
  const items = new Map<string, StoredMedia>();
  return {
    put(type, bytes) {
      if (items.size >= limit) {
        const oldest = items.keys().next().value;
        if (oldest !== undefined) items.delete(oldest);
      }
      const key = randomBytes(12).toString('hex');
      items.set(key, { type, bytes });
      return key;
    },
    get: (key) => items.get(key),
  };
}
