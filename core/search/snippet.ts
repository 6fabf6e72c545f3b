// One snippet format for every backend: an HTML fragment in which all of the
// chunk's own text is escaped and the only markup is <mark>…</mark> around the
// query's words. Page text can hold anything (`<script>` included, as text);
// escaping it here, once, means a client may insert a snippet as HTML as is,
// and gets the same thing from Postgres and Typesense. Plain text: strip the
// <mark> tags and unescape the five entities.

/** Placed around matches by the backend (ts_headline, Typesense highlight), turned into <mark> here. */
export const MARK_START = '\uE000';
export const MARK_END = '\uE001';
/**
 * Stand-ins for < and > while PostgreSQL's ts_headline reads the text: its
 * parser takes `<script>` for a tag and drops it, and a snippet should show
 * the page's text as it is (escaped), not a parser's idea of it.
 */
export const LT = '\uE002';
export const GT = '\uE003';
/** Longest snippet, in characters of text before escaping. */
export const SNIPPET_MAX_CHARS = 300;

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/**
 * Text with MARK_START/MARK_END around matches → the snippet fragment: bounded
 * to `maxChars` of text (cut at a word boundary, with an ellipsis), whitespace
 * collapsed, marks balanced even when the cut falls inside one.
 */
export function renderSnippet(marked: string, maxChars = SNIPPET_MAX_CHARS): string {
  const text = marked.replaceAll(LT, '<').replaceAll(GT, '>').replace(/\s+/g, ' ').trim();
  let out = '';
  let visible = 0;
  let open = false;
  let cut = false;
  for (const ch of text) {
    if (ch === MARK_START || ch === MARK_END) {
      // A stray or nested sentinel (page text may contain these code points) never unbalances the markup.
      if ((ch === MARK_START) !== open) {
        out += ch === MARK_START ? '<mark>' : '</mark>';
        open = !open;
      }
      continue;
    }
    if (visible >= maxChars) {
      cut = true;
      break;
    }
    out += escapeHtml(ch);
    visible++;
  }
  if (cut) {
    // Back off to a word boundary when one is near (whole characters were
    // appended, so a space never splits an entity), then drop a dangling <mark>.
    const space = out.lastIndexOf(' ');
    if (space > 0 && space > out.length - 40) out = out.slice(0, space);
    out = out.replace(/(<mark>)+$/, '');
    open = out.lastIndexOf('<mark>') > out.lastIndexOf('</mark>');
  }
  if (open) out += '</mark>';
  return cut ? `${out} …` : out;
}

/** The start of a chunk, for hits found by meaning alone (no query word to centre on). */
export function leadSnippet(content: string, maxChars = SNIPPET_MAX_CHARS): string {
  return renderSnippet(content.replaceAll(MARK_START, '').replaceAll(MARK_END, ''), maxChars);
}
