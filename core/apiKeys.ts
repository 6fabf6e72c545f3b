// API keys: `knowledgesdk_live_` + 40 base62 characters. Only the SHA-256 of a
// key is stored; the key is shown once, when it is created.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Db, Sql } from './platform/db.js';
import { newKeyId, randomBase62 } from './ids.js';

export const KEY_PREFIX = 'knowledgesdk_live_';
const KEY_PATTERN = /^knowledgesdk_live_[0-9A-Za-z]{32,128}$/;

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** KnowledgeSDK's client refuses keys that do not start with `sk_ks_`: a key with that prefix in place of `knowledgesdk_live_` is the same key. */
export const KNOWLEDGESDK_KEY_PREFIX = 'sk_ks_';
const canonicalKey = (key: string): string => (key.startsWith(KNOWLEDGESDK_KEY_PREFIX) ? KEY_PREFIX + key.slice(KNOWLEDGESDK_KEY_PREFIX.length) : key);

export const hashKey = (key: string): Buffer => createHash('sha256').update(canonicalKey(key), 'utf8').digest();

export function looksLikeKey(key: string): boolean {
  return KEY_PATTERN.test(canonicalKey(key));
}

const toApiKey = (r: Record<string, unknown>): ApiKey => ({
  id: r.id as string,
  name: r.name as string,
  prefix: r.key_prefix as string,
  createdAt: r.created_at as Date,
  revokedAt: (r.revoked_at as Date | null) ?? null,
});

export async function createApiKey(db: Db, name: string): Promise<{ key: string; apiKey: ApiKey }> {
  const key = KEY_PREFIX + randomBase62(40);
  const [row] = await db`
    insert into api_keys (id, name, key_hash, key_prefix)
    values (${newKeyId()}, ${name}, ${hashKey(key)}, ${key.slice(0, KEY_PREFIX.length + 6)})
    returning *`;
  return { key, apiKey: toApiKey(row!) };
}

/** The active key matching `key`, or null (unknown, malformed or revoked). */
export async function authenticateKey(db: Db, key: string): Promise<ApiKey | null> {
  if (!looksLikeKey(key)) return null;
  return authenticateHash(db, hashKey(key));
}

async function authenticateHash(db: Db, hash: Buffer): Promise<ApiKey | null> {
  const [row] = await db`select * from api_keys where key_hash = ${hash}`;
  // The lookup is by hash, so timing reveals nothing about the key; compare anyway
  // so a future change to the lookup cannot open a timing channel.
  if (!row || !timingSafeEqual(row.key_hash as Buffer, hash) || row.revoked_at) return null;
  return toApiKey(row);
}

/** Revocations are announced on this channel (migration 019's trigger, whatever path revoked the key). */
export const KEY_CHANGES_CHANNEL = 'gleaner_api_keys';
/** How long an active key may be served from a cache without a look-up: a backstop, revocations clear caches at once. */
export const KEY_CACHE_TTL_MS = 10_000;
const KEY_CACHE_MAX_ENTRIES = 10_000;
/** Every cache of this process, so a revocation made here clears them before revokeApiKey returns. */
const localCaches = new Set<KeyCache>();

/**
 * Active keys by hash for the request path, so a request costs no key look-up
 * while its key is cached. A revocation clears every cache: at once in the
 * process that made it, and in every other process when the revoking
 * transaction commits (NOTIFY from migration 019's trigger, heard on a LISTEN
 * connection). Each (re)connection of that listener clears the cache too, as
 * notifications sent while it was away are lost; until it is listening, every
 * request is looked up. Unknown and revoked keys are never cached.
 */
export class KeyCache {
  private readonly entries = new Map<string, { apiKey: ApiKey; expires: number }>();
  /** Bumped by every clear: a look-up that started before a clear must not refill the cache with what it read. */
  private generation = 0;
  private listening = false;
  private starting = false;
  private retryAt = 0;
  private unlisten: (() => Promise<void>) | null = null;
  private closed = false;

  constructor(
    private readonly sql: Sql,
    private readonly ttlMs = KEY_CACHE_TTL_MS,
  ) {
    localCaches.add(this);
  }

  async authenticate(key: string): Promise<ApiKey | null> {
    if (!looksLikeKey(key)) return null;
    if (!this.listening) this.listen();
    const hash = hashKey(key);
    const id = hash.toString('base64');
    const hit = this.listening ? this.entries.get(id) : undefined;
    if (hit && hit.expires > performance.now()) return hit.apiKey;
    const generation = this.generation;
    const apiKey = await authenticateHash(this.sql, hash);
    if (apiKey && this.listening && generation === this.generation) {
      if (this.entries.size >= KEY_CACHE_MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(id, { apiKey, expires: performance.now() + this.ttlMs });
    }
    return apiKey;
  }

  clear(): void {
    this.generation++;
    this.entries.clear();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listening = false;
    this.clear();
    localCaches.delete(this);
    await this.unlisten?.().catch(() => {});
  }

  private listen(): void {
    if (this.starting || this.closed || performance.now() < this.retryAt) return;
    this.starting = true;
    const onListen = () => {
      this.clear();
      this.listening = !this.closed;
    };
    this.sql.listen(KEY_CHANGES_CHANNEL, () => this.clear(), onListen).then(
      (l) => {
        this.unlisten = l.unlisten;
        if (this.closed) void l.unlisten().catch(() => {});
      },
      () => {
        // Database unreachable: requests are looked up (and fail) meanwhile; try again on a request a second later.
        this.starting = false;
        this.retryAt = performance.now() + 1000;
      },
    );
  }
}

export async function listApiKeys(db: Db): Promise<ApiKey[]> {
  const rows = await db`select * from api_keys order by created_at, id`;
  return rows.map(toApiKey);
}

/** Revoke by id, or else by name (all active keys of that name); returns the keys revoked. */
export async function revokeApiKey(db: Db, idOrName: string): Promise<ApiKey[]> {
  // An id wins: a key named like another key's id must not be revoked with it.
  const rows = await db`
    update api_keys set revoked_at = now()
    where revoked_at is null
      and (id = ${idOrName} or (name = ${idOrName} and not exists (select 1 from api_keys where id = ${idOrName})))
    returning *`;
  for (const cache of localCaches) cache.clear();
  return rows.map(toApiKey);
}

export async function countApiKeys(db: Db): Promise<number> {
  const [row] = await db`select count(*)::int as n from api_keys`;
  return row!.n as number;
}

/** On a first start with no keys at all, create one so the service is usable at once; null otherwise. */
export async function createInitialKeyIfNone(sql: import('./platform/db.js').Sql): Promise<string | null> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${0x6b657973})`; // "keys": one creator among concurrent starts
    if ((await countApiKeys(tx)) > 0) return null;
    return (await createApiKey(tx, 'default')).key;
  });
}
