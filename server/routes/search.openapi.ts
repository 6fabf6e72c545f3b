// POST /v1/search (server/routes/search.ts) in the OpenAPI document.
import { z } from 'zod';
import { common, err, type RouteSpec } from '../routeSpec.js';
import { searchRequestSchema } from '../schemas.js';

const searchResults = z
  .object({
    query: z.string(),
    hits: z
      .array(z.object({ id: z.string().meta({ description: 'the chunk id' }), title: z.string(), content: z.string(), category: z.string(), source: z.string(), score: z.number() }))
      .meta({ description: 'KnowledgeSDK’s shape: the same results with the whole chunk as content' }),
    total: z.int().meta({ description: 'number of hits' }),
    results: z.array(
      z.object({
        score: z.number().meta({ description: 'higher is better; comparable within one answer' }),
        title: z.string(),
        snippet: z.string().meta({ description: "the chunk’s text around the query’s words, HTML-escaped, matches wrapped in <mark>" }),
        source: z.string(),
        category: z.string(),
        headingPath: z.array(z.string()),
        jobId: z.string(),
        chunkId: z.string(),
      }),
    ),
  })
  .meta({ id: 'SearchResults' });

export const searchRouteSpecs: RouteSpec[] = [
  {
    method: 'post',
    path: '/v1/search',
    tag: 'knowledge',
    auth: true,
    summary: 'Search this key’s indexed pages',
    description: 'Hybrid ranking: full-text candidates re-ranked by embedding similarity, or vector-only when no word of the query occurs. Only the caller’s own chunks are searched.',
    body: searchRequestSchema,
    responses: { '200': { description: 'ranked results', schema: searchResults }, '400': err('validation error'), ...common },
  },
];
