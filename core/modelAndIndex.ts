// The model and the search index of one process, loaded on first use and
// shared by the API (query embeddings, search) and the worker (indexing).
// Entry points ask for them at start-up so a missing model fails there, once.
import type { Config } from './platform/config.js';
import type { Sql } from './platform/db.js';
import { loadEmbedder } from './embeddings/load.js';
import type { Embedder } from './embeddings/types.js';
import type { Logger } from './platform/logger.js';
import { createSearchIndex } from './search/index.js';
import type { SearchIndex } from './search/types.js';

export interface Knowledge {
  embedder(): Promise<Embedder>;
  index(): Promise<SearchIndex>;
  close(): Promise<void>;
}

export function openKnowledge(config: Config, sql: Sql, logger: Logger): Knowledge {
  let embedder: Promise<Embedder> | undefined;
  let loaded: Embedder | undefined;
  let index: Promise<SearchIndex> | undefined;
  const loadModel = (): Promise<Embedder> => {
    // A model whose thread died is released and loaded afresh, so one crash does not disable search and indexing until a restart.
    if (loaded && !loaded.usable) {
      logger.warn('the embedding model stopped; loading it again');
      void loaded.close().catch(() => {});
      loaded = undefined;
      embedder = undefined;
    }
    // A failed load is not cached: the next call tries again (e.g. after the folder appears).
    const loading =
      embedder ??
      loadEmbedder(config.embedding, logger).then((model) => {
        loaded = model;
        return model;
      });
    embedder = loading;
    loading.catch(() => {
      if (embedder === loading) embedder = undefined;
    });
    return loading;
  };
  return {
    embedder: loadModel,
    index(): Promise<SearchIndex> {
      const loading =
        index ??
        loadModel().then(async (model) => {
          const created = createSearchIndex(config, sql, logger, model.dimension);
          await created.init();
          return created;
        });
      index = loading;
      loading.catch(() => {
        if (index === loading) index = undefined;
      });
      return loading;
    },
    async close() {
      await (await index?.catch(() => undefined))?.close();
      await (await embedder?.catch(() => undefined))?.close();
    },
  };
}
