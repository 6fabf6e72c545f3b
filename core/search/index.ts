// The search index for this process: Typesense when TYPESENSE_URL is set,
// otherwise the Postgres table (nothing more to run).
import type { Config } from '../platform/config.js';
import type { Sql } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { PostgresSearchIndex } from './postgres.js';
import { TypesenseSearchIndex } from './typesense.js';
import type { SearchIndex } from './types.js';

export function createSearchIndex(config: Pick<Config, 'typesense'>, sql: Sql, logger: Logger, dimension: number): SearchIndex {
  if (config.typesense) return new TypesenseSearchIndex(config.typesense, logger, { dimension });
  return new PostgresSearchIndex(sql, logger, { dimension });
}

export type { IndexedChunk, SearchFilters, SearchHit, SearchIndex, SearchQuery } from './types.js';
export { SearchInputError } from './validate.js';
