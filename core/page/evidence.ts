// What a page says about itself, beyond its text: its URL path, title,
// headings and JSON-LD. Read by the page categories and the business profile.
// The JSON-LD reader scans the HTML with indexOf (linear, no regex over
// untrusted input) and parses at most a few bounded blocks.

const MAX_BLOCKS = 8;
const MAX_BLOCK_BYTES = 200_000;
const MAX_NODES = 200;

export type JsonLdNode = Record<string, unknown>;

/** The JSON-LD nodes of a page (top-level arrays and @graph flattened), skipping blocks that do not parse. */
export function jsonLdFromHtml(html: string): JsonLdNode[] {
  const nodes: JsonLdNode[] = [];
  const lower = html.length > 5_000_000 ? html.slice(0, 5_000_000).toLowerCase() : html.toLowerCase();
  let from = 0;
  for (let blocks = 0; blocks < MAX_BLOCKS; blocks++) {
    const marker = lower.indexOf('application/ld+json', from);
    if (marker < 0) break;
    const open = lower.lastIndexOf('<script', marker);
    const start = lower.indexOf('>', marker);
    const end = start < 0 ? -1 : lower.indexOf('</script', start);
    if (open < 0 || start < 0 || end < 0) break;
    from = end + 8;
    if (end - start > MAX_BLOCK_BYTES) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(html.slice(start + 1, end));
    } catch {
      continue;
    }
    const stack: unknown[] = [parsed];
    while (stack.length && nodes.length < MAX_NODES) {
      const v = stack.pop();
      if (Array.isArray(v)) stack.push(...v.slice(0, MAX_NODES));
      else if (v && typeof v === 'object') {
        nodes.push(v as JsonLdNode);
        const graph = (v as JsonLdNode)['@graph'];
        if (graph) stack.push(graph);
      }
    }
  }
  return nodes;
}

/** A node's @type values, as strings. */
export function jsonLdTypes(node: JsonLdNode): string[] {
  const t = node['@type'];
  return (Array.isArray(t) ? t : [t]).filter((x): x is string => typeof x === 'string');
}

export interface PageEvidence {
  url: string;
  title?: string | null;
  /** Heading texts, top level first (h1, then h2 …). */
  headings?: string[];
  /** JSON-LD @type values found on the page. */
  jsonLdTypes?: string[];
}
