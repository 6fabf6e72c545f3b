// POST /v1/search: the caller's own indexed chunks, ranked (hybrid full-text
// and vector similarity in the configured index).
import { Router } from 'express';
import type { ApiKey } from '../../core/apiKeys.js';
import type { Knowledge } from '../../core/modelAndIndex.js';
import { searchRequestSchema } from '../schemas.js';
import { parseOr400 } from '../validation.js';

export function searchRouter(deps: { knowledge: Knowledge }): Router {
  const router = Router();
  router.post('/v1/search', async (req, res) => {
    const body = parseOr400(searchRequestSchema, req.body ?? {});
    const apiKey = res.locals.apiKey as ApiKey;
    const [embedder, index] = await Promise.all([deps.knowledge.embedder(), deps.knowledge.index()]);
    const [embedding] = await embedder.embed([body.query]);
    const hits = await index.search(apiKey.id, { text: body.query, embedding: embedding as Float32Array, limit: body.limit, ...(body.filters ? { filters: body.filters } : {}) });
    res.json({
      query: body.query,
      // KnowledgeSDK's shape ({hits, total, query}); `results` is Gleaner's own, with snippets and heading paths.
      hits: hits.map((h) => ({ id: h.chunkId, title: h.title, content: h.content, category: h.category, source: h.url, score: h.score })),
      total: hits.length,
      results: hits.map((h) => ({
        score: h.score,
        title: h.title,
        snippet: h.snippet,
        source: h.url,
        category: h.category,
        headingPath: h.headingPath,
        jobId: h.jobId,
        chunkId: h.chunkId,
      })),
    });
  });
  return router;
}
